/** The command line: global flags (accepted before or after the command) and one subcommand per module. */
import { Command, Help, Option } from 'commander';
import { version } from '../package.json';
import type { CommandModule } from './command';
import type { OutputStream } from './deps';
import { UsageError } from './errors';

export const PROGRAM = 'pulsar-ami';
/** The package's version, as `--version` prints it. */
export const VERSION: string = version;

/** Wide enough that no option description wraps, so each flag's help reads on one line. */
const HELP = { showGlobalOptions: true, helpWidth: 120 };

export interface Invocation {
  module: CommandModule;
  /** The command's own options merged with the global ones. */
  options: Record<string, unknown>;
}

const FOOTER = `
Environment:
  PULSAR_AMI_API_URL          API base URL (instead of --api-url)
  PULSAR_AMI_STAGE            stage of the deployed stack pulsar-ami-STAGE (default: dev)
  PULSAR_AMI_HTTP_TIMEOUT_MS  timeout of each API request (default: 30000)
  AWS_ACCESS_KEY_ID, AWS_PROFILE, ...  the standard AWS credential chain

  NO_COLOR, FORCE_COLOR         colour on a terminal: NO_COLOR=1 turns it off, FORCE_COLOR=1 on even when piped

Exit codes: 0 success, 1 failure (not found, API error, no credentials, ...), 2 usage error, 130 interrupted

Cache: ~/.pulsar-aws-lab/ami-cache/ (list 5 minutes, latest 60 seconds; --no-cache to refresh)`;

/**
 * `--version` / `-V` of the program: only before the command, as after it `--version` is
 * `build`'s own flag. Listed in the help, read by `preParse`.
 */
const VERSION_OPTION = new Option('-V, --version', 'Print the version of pulsar-ami and exit');

/** What ARGV asks before any command runs: the version, or help on a command that does not exist. */
export function preParse(
  argv: readonly string[],
  program: Command,
): { version: boolean; unknownHelpTopic?: string } {
  const takesValue = new Set(
    program.options
      .filter((o) => o.required || o.optional)
      .flatMap((o) => [o.long, o.short].filter((f): f is string => f !== undefined)),
  );
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--version' || arg === '-V') return { version: true };
    if (arg === '--') return { version: false };
    if (takesValue.has(arg)) i++;
    else if (!arg.startsWith('-')) {
      // The command. `help NAME` of an unknown NAME: commander would print the program's help.
      const topic = argv[i + 1];
      const known = (name: string) => program.commands.some((c) => c.name() === name);
      return arg === 'help' && topic !== undefined && !topic.startsWith('-') && !known(topic)
        ? { version: false, unknownHelpTopic: topic }
        : { version: false };
    }
  }
  return { version: false };
}

/**
 * A flag that takes one value may be given once: `--ami-id a --ami-id b` is a usage error
 * naming both values, not the last one kept silently. Commander announces each occurrence.
 */
function refuseRepeats(command: Command): void {
  for (const option of command.options) {
    if (!(option.required || option.optional) || option.variadic) continue;
    let first: unknown;
    let seen = false;
    command.on(`option:${option.name()}`, (value: unknown) => {
      if (seen) {
        throw new UsageError(
          `${option.long ?? option.short} was given more than once ('${String(first)}', then '${String(value)}'); give it once`,
        );
      }
      seen = true;
      first = value;
    });
  }
}

/**
 * Builds the commander program. Parsing only records what to run in `onInvoke`; running
 * happens afterwards, so parse errors and runtime errors stay apart.
 */
export function buildProgram(
  commands: readonly CommandModule[],
  out: OutputStream,
  onInvoke: (invocation: Invocation) => void,
): Command {
  // Help goes to stdout; errors are reported by the caller, as one line.
  const output = {
    writeOut: (text: string) => out.write(text),
    writeErr: () => undefined,
    outputError: () => undefined,
  };
  const program = new Command(PROGRAM)
    .description('Build, validate, list, retire and publish Apache Pulsar AMIs on AWS')
    .usage('[--region REGION] [--dry-run] [--debug] [--json] [--api-url URL] COMMAND [OPTIONS]')
    .addOption(new Option('--region <REGION>', 'AWS region').default('us-west-2'))
    .option('--dry-run', 'Simulate operations without making changes (useful for testing)')
    .option('--debug', 'Enable verbose debug logging')
    .option('--json', 'Print machine-readable JSON on stdout (errors as JSON on stderr)')
    .option(
      '--api-url <URL>',
      'pulsar-ami API base URL (default: $PULSAR_AMI_API_URL, else the deployed stack output)',
    )
    .helpCommand('help [COMMAND]', 'Show the help of a command')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureHelp({
      ...HELP,
      // -V/--version is read before parsing (preParse); the help lists it with the others.
      visibleOptions(this: Help, cmd: Command) {
        const options = Help.prototype.visibleOptions.call(this, cmd);
        if (cmd.parent) return options;
        const help = options.findIndex((o) => o.long === '--help');
        return help < 0 ? [...options, VERSION_OPTION] : options.toSpliced(help, 0, VERSION_OPTION);
      },
    })
    .configureOutput(output)
    .addHelpText('after', FOOTER);
  refuseRepeats(program);

  for (const module of commands) {
    const command = program
      .command(module.name)
      .description(module.summary)
      .exitOverride()
      .configureHelp(HELP)
      .configureOutput(output);
    module.configure(command);
    refuseRepeats(command);
    command.action((_options: unknown, cmd: Command) => {
      onInvoke({ module, options: cmd.optsWithGlobals() });
    });
  }
  return program;
}
