# Apache Pulsar ZooKeeper (metadata store). Installed by pulsar-ami as a template:
# copy to /etc/systemd/system/zookeeper.service, adjust, then systemctl enable --now.
[Unit]
Description=Apache Pulsar ZooKeeper
Documentation=https://pulsar.apache.org/docs/
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
DynamicUser=yes
StateDirectory=pulsar-zookeeper
LogsDirectory=pulsar-zookeeper
WorkingDirectory=/var/lib/pulsar-zookeeper
Environment=PULSAR_HOME=/opt/pulsar
Environment=PULSAR_LOG_DIR=/var/log/pulsar-zookeeper
Environment="PULSAR_MEM=-Xms512m -Xmx512m"
ExecStart=/opt/pulsar/bin/pulsar zookeeper
Restart=on-failure
RestartSec=5
SuccessExitStatus=143
TimeoutStopSec=60
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
