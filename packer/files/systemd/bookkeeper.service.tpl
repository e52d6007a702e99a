# Apache Pulsar BookKeeper bookie (storage). Installed by pulsar-ami as a template:
# copy to /etc/systemd/system/bookkeeper.service, point conf/bookkeeper.conf at the
# metadata store, then systemctl enable --now.
[Unit]
Description=Apache Pulsar BookKeeper bookie
Documentation=https://pulsar.apache.org/docs/
Wants=network-online.target
After=network-online.target zookeeper.service

[Service]
Type=simple
DynamicUser=yes
StateDirectory=pulsar-bookkeeper
LogsDirectory=pulsar-bookkeeper
WorkingDirectory=/var/lib/pulsar-bookkeeper
Environment=PULSAR_HOME=/opt/pulsar
Environment=BOOKIE_LOG_DIR=/var/log/pulsar-bookkeeper
Environment=PULSAR_LOG_DIR=/var/log/pulsar-bookkeeper
Environment="BOOKIE_MEM=-Xms1g -Xmx1g -XX:MaxDirectMemorySize=1g"
ExecStart=/opt/pulsar/bin/pulsar bookie
Restart=on-failure
RestartSec=5
SuccessExitStatus=143
TimeoutStopSec=60
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
