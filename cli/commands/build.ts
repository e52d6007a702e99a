/**
 * `build --version V [--instance-type t3.small] [--architecture x86_64] [--force]
 * [--copy-to-regions R,…] [--quiet] [--follow BUILD_ID]`: starts the BuildAmi state machine
 * through the API (`POST /builds`) and tells the build as the guide does — the header, Packer's
 * plugins, Packer's output streamed as CodeBuild writes it (GET /builds/{id}/logs), then the
 * validation, publishing and copies as they happen (GET /builds/{id}), and at the end
 * `✓ AMI built successfully!` with `  AMI ID: ami-…`, so the guide's
 * `grep "AMI ID:" | awk '{print $3}'` yields the id. Exit 0 built (or already built), 1 failed
 * (naming the failed step and the reason), 2 usage, 130 Ctrl-C.
 *
 * Ctrl-C stops waiting, not the build: the machine carries on (and cleans up after itself on
 * every path); `build --follow BUILD_ID` attaches to it again, running or ended.
 */
import { randomUUID } from 'node:crypto';
import type {
  AlreadyBuiltResponse,
  BuildPlanResponse,
  BuildResponse,
  CodeBuildStatus,
} from '../../functions/lib/api-types';
import type { ApiClient } from '../api/client';
import type { CommandModule } from '../command';
import type { CommandContext } from '../context';
import { CliError, EXIT, UsageError } from '../errors';
import { duration, millis, pause, pollInterval, pollOnce, transient } from '../follow';
import { printable } from '../printer';
import { PROGRAM } from '../program';
import { progressLines } from './validate';

export const DEFAULT_BUILD_INSTANCE_TYPE = 't3.small';
/** BuildAmi's own TimeoutSeconds (10800) and a minute: by default the CLI sees every build end. */
export const DEFAULT_BUILD_WAIT_MS = 181 * 60_000;
/** Log pages read in one poll (each up to 1 MB): enough to catch up, bounded so progress is told too. */
const LOG_PAGES_PER_POLL = 20;

const DRY = '[DRY RUN]';

const ENV_HELP = `
Environment:
  PULSAR_AMI_POLL_INTERVAL_MS   pause between progress polls (default: 2000)
  PULSAR_AMI_BUILD_WAIT_MS      how long to wait for the build to end (default: ${DEFAULT_BUILD_WAIT_MS}, 181 minutes)

Ctrl-C stops waiting; the build continues in AWS. Follow it again with --follow BUILD_ID.`;

/** CodeBuild's phases, in order: Packer's plugins are initialized once PRE_BUILD is done. */
const CODEBUILD_PHASES = [
  'SUBMITTED',
  'QUEUED',
  'PROVISIONING',
  'DOWNLOAD_SOURCE',
  'INSTALL',
  'PRE_BUILD',
  'BUILD',
  'POST_BUILD',
  'UPLOAD_ARTIFACTS',
  'FINALIZING',
  'COMPLETED',
];

/** CodeBuild's own line as the BUILD phase begins (`[Container] 2025/10/06 14:23:11.123 Entering phase BUILD`). */
const ENTERING_BUILD = /^\[Container\] .*Entering phase BUILD\b/;
/** A log line that reports an error: a provisioner's `ERROR:`, Packer's `Error:`, CodeBuild's failed command. */
const LOG_ERROR = /\bERROR\b|\bError:|\berror:/;

const FLAGS: Record<string, string> = {
  version: '--version',
  instanceType: '--instance-type',
  architecture: '--architecture',
  copyToRegions: '--copy-to-regions',
  force: '--force',
};

interface Request {
  version: string;
  instanceType: string;
  architecture: 'x86_64' | 'arm64';
  force: boolean;
  copyToRegions: string[];
}

export const build: CommandModule = {
  name: 'build',
  summary: 'Build a fresh Pulsar AMI with Packer (then validate, publish and copy it)',
  configure(command) {
    command
      .option('--version <VERSION>', 'Apache Pulsar version to install (required, e.g. "3.0.0")')
      .option(
        '--instance-type <TYPE>',
        `EC2 instance type for building (default: ${DEFAULT_BUILD_INSTANCE_TYPE})`,
      )
      .option('--architecture <ARCH>', 'x86_64 or arm64 (default: x86_64)')
      .option('--force', 'Build even when a validated AMI of this version and architecture exists')
      .option('--copy-to-regions <REGIONS>', 'Copy the validated AMI to these regions (comma-separated)')
      .option('--quiet', "Don't stream Packer's output")
      .option('--follow <BUILD_ID>', 'Follow a build already started instead of starting one')
      .addHelpText('after', ENV_HELP);
  },
  async run(ctx, options) {
    const { env } = ctx.deps;
    const timing = {
      intervalMs: pollInterval(env),
      waitMs: millis(env, 'PULSAR_AMI_BUILD_WAIT_MS', DEFAULT_BUILD_WAIT_MS, 24 * 3_600_000),
    };
    const quiet = options.quiet === true;
    if (options.follow !== undefined) {
      const buildId = await followId(options);
      if (ctx.globals.dryRun) ctx.printer.line(`${DRY} --follow only reads; following…`);
      const api = await ctx.api();
      const first = await api.build(buildId);
      header(ctx, first.version ?? '?', first.instanceType ?? '?');
      return new Follower(ctx, api, first, timing, quiet).run();
    }
    const request = await parseRequest(ctx, options);
    if (ctx.globals.dryRun) return dryRun(ctx, request);

    header(ctx, request.version, request.instanceType);
    const api = await ctx.api();
    // Every start carries an Idempotency-Key, so a start cut short (Ctrl-C, a lost answer)
    // still names the build it may have started, and a retry with it starts nothing new.
    const { buildIdFor } = await import('../../functions/lib/builds');
    const idempotencyKey = randomUUID();
    let started: Awaited<ReturnType<typeof api.startBuild>>;
    try {
      started = await api.startBuild(request, idempotencyKey);
    } catch (error) {
      if (ctx.deps.signal?.aborted) {
        const buildId = buildIdFor(idempotencyKey);
        ctx.printer.error('');
        ctx.printer.error('Stopped before the API answered: the build may have started. If it did:');
        ctx.printer.error(`Follow it: ${PROGRAM} --region ${ctx.region} build --follow ${buildId}`);
        return EXIT.interrupted;
      }
      throw error;
    }
    if (started.outcome === 'already-built') return alreadyBuilt(ctx, started);
    if (started.outcome === 'plan')
      throw new CliError('The API answered with a plan to a build that is not a dry run');
    ctx.printer.debug(`Build: ${started.buildId}`);
    ctx.printer.debug(`Execution: ${started.executionArn}`);
    if (started.outcome === 'running') {
      ctx.printer.line(`(The same build is already running: following ${started.buildId})`);
    }
    const first = await pollOnce(ctx, timing.intervalMs, () => api.build(started.buildId));
    if (!first) return stopped(ctx, started.buildId, started.executionArn);
    return new Follower(ctx, api, first, timing, quiet).run();
  },
};

async function followId(options: Record<string, unknown>): Promise<string> {
  const { buildIdSchema } = await import('../../functions/lib/validation');
  const parsed = buildIdSchema.safeParse(options.follow);
  if (!parsed.success) throw new UsageError(`--follow ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
  const conflicting = ['version', 'instanceType', 'architecture', 'force', 'copyToRegions'].filter(
    (key) => options[key] !== undefined,
  );
  if (conflicting.length > 0) {
    throw new UsageError(
      `${conflicting.map((k) => FLAGS[k]).join(', ')} cannot be used with --follow (the build has its own)`,
    );
  }
  return parsed.data;
}

/** The flags through the API's own rules (functions/lib/builds.ts): a bad one is exit 2, nothing sent. */
async function parseRequest(ctx: CommandContext, options: Record<string, unknown>): Promise<Request> {
  if (options.version === undefined)
    throw new UsageError("required option '--version <VERSION>' not specified");
  const { buildRequestSchema } = await import('../../functions/lib/builds');
  const regions =
    typeof options.copyToRegions === 'string' ? options.copyToRegions.split(',').map((r) => r.trim()) : [];
  if (regions.some((r) => r === '')) {
    throw new UsageError(
      `--copy-to-regions must be regions separated by commas, got '${options.copyToRegions}'`,
    );
  }
  const parsed = buildRequestSchema(ctx.region).safeParse({
    version: options.version,
    ...(options.instanceType !== undefined ? { instanceType: options.instanceType } : {}),
    ...(options.architecture !== undefined ? { architecture: options.architecture } : {}),
    force: options.force === true,
    copyToRegions: regions,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue?.path[0] ?? '');
    throw new UsageError(`${FLAGS[key] ?? key} ${issue?.message ?? 'is invalid'}`);
  }
  const { dryRun: _dryRun, ...request } = parsed.data;
  return request;
}

function header(ctx: CommandContext, version: string, instanceType: string): void {
  const { printer } = ctx;
  printer.line('Building Pulsar AMI');
  printer.line(`Pulsar Version: ${version}`);
  printer.line(`Instance Type: ${instanceType}`);
  printer.line(`Region: ${ctx.region}`);
}

/** Checks what the API checks (the version in the archive, the instance type) and prints the plan; starts nothing. */
async function dryRun(ctx: CommandContext, request: Request): Promise<number> {
  const { printer } = ctx;
  const api = await ctx.api();
  const plan = (await api.startBuild({ ...request, dryRun: true })) as BuildPlanResponse;
  if (printer.options.json) {
    printer.json(plan);
    return EXIT.ok;
  }
  header(ctx, request.version, request.instanceType);
  printer.line();
  if (plan.existing) {
    printer.line(`${DRY} AMI already built: ${plan.existing.imageId} (${plan.existing.name}), validated`);
    printer.line(`${DRY} Nothing would be built (--force builds anyway)`);
    if ((request.copyToRegions ?? []).length > 0) {
      printer.line(
        `${DRY} Would copy it to ${(request.copyToRegions ?? []).join(', ')} and publish it there`,
      );
    }
  } else {
    printer.line(`${DRY} Pulsar ${request.version} is in the archive: ${plan.checksumUrl ?? '?'}`);
    for (const step of plan.steps)
      printer.line(`${DRY} Would ${step.charAt(0).toLowerCase()}${step.slice(1)}`);
  }
  printer.line();
  printer.line('✓ Dry run: nothing was started');
  return EXIT.ok;
}

function alreadyBuilt(ctx: CommandContext, r: AlreadyBuiltResponse): number {
  const { printer } = ctx;
  if (printer.options.json) {
    printer.json(r);
    return EXIT.ok;
  }
  printer.line();
  printer.line(
    `✓ AMI already built: ${r.ami.name}, validated (Pulsar ${r.version}, ${r.architecture}); use --force to build again`,
  );
  printer.line(`  AMI ID: ${r.amiId}`);
  printer.line(`  Region: ${r.region}`);
  return EXIT.ok;
}

/** `12m 34s`, the guide's build time. */
export function buildTime(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}m ${s % 60}s`;
}

/**
 * Lines that stream from the build's log are printed as they are, except that control
 * characters are escaped (the log carries text from the archive and the build) and a line
 * saying `AMI ID:` would be a second match for the guide's `grep "AMI ID:"`: it is printed
 * `AMI Id:`.
 */
export function streamLine(message: string): string {
  return printable(message).replaceAll('AMI ID:', 'AMI Id:');
}

const LATER_PARTS = ['validate', 'publish', 'copy'] as const;

/** Packer's plugins are initialized (the buildspec's PRE_BUILD ran `packer init`) once PRE_BUILD succeeded. */
function initialized(snap: BuildResponse): boolean {
  if (snap.phases.build === 'succeeded') return true;
  if (LATER_PARTS.some((p) => snap.phases[p] !== 'pending' && snap.phases[p] !== 'skipped')) return true;
  const phases = snap.codeBuild?.phases ?? [];
  const preBuild = CODEBUILD_PHASES.indexOf('PRE_BUILD');
  if (phases.some((p) => p.phase === 'PRE_BUILD' && p.status === 'SUCCEEDED')) return true;
  const failedEarly = phases.some(
    (p) => p.status !== null && p.status !== 'SUCCEEDED' && CODEBUILD_PHASES.indexOf(p.phase) <= preBuild,
  );
  return !failedEarly && CODEBUILD_PHASES.indexOf(snap.codeBuild?.currentPhase ?? '') > preBuild;
}

/** The CodeBuild phase that did not succeed, with its reason: `PRE_BUILD: COMMAND_EXECUTION_ERROR: …`. */
function failedCodeBuildPhase(cb: CodeBuildStatus | undefined): string | undefined {
  const failed = cb?.phases.find(
    (p) => p.status !== null && p.status !== 'SUCCEEDED' && p.phase !== 'COMPLETED',
  );
  if (!failed) return undefined;
  return `${failed.phase}${failed.reason ? `: ${failed.reason}` : ` ${failed.status}`}`;
}

/** Polls the build until it ends, printing each part once, Packer's output as it comes. */
class Follower {
  private printed = new Set<string>();
  private validationLines = 0;
  private logToken: string | undefined;
  private logsDone = false;
  private logsBroken = false;
  /** The last line of the build log that reports an error, for the failure message. */
  private lastLogError: string | undefined;

  constructor(
    private readonly ctx: CommandContext,
    private readonly api: ApiClient,
    private snap: BuildResponse,
    private readonly timing: { intervalMs: number; waitMs: number },
    private readonly quiet: boolean,
  ) {}

  private line(text = ''): void {
    this.ctx.printer.line(text);
  }

  /** Prints `lines` once, under `key`. */
  private once(key: string, ...lines: string[]): void {
    if (this.printed.has(key)) return;
    this.printed.add(key);
    for (const text of lines) this.line(text);
  }

  async run(): Promise<number> {
    const { deps, printer } = this.ctx;
    const deadline = deps.now() + this.timing.waitMs;
    printer.debug(`Build: ${this.snap.buildId} (${this.snap.executionArn})`);
    for (;;) {
      const ended = this.snap.status !== 'RUNNING';
      if (!(await this.tell(ended))) return stopped(this.ctx, this.snap.buildId, this.snap.executionArn);
      if (ended) return this.finish();
      if (deps.now() >= deadline) {
        printer.error(
          `Stopped waiting after ${duration(this.timing.waitMs)} (PULSAR_AMI_BUILD_WAIT_MS); the build is still running in AWS.`,
        );
        followHints(this.ctx, this.snap.buildId, this.snap.executionArn);
        return EXIT.failure;
      }
      await pause(this.ctx, this.timing.intervalMs);
      if (deps.signal?.aborted) return stopped(this.ctx, this.snap.buildId, this.snap.executionArn);
      const next = await pollOnce(this.ctx, this.timing.intervalMs, () => this.api.build(this.snap.buildId));
      if (!next) return stopped(this.ctx, this.snap.buildId, this.snap.executionArn);
      this.snap = next;
    }
  }

  /** Everything the snapshot tells that was not printed yet; false when Ctrl-C stopped it. */
  private async tell(ended: boolean): Promise<boolean> {
    const { phases } = this.snap;
    const building = phases.build !== 'pending' && phases.build !== 'skipped';
    if (building) {
      this.once('init', '', 'Initializing Packer plugins...');
      if (!this.logsDone && !(await this.streamLogs())) return false;
      if (initialized(this.snap)) this.startBuild();
      // Packer's output is complete once the build step has ended: nothing more is read after.
      if (phases.build !== 'running' || ended) this.logsDone = true;
      if (phases.build === 'succeeded') {
        this.startBuild();
        this.once(
          'built',
          '',
          `✓ Packer build finished: ${this.snap.amiId ?? 'AMI registered'}${this.snap.amiName ? ` (${this.snap.amiName})` : ''}`,
        );
      } else if (phases.build === 'failed') {
        const why = failedCodeBuildPhase(this.snap.codeBuild);
        this.once('build-failed', '', `✗ Packer build failed${why ? ` in ${why}` : ''}`);
      }
    }
    this.tellValidation();
    if (phases.publish !== 'pending' && phases.publish !== 'skipped') {
      this.once('publish', '', 'Publishing AMI...');
      const published = this.snap.published;
      if (phases.publish === 'succeeded' && published) {
        this.once(
          'published',
          ...(published.versionParameter
            ? [`  ✓ Published as ${published.versionParameter}`]
            : ['  ✓ Published']),
          published.latest === this.snap.amiId
            ? "  ✓ It is the account's latest AMI now"
            : `  - The account's latest AMI stays ${published.latest ?? 'unset'} (the latest rule: the highest validated version)`,
        );
      }
    }
    if (this.snap.copyToRegions.length > 0 && phases.copy !== 'pending' && phases.copy !== 'skipped') {
      this.once('copy', '', `Copying AMI to ${this.snap.copyToRegions.join(', ')}...`);
      if (this.snap.copies) {
        const lines = this.snap.copies.map((c) =>
          c.published && c.amiId
            ? `  ✓ ${c.region}: ${c.amiId}`
            : `  ✗ ${c.region}: ${c.cause ?? c.error ?? 'not copied'}`,
        );
        this.once('copies', ...lines);
      }
    }
    if (phases.cleanup === 'succeeded' || phases.cleanup === 'failed' || phases.cleanup === 'running') {
      this.once('cleanup', '', "Deleting the failed build's AMI...");
      const cleanup = this.snap.cleanup;
      if (cleanup) {
        this.once(
          'cleaned',
          ...(cleanup.deleted.length > 0
            ? cleanup.deleted.map((id) => `  ✓ Deleted ${id} and its snapshots`)
            : ['  - No AMI of this build to delete']),
          ...cleanup.kept.map((k) => `  ! Kept ${k.imageId}: ${k.reason}`),
        );
      } else if (phases.cleanup === 'failed')
        this.once('cleaned', '  ✗ Could not delete the AMI; see the execution');
    }
    return true;
  }

  private startBuild(): void {
    this.once(
      'start',
      '✓ Packer plugins initialized',
      '',
      'Starting Packer build (this will take 10-15 minutes)...',
    );
  }

  private tellValidation(): void {
    const { phases, validation } = this.snap;
    if (phases.validate === 'pending' || phases.validate === 'skipped') return;
    this.once(
      'validate',
      '',
      `Validating AMI${validation?.instanceType ? ` (test instance ${validation.instanceType})` : ''}...`,
    );
    if (!validation) return;
    const lines = progressLines(validation).slice(1);
    for (const text of lines.slice(this.validationLines)) this.line(text === '' ? '' : `  ${text}`);
    this.validationLines = Math.max(this.validationLines, lines.length);
  }

  /** Reads the build's log from where it stopped, printing each line; false on Ctrl-C. */
  private async streamLogs(): Promise<boolean> {
    if (this.logsBroken) return true;
    const { deps, printer } = this.ctx;
    for (let page = 0; page < LOG_PAGES_PER_POLL; page++) {
      let answer: Awaited<ReturnType<ApiClient['buildLogs']>>;
      try {
        answer = await this.api.buildLogs(this.snap.buildId, this.logToken);
      } catch (error) {
        if (deps.signal?.aborted) return false;
        if (transient(error)) {
          printer.debug(`logs: ${(error as Error).message}; trying again at the next poll`);
          return true;
        }
        // The build is still told without its log.
        printer.error(`Warning: cannot read the build's log: ${(error as Error).message}`);
        this.logsBroken = true;
        return true;
      }
      for (const event of answer.events) {
        if (!this.printed.has('start') && ENTERING_BUILD.test(event.message)) this.startBuild();
        if (LOG_ERROR.test(event.message)) this.lastLogError = event.message;
        if (!this.quiet) this.line(streamLine(event.message));
      }
      if (answer.nextToken) this.logToken = answer.nextToken;
      if (answer.events.length === 0 || !answer.nextToken) return true;
    }
    return true;
  }

  private finish(): number {
    const v = this.snap;
    const { printer } = this.ctx;
    // A build changes what exists (an AMI, its publishing), or deleted what it made.
    this.ctx.cache.invalidate();
    if (printer.options.json) {
      printer.json(v);
      return v.status === 'SUCCEEDED' ? EXIT.ok : EXIT.failure;
    }
    if (v.status === 'SUCCEEDED' && v.amiId) {
      this.line();
      if (v.alreadyBuilt) {
        this.line(`✓ AMI already built: ${v.amiName ?? v.amiId}, validated; use --force to build again`);
      } else this.line('✓ AMI built successfully!');
      this.line(`  AMI ID: ${v.amiId}`);
      if (!v.alreadyBuilt) this.line(`  Build time: ${buildTime(v.durationSeconds)}`);
      this.line(`  Region: ${v.region ?? this.ctx.region}`);
      for (const r of (v.regions ?? []).filter((r) => r.region !== (v.region ?? this.ctx.region))) {
        this.line(`  Copied to ${r.region}: ${r.amiId}`);
      }
      return EXIT.ok;
    }
    this.line();
    const reason = v.error?.summary ?? `the build ended ${v.status}`;
    printer.error(`✗ Build failed: ${reason}`);
    // The provisioner's own words (a checksum mismatch, a failed download), --quiet or not.
    if (this.lastLogError)
      printer.error(`  Last error in the build log: ${streamLine(this.lastLogError).trim()}`);
    printer.error(`  Build: ${v.buildId}`);
    printer.error(`  Execution: ${v.executionArn}`);
    return EXIT.failure;
  }
}

function followHints(ctx: CommandContext, buildId: string, executionArn: string): void {
  ctx.printer.error(`Follow it: ${PROGRAM} --region ${ctx.region} build --follow ${buildId}`);
  ctx.printer.error(`       or: aws stepfunctions describe-execution --execution-arn ${executionArn}`);
}

function stopped(ctx: CommandContext, buildId: string, executionArn: string): number {
  ctx.printer.error('');
  ctx.printer.error('Stopped waiting. The build continues in AWS (a failed build cleans up after itself).');
  followHints(ctx, buildId, executionArn);
  return EXIT.interrupted;
}
