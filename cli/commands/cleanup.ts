/**
 * `cleanup [--keep N] [--apply] [--follow CLEANUP_ID]`: the retention plan of this tool's AMIs.
 * By default a dry run (POST /cleanups, which only reads): the plan as a table — each AMI, what
 * it gets and why — the totals, and that nothing changed. `--apply` starts the CleanupAmis state
 * machine and tells each AMI as the Map retires it (polling GET /cleanups/{id}), then the report.
 * Exit 0 when every retirement succeeded, 1 when any failed (each named), 2 usage, 130 Ctrl-C.
 *
 * Ctrl-C stops waiting, not the cleanup: the machine carries on; `cleanup --follow CLEANUP_ID`
 * attaches to it again.
 */
import { randomUUID } from 'node:crypto';
import type {
  CleanupPlan,
  CleanupResponse,
  RetirementResult,
  StartCleanupResponse,
} from '../../functions/lib/api-types';
import type { ApiClient } from '../api/client';
import type { CommandModule } from '../command';
import type { CommandContext } from '../context';
import { CliError, EXIT, UsageError } from '../errors';
import { duration, millis, pause, pollInterval, pollOnce } from '../follow';
import { printable } from '../printer';
import { PROGRAM } from '../program';
import { formatCreated, renderTable } from '../table';

/** Longer than a cleanup of thousands of AMIs takes; the machine has its own timeout. */
export const DEFAULT_CLEANUP_WAIT_MS = 121 * 60_000;

export const CLEANUP_COLUMNS = ['AMI ID', 'Version', 'Created', 'Action', 'Reason', 'GiB'] as const;
const SNAPSHOT_COLUMNS = ['Snapshot ID', 'Orphaned From', 'Action', 'Reason', 'GiB'] as const;

const ENV_HELP = `
Environment:
  PULSAR_AMI_POLL_INTERVAL_MS     pause between progress polls (default: 2000)
  PULSAR_AMI_CLEANUP_WAIT_MS      how long --apply waits for the cleanup to end (default: ${DEFAULT_CLEANUP_WAIT_MS}, 121 minutes)

Without --apply nothing is changed. Ctrl-C stops waiting; the cleanup continues in AWS.`;

export const cleanup: CommandModule = {
  name: 'cleanup',
  summary: 'Plan the retirement of old AMIs (keep the newest N, validated, published, in use) and apply it',
  configure(command) {
    command
      .option(
        '--keep <N>',
        'Keep the newest N AMIs of each architecture, 1-100 (default: the configured number, 3)',
      )
      .option('--apply', 'Retire the AMIs the plan names (default: only show the plan)')
      .option('--follow <CLEANUP_ID>', 'Follow a cleanup already started instead of starting one')
      .addHelpText('after', ENV_HELP);
  },
  async run(ctx, options) {
    const keep = parseKeep(options.keep);
    const { env } = ctx.deps;
    const timing = {
      intervalMs: pollInterval(env),
      waitMs: millis(env, 'PULSAR_AMI_CLEANUP_WAIT_MS', DEFAULT_CLEANUP_WAIT_MS, 24 * 3_600_000),
    };
    if (options.follow !== undefined) {
      const { cleanupIdSchema } = await import('../../functions/lib/validation');
      const parsed = cleanupIdSchema.safeParse(options.follow);
      if (!parsed.success)
        throw new UsageError(`--follow ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
      const conflicting = [
        ...(keep !== undefined ? ['--keep'] : []),
        ...(options.apply === true ? ['--apply'] : []),
      ];
      if (conflicting.length > 0) {
        throw new UsageError(
          `${conflicting.join(', ')} cannot be used with --follow (the cleanup has its own)`,
        );
      }
      const api = await ctx.api();
      const first = await api.cleanup(parsed.data);
      return new Follower(ctx, api, first, timing).run();
    }
    if (options.apply !== true || ctx.globals.dryRun) return plan(ctx, keep, options.apply === true);
    return apply(ctx, keep, timing);
  },
};

/** `--keep` as the API takes it: a whole number from 1 to 100; anything else is exit 2, nothing sent. */
function parseKeep(raw: unknown): number | undefined {
  if (raw === undefined) return undefined;
  const text = String(raw);
  const n = /^\d{1,3}$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= 1 && n <= 100))
    throw new UsageError(`--keep must be a whole number from 1 to 100, got '${text}'`);
  return n;
}

const gib = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));
const usd = (n: number) => `$${n.toFixed(2)}`;

/** The plan's lines: the table of AMIs, the orphaned snapshots, the totals. */
export function planLines(p: CleanupPlan, style: 'box' | 'plain'): string[] {
  const lines: string[] = [];
  lines.push(`Cleanup plan for ${p.region}: keep the newest ${p.settings.keep} of each architecture`);
  lines.push('');
  if (p.decisions.length === 0) lines.push(`No Pulsar AMIs found in ${p.region}`);
  else {
    const rows = p.decisions.map((d) => [
      d.imageId,
      printable(d.version ?? '-'),
      formatCreated(d.createdAt),
      d.action,
      printable(d.reason),
      gib(d.sizeGiB),
    ]);
    lines.push(...renderTable(CLEANUP_COLUMNS, rows, style));
  }
  if (p.orphanedSnapshots.length > 0) {
    lines.push('', 'Orphaned snapshots (tagged OrphanedFrom by an earlier deletion):');
    const rows = p.orphanedSnapshots.map((s) => [
      s.snapshotId,
      printable(s.orphanedFrom),
      s.action,
      printable(s.reason),
      gib(s.sizeGiB),
    ]);
    lines.push(...renderTable(SNAPSHOT_COLUMNS, rows, style));
  }
  const t = p.totals;
  lines.push('');
  lines.push(
    `Images: ${t.images} — keep ${t.keep}, deprecate ${t.deprecate}, disable ${t.disable}, delete ${t.delete}`,
  );
  lines.push(`Orphaned snapshots to delete: ${t.orphanedSnapshots}`);
  lines.push(
    `Reclaimed: ${gib(t.reclaimedGiB)} GiB, saving ${usd(t.monthlySavingUsd)} a month (at ${usd(p.settings.pricePerGbMonth)} per GB-month)`,
  );
  return lines;
}

const toRetire = (p: CleanupPlan) =>
  p.totals.deprecate + p.totals.disable + p.totals.delete + p.totals.orphanedSnapshots;

/** The dry run: POST /cleanups without apply (the API only reads). */
async function plan(ctx: CommandContext, keep: number | undefined, applyAsked: boolean): Promise<number> {
  const { printer } = ctx;
  const api = await ctx.api();
  const answer = await api.cleanupPlan(keep);
  if (printer.options.json) {
    printer.json(answer.plan);
    return EXIT.ok;
  }
  for (const line of planLines(answer.plan, printer.isTTY ? 'box' : 'plain')) printer.line(line);
  printer.line();
  if (applyAsked) printer.line('[DRY RUN] --apply ignored: nothing was changed.');
  else if (toRetire(answer.plan) === 0) printer.line('Nothing to retire: nothing was changed.');
  else
    printer.line(
      `Dry run: nothing was changed. Re-run with --apply to retire them: ${PROGRAM} cleanup${keep !== undefined ? ` --keep ${keep}` : ''} --apply`,
    );
  return EXIT.ok;
}

/** `--apply`: starts CleanupAmis (with an Idempotency-Key, so a cut-short start still names its id) and follows it. */
async function apply(
  ctx: CommandContext,
  keep: number | undefined,
  timing: { intervalMs: number; waitMs: number },
): Promise<number> {
  const { printer } = ctx;
  const api = await ctx.api();
  const idempotencyKey = randomUUID();
  let started: StartCleanupResponse;
  try {
    started = await api.startCleanup(keep, idempotencyKey);
  } catch (error) {
    if (ctx.deps.signal?.aborted) {
      const { cleanupIdFor } = await import('../../functions/lib/cleanups');
      const cleanupId = cleanupIdFor(idempotencyKey);
      printer.error('');
      printer.error('Stopped before the API answered: the cleanup may have started. If it did:');
      printer.error(`Follow it: ${PROGRAM} --region ${ctx.region} cleanup --follow ${cleanupId}`);
      return EXIT.interrupted;
    }
    throw explainRunning(ctx, error);
  }
  printer.line(
    `Cleaning up AMIs in ${ctx.region}${keep !== undefined ? ` (keep the newest ${keep} of each architecture)` : ' (keep as the stack is configured)'}`,
  );
  printer.line(`Cleanup: ${started.cleanupId}`);
  printer.debug(`Execution: ${started.executionArn}`);
  const first = await pollOnce(ctx, timing.intervalMs, () => api.cleanup(started.cleanupId));
  if (!first) return stopped(ctx, started.cleanupId, started.executionArn);
  return new Follower(ctx, api, first, timing).run();
}

/** A 409 "already running" says how to follow the running one. */
function explainRunning(ctx: CommandContext, error: unknown): unknown {
  if (!(error instanceof CliError) || (error as CliError & { status?: number }).status !== 409) return error;
  const id = error.problem.cleanupId;
  if (typeof id !== 'string') return error;
  return new CliError(
    `${error.message}\nFollow it: ${PROGRAM} --region ${ctx.region} cleanup --follow ${id}`,
    error.problem,
  );
}

const resultLine = (r: RetirementResult) => {
  const why = r.detail ? `: ${printable(r.detail)}` : '';
  if (r.outcome === 'done') return `Retired ${r.imageId} (${r.action}): done`;
  if (r.outcome === 'skipped') return `Skipped ${r.imageId} (${r.action})${why}`;
  return `Could not retire ${r.imageId} (${r.action})${why}`;
};

/** Polls the cleanup until it ends, printing the plan's summary once and each AMI once as it ends. */
class Follower {
  private told = new Set<string>();
  private planned = false;

  constructor(
    private readonly ctx: CommandContext,
    private readonly api: ApiClient,
    private snap: CleanupResponse,
    private readonly timing: { intervalMs: number; waitMs: number },
  ) {}

  async run(): Promise<number> {
    const { deps, printer } = this.ctx;
    const deadline = deps.now() + this.timing.waitMs;
    for (;;) {
      this.tell();
      if (this.snap.status !== 'RUNNING') return this.finish();
      if (deps.now() >= deadline) {
        printer.error(
          `Stopped waiting after ${duration(this.timing.waitMs)} (PULSAR_AMI_CLEANUP_WAIT_MS); the cleanup is still running in AWS.`,
        );
        followHints(this.ctx, this.snap.cleanupId, this.snap.executionArn);
        return EXIT.failure;
      }
      await pause(this.ctx, this.timing.intervalMs);
      if (deps.signal?.aborted) return stopped(this.ctx, this.snap.cleanupId, this.snap.executionArn);
      const next = await pollOnce(this.ctx, this.timing.intervalMs, () =>
        this.api.cleanup(this.snap.cleanupId),
      );
      if (!next) return stopped(this.ctx, this.snap.cleanupId, this.snap.executionArn);
      this.snap = next;
    }
  }

  private tell(): void {
    const { printer } = this.ctx;
    const p = this.snap.plan;
    if (p && !this.planned) {
      this.planned = true;
      const t = p.totals;
      printer.line(
        `Planned: ${t.images} AMI(s) — keep ${t.keep}, deprecate ${t.deprecate}, disable ${t.disable}, delete ${t.delete}; ${t.orphanedSnapshots} orphaned snapshot(s) to delete`,
      );
    }
    for (const r of this.snap.results ?? []) {
      const key = `${r.imageId} ${r.action}`;
      if (this.told.has(key)) continue;
      this.told.add(key);
      printer.line(resultLine(r));
    }
  }

  private finish(): number {
    const v = this.snap;
    const { printer } = this.ctx;
    // Images were deprecated, disabled or deregistered: the cached list is stale.
    this.ctx.cache.invalidate();
    const failed = (v.results ?? []).filter((r) => r.outcome === 'failed');
    const failedSnapshots = (v.orphanedSnapshotResults ?? []).filter((s) => s.outcome === 'failed');
    const ok = v.status === 'SUCCEEDED' && failed.length === 0 && failedSnapshots.length === 0;
    if (printer.options.json) {
      printer.json(v);
      return ok ? EXIT.ok : EXIT.failure;
    }
    printer.line();
    if (v.status !== 'SUCCEEDED') {
      const why = v.error
        ? `${v.error.error}${v.error.cause ? `: ${printable(v.error.cause)}` : ''}`
        : v.status;
      printer.error(`✗ Cleanup ${v.status === 'RUNNING' ? 'did not end' : 'failed'}: ${why}`);
      printer.error(`  Cleanup: ${v.cleanupId}`);
      printer.error(`  Execution: ${v.executionArn}`);
      return EXIT.failure;
    }
    const r = v.report;
    const retired = r?.retired ?? (v.results ?? []).filter((x) => x.outcome === 'done').length;
    const skipped = r?.skipped ?? (v.results ?? []).filter((x) => x.outcome === 'skipped').length;
    const snapshots = (v.orphanedSnapshotResults ?? []).filter((s) => s.outcome === 'done').length;
    const summary = `${retired} retired, ${skipped} skipped, ${failed.length} failed; ${snapshots} orphaned snapshot(s) deleted`;
    const savings = r
      ? `  Reclaimed: ${gib(r.reclaimedGiB)} GiB, saving ${usd(r.monthlySavingUsd)} a month`
      : undefined;
    if (!ok) {
      printer.line(`Cleanup finished: ${summary}`);
      if (savings) printer.line(savings);
      printer.error(`✗ ${failed.length + failedSnapshots.length} retirement(s) failed:`);
      for (const f of failed)
        printer.error(`  - ${f.imageId} (${f.action}): ${printable(f.detail || 'failed')}`);
      for (const s of failedSnapshots)
        printer.error(`  - ${s.snapshotId}: ${printable(s.detail || 'failed')}`);
      return EXIT.failure;
    }
    printer.line(`✓ Cleanup complete: ${summary}`);
    if (savings) printer.line(savings);
    return EXIT.ok;
  }
}

function followHints(ctx: CommandContext, cleanupId: string, executionArn: string): void {
  ctx.printer.error(`Follow it: ${PROGRAM} --region ${ctx.region} cleanup --follow ${cleanupId}`);
  ctx.printer.error(`       or: aws stepfunctions describe-execution --execution-arn ${executionArn}`);
}

function stopped(ctx: CommandContext, cleanupId: string, executionArn: string): number {
  ctx.printer.error('');
  ctx.printer.error(`Stopped waiting. The cleanup ${cleanupId} continues in AWS.`);
  followHints(ctx, cleanupId, executionArn);
  return EXIT.interrupted;
}
