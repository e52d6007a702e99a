/**
 * `validate --ami-id ID [--instance-type TYPE]`: starts the ValidateAmi state machine
 * through the API and prints the guide's steps as the execution reaches them (polling
 * GET /validations/{id}). Exit 0 when every check passed, 1 otherwise.
 *
 * Ctrl-C stops waiting, not the validation: the machine carries on, records the verdict on
 * the AMI and terminates its test instance on every path, so the run is not wasted and
 * nothing leaks. To cancel it, stop the execution (the execution-status rule then
 * terminates the instance).
 */
import type { ValidationPhaseName, ValidationResponse } from '../../functions/lib/api-types';
import { CHECK_NAMES } from '../../functions/lib/checks';
import { TERMINATION_FAILED } from '../../functions/lib/validation-progress';
import type { ApiClient } from '../api/client';
import type { CommandModule } from '../command';
import type { CommandContext } from '../context';
import { CliError, EXIT, UsageError } from '../errors';
import {
  DEFAULT_POLL_INTERVAL_MS,
  duration,
  MAX_POLL_FAILURES,
  millis,
  pause,
  pollInterval,
  transient,
} from '../follow';
import { PROGRAM } from '../program';

export const DEFAULT_INSTANCE_TYPE = 't3.micro';
/** The machine's own TimeoutSeconds (3600) and a minute: by default the CLI sees every execution end. */
export const DEFAULT_WAIT_MS = 61 * 60_000;

const DRY = '[DRY RUN]';

const ENV_HELP = `
Environment:
  PULSAR_AMI_POLL_INTERVAL_MS   pause between progress polls (default: ${DEFAULT_POLL_INTERVAL_MS})
  PULSAR_AMI_VALIDATE_WAIT_MS   how long to wait for the validation to end (default: ${DEFAULT_WAIT_MS}, 61 minutes)

Ctrl-C stops waiting; the validation continues in AWS and terminates its test instance.`;

export const validate: CommandModule = {
  name: 'validate',
  summary: 'Verify AMI integrity by launching a test instance and running health checks',
  configure(command) {
    command
      .requiredOption('--ami-id <AMI_ID>', 'AMI ID to validate (required)')
      .option('--instance-type <TYPE>', `Instance type for validation (default: ${DEFAULT_INSTANCE_TYPE})`)
      .option('--follow <VALIDATION_ID>', 'Follow a validation already started instead of starting one')
      .addHelpText('after', ENV_HELP);
  },
  async run(ctx, options) {
    const { amiIdSchema, instanceTypeSchema, validationIdSchema } = await import(
      '../../functions/lib/validation'
    );
    const ami = amiIdSchema.safeParse(options.amiId);
    if (!ami.success) throw new UsageError(`--ami-id ${ami.error.issues[0]?.message ?? 'is invalid'}`);
    const type = instanceTypeSchema.safeParse(options.instanceType ?? DEFAULT_INSTANCE_TYPE);
    if (!type.success) {
      throw new UsageError(`--instance-type ${type.error.issues[0]?.message ?? 'is invalid'}`);
    }
    let followId: string | undefined;
    if (options.follow !== undefined) {
      const parsed = validationIdSchema.safeParse(options.follow);
      if (!parsed.success)
        throw new UsageError(`--follow ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
      if (options.instanceType !== undefined) {
        throw new UsageError('--instance-type cannot be used with --follow (the validation has its own)');
      }
      followId = parsed.data;
    }
    const { env } = ctx.deps;
    const timing = {
      intervalMs: pollInterval(env),
      waitMs: millis(env, 'PULSAR_AMI_VALIDATE_WAIT_MS', DEFAULT_WAIT_MS, 24 * 3_600_000),
    };
    const imageId = ami.data;
    const instanceType = type.data;

    if (ctx.globals.dryRun) {
      if (!followId) return dryRun(ctx, imageId, instanceType);
      // Following only reads: there is nothing to simulate.
      ctx.printer.line(`${DRY} --follow only reads; following…`);
    }

    const api = await ctx.api();
    let first: ValidationResponse | undefined;
    let validationId: string;
    let executionArn: string;
    if (followId) {
      first = await api.validation(followId);
      if (first.imageId !== null && first.imageId !== imageId) {
        throw new CliError(`Validation ${followId} is of ${first.imageId}, not ${imageId}`);
      }
      header(ctx, imageId, first.instanceType ?? '?');
      validationId = followId;
      executionArn = first.executionArn;
    } else {
      header(ctx, imageId, instanceType);
      const started = await api.startValidation(imageId, { instanceType });
      validationId = started.validationId;
      executionArn = started.executionArn;
    }
    ctx.printer.debug(`Validation: ${validationId}`);
    ctx.printer.debug(`Execution: ${executionArn}`);
    return follow(ctx, api, { imageId, validationId, executionArn }, timing, first);
  },
};

function header(ctx: CommandContext, imageId: string, instanceType: string): void {
  const { printer } = ctx;
  printer.line('Validating AMI');
  printer.line(`AMI ID: ${imageId}`);
  printer.line(`Instance Type: ${instanceType}`);
  printer.line(`Region: ${ctx.region}`);
}

/** Checks the AMI can be validated and says what would run; starts nothing. */
async function dryRun(ctx: CommandContext, imageId: string, instanceType: string): Promise<number> {
  const { printer } = ctx;
  header(ctx, imageId, instanceType);
  const api = await ctx.api();
  const ami = await api.ami(imageId);
  if (ami.state !== 'available') {
    throw new CliError(
      `AMI ${imageId} is ${ami.state}, not available; only an available AMI can be validated`,
      { title: 'AMI not available', imageId, state: ami.state },
    );
  }
  const plan = `Would launch a ${instanceType} test instance from ${imageId}, run ${CHECK_NAMES.length} checks through SSM, then terminate it`;
  if (printer.options.json) {
    printer.json({
      dryRun: true,
      region: ctx.region,
      imageId,
      instanceType,
      ami,
      checks: [...CHECK_NAMES],
      plan,
    });
    return EXIT.ok;
  }
  printer.line();
  printer.line(`${DRY} ${plan}`);
  return EXIT.ok;
}

interface Target {
  imageId: string;
  validationId: string;
  executionArn: string;
}

/** Polls until the execution ends, printing each new line of its story; Ctrl-C and the wait limit stop waiting. */
async function follow(
  ctx: CommandContext,
  api: ApiClient,
  target: Target,
  timing: { intervalMs: number; waitMs: number },
  first?: ValidationResponse,
): Promise<number> {
  const { deps, printer } = ctx;
  const deadline = deps.now() + timing.waitMs;
  let printed = 0;
  let failures = 0;
  let pending = first;
  for (;;) {
    let snapshot = pending;
    pending = undefined;
    if (!snapshot) {
      try {
        snapshot = await api.validation(target.validationId);
        failures = 0;
      } catch (error) {
        if (deps.signal?.aborted) return stopped(ctx, target);
        if (!transient(error) || ++failures > MAX_POLL_FAILURES) throw error;
        printer.debug(`poll failed (${failures}/${MAX_POLL_FAILURES}): ${(error as Error).message}`);
      }
    }
    if (snapshot) {
      const lines = progressLines(snapshot);
      for (const line of lines.slice(printed)) printer.line(line);
      printed = Math.max(printed, lines.length);
      if (snapshot.status !== 'RUNNING') return finish(ctx, snapshot);
    }
    if (deps.now() >= deadline) {
      printer.error(
        `Stopped waiting after ${duration(timing.waitMs)} (PULSAR_AMI_VALIDATE_WAIT_MS); the validation is still running in AWS.`,
      );
      followHints(ctx, target);
      return EXIT.failure;
    }
    await pause(ctx, timing.intervalMs);
    if (deps.signal?.aborted) return stopped(ctx, target);
  }
}

function followHints(ctx: CommandContext, target: Target): void {
  ctx.printer.error(
    `Follow it: ${PROGRAM} --region ${ctx.region} validate --ami-id ${target.imageId} --follow ${target.validationId}`,
  );
  ctx.printer.error(`       or: aws stepfunctions describe-execution --execution-arn ${target.executionArn}`);
}

function stopped(ctx: CommandContext, target: Target): number {
  ctx.printer.error('');
  ctx.printer.error(
    'Stopped waiting. The validation continues in AWS and its test instance will be terminated.',
  );
  followHints(ctx, target);
  return EXIT.interrupted;
}

function finish(ctx: CommandContext, v: ValidationResponse): number {
  const passed = amiPassed(v);
  // The verdict is a tag the latest rule reads, and a failure may have moved the latest: the
  // cached answers are stale.
  ctx.cache.invalidate();
  if (ctx.printer.options.json) ctx.printer.json(v);
  else if (!passed) ctx.printer.line(`Execution: ${v.executionArn}`);
  if (passedButNotTerminated(v)) {
    ctx.printer.error(
      `Warning: ${testInstance(v)} could not be terminated; the execution-status rule (or the sweeper) terminates it (execution ${v.executionArn})`,
    );
  }
  return passed ? EXIT.ok : EXIT.failure;
}

const testInstance = (v: ValidationResponse) =>
  v.instanceId ? `test instance ${v.instanceId}` : 'the test instance';

/**
 * The checks have all passed and that verdict is recorded on the AMI (no error on the way):
 * what is left cannot change whether the AMI is good. Known from Step 5 on.
 */
function checksPassedAndRecorded(v: ValidationResponse): boolean {
  return (
    v.phases.checks === 'succeeded' &&
    v.checks !== undefined &&
    v.checks.length > 0 &&
    v.checks.every((c) => c.passed) &&
    (v.error === undefined || v.error.error === TERMINATION_FAILED)
  );
}

/**
 * Every check passed and the AMI is tagged Validated=true, but the test instance could not be
 * terminated: the execution ends FAILED on purpose (so the execution-status rule terminates
 * the instance), yet the AMI is good. A warning, not a failed validation.
 */
export function passedButNotTerminated(v: ValidationResponse): boolean {
  return (
    v.status === 'FAILED' &&
    v.error?.error === TERMINATION_FAILED &&
    v.failedPhase === 'terminate' &&
    checksPassedAndRecorded(v)
  );
}

/** The verdict the AMI carries: the execution succeeded with every check passed, or only termination failed. */
export function amiPassed(v: ValidationResponse): boolean {
  return (v.status === 'SUCCEEDED' && v.passed === true) || passedButNotTerminated(v);
}

const step = (n: number, text: string) => ['', `Step ${n}/6: ${text}`];

/**
 * Everything the validation has told so far, as the guide's lines. A later answer only
 * adds lines at the end, so printing the lines not yet printed shows the story as it goes.
 */
export function progressLines(v: ValidationResponse): string[] {
  const lines: string[] = [];
  const { phases } = v;
  const failure = (phase: ValidationPhaseName): string[] =>
    v.failedPhase === phase && v.error
      ? [`  ✗ ${v.error.summary}`, ...(v.error.cause ? [`    ${v.error.cause}`] : [])]
      : [];

  if (phases.launch !== 'pending') {
    lines.push(...step(1, 'Launching test instance...'));
    if (phases.launch === 'succeeded') lines.push(`  ✓ Instance launched: ${v.instanceId ?? '(unknown)'}`);
    lines.push(...failure('launch'));
  }
  if (phases.instanceRunning !== 'pending') {
    lines.push(...step(2, 'Waiting for instance to be running...'));
    if (phases.instanceRunning === 'succeeded') lines.push('  ✓ Instance is running');
    lines.push(...failure('instanceRunning'));
  }
  if (phases.ssmAgent !== 'pending') {
    lines.push(...step(3, 'Waiting for SSM agent...'));
    if (phases.ssmAgent === 'succeeded') lines.push('  ✓ SSM agent is online');
    lines.push(...failure('ssmAgent'));
  }
  if (phases.checks !== 'pending') {
    lines.push(...step(4, 'Running validation checks...'));
    if (v.checks) {
      for (const check of v.checks) {
        const mark = check.passed ? '✓' : `✗${check.detail ? ` (${check.detail})` : ''}`;
        lines.push(`  Checking: ${check.name}... ${mark}`);
      }
      const failed = v.checks.filter((c) => !c.passed).map((c) => c.name);
      lines.push(
        failed.length === 0
          ? '  ✓ All validation checks passed'
          : `  ✗ ${failed.length} check(s) failed: ${failed.join(', ')}`,
      );
    }
    lines.push(...failure('checks'));
  }
  if (phases.terminate !== 'pending') {
    lines.push(...step(5, 'Terminating test instance...'));
    if (phases.terminate === 'succeeded') lines.push('  ✓ Test instance terminated');
    else if (phases.terminate === 'failed') {
      const e = v.terminationError;
      // After passed checks, a termination failure is a warning: the AMI's verdict stands.
      const mark = checksPassedAndRecorded(v) ? '!' : '✗';
      if (e) lines.push(`  ${mark} ${e.summary}`, ...(e.cause ? [`    ${e.cause}`] : []));
    } else lines.push(...failure('terminate'));
    const ended = v.status !== 'RUNNING';
    if (ended && (phases.terminate === 'failed' || phases.terminate === 'delegated')) {
      lines.push(
        `  ! ${v.instanceId ? `Test instance ${v.instanceId}` : 'Any test instance'} is terminated by the execution-status rule (or the sweeper)`,
      );
    } else if (phases.terminate === 'skipped') {
      lines.push('  - No test instance was launched; nothing to terminate');
    }
  }
  if (v.status !== 'RUNNING') {
    lines.push(...step(6, 'Validation complete'), '');
    lines.push(
      amiPassed(v)
        ? '✓ AMI VALIDATION PASSED'
        : `✗ AMI VALIDATION FAILED: ${v.error?.summary ?? v.failedChecks?.join(', ') ?? v.status}`,
    );
    if (v.latestRepublished !== undefined) {
      lines.push(
        v.latestRepublished === null
          ? '  Latest AMI cleared: no validated Pulsar AMI left to publish'
          : `  Latest AMI republished: ${v.latestRepublished}`,
      );
    }
  }
  return lines;
}
