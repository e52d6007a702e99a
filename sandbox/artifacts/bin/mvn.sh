#!/bin/sh
# Apache Maven stand-in (pulsar-ami sandbox), installed as /usr/local/bin/mvn by the dnf
# stand-in's `maven` package. It records the call on stderr ("[sandbox stand-in] mvn …") and,
# for OpenMessaging Benchmark's project (artifactId messaging-benchmark), makes what its real
# build makes at the paths an install reads: benchmark-framework/target/ (the jar, classes/,
# classpath.txt) and package/target/openmessaging-benchmark-0.0.1-SNAPSHOT-bin.tar.gz (bin/,
# lib/, workloads/, the drivers' configuration), from the source tree's own bin/ and workloads/.
# Like Maven it needs java on PATH, a pom.xml (or -f FILE) and a goal; `clean` removes target/.
# Any other project is refused: the sandbox cannot build it.
set -eu

printf '[sandbox stand-in] mvn %s\n' "$*" >&2

quiet=0 pom="pom.xml" goals=""
while [ "$#" -gt 0 ]; do
  case "$1" in
    -v | --version)
      echo "Apache Maven 3.8.4 (Red Hat 3.8.4-3.amzn2023.0.5)"
      echo "Maven home: /usr/share/maven"
      exit 0 ;;
    -q | --quiet) quiet=1 ;;
    -f | --file) [ "$#" -ge 2 ] || { echo "Missing argument for option: f" >&2; exit 1; }; pom="$2"; shift ;;
    -T | -P | -pl | -rf | -s | -gs | -l) [ "$#" -ge 2 ] && shift ;;
    -*) ;;
    *) goals="$goals $1" ;;
  esac
  shift
done

info() { [ "$quiet" -eq 1 ] || printf '[INFO] %s\n' "$*"; }

if ! command -v java >/dev/null 2>&1; then
  echo "The JAVA_HOME environment variable is not defined correctly," >&2
  echo "this environment variable is needed to run this program." >&2
  exit 1
fi

[ -d "$pom" ] && pom="$pom/pom.xml"
project="$(cd "$(dirname "$pom")" && pwd)"
if [ ! -f "$pom" ]; then
  echo "[ERROR] The goal you specified requires a project to execute but there is no POM in this directory ($project). Please verify you invoked Maven from the correct directory. -> [Help 1]" >&2
  exit 1
fi
if [ -z "$goals" ]; then
  echo "[ERROR] No goals have been specified for this build. -> [Help 1]" >&2
  exit 1
fi
if ! grep -q '<artifactId>messaging-benchmark</artifactId>' "$pom"; then
  echo "[ERROR] [sandbox stand-in] mvn builds only OpenMessaging Benchmark's project here, not $pom" >&2
  exit 1
fi

info "Scanning for projects..."
info "Reactor Build Order: messaging-benchmark, benchmark-framework, driver-pulsar, package"
for goal in $goals; do
  case "$goal" in
    clean) rm -rf "$project/target" "$project"/*/target ;;
  esac
done
build=0
for goal in $goals; do
  case "$goal" in
    package | install | verify | deploy) build=1 ;;
  esac
done

if [ "$build" -eq 1 ]; then
  version=0.0.1-SNAPSHOT
  framework="$project/benchmark-framework/target"
  mkdir -p "$framework/classes/io/openmessaging/benchmark"
  : >"$framework/classes/io/openmessaging/benchmark/Benchmark.class"
  printf 'PK sandbox stand-in jar: benchmark-framework %s\n' "$version" >"$framework/benchmark-framework-$version.jar"
  printf '%s\n' "/root/.m2/repository/org/apache/pulsar/pulsar-client/3.0.0/pulsar-client-3.0.0.jar" >"$framework/classpath.txt"
  for driver in "$project"/driver-*/; do
    [ -d "$driver" ] || continue
    driver="${driver%/}"
    mkdir -p "$driver/target"
    printf 'PK sandbox stand-in jar: %s %s\n' "${driver##*/}" "$version" >"$driver/target/${driver##*/}-$version.jar"
  done
  dist="openmessaging-benchmark-$version"
  stage="$project/package/target/$dist"
  rm -rf "$stage"
  mkdir -p "$stage/lib"
  cp -R "$project/bin" "$stage/bin"
  [ ! -d "$project/workloads" ] || cp -R "$project/workloads" "$stage/workloads"
  for driver in "$project"/driver-*/; do
    [ -d "$driver" ] || continue
    driver="${driver%/}"
    mkdir -p "$stage/${driver##*/}"
    for conf in "$driver"/*.yaml; do
      [ -f "$conf" ] && cp "$conf" "$stage/${driver##*/}/"
    done
    cp "$driver/target/${driver##*/}-$version.jar" "$stage/lib/io.openmessaging.benchmark-${driver##*/}-$version.jar"
  done
  cp "$framework/benchmark-framework-$version.jar" "$stage/lib/io.openmessaging.benchmark-benchmark-framework-$version.jar"
  [ ! -f "$project/LICENSE" ] || cp "$project/LICENSE" "$stage/"
  (cd "$project/package/target" && tar -czf "$dist-bin.tar.gz" "$dist")
  rm -rf "$stage"
  info "Building tar: $project/package/target/$dist-bin.tar.gz"
fi
info "------------------------------------------------------------------------"
info "BUILD SUCCESS"
info "------------------------------------------------------------------------"
