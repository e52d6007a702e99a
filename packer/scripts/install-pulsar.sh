#!/usr/bin/env bash
# Installs Apache Pulsar PULSAR_VERSION from the Apache archive, verified before unpacking.
#
# Environment:
#   PULSAR_VERSION      required, MAJOR.MINOR.PATCH
#   ARCHIVE_BASE_URL    default https://archive.apache.org/dist
#                       (<base>/pulsar/pulsar-V/apache-pulsar-V-bin.tar.gz and .sha512)
#   PULSAR_SHA512       optional: the checksum the build was told to expect; the published
#                       .sha512 must agree with it
#   PULSAR_INSTALL_DIR  default /opt/pulsar; must not exist yet
#
# The tarball and its published .sha512 are downloaded into a temporary folder; a missing
# or empty checksum, a checksum for another file, a disagreement with PULSAR_SHA512 or a
# tarball that does not match stops the script before anything is unpacked. The tarball is
# unpacked into a staging folder beside the install folder, checked (it must hold the broker
# jar of that version and bin/pulsar), given a VERSION file and moved into place in one
# rename. On any failure nothing is installed and the temporary folders are removed.
set -euo pipefail

log() { printf '[install-pulsar] %s\n' "$*"; }
die() { printf '[install-pulsar] ERROR: %s\n' "$*" >&2; exit 1; }

PULSAR_VERSION="${PULSAR_VERSION:-}"
ARCHIVE_BASE_URL="${ARCHIVE_BASE_URL:-https://archive.apache.org/dist}"
PULSAR_SHA512="${PULSAR_SHA512:-}"
PULSAR_INSTALL_DIR="${PULSAR_INSTALL_DIR:-/opt/pulsar}"

[[ "$PULSAR_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] \
  || die "PULSAR_VERSION must be MAJOR.MINOR.PATCH (got '${PULSAR_VERSION}')"

if [ -n "$PULSAR_SHA512" ]; then
  PULSAR_SHA512="$(printf '%s' "$PULSAR_SHA512" | tr 'A-F' 'a-f')"
  [[ "$PULSAR_SHA512" =~ ^[0-9a-f]{128}$ ]] || die "PULSAR_SHA512 is not 128 hex digits"
fi

PULSAR_INSTALL_DIR="${PULSAR_INSTALL_DIR%/}"
[ -n "$PULSAR_INSTALL_DIR" ] || die "PULSAR_INSTALL_DIR is empty"
if [ -e "$PULSAR_INSTALL_DIR" ] || [ -L "$PULSAR_INSTALL_DIR" ]; then
  die "$PULSAR_INSTALL_DIR already exists: refusing to install over it"
fi
install_parent="$(dirname "$PULSAR_INSTALL_DIR")"
mkdir -p "$install_parent"

name="apache-pulsar-${PULSAR_VERSION}-bin.tar.gz"
top="apache-pulsar-${PULSAR_VERSION}"
broker_jar="lib/org.apache.pulsar-pulsar-broker-${PULSAR_VERSION}.jar"
url="${ARCHIVE_BASE_URL%/}/pulsar/pulsar-${PULSAR_VERSION}/${name}"

work=""
staging=""
cleanup() {
  [ -z "$work" ] || rm -rf "$work"
  [ -z "$staging" ] || rm -rf "$staging"
}
trap cleanup EXIT

work="$(mktemp -d "${TMPDIR:-/tmp}/install-pulsar.XXXXXXXX")"

log "downloading $url"
curl -fsSL --retry 3 -o "$work/$name" "$url" || die "could not download $url"
log "downloading $url.sha512"
curl -fsSL --retry 3 -o "$work/$name.sha512" "$url.sha512" \
  || die "could not download the published checksum $url.sha512: refusing to install an unverified archive"
[ -s "$work/$name.sha512" ] || die "the published checksum $url.sha512 is empty"

# The published checksum comes in one of two formats:
#   sha512sum:  <128 hex>  apache-pulsar-V-bin.tar.gz            (or *name, or no name)
#   Apache's:   apache-pulsar-V-bin.tar.gz: 1A2B3C4D 5E6F... (upper-case groups, over lines)
published="$(tr -d '\r' < "$work/$name.sha512")"
read -r first_token first_rest <<<"$(printf '%s\n' "$published" | sed -n '/[^[:space:]]/{p;q;}')" || true
first_token="${first_token:-}"
first_rest="${first_rest:-}"
expected=""
if [[ "$first_token" =~ ^[0-9a-fA-F]{128}$ ]]; then
  file_field="${first_rest%% *}"
  file_field="${file_field#\*}"
  if [ -n "$file_field" ] && [ "${file_field##*/}" != "$name" ]; then
    die "the published checksum is for '${file_field}', not $name"
  fi
  expected="$first_token"
elif [[ "$published" == *:* ]]; then
  file_field="${published%%:*}"
  file_field="$(printf '%s' "$file_field" | tr -d '[:space:]')"
  if [ "${file_field##*/}" != "$name" ]; then
    die "the published checksum is for '${file_field}', not $name"
  fi
  expected="$(printf '%s' "${published#*:}" | tr -d '[:space:]')"
fi
expected="$(printf '%s' "$expected" | tr 'A-F' 'a-f')"
[[ "$expected" =~ ^[0-9a-f]{128}$ ]] \
  || die "could not read a SHA-512 from $url.sha512 (neither sha512sum's nor Apache's format)"

if [ -n "$PULSAR_SHA512" ] && [ "$PULSAR_SHA512" != "$expected" ]; then
  die "the published checksum ($expected) disagrees with PULSAR_SHA512 ($PULSAR_SHA512)"
fi

# Verify before anything is unpacked.
printf '%s  %s\n' "$expected" "$name" >"$work/SHA512SUMS"
if ! (cd "$work" && sha512sum -c --strict --quiet SHA512SUMS); then
  actual="$(sha512sum "$work/$name" | cut -d ' ' -f 1)"
  die "checksum mismatch for $name: expected $expected, got $actual"
fi
log "sha512 verified: $expected"

# Staging beside the install folder, so the final move is a rename on one file system.
staging="$(mktemp -d "${install_parent}/.pulsar-staging.XXXXXXXX")"
tar -xzf "$work/$name" -C "$staging" --no-same-owner --no-same-permissions \
  || die "could not unpack $name"

entries="$(cd "$staging" && find . -mindepth 1 -maxdepth 1 -printf '%f\n')"
[ "$entries" = "$top" ] || die "$name does not unpack to a single $top/ folder (found: $(printf '%s' "$entries" | tr '\n' ' '))"
[ -d "$staging/$top" ] && [ ! -L "$staging/$top" ] || die "$top in $name is not a folder"
[ -f "$staging/$top/$broker_jar" ] || die "$name has no $broker_jar: not Pulsar $PULSAR_VERSION"
[ -f "$staging/$top/bin/pulsar" ] && [ -x "$staging/$top/bin/pulsar" ] || die "$name has no executable bin/pulsar"

printf '%s\n' "$PULSAR_VERSION" >"$staging/$top/VERSION"
chmod 0755 "$staging/$top"

if [ -e "$PULSAR_INSTALL_DIR" ] || [ -L "$PULSAR_INSTALL_DIR" ]; then
  die "$PULSAR_INSTALL_DIR appeared while installing: refusing to install over it"
fi
mv -T "$staging/$top" "$PULSAR_INSTALL_DIR"
log "Apache Pulsar $PULSAR_VERSION installed in $PULSAR_INSTALL_DIR"
