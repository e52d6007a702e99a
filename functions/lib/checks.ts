/**
 * The image checks: their names (what Evaluate Check Results expects), and the check script
 * in packer/checks/. ValidateAmi runs the script through the stack's SSM document
 * (serverless.yml ValidationChecksDocument, made from the file at package time); the Lambdas
 * never carry it. `checkCommands` wraps it for AWS-RunShellScript, for running it by hand and
 * in the sandbox's own tests.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The checks the script reports, in order: the guide's five, then the version and Java 17. */
export const CHECK_NAMES = [
  'Pulsar directory exists',
  'Pulsar binaries present',
  'Systemd templates installed',
  'Java installed',
  'OpenMessaging Benchmark installed',
  'Pulsar version matches',
  'Java 17',
] as const;

export type CheckName = (typeof CHECK_NAMES)[number];

/** Where the script lives, relative to the project root (and to the Lambda package root). */
export const CHECK_SCRIPT_PATH = 'packer/checks/run-checks.sh';

/** Ends the here-document that carries the script; the script must not contain this line. */
export const SCRIPT_DELIMITER = 'PULSAR_AMI_CHECKS_EOF';

let cached: { root: string; script: string } | undefined;

/**
 * Reads the check script once. In the Lambda package the file sits at the same relative
 * path under the task root (serverless `package.patterns`); locally, under the repository.
 */
export function readCheckScript(root: string = process.cwd()): string {
  if (cached?.root !== root) cached = { root, script: readFileSync(join(root, CHECK_SCRIPT_PATH), 'utf8') };
  return cached.script;
}

/** Single-quotes a value for sh, so no character in it is interpreted. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * The `commands` for AWS-RunShellScript. The SSM agent joins them with newlines into a file
 * it runs with `sh`; these lines write the script unchanged to a temporary file (a quoted
 * here-document expands nothing) and run it with bash, the expected version in its
 * environment, so the script neither depends on which shell `sh` is nor competes with its
 * own commands for stdin. The command's exit status is the script's.
 */
export function checkCommands(script: string, expectedVersion: string | null): string[] {
  if (script.split('\n').includes(SCRIPT_DELIMITER)) {
    throw new Error(`The check script must not contain a line '${SCRIPT_DELIMITER}'`);
  }
  const body = script.endsWith('\n') ? script.slice(0, -1) : script;
  return [
    'checks_file="$(mktemp /tmp/pulsar-ami-checks.XXXXXX)" || exit 2',
    `cat > "$checks_file" <<'${SCRIPT_DELIMITER}'`,
    ...body.split('\n'),
    SCRIPT_DELIMITER,
    `PULSAR_EXPECTED_VERSION=${shellQuote(expectedVersion ?? '')} bash "$checks_file" </dev/null`,
    'checks_status=$?',
    'rm -f "$checks_file"',
    'exit "$checks_status"',
  ];
}
