#!/usr/bin/env bash
# Installs OpenMessaging Benchmark at a pinned commit in OMB_INSTALL_DIR.
#
# Environment:
#   OMB_COMMIT            required, the full 40-hex commit id
#   OMB_ARCHIVE_BASE_URL  default https://github.com/openmessaging/benchmark/archive
#                         (<base>/<commit>.tar.gz unpacks to benchmark-<commit>/)
#   OMB_INSTALL_DIR       default /opt/openmessaging-benchmark; must not exist yet
#
# The source archive of that commit is downloaded and unpacked into a temporary folder and
# must unpack to benchmark-<commit>/ with bin/benchmark. When Maven is available (installed
# with dnf on Amazon Linux 2023, with the Corretto 17 JDK), the benchmark is built and its
# binary distribution (bin/, lib/, workloads/, driver configurations) is installed;
# otherwise the source tree is installed as it is and the script says so. Either way
# OMB_INSTALL_DIR/bin/benchmark exists afterwards, and the folder appears in one rename.
set -euo pipefail

log() { printf '[install-omb] %s\n' "$*"; }
die() { printf '[install-omb] ERROR: %s\n' "$*" >&2; exit 1; }

OMB_COMMIT="${OMB_COMMIT:-}"
OMB_ARCHIVE_BASE_URL="${OMB_ARCHIVE_BASE_URL:-https://github.com/openmessaging/benchmark/archive}"
OMB_INSTALL_DIR="${OMB_INSTALL_DIR:-/opt/openmessaging-benchmark}"
OMB_INSTALL_DIR="${OMB_INSTALL_DIR%/}"

[[ "$OMB_COMMIT" =~ ^[0-9a-f]{40}$ ]] || die "OMB_COMMIT must be a full 40-hex commit id (got '${OMB_COMMIT}')"
[ -n "$OMB_INSTALL_DIR" ] || die "OMB_INSTALL_DIR is empty"
if [ -e "$OMB_INSTALL_DIR" ] || [ -L "$OMB_INSTALL_DIR" ]; then
  die "$OMB_INSTALL_DIR already exists: refusing to install over it"
fi
install_parent="$(dirname "$OMB_INSTALL_DIR")"
mkdir -p "$install_parent"

top="benchmark-${OMB_COMMIT}"
url="${OMB_ARCHIVE_BASE_URL%/}/${OMB_COMMIT}.tar.gz"

work=""
staging=""
cleanup() {
  [ -z "$work" ] || rm -rf "$work"
  [ -z "$staging" ] || rm -rf "$staging"
}
trap cleanup EXIT

work="$(mktemp -d "${TMPDIR:-/tmp}/install-omb.XXXXXXXX")"
log "downloading $url"
curl -fsSL --retry 3 -o "$work/source.tar.gz" "$url" || die "could not download $url"
[ -s "$work/source.tar.gz" ] || die "$url is empty"

mkdir "$work/src"
tar -xzf "$work/source.tar.gz" -C "$work/src" --no-same-owner || die "could not unpack $url"
entries="$(cd "$work/src" && find . -mindepth 1 -maxdepth 1 -printf '%f\n')"
[ "$entries" = "$top" ] || die "the archive does not unpack to $top/ (found: $(printf '%s' "$entries" | tr '\n' ' '))"
src="$work/src/$top"
[ -f "$src/bin/benchmark" ] || die "$top has no bin/benchmark: not OpenMessaging Benchmark"

if ! command -v mvn >/dev/null 2>&1 && command -v dnf >/dev/null 2>&1; then
  log "dnf install -y maven java-17-amazon-corretto-devel"
  dnf install -y maven java-17-amazon-corretto-devel
fi

staging="$(mktemp -d "${install_parent}/.omb-staging.XXXXXXXX")"
if command -v mvn >/dev/null 2>&1; then
  log "building OpenMessaging Benchmark $OMB_COMMIT with Maven"
  (cd "$src" && mvn -B -q -DskipTests -Dlicense.skip=true -Dspotless.check.skip=true -Dcheckstyle.skip=true package)
  dist=""
  for f in "$src"/package/target/openmessaging-benchmark-*-bin.tar.gz; do
    [ -f "$f" ] && dist="$f"
  done
  [ -n "$dist" ] || die "the Maven build made no package/target/openmessaging-benchmark-*-bin.tar.gz"
  mkdir "$staging/omb"
  tar -xzf "$dist" -C "$staging/omb" --strip-components=1 --no-same-owner || die "could not unpack $dist"
else
  log "WARNING: Maven is not available: installing the source tree of $OMB_COMMIT unbuilt"
  mv "$src" "$staging/omb"
fi

[ -f "$staging/omb/bin/benchmark" ] || die "no bin/benchmark in what would be installed"
chmod 0755 "$staging/omb" "$staging/omb/bin/benchmark"
[ ! -f "$staging/omb/bin/benchmark-worker" ] || chmod 0755 "$staging/omb/bin/benchmark-worker"
printf '%s\n' "$OMB_COMMIT" >"$staging/omb/COMMIT"

if [ -e "$OMB_INSTALL_DIR" ] || [ -L "$OMB_INSTALL_DIR" ]; then
  die "$OMB_INSTALL_DIR appeared while installing: refusing to install over it"
fi
mv -T "$staging/omb" "$OMB_INSTALL_DIR"
log "OpenMessaging Benchmark $OMB_COMMIT installed in $OMB_INSTALL_DIR"
