#!/usr/bin/env bash
# pulsar-ami image checks.
#
# One script, used as is: it ships as the stack's own SSM Command document
# (serverless.yml ValidationChecksDocument, made at package time by
# scripts/serverless/validation-checks-document.cjs), which runs it under bash with
# PULSAR_EXPECTED_VERSION set from the document's only parameter; the ValidateAmi state
# machine sends that document to the test instance in a single SSM SendCommand.
#
# Each check prints exactly one JSON line: {"name":"…","passed":true|false,"detail":"…"}.
# The script never stops at the first failure: every check runs in its own subshell, so
# even a check that aborts still reports (as failed). It exits 0 when every check passed
# and 1 otherwise.
#
# Input: PULSAR_EXPECTED_VERSION (or the first argument), the version the AMI's
# PulsarVersion tag promises, e.g. 3.0.0.
#
# The installed Pulsar version is read from /opt/pulsar/VERSION when the image has one,
# else from the broker jar in the Apache binary distribution,
# /opt/pulsar/lib/org.apache.pulsar-pulsar-broker-<version>.jar (no JVM start needed).
# The check functions are called indirectly, through run_check.
# shellcheck disable=SC2317
set -u

PULSAR_HOME=/opt/pulsar
TEMPLATES_DIR=/opt/pulsar-templates/systemd
OMB_HOME=/opt/openmessaging-benchmark
EXPECTED_VERSION="${PULSAR_EXPECTED_VERSION:-${1:-}}"
FAILURES=0

# JSON string body: escapes backslash, quote and the common control characters, drops
# the other control characters.
json_escape() {
  local s="$1"
  s="${s//\\/\\\\}"
  s="${s//\"/\\\"}"
  s="${s//$'\n'/\\n}"
  s="${s//$'\r'/\\r}"
  s="${s//$'\t'/\\t}"
  printf '%s' "$s" | LC_ALL=C tr -d '\000-\037'
}

# run_check NAME FUNCTION: the function prints a one-line detail and returns 0 when the
# check passed. It runs in a subshell with no stdin, so nothing it does can stop the
# script or swallow its output.
run_check() {
  local name="$1" fn="$2" detail rc passed
  detail="$("$fn" </dev/null 2>/dev/null)"
  rc=$?
  if [ "$rc" -eq 0 ]; then
    passed=true
  else
    passed=false
    FAILURES=$((FAILURES + 1))
    [ -n "$detail" ] || detail="check did not complete (exit status $rc)"
  fi
  printf '{"name":"%s","passed":%s,"detail":"%s"}\n' \
    "$(json_escape "$name")" "$passed" "$(json_escape "$detail")"
}

java_version_line() {
  if ! command -v java >/dev/null 2>&1; then
    return 1
  fi
  local out
  if command -v timeout >/dev/null 2>&1; then
    out="$(timeout 60 java -version 2>&1)" || return 1
  else
    out="$(java -version 2>&1)" || return 1
  fi
  printf '%s' "$out" | head -n 1
}

check_pulsar_directory() {
  if [ -d "$PULSAR_HOME" ]; then
    echo "$PULSAR_HOME exists"
  else
    echo "$PULSAR_HOME is missing"
    return 1
  fi
}

check_pulsar_binaries() {
  local missing=() bin
  for bin in pulsar bookkeeper; do
    [ -f "$PULSAR_HOME/bin/$bin" ] && [ -x "$PULSAR_HOME/bin/$bin" ] || missing+=("$bin")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    echo "$PULSAR_HOME/bin/pulsar and $PULSAR_HOME/bin/bookkeeper are executable"
  else
    echo "missing or not executable in $PULSAR_HOME/bin: ${missing[*]}"
    return 1
  fi
}

check_systemd_templates() {
  local missing=() component found f
  for component in zookeeper bookkeeper broker; do
    found=false
    for f in "$TEMPLATES_DIR/$component"*.tpl; do
      [ -f "$f" ] && found=true
    done
    [ "$found" = true ] || missing+=("$component")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    echo "zookeeper, bookkeeper and broker templates in $TEMPLATES_DIR"
  else
    echo "no template in $TEMPLATES_DIR for: ${missing[*]}"
    return 1
  fi
}

check_java_installed() {
  local line
  if line="$(java_version_line)"; then
    echo "$line"
  else
    echo "java not found on PATH or 'java -version' failed"
    return 1
  fi
}

check_benchmark() {
  if [ -f "$OMB_HOME/bin/benchmark" ]; then
    echo "$OMB_HOME/bin/benchmark present"
  elif [ -d "$OMB_HOME" ]; then
    echo "$OMB_HOME exists but $OMB_HOME/bin/benchmark is missing"
    return 1
  else
    echo "$OMB_HOME is missing"
    return 1
  fi
}

installed_pulsar_version() {
  local v jar
  if [ -f "$PULSAR_HOME/VERSION" ]; then
    v="$(head -n 1 "$PULSAR_HOME/VERSION" | tr -d '[:space:]')"
    [ -n "$v" ] && { echo "$v (from $PULSAR_HOME/VERSION)"; return 0; }
  fi
  for jar in "$PULSAR_HOME"/lib/org.apache.pulsar-pulsar-broker-*.jar; do
    [ -f "$jar" ] || continue
    v="${jar##*/org.apache.pulsar-pulsar-broker-}"
    v="${v%.jar}"
    echo "$v (from ${jar#"$PULSAR_HOME"/})"
    return 0
  done
  return 1
}

check_pulsar_version() {
  local found version
  if [ -z "$EXPECTED_VERSION" ]; then
    echo "no expected version given (the AMI has no PulsarVersion tag)"
    return 1
  fi
  if ! found="$(installed_pulsar_version)"; then
    echo "installed version unknown: no $PULSAR_HOME/VERSION and no pulsar-broker jar in $PULSAR_HOME/lib"
    return 1
  fi
  version="${found%% *}"
  if [ "$version" = "$EXPECTED_VERSION" ]; then
    echo "installed $found, expected $EXPECTED_VERSION"
  else
    echo "installed $found, expected $EXPECTED_VERSION"
    return 1
  fi
}

check_java_17() {
  local line version major
  if ! line="$(java_version_line)"; then
    echo "java not found on PATH or 'java -version' failed"
    return 1
  fi
  # openjdk version "17.0.10" 2024-01-16 LTS / java version "1.8.0_392"
  version="$(printf '%s' "$line" | sed -n 's/^[^"]*"\([^"]*\)".*$/\1/p')"
  major="${version%%.*}"
  [ "$major" = "1" ] && { major="${version#1.}"; major="${major%%.*}"; }
  if [ "$major" = "17" ]; then
    echo "Java $version"
  else
    echo "Java major version is '${major:-unknown}' ($line), expected 17"
    return 1
  fi
}

run_check "Pulsar directory exists" check_pulsar_directory
run_check "Pulsar binaries present" check_pulsar_binaries
run_check "Systemd templates installed" check_systemd_templates
run_check "Java installed" check_java_installed
run_check "OpenMessaging Benchmark installed" check_benchmark
run_check "Pulsar version matches" check_pulsar_version
run_check "Java 17" check_java_17

[ "$FAILURES" -eq 0 ] && exit 0
exit 1
