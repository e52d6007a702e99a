#!/bin/bash
# packer (pulsar-ami sandbox): the `packer` in the sandbox's Packer release zip. It runs inside
# a sandbox CodeBuild build and hands each invocation to the sandbox's Packer stand-in through
# the build's bridge folder (sandbox/codebuild/bridge.ts):
#   1. claims a number n (n.claim, created exclusively, kept: numbers are never reused);
#   2. writes {args, cwd, env} as JSON to n.request (through a temporary name and a rename), env
#      holding only PKR_VAR_*, PACKER_* and AWS_REGION;
#   3. prints n.out as it grows (Packer's output) until n.exit appears, then exits with its code.
set -u
bridge=/codebuild/.sandbox-bridge

if [ ! -d "$bridge" ] || [ ! -w "$bridge" ]; then
  echo "packer (pulsar-ami sandbox): no bridge at $bridge; this packer runs only inside a sandbox CodeBuild build" >&2
  exit 1
fi

n=1
until (set -C; : > "$bridge/$n.claim") 2> /dev/null; do
  n=$((n + 1))
  if [ "$n" -gt 100000 ]; then
    echo "packer (pulsar-ami sandbox): the bridge is full" >&2
    exit 1
  fi
done

cwd="$(pwd -P)"
env_json="$(jq -n 'env | with_entries(select(.key | test("^(PKR_VAR_[A-Za-z0-9_]+|PACKER_[A-Z0-9_]+|AWS_REGION)$")))')" || exit 1
jq -n --arg cwd "$cwd" --argjson env "$env_json" '{args: $ARGS.positional, cwd: $cwd, env: $env}' \
  --args -- "$@" > "$bridge/$n.request.tmp" || exit 1
mv -f "$bridge/$n.request.tmp" "$bridge/$n.request" || exit 1

# The sandbox makes n.out before it runs anything, and n.exit after the last line of n.out.
until [ -e "$bridge/$n.out" ] || [ -e "$bridge/$n.exit" ]; do sleep 0.02; done
if [ -e "$bridge/$n.out" ]; then
  exec 5< "$bridge/$n.out"
  until [ -e "$bridge/$n.exit" ]; do
    cat <&5
    sleep 0.05
  done
  cat <&5
  exec 5<&-
fi
code="$(head -c 8 "$bridge/$n.exit")"
# n.claim stays: a number is never used twice in a build (the sandbox answers each once).
rm -f "$bridge/$n.request" "$bridge/$n.out" "$bridge/$n.exit"
case "$code" in
  '' | *[!0-9]*) exit 1 ;;
  *) exit "$code" ;;
esac
