/**
 * The CLI core: parse, validate, run one command, map every outcome to an exit code.
 * Runs in-process with injected fetch, env, clock, streams and home folder (see `CliDeps`).
 */
import { CommanderError } from 'commander';
import { isAwsRegion } from '../functions/lib/regions';
import { apiSource, checkApiRegion } from './api/discovery';
import { COMMANDS } from './commands/index';
import { CommandContext, type GlobalOptions } from './context';
import type { CliDeps } from './deps';
import { CliError, EXIT, UsageError } from './errors';
import { clip, Printer } from './printer';
import { buildProgram, type Invocation, PROGRAM, preParse, VERSION } from './program';

export const DEFAULT_TIMEOUT_MS = 30_000;

/** Runs `pulsar-ami ARGV…` (arguments after the program name) and resolves to its exit code. */
export async function runCli(argv: readonly string[], deps: CliDeps): Promise<number> {
  // Known before parsing, so even a parse error is reported in the requested form.
  const environment = { env: deps.env, now: deps.now };
  let printer = new Printer(
    deps.stdout,
    deps.stderr,
    { json: argv.includes('--json'), debug: argv.includes('--debug') },
    environment,
  );
  try {
    let invocation: Invocation | undefined;
    const program = buildProgram(COMMANDS, deps.stdout, (i) => {
      invocation = i;
    });
    const asked = preParse(argv, program);
    if (asked.version) {
      deps.stdout.write(`${VERSION}\n`);
      return EXIT.ok;
    }
    if (asked.unknownHelpTopic !== undefined) {
      throw new UsageError(`unknown command '${asked.unknownHelpTopic}' (${commandNames()})`);
    }
    try {
      await program.parseAsync([...argv], { from: 'user' });
    } catch (error) {
      if (error instanceof CommanderError) return fromCommander(error);
      throw error;
    }
    if (invocation === undefined) throw new UsageError(`a command is required (${commandNames()})`);
    const globals = await globalOptions(invocation.options);
    printer = new Printer(
      deps.stdout,
      deps.stderr,
      { json: globals.json, debug: globals.debug },
      environment,
    );
    const source = apiSource(globals.apiUrl, deps.env);
    checkApiRegion(source, globals.region, deps.env);
    const ctx = new CommandContext(deps, printer, globals, source, timeoutFrom(deps.env));
    return await invocation.module.run(ctx, invocation.options);
  } catch (error) {
    return report(error, printer, deps.signal);
  }
}

function commandNames(): string {
  return COMMANDS.map((c) => c.name).join(', ');
}

function fromCommander(error: CommanderError): number {
  if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.ok;
  // `help` and `help COMMAND` printed what was asked for; without a command, nothing was.
  if (error.code === 'commander.help' && error.exitCode === 0) return EXIT.ok;
  if (error.code === 'commander.help') throw new UsageError(`a command is required (${commandNames()})`);
  const message = error.message
    .replace(/^error: /, '')
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean)
    .join(' ');
  throw new UsageError(message);
}

async function globalOptions(options: Record<string, unknown>): Promise<GlobalOptions> {
  const region = String(options.region);
  // regionSchema accepts exactly the known regions; zod (large) is loaded only to explain a rejection.
  if (!isAwsRegion(region)) {
    const { regionSchema } = await import('../functions/lib/validation');
    const parsed = regionSchema.safeParse(region);
    throw new UsageError(`--region ${parsed.error?.issues[0]?.message ?? 'is invalid'}`);
  }
  const apiUrl = typeof options.apiUrl === 'string' ? options.apiUrl : undefined;
  return {
    region,
    dryRun: options.dryRun === true,
    debug: options.debug === true,
    json: options.json === true,
    ...(apiUrl !== undefined ? { apiUrl } : {}),
  };
}

function timeoutFrom(env: CliDeps['env']): number {
  const raw = env.PULSAR_AMI_HTTP_TIMEOUT_MS;
  if (raw === undefined || raw === '') return DEFAULT_TIMEOUT_MS;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 1 || ms > 600_000) {
    throw new UsageError(
      `PULSAR_AMI_HTTP_TIMEOUT_MS must be a whole number of milliseconds (1-600000), got '${raw}'`,
    );
  }
  return ms;
}

/** One line (or one JSON problem) on stderr, and the exit code. */
function report(error: unknown, printer: Printer, signal: AbortSignal | undefined): number {
  if (signal?.aborted) {
    printer.error('Interrupted');
    return EXIT.interrupted;
  }
  if (error instanceof UsageError) {
    if (printer.options.json) {
      printer.problem({
        type: 'urn:pulsar-ami:problem:usage',
        title: 'Usage error',
        detail: clip(error.message),
        exitCode: 2,
      });
    } else {
      printer.error(`${PROGRAM}: ${error.message}`);
      printer.error(`Run '${PROGRAM} --help' for usage.`);
    }
    return error.exitCode;
  }
  const known = error instanceof CliError;
  const message = error instanceof Error ? error.message : String(error);
  if (printer.options.json) {
    const problem = known ? error.problem : {};
    printer.problem({
      type: 'urn:pulsar-ami:problem:cli',
      title: known ? 'Command failed' : 'Unexpected error',
      ...problem,
      detail: clip(message),
      exitCode: EXIT.failure,
    });
  } else {
    printer.error(known && error.bare ? message : `Error: ${message}`);
  }
  if (printer.options.debug && error instanceof Error && error.stack) {
    // The stack of the error and of what caused it: where the CLI gave up, and why.
    printer.debug(error.stack);
    if (error.cause instanceof Error && error.cause.stack) printer.debug(`Caused by: ${error.cause.stack}`);
  }
  return EXIT.failure;
}
