/** The command line: global flags (accepted before or after the command) and one subcommand per module. */
import { Command, Option } from 'commander';
import type { CommandModule } from './command';
import type { OutputStream } from './deps';

export const PROGRAM = 'pulsar-ami';

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

Exit codes: 0 success, 1 failure (not found, API error, no credentials, ...), 2 usage error, 130 interrupted

Cache: ~/.pulsar-aws-lab/ami-cache/ (list 5 minutes, latest 60 seconds; --no-cache to refresh)`;

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
    .helpCommand(false)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureHelp(HELP)
    .configureOutput(output)
    .addHelpText('after', FOOTER);

  for (const module of commands) {
    const command = program
      .command(module.name)
      .description(module.summary)
      .exitOverride()
      .configureHelp(HELP)
      .configureOutput(output);
    module.configure(command);
    command.action((_options: unknown, cmd: Command) => {
      onInvoke({ module, options: cmd.optsWithGlobals() });
    });
  }
  return program;
}
