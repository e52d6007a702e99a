# Apache Pulsar broker. Installed by pulsar-ami as a template: copy to
# /etc/systemd/system/broker.service, point conf/broker.conf at the metadata store and
# the bookies, then systemctl enable --now.
[Unit]
Description=Apache Pulsar broker
Documentation=https://pulsar.apache.org/docs/
Wants=network-online.target
After=network-online.target zookeeper.service bookkeeper.service

[Service]
Type=simple
DynamicUser=yes
StateDirectory=pulsar-broker
LogsDirectory=pulsar-broker
WorkingDirectory=/var/lib/pulsar-broker
Environment=PULSAR_HOME=/opt/pulsar
Environment=PULSAR_LOG_DIR=/var/log/pulsar-broker
Environment="PULSAR_MEM=-Xms1g -Xmx1g -XX:MaxDirectMemorySize=1g"
ExecStart=/opt/pulsar/bin/pulsar broker
Restart=on-failure
RestartSec=5
SuccessExitStatus=143
TimeoutStopSec=60
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
