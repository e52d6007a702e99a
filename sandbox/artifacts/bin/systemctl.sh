#!/bin/sh
# systemctl stand-in (pulsar-ami sandbox). A jail runs no systemd: what was asked is recorded on
# stderr ("[sandbox stand-in] systemctl enable --now broker") and nothing else happens.
printf '[sandbox stand-in] systemctl %s\n' "$*" >&2
exit 0
