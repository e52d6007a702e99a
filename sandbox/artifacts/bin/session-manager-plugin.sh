#!/bin/sh
# AWS Session Manager plugin stand-in (pulsar-ami sandbox), installed as
# /usr/local/bin/session-manager-plugin by the dnf stand-in from the plugin's .rpm in the
# artifact store (which writes the package's version below). It answers --version; Packer's
# Session Manager tunnel is the sandbox's own.
version="@VERSION@"
if [ "${1:-}" = "--version" ]; then
  echo "$version"
  exit 0
fi
echo "The Session Manager plugin was installed successfully. Use the AWS CLI to start a session."
