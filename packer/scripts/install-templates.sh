#!/usr/bin/env bash
# Moves the uploaded systemd templates (zookeeper, bookkeeper, broker) into
# TEMPLATES_DIR, root-owned, mode 0644.
#
# Environment:
#   TEMPLATES_UPLOAD_DIR  default /tmp/systemd (where the file provisioner put them)
#   TEMPLATES_DIR         default /opt/pulsar-templates/systemd
set -euo pipefail

log() { printf '[install-templates] %s\n' "$*"; }
die() { printf '[install-templates] ERROR: %s\n' "$*" >&2; exit 1; }

TEMPLATES_UPLOAD_DIR="${TEMPLATES_UPLOAD_DIR:-/tmp/systemd}"
TEMPLATES_DIR="${TEMPLATES_DIR:-/opt/pulsar-templates/systemd}"

[ -d "$TEMPLATES_UPLOAD_DIR" ] || die "$TEMPLATES_UPLOAD_DIR is missing: were the templates uploaded?"
for component in zookeeper bookkeeper broker; do
  [ -f "$TEMPLATES_UPLOAD_DIR/$component.service.tpl" ] \
    || die "no $component.service.tpl in $TEMPLATES_UPLOAD_DIR"
done

# Root-owned as the build runs it (sudo); a non-root run keeps its own user.
owner=()
if [ "${EUID}" -eq 0 ]; then
  owner=(-o root -g root)
fi
install -d -m 0755 "${owner[@]}" "$(dirname "$TEMPLATES_DIR")" "$TEMPLATES_DIR"
for template in "$TEMPLATES_UPLOAD_DIR"/*.tpl; do
  install -m 0644 "${owner[@]}" "$template" "$TEMPLATES_DIR/${template##*/}"
  log "installed $TEMPLATES_DIR/${template##*/}"
done
rm -rf "$TEMPLATES_UPLOAD_DIR"
