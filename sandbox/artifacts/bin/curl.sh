#!/bin/sh
# curl stand-in (pulsar-ami sandbox). A jail has no network: this answers the URLs the project's
# scripts download from the sandbox's artifact store, mounted read-only at /sandbox/artifacts:
#
#   https://<host>/<path>  (or http://)                      -> /sandbox/artifacts/<host>/<path>
#   http://127.0.0.1:<port>/_sandbox/artifacts/<host>/<path>  -> the same file (also localhost)
#
# Options (the subset the project uses; anything else is an error, exit 2):
#   -f/--fail  -s/--silent  -S/--show-error  -L/--location  -o/--output FILE  -O/--remote-name
#   -I/--head  -w/--write-out FORMAT (%{http_code} %{response_code} %{size_download}
#   %{url_effective} %{content_type}, \n)  --retry N  --retry-delay N  --retry-max-time N
#   --retry-connrefused  --retry-all-errors  --connect-timeout N  -m/--max-time N  --proto P
#   --proto-redir P  --tlsv1.2  --compressed  --fail-with-body
# Short options combine (-fsSL, -sSfLo FILE). One URL per call.
# A missing file is a 404: with -f, exit 22 and "curl: (22) The requested URL returned error: 404"
# (shown unless -s without -S); without -f, the 404 page is the output and the exit status 0.
# Nothing outside /sandbox/artifacts is ever read: every path segment is checked.
set -u

STORE=/sandbox/artifacts
fail=0 silent=0 show_error=0 head=0 output="" remote_name=0 write_out="" url="" fail_with_body=0

usage_error() {
  printf 'curl: %s\n' "$1" >&2
  printf "curl: try 'curl --help' or 'curl --manual' for more information\n" >&2
  exit 2
}

needs_value() {
  [ "$2" -ge 2 ] || usage_error "option $1: requires parameter"
}

while [ "$#" -gt 0 ]; do
  arg="$1"
  case "$arg" in
    --fail) fail=1 ;;
    --fail-with-body) fail=1; fail_with_body=1 ;;
    --silent) silent=1 ;;
    --show-error) show_error=1 ;;
    --location) ;;
    --head) head=1 ;;
    --remote-name) remote_name=1 ;;
    --compressed | --tlsv1.2 | --retry-connrefused | --retry-all-errors) ;;
    --output) needs_value "$arg" "$#"; output="$2"; shift ;;
    --output=*) output="${arg#--output=}" ;;
    --write-out) needs_value "$arg" "$#"; write_out="$2"; shift ;;
    --retry | --retry-delay | --retry-max-time | --connect-timeout | --max-time | --proto | --proto-redir)
      needs_value "$arg" "$#"; shift ;;
    --) shift; [ "$#" -gt 0 ] && { [ -z "$url" ] || usage_error "[sandbox stand-in] one URL per call"; url="$1"; } ;;
    --*) usage_error "option $arg: is unknown" ;;
    -?*)
      flags="${arg#-}"
      while [ -n "$flags" ]; do
        flag="${flags%"${flags#?}"}"
        flags="${flags#?}"
        case "$flag" in
          f) fail=1 ;;
          s) silent=1 ;;
          S) show_error=1 ;;
          L) ;;
          I) head=1 ;;
          O) remote_name=1 ;;
          o | w | m)
            if [ -n "$flags" ]; then value="$flags"; flags=""
            else needs_value "-$flag" "$#"; value="$2"; shift
            fi
            case "$flag" in
              o) output="$value" ;;
              w) write_out="$value" ;;
              m) ;;
            esac
            ;;
          *) usage_error "option -$flag: is unknown" ;;
        esac
      done
      ;;
    *) [ -z "$url" ] || usage_error "[sandbox stand-in] one URL per call"; url="$arg" ;;
  esac
  shift
done

[ -n "$url" ] || usage_error "no URL specified"

complain() {
  # curl prints its error unless silenced (-s) without -S.
  if [ "$silent" -eq 0 ] || [ "$show_error" -eq 1 ]; then printf 'curl: %s\n' "$1" >&2; fi
}

# The store path of a URL, or nothing when the URL names no file the store could hold.
store_path() {
  rest=""
  case "$1" in
    http://127.0.0.1:*/_sandbox/artifacts/* | http://localhost:*/_sandbox/artifacts/*)
      rest="${1#http://*/_sandbox/artifacts/}" ;;
    https://* | http://*)
      rest="${1#*://}" ;;
    *) return 1 ;;
  esac
  case "$rest" in
    *'?'* | *'#'* | *'%'* | *\\* | */ | '') return 1 ;;
  esac
  host="${rest%%/*}"
  [ "$host" != "$rest" ] || return 1
  case "$host" in
    *[!a-z0-9.-]* | .* | *..*) return 1 ;;
  esac
  checked=""
  old_ifs="$IFS"
  IFS=/
  set -f
  # Split on / on purpose, with globbing off.
  # shellcheck disable=SC2086
  set -- $rest
  set +f
  IFS="$old_ifs"
  for segment in "$@"; do
    case "$segment" in
      '' | . | .. | *[!A-Za-z0-9._+~-]*) return 1 ;;
    esac
    checked="$checked/$segment"
  done
  printf '%s%s\n' "$STORE" "$checked"
}

case "$url" in
  http://* | https://*) ;;
  *://*) complain "(1) Protocol \"${url%%://*}\" not supported"; exit 1 ;;
  *) url="https://$url" ;;
esac

file="$(store_path "$url")" || file=""
status=404
if [ -n "$file" ] && [ -f "$file" ] && [ ! -L "$file" ] && [ -r "$file" ]; then status=200; fi

case "$file" in
  *.tar.gz | *.tgz) content_type=application/x-gzip ;;
  *.zip) content_type=application/zip ;;
  *.rpm) content_type=application/x-rpm ;;
  *) content_type=text/plain ;;
esac

not_found_page() {
  printf '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>404 Not Found</title>\n</head><body>\n<h1>Not Found</h1>\n<p>The requested URL was not found on this server.</p>\n</body></html>\n'
}

if [ "$status" -eq 200 ]; then size="$(wc -c <"$file" | tr -d ' ')"; else size="$(not_found_page | wc -c | tr -d ' ')"; fi

# Where the body goes: -o FILE, -O (the URL's last segment, in the current folder), or stdout.
target=""
if [ -n "$output" ] && [ "$output" != "-" ]; then target="$output"
elif [ "$remote_name" -eq 1 ]; then
  target="${url%%[?#]*}"
  target="${target##*/}"
  [ -n "$target" ] || { complain "(23) Remote file name has no length"; exit 23; }
fi

emit() {
  if [ -n "$target" ]; then
    if ! "$@" >"$target"; then complain "(23) Failure writing output to destination"; exit 23; fi
  else
    "$@"
  fi
}

# Called through emit.
# shellcheck disable=SC2329
headers() {
  if [ "$status" -eq 200 ]; then printf 'HTTP/1.1 200 OK\r\n'; else printf 'HTTP/1.1 404 Not Found\r\n'; fi
  printf 'Content-Length: %s\r\nContent-Type: %s\r\n\r\n' "$size" "$content_type"
}

# replace_all STRING FROM TO: every FROM in STRING replaced (no awk: a jail's /etc has no
# alternatives, so Debian's awk link does not resolve there).
replace_all() {
  rest_="$1" out_=""
  while :; do
    case "$rest_" in
      *"$2"*) out_="$out_${rest_%%"$2"*}$3"; rest_="${rest_#*"$2"}" ;;
      *) break ;;
    esac
  done
  printf '%s' "$out_$rest_"
}

write_out() {
  [ -n "$write_out" ] || return 0
  downloaded="$size"
  [ "$head" -eq 0 ] || downloaded=0
  # \n, \r and \t become their characters, as curl does (the x keeps trailing newlines).
  text="$(printf '%bx' "$write_out")"
  text="${text%x}"
  text="$(replace_all "$text" '%{http_code}' "$status"; printf x)"; text="${text%x}"
  text="$(replace_all "$text" '%{response_code}' "$status"; printf x)"; text="${text%x}"
  text="$(replace_all "$text" '%{size_download}' "$downloaded"; printf x)"; text="${text%x}"
  text="$(replace_all "$text" '%{content_type}' "$content_type"; printf x)"; text="${text%x}"
  text="$(replace_all "$text" '%{url_effective}' "$url"; printf x)"; text="${text%x}"
  printf '%s' "$text"
}

if [ "$status" -ne 200 ] && [ "$fail" -eq 1 ]; then
  [ "$fail_with_body" -eq 0 ] || [ "$head" -eq 1 ] || emit not_found_page
  write_out
  complain "(22) The requested URL returned error: 404"
  exit 22
fi

if [ "$head" -eq 1 ]; then
  emit headers
elif [ "$status" -eq 200 ]; then
  emit cat -- "$file"
else
  emit not_found_page
fi
write_out
exit 0
