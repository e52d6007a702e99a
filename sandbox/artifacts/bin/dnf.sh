#!/bin/sh
# dnf / yum stand-in (pulsar-ami sandbox). A jail has no network and a read-only /usr: this
# records what was asked on stderr ("[sandbox stand-in] dnf install -y …") and installs the
# few packages a build needs as stand-ins in /usr/local/bin (Amazon Linux 2023 puts them in
# /usr/bin; /usr/local/bin comes before it on PATH):
#
#   java-{1.8.0,11,17,21}-amazon-corretto*   java, answering -version like that Corretto
#   maven*                                   mvn, which builds OpenMessaging Benchmark's layout
#   a local session-manager-plugin .rpm      session-manager-plugin (from the artifact store)
#
# Every other package is recorded and otherwise a no-op. `install` without -y is refused as
# dnf refuses with no one to answer its prompt. Other commands (update, upgrade, clean,
# makecache, remove, check-update) are recorded and do nothing.
set -eu

name="${0##*/}"
PACKAGES=/sandbox/bin/.packages
DEST=/usr/local/bin

printf '[sandbox stand-in] %s %s\n' "$name" "$*" >&2

yes=0 command=""
for arg in "$@"; do
  case "$arg" in
    -y | --assumeyes) yes=1 ;;
    -*) ;;
    *) [ -n "$command" ] || command="$arg" ;;
  esac
done

case "$command" in
  install | reinstall | localinstall) ;;
  update | upgrade | clean | makecache | remove | erase | check-update | autoremove | distro-sync)
    exit 0 ;;
  "") echo "$name: no command given" >&2; exit 1 ;;
  *) echo "[sandbox stand-in] $name: '$command' is recorded and does nothing here" >&2; exit 0 ;;
esac

packages=""
seen_command=0
for arg in "$@"; do
  case "$arg" in
    -*) continue ;;
  esac
  if [ "$seen_command" -eq 0 ]; then seen_command=1; continue; fi
  packages="$packages $arg"
done
[ -n "$packages" ] || { echo "Error: Need to pass a list of pkgs to $command" >&2; exit 1; }

if [ "$yes" -eq 0 ]; then
  echo "Is this ok [y/N]: Operation aborted."
  exit 1
fi

arch="$(uname -m)"
installed=""

put() {
  # put PAYLOAD NAME [VERSION]: the stand-in PAYLOAD as DEST/NAME, mode 0755 (@VERSION@ replaced).
  mkdir -p "$DEST"
  sed "s/@VERSION@/${3:-}/g" "$PACKAGES/$1" >"$DEST/$2.tmp.$$"
  chmod 0755 "$DEST/$2.tmp.$$"
  mv -f "$DEST/$2.tmp.$$" "$DEST/$2"
}

for package in $packages; do
  case "$package" in
    java-1.8.0-amazon-corretto*) put java-8 java; version="1.8.0_432.b06-1" ;;
    java-11-amazon-corretto*) put java-11 java; version="11.0.25+9-1" ;;
    java-17-amazon-corretto*) put java-17 java; version="17.0.13+11-1" ;;
    java-21-amazon-corretto*) put java-21 java; version="21.0.5+11-1" ;;
    maven*) put mvn mvn; version="3.8.4-3" ;;
    /* | ./* | *.rpm)
      if [ ! -f "$package" ]; then
        echo "Error: Can not load RPM file: $package." >&2
        exit 1
      fi
      marker="$(head -n 1 "$package" 2>/dev/null || true)"
      case "$marker" in
        '# pulsar-ami sandbox package: session-manager-plugin '*)
          version="${marker##* }"
          case "$version" in *[!0-9.]* | '') echo "Error: $package has no valid version" >&2; exit 1 ;; esac
          put session-manager-plugin session-manager-plugin "$version"
          version="$version-1"
          package=session-manager-plugin
          ;;
        *)
          echo "Error: $package is not a package the sandbox knows (not a valid RPM)." >&2
          exit 1
          ;;
      esac
      ;;
    *) version="sandbox-1" ;;
  esac
  installed="$installed
  $package-$version.amzn2023.$arch"
done

printf 'Installed:%s\n\nComplete!\n' "$installed"
