#!/usr/bin/env bash
# Installs Amazon Corretto 17 (headless) and checks that `java -version` reports 17.
set -euo pipefail

log() { printf '[install-java] %s\n' "$*"; }
die() { printf '[install-java] ERROR: %s\n' "$*" >&2; exit 1; }

JAVA_PACKAGE="${JAVA_PACKAGE:-java-17-amazon-corretto-headless}"

if command -v dnf >/dev/null 2>&1; then
  log "dnf install -y $JAVA_PACKAGE"
  dnf install -y "$JAVA_PACKAGE"
elif command -v yum >/dev/null 2>&1; then
  log "yum install -y $JAVA_PACKAGE"
  yum install -y "$JAVA_PACKAGE"
else
  die "neither dnf nor yum is available: not Amazon Linux?"
fi

command -v java >/dev/null 2>&1 || die "java is not on PATH after installing $JAVA_PACKAGE"

# openjdk version "17.0.10" 2024-01-16 LTS
# All of java's output first, then its first line: `| head -n 1` would close the pipe early and
# java's SIGPIPE (exit 141) would fail the script under pipefail.
version_output="$(java -version 2>&1)"
version_line="${version_output%%$'\n'*}"
version="$(printf '%s\n' "$version_line" | sed -n 's/^[^"]*"\([^"]*\)".*$/\1/p')"
major="${version%%.*}"
if [ "$major" != "17" ]; then
  die "expected Java 17, got '${version_line}'"
fi
log "Java $version installed ($version_line)"
