/**
 * The script that runs a buildspec's phases inside the build's jail, as CodeBuild's agent does:
 * INSTALL, PRE_BUILD, BUILD and POST_BUILD in order, each command in its own shell (bash, or
 * sh = bash in POSIX mode) that starts from the variables and working folder the previous
 * command left (`/codebuild/output/tmp/env.sh`, as CodeBuild keeps them), the agent's lines
 * (`[Container] <time> Entering phase BUILD`, `Running command …`, `Command did not exit
 * successfully … exit status N`, `Phase complete: BUILD State: FAILED`, `Phase context status
 * code: … Message: …`) between the commands' output, `finally` commands, `on-failure`, and
 * the transitions: a failed INSTALL or PRE_BUILD (ABORT) goes to the end, a failed BUILD still
 * runs POST_BUILD with CODEBUILD_BUILD_SUCCEEDING=0.
 *
 * Output: everything the commands print (stdout and stderr, in order) on stdout; the runner's
 * control lines on stderr, `\x1ePULSAR_CB <kind> …` (PHASE_START <type>, PHASE_END <type>
 * <status> <base64 code> <base64 message>, EXPORT <name> <base64 value>). The build can forge
 * these (it runs as the same user): the runner takes them as untrusted (runner.ts).
 *
 * Every value from the buildspec is single-quoted into this text; nothing is evaluated but the
 * commands themselves.
 */
import type { Buildspec, BuildspecPhase } from './buildspec';
import { COMMAND_PHASES } from './models/records';

export const CONTROL_PREFIX = '\x1ePULSAR_CB ';

/** The agent's folder in the jail (its env.sh), and the source folder commands start in. */
export const AGENT_DIR = '/codebuild/output/tmp';
export const SRC_DIR = '/codebuild/output/src';

/** A bash word that is exactly `text`. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

const array = (name: string, items: readonly string[]) => `${name}=(${items.map(shellQuote).join(' ')})`;

/** Variables of bash itself and of the driver, never carried from one command to the next. */
const NOT_CARRIED =
  '^(BASH.*|BASHOPTS|SHELLOPTS|EUID|PPID|UID|GROUPS|FUNCNAME|PIPESTATUS|RANDOM|SRANDOM|SECONDS|LINENO|HISTCMD|EPOCHSECONDS|EPOCHREALTIME|SHLVL|DIRSTACK|OPTIND|OPTARG|OPTERR|COMP_.*|_|__cb_.*|PWD|OLDPWD|IFS|PS[0-9]|HOSTNAME|HOSTTYPE|MACHTYPE|OSTYPE|COLUMNS|LINES|CODEBUILD_BUILD_SUCCEEDING)$';

const PRELUDE = `set +o posix
# Control lines go to the runner on the original stderr (fd 3 here); all output to stdout.
exec 3>&2 2>&1
__cb_state=${AGENT_DIR}/env.sh
__cb_skip='${NOT_CARRIED}'
__cb_ctl() { printf '\\x1ePULSAR_CB %s\\n' "$*" >&3; }
__cb_b64() { printf '%s' "$1" | base64 -w0; }
__cb_log() {
  local __cb_now="$EPOCHREALTIME" __cb_s
  printf -v __cb_s '%(%Y/%m/%d %H:%M:%S)T' "\${__cb_now%.*}"
  printf '[Container] %s.%s %s\\n' "$__cb_s" "\${__cb_now#*.}" "$*"
}
__cb_save() {
  local __cb_n
  { for __cb_n in $(compgen -v); do
      [[ $__cb_n =~ $__cb_skip ]] || declare -p "$__cb_n" 2>/dev/null
    done
    printf 'cd -- %q\\n' "$PWD"; } > "$__cb_state"
}
# One command, in its own shell: the variables and folder the last one left, then the command.
__cb_exec() {
  (
    exec 3>&-
    if [ -f "$__cb_state" ]; then source "$__cb_state" > /dev/null 2>&1; fi
    export CODEBUILD_BUILD_SUCCEEDING="$__cb_ok"
    trap '{ set +euo pipefail; __cb_save; } > /dev/null 2>&1' EXIT
    if [ "$__cb_shell" = sh ]; then set -o posix; fi
    __cb_cmd="$1"; set --
    eval "$__cb_cmd"
  )
}
# Runs the commands of one phase; answers whether they all succeeded.
__cb_phase() {
  local __cb_type="$1" __cb_c __cb_rc
  __cb_status=SUCCEEDED; __cb_code=''; __cb_message=''
  __cb_log "Entering phase $__cb_type"
  __cb_ctl PHASE_START "$__cb_type"
  if [ "$__cb_type" = BUILD ] && [ -n "$__cb_fault" ]; then
    # The buildFails fault: the phase's first command fails with the fault's reason.
    __cb_c="\${__cb_cmds[0]-}"
    __cb_log "Running command $__cb_c"
    echo "$__cb_fault" >&2
    __cb_log "Command did not exit successfully $__cb_c exit status 1"
    __cb_status=FAILED; __cb_code=COMMAND_EXECUTION_ERROR
    __cb_message="Error while executing command: $__cb_c. Reason: $__cb_fault"
  else
    for __cb_c in "\${__cb_cmds[@]}"; do
      __cb_log "Running command $__cb_c"
      __cb_exec "$__cb_c"; __cb_rc=$?
      if [ "$__cb_rc" -ne 0 ]; then
        __cb_log "Command did not exit successfully $__cb_c exit status $__cb_rc"
        __cb_status=FAILED; __cb_code=COMMAND_EXECUTION_ERROR
        __cb_message="Error while executing command: $__cb_c. Reason: exit status $__cb_rc"
        break
      fi
    done
  fi
  for __cb_c in "\${__cb_fin[@]}"; do
    __cb_log "Running command $__cb_c"
    __cb_exec "$__cb_c"; __cb_rc=$?
    if [ "$__cb_rc" -ne 0 ]; then
      __cb_log "Command did not exit successfully $__cb_c exit status $__cb_rc"
      if [ "$__cb_status" = SUCCEEDED ]; then
        __cb_status=FAILED; __cb_code=COMMAND_EXECUTION_ERROR
        __cb_message="Error while executing command: $__cb_c. Reason: exit status $__cb_rc"
      fi
      break
    fi
  done
  __cb_log "Phase complete: $__cb_type State: $__cb_status"
  __cb_log "Phase context status code: $__cb_code Message: $__cb_message"
  __cb_ctl PHASE_END "$__cb_type" "$__cb_status" "$(__cb_b64 "$__cb_code")" "$(__cb_b64 "$__cb_message")"
  [ "$__cb_status" = SUCCEEDED ]
}
__cb_export() {
  (
    if [ -f "$__cb_state" ]; then source "$__cb_state" > /dev/null 2>&1; fi
    for __cb_n in "\${__cb_exports[@]}"; do
      if [ -n "\${!__cb_n+set}" ]; then __cb_ctl EXPORT "$__cb_n" "$(__cb_b64 "\${!__cb_n}")"; fi
    done
  )
}
`;

export interface DriverOptions {
  spec: Buildspec;
  /** A reason the BUILD phase fails with instead of running (the buildFails fault). */
  faultReason?: string;
}

function phaseBlock(phase: BuildspecPhase | undefined): string {
  return [array('__cb_cmds', phase?.commands ?? []), array('__cb_fin', phase?.finally ?? [])].join('\n');
}

/** The whole driver script for one build. */
export function driverScript({ spec, faultReason }: DriverOptions): string {
  const lines = [
    PRELUDE,
    `__cb_shell=${spec.shell === 'bash' ? 'bash' : 'sh'}`,
    `__cb_fault=${shellQuote(faultReason ?? '')}`,
    array('__cb_exports', spec.exportedVariables),
    '__cb_ok=1; __cb_end=0',
    `cd ${shellQuote(SRC_DIR)} && { __cb_save > /dev/null 2>&1; }`,
  ];
  for (const type of COMMAND_PHASES) {
    const phase = spec.phases[type];
    const onFailure = phase?.onFailure ?? 'ABORT';
    const body = [phaseBlock(phase), `if ! __cb_phase ${type}; then`, '  __cb_ok=0'];
    // A failed INSTALL or PRE_BUILD that aborts ends the build; a failed BUILD goes on to POST_BUILD.
    if ((type === 'INSTALL' || type === 'PRE_BUILD') && onFailure === 'ABORT') body.push('  __cb_end=1');
    body.push('fi');
    // POST_BUILD runs after a failed BUILD; nothing runs after an aborted INSTALL or PRE_BUILD.
    lines.push(`if [ "$__cb_end" = 0 ]; then`, ...body.map((line) => `  ${line}`), 'fi');
  }
  lines.push('__cb_export', 'exit 0', '');
  return lines.join('\n');
}
