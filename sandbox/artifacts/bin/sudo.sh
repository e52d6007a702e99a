#!/bin/sh
# sudo stand-in (pulsar-ami sandbox). A jail already runs as its own root, so the command runs
# as it is, as that root, with what sudo on Amazon Linux 2023 does to the environment:
# env_reset (only TERM, LANG, LC_* and a few others are kept) unless -E/--preserve-env, HOME,
# USER, LOGNAME and SUDO_* set, and PATH = secure_path (/sbin:/bin:/usr/sbin:/usr/bin), after
# /sandbox/bin (the stand-ins) and /usr/local/sbin:/usr/local/bin (where the dnf stand-in puts
# what Amazon Linux would put in /usr/bin). VAR=value arguments before the command are set.
# Options: -E, --preserve-env[=list], -H, -n, -S, -k, -u/-g root (any user runs as root here),
# --; anything else is an error.
set -eu

preserve=0
while [ "$#" -gt 0 ]; do
  case "$1" in
    -E | --preserve-env | --preserve-env=*) preserve=1 ;;
    -H | -n | -S | -k | --non-interactive | --stdin | --set-home) ;;
    -u | -g | --user | --group)
      [ "$#" -ge 2 ] || { echo "sudo: option requires an argument -- '${1#-}'" >&2; exit 1; }
      shift ;;
    -u?* | -g?* | --user=* | --group=*) ;;
    --) shift; break ;;
    -*) echo "sudo: [sandbox stand-in] option $1 is not supported" >&2; exit 1 ;;
    *) break ;;
  esac
  shift
done
[ "$#" -gt 0 ] || { echo "usage: sudo [-EHnS] [-u user] [VAR=value] command [arg ...]" >&2; exit 1; }

secure_path=/sandbox/bin:/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin
caller="${USER:-root}"

if [ "$preserve" -eq 1 ]; then
  exec env PATH="$secure_path" HOME=/root USER=root LOGNAME=root SUDO_USER="$caller" \
    SUDO_UID=0 SUDO_GID=0 SUDO_COMMAND="$*" "$@"
fi

set -- PATH="$secure_path" HOME=/root USER=root LOGNAME=root SHELL=/bin/bash MAIL=/var/spool/mail/root \
  SUDO_USER="$caller" SUDO_UID=0 SUDO_GID=0 SUDO_COMMAND="$*" "$@"
for kept in TERM LANG LANGUAGE LINGUAS LC_ALL LC_CTYPE LC_MESSAGES LC_COLLATE LC_NUMERIC LC_TIME \
  DISPLAY HOSTNAME HISTSIZE COLORS XAUTHORITY; do
  eval "value=\${$kept-}"
  eval "isset=\${$kept+set}"
  # shellcheck disable=SC2154 # set by the eval above
  [ "$isset" = set ] && set -- "$kept=$value" "$@"
done
exec env -i "$@"
