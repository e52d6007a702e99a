/**
 * `pulsar-ami cleanup` and `pulsar-ami restore` against a fake API: the dry run's table, totals
 * and last line; `--keep` checked before any request; `--apply` following the cleanup snapshot by
 * snapshot (each AMI told once), the report and the exit code; 409 while another runs; Ctrl-C
 * before and after the start; `--follow`; `--json`; restore's lines and errors. Sleep only moves
 * the fake clock; Ctrl-C is an abort of the signal.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CliDeps, FetchLike } from '../../cli/deps';
import { runCli } from '../../cli/run';
import type { CleanupPlan, CleanupResponse, RetirementResult } from '../../functions/lib/api-types';
import { cleanupIdFor } from '../../functions/lib/cleanups';
import { API, ami, json, problem, T0, TEST_CREDENTIALS } from './cli-harness';

const CLEANUP_ID = 'cleanup-6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b';
const EXECUTION_ARN = `arn:aws:states:us-west-2:123456789012:execution:pulsar-ami-dev-cleanup-amis:${CLEANUP_ID}`;
const NEW = 'ami-0a1b2c3d4e5f67890';
const MID = 'ami-09876543210fedcba';
const OLD = 'ami-0abcdef1';

interface Call {
  method: string;
  path: string;
  body?: string;
  headers: Record<string, string>;
}
type Route = (call: Call, abort: () => void) => Response | Promise<Response>;

const homes: string[] = [];
afterEach(() => {
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

async function run(
  argv: string[],
  routes: Record<string, Route>,
  options: { onSleep?: (n: number, abort: () => void) => void; tty?: boolean } = {},
) {
  const calls: Call[] = [];
  let now = T0;
  let stdout = '';
  let stderr = '';
  let sleeps = 0;
  const controller = new AbortController();
  const home = mkdtempSync(join(tmpdir(), 'pulsar-ami-cleanup-'));
  homes.push(home);
  const fetch: FetchLike = async (input, init) => {
    const url = new URL(input);
    const call: Call = {
      method: init.method ?? 'GET',
      path: url.pathname.replace(/^\/dev/, ''),
      ...(typeof init.body === 'string' ? { body: init.body } : {}),
      headers: Object.fromEntries(
        Object.entries((init.headers ?? {}) as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v]),
      ),
    };
    calls.push(call);
    const route = routes[`${call.method} ${call.path}`];
    return route
      ? route(call, () => controller.abort())
      : problem(500, 'Unexpected', `no route for ${call.method} ${call.path}`);
  };
  const cacheFile = join(home, '.pulsar-aws-lab', 'ami-cache', 'ami-list-us-west-2.json');
  mkdirSync(dirname(cacheFile), { recursive: true });
  writeFileSync(cacheFile, '{}');
  const deps: CliDeps = {
    fetch,
    env: { PULSAR_AMI_API_URL: API },
    now: () => now,
    stdout: { write: (s: string) => (stdout += s), isTTY: options.tty ?? false },
    stderr: { write: (s: string) => (stderr += s) },
    homeDir: home,
    credentials: async () => TEST_CREDENTIALS,
    signal: controller.signal,
    sleep: async (ms) => {
      now += ms;
      options.onSleep?.(++sleeps, () => controller.abort());
    },
  };
  const code = await runCli(argv, deps);
  return { code, stdout, stderr, calls, cacheKept: existsSync(cacheFile) };
}

function plan(): CleanupPlan {
  const decision = (
    imageId: string,
    version: string,
    createdAt: string,
    action: 'keep' | 'delete' | 'deprecate',
    reason: string,
  ) => ({
    imageId,
    name: ami(imageId, version, createdAt).name,
    version,
    createdAt,
    state: 'available',
    validated: action === 'keep',
    action,
    reason,
    reasons: [reason],
    snapshotIds: [],
    sizeGiB: 8,
  });
  return {
    region: 'us-west-2',
    generatedAt: '2026-01-15T12:00:00.000Z',
    settings: {
      region: 'us-west-2',
      keep: 1,
      minValidated: 2,
      minAgeDays: 1,
      lastLaunchedWithinDays: 30,
      deprecateAfterDays: null,
      disableAfterDays: null,
      deleteAfterDays: null,
      pricePerGbMonth: 0.05,
    },
    decisions: [
      decision(NEW, '3.0.0', '2025-10-06T14:23:11.000Z', 'keep', 'published latest'),
      decision(MID, '2.11.0', '2025-09-20T10:15:00.000Z', 'deprecate', 'beyond the newest 1'),
      decision(OLD, '2.10.0', '2025-08-15T09:30:59.000Z', 'delete', 'beyond the newest 1'),
    ],
    orphanedSnapshots: [
      {
        snapshotId: 'snap-0123456789abcdef0',
        orphanedFrom: 'ami-0fedcba9',
        sizeGiB: 20,
        action: 'delete',
        reason: 'its AMI is gone',
      },
    ],
    totals: {
      images: 3,
      keep: 1,
      deprecate: 1,
      disable: 0,
      delete: 1,
      orphanedSnapshots: 1,
      reclaimedGiB: 28,
      monthlySavingUsd: 1.4,
    },
  };
}

const PLAN_LINES = [
  'Cleanup plan for us-west-2: keep the newest 1 of each architecture',
  '',
  'AMI ID                 Version  Created           Action     Reason               GiB',
  'ami-0a1b2c3d4e5f67890  3.0.0    2025-10-06 14:23  keep       published latest     8',
  'ami-09876543210fedcba  2.11.0   2025-09-20 10:15  deprecate  beyond the newest 1  8',
  'ami-0abcdef1           2.10.0   2025-08-15 09:30  delete     beyond the newest 1  8',
  '',
  'Orphaned snapshots (tagged OrphanedFrom by an earlier deletion):',
  'Snapshot ID             Orphaned From  Action  Reason           GiB',
  'snap-0123456789abcdef0  ami-0fedcba9   delete  its AMI is gone  20',
  '',
  'Images: 3 — keep 1, deprecate 1, disable 0, delete 1',
  'Orphaned snapshots to delete: 1',
  'Reclaimed: 28 GiB, saving $1.40 a month (at $0.05 per GB-month)',
  '',
];

const planRoute = (): Record<string, Route> => ({
  'POST /cleanups': () => json(200, { dryRun: true, plan: plan() }),
});

describe('cleanup: the dry run (default)', () => {
  it('prints the plan as a table, the totals, and that nothing changed; one POST without apply', async () => {
    const r = await run(['cleanup', '--keep', '1'], planRoute());
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      [
        ...PLAN_LINES,
        'Dry run: nothing was changed. Re-run with --apply to retire them: pulsar-ami cleanup --keep 1 --apply',
        '',
      ].join('\n'),
    );
    expect(r.calls).toHaveLength(1);
    expect(r.calls[0]).toMatchObject({ method: 'POST', path: '/cleanups' });
    expect(JSON.parse(r.calls[0]?.body ?? '')).toEqual({ keep: 1, apply: false });
    expect(r.cacheKept).toBe(true);
  });

  it('on a terminal the table has box borders', async () => {
    const r = await run(['cleanup'], planRoute(), { tty: true });
    expect(r.stdout).toContain('┌───────────────────────┬─────────┬');
    expect(r.stdout).toContain(
      '│ ami-0abcdef1          │ 2.10.0  │ 2025-08-15 09:30 │ delete    │ beyond the newest 1 │ 8   │',
    );
    expect(JSON.parse(r.calls[0]?.body ?? '')).toEqual({ apply: false });
  });

  it('nothing to retire: says so', async () => {
    const p = plan();
    p.decisions = p.decisions.slice(0, 1);
    p.orphanedSnapshots = [];
    p.totals = {
      ...p.totals,
      images: 1,
      deprecate: 0,
      delete: 0,
      orphanedSnapshots: 0,
      reclaimedGiB: 0,
      monthlySavingUsd: 0,
    };
    const r = await run(['cleanup'], { 'POST /cleanups': () => json(200, { dryRun: true, plan: p }) });
    expect(r.code).toBe(0);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('Nothing to retire: nothing was changed.');
  });

  it('--json prints the plan', async () => {
    const r = await run(['cleanup', '--json'], planRoute());
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(plan());
  });

  it('a reason with control characters is printed escaped', async () => {
    const p = plan();
    const first = p.decisions[0];
    if (first) first.reason = 'in use: launch template \u001b[31mred (lt-0123)';
    const r = await run(['cleanup'], { 'POST /cleanups': () => json(200, { dryRun: true, plan: p }) });
    expect(r.stdout).toContain('in use: launch template \\x1b[31mred (lt-0123)');
    expect(r.stdout).not.toContain('\u001b');
  });

  it.each(['0', '101', 'abc', '2.5', '-1', '1e1', ' 3'])(
    '--keep %j: exit 2 with one message, no request',
    async (keep) => {
      const r = await run(['cleanup', '--keep', keep], planRoute());
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(
        `pulsar-ami: --keep must be a whole number from 1 to 100, got '${keep}'\nRun 'pulsar-ami --help' for usage.\n`,
      );
      expect(r.calls).toHaveLength(0);
    },
  );

  it('--keep without its value: exit 2, no request', async () => {
    const r = await run(['cleanup', '--keep'], planRoute());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/option '--keep <N>' argument missing/);
    expect(r.calls).toHaveLength(0);
  });

  it('--dry-run --apply: only the plan, nothing started', async () => {
    const r = await run(['--dry-run', 'cleanup', '--apply'], planRoute());
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('[DRY RUN] --apply ignored: nothing was changed.');
    expect(JSON.parse(r.calls[0]?.body ?? '')).toEqual({ apply: false });
  });
});

const result = (
  imageId: string,
  action: RetirementResult['action'],
  outcome: RetirementResult['outcome'],
  detail = '',
): RetirementResult => ({
  imageId,
  action,
  outcome,
  detail,
  snapshots: { deleted: [], kept: [] },
});

function snapshot(over: Partial<CleanupResponse> = {}): CleanupResponse {
  return {
    cleanupId: CLEANUP_ID,
    executionArn: EXECUTION_ARN,
    status: 'RUNNING',
    source: 'api',
    keep: 1,
    startedAt: '2026-01-15T12:00:00.000Z',
    progress: { total: 2, done: 0, failed: 0 },
    ...over,
  };
}

/** POST starts; each GET answers the next snapshot (the last one repeats). */
function applyRoutes(snapshots: CleanupResponse[]): Record<string, Route> {
  let i = 0;
  return {
    'POST /cleanups': () =>
      json(202, {
        dryRun: false,
        cleanupId: CLEANUP_ID,
        executionArn: EXECUTION_ARN,
        status: 'RUNNING',
        location: `/cleanups/${CLEANUP_ID}`,
      }),
    [`GET /cleanups/${CLEANUP_ID}`]: () => json(200, snapshots[Math.min(i++, snapshots.length - 1)]),
  };
}

const REPORT = { retired: 2, failed: 0, skipped: 0, reclaimedGiB: 28, monthlySavingUsd: 1.4 };
const successSnapshots = () => [
  snapshot(),
  snapshot({
    plan: plan(),
    results: [result(MID, 'deprecate', 'done')],
    progress: { total: 2, done: 1, failed: 0 },
  }),
  snapshot({
    plan: plan(),
    results: [result(MID, 'deprecate', 'done'), result(OLD, 'delete', 'done')],
    progress: { total: 2, done: 2, failed: 0 },
  }),
  snapshot({
    status: 'SUCCEEDED',
    stoppedAt: '2026-01-15T12:00:30.000Z',
    plan: plan(),
    results: [result(MID, 'deprecate', 'done'), result(OLD, 'delete', 'done')],
    orphanedSnapshotResults: [{ snapshotId: 'snap-0123456789abcdef0', outcome: 'done', detail: 'deleted' }],
    progress: { total: 2, done: 2, failed: 0 },
    report: REPORT,
  }),
];

describe('cleanup --apply', () => {
  it('starts the cleanup, tells each AMI once as it is retired, then the report; exit 0, cache dropped', async () => {
    const r = await run(['cleanup', '--keep', '1', '--apply'], applyRoutes(successSnapshots()));
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      [
        'Cleaning up AMIs in us-west-2 (keep the newest 1 of each architecture)',
        `Cleanup: ${CLEANUP_ID}`,
        'Planned: 3 AMI(s) — keep 1, deprecate 1, disable 0, delete 1; 1 orphaned snapshot(s) to delete',
        `Retired ${MID} (deprecate): done`,
        `Retired ${OLD} (delete): done`,
        '',
        '✓ Cleanup complete: 2 retired, 0 skipped, 0 failed; 1 orphaned snapshot(s) deleted',
        '  Reclaimed: 28 GiB, saving $1.40 a month',
        '',
      ].join('\n'),
    );
    const post = r.calls[0];
    expect(post).toMatchObject({ method: 'POST', path: '/cleanups' });
    expect(JSON.parse(post?.body ?? '')).toEqual({ keep: 1, apply: true });
    expect(post?.headers['idempotency-key']).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.calls.slice(1).every((c) => c.method === 'GET')).toBe(true);
    expect(r.cacheKept).toBe(false);
  });

  it('a retirement that failed: named on stderr, exit 1', async () => {
    const failed = snapshot({
      status: 'SUCCEEDED',
      plan: plan(),
      results: [
        result(MID, 'deprecate', 'done'),
        result(OLD, 'delete', 'failed', 'InvalidSnapshot.InUse: snap-1 is in use'),
      ],
      progress: { total: 2, done: 1, failed: 1 },
      report: { ...REPORT, retired: 1, failed: 1 },
    });
    const r = await run(['cleanup', '--apply'], applyRoutes([snapshot(), failed]));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`Could not retire ${OLD} (delete): InvalidSnapshot.InUse: snap-1 is in use\n`);
    expect(r.stdout).toContain(
      'Cleanup finished: 1 retired, 0 skipped, 1 failed; 0 orphaned snapshot(s) deleted\n',
    );
    expect(r.stderr).toBe(
      `✗ 1 retirement(s) failed:\n  - ${OLD} (delete): InvalidSnapshot.InUse: snap-1 is in use\n`,
    );
  });

  it('an execution that failed: its error, the cleanup and the execution; exit 1', async () => {
    const r = await run(
      ['cleanup', '--apply'],
      applyRoutes([
        snapshot({ status: 'FAILED', error: { error: 'States.TaskFailed', cause: 'Plan Cleanup failed' } }),
      ]),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      [
        '✗ Cleanup failed: States.TaskFailed: Plan Cleanup failed',
        `  Cleanup: ${CLEANUP_ID}`,
        `  Execution: ${EXECUTION_ARN}`,
        '',
      ].join('\n'),
    );
  });

  it('--json: the final answer on stdout', async () => {
    const r = await run(['cleanup', '--apply', '--json'], applyRoutes(successSnapshots()));
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      cleanupId: CLEANUP_ID,
      status: 'SUCCEEDED',
      report: REPORT,
    });
  });

  it('another cleanup running (409): the API’s message and how to follow that one; exit 1', async () => {
    const other = 'cleanup-11111111-2222-4333-8444-555555555555';
    const r = await run(['cleanup', '--apply'], {
      'POST /cleanups': () =>
        problem(
          409,
          'A cleanup is already running',
          `Cleanup ${other} is still running; nothing was started`,
          {
            cleanupId: other,
          },
        ),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `Error: Cleanup ${other} is still running; nothing was started\nFollow it: pulsar-ami --region us-west-2 cleanup --follow ${other}\n`,
    );
    expect(r.calls).toHaveLength(1);
  });

  it('Ctrl-C while it runs: exit 130, the cleanup id and how to follow it', async () => {
    const r = await run(['cleanup', '--apply'], applyRoutes(successSnapshots()), {
      onSleep: (n, abort) => {
        if (n === 1) abort();
      },
    });
    expect(r.code).toBe(130);
    expect(r.stderr).toBe(
      [
        '',
        `Stopped waiting. The cleanup ${CLEANUP_ID} continues in AWS.`,
        `Follow it: pulsar-ami --region us-west-2 cleanup --follow ${CLEANUP_ID}`,
        `       or: aws stepfunctions describe-execution --execution-arn ${EXECUTION_ARN}`,
        '',
      ].join('\n'),
    );
  });

  it('Ctrl-C before the API answered: exit 130, naming the cleanup its Idempotency-Key may have started', async () => {
    const r = await run(['cleanup', '--apply'], {
      'POST /cleanups': (_call, abort) => {
        abort();
        throw Object.assign(new Error('This operation was aborted'), { name: 'AbortError' });
      },
    });
    expect(r.code).toBe(130);
    const key = r.calls[0]?.headers['idempotency-key'] ?? '';
    expect(r.stderr).toBe(
      [
        '',
        'Stopped before the API answered: the cleanup may have started. If it did:',
        `Follow it: pulsar-ami --region us-west-2 cleanup --follow ${cleanupIdFor(key)}`,
        '',
      ].join('\n'),
    );
  });

  it('--follow attaches without starting anything', async () => {
    const routes = applyRoutes(successSnapshots().slice(-1));
    const r = await run(['cleanup', '--follow', CLEANUP_ID], routes);
    expect(r.code).toBe(0);
    expect(r.calls.every((c) => c.method === 'GET')).toBe(true);
    expect(r.stdout).toContain(`Retired ${OLD} (delete): done\n`);
  });

  it.each([
    [['cleanup', '--follow', 'build-123'], /^pulsar-ami: --follow must be a cleanup id such as cleanup-/],
    [['cleanup', '--follow', CLEANUP_ID, '--keep', '2'], /^pulsar-ami: --keep cannot be used with --follow/],
    [['cleanup', '--follow', CLEANUP_ID, '--apply'], /^pulsar-ami: --apply cannot be used with --follow/],
  ])('%j: exit 2, no request', async (argv, message) => {
    const r = await run(argv, applyRoutes(successSnapshots()));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.calls).toHaveLength(0);
  });
});

describe('restore', () => {
  const ID = 'ami-0a1b2c3d4e5f67890';
  const restored = (enabled: boolean, deprecationCancelled: boolean) => ({
    [`POST /amis/${ID}/restore`]: () =>
      json(200, { ami: ami(ID, '3.0.0', '2025-10-06T14:23:11.000Z'), enabled, deprecationCancelled }),
  });

  it('re-enabled and undeprecated: says each, exit 0, cache dropped', async () => {
    const r = await run(['restore', '--ami-id', ID], restored(true, true));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        `Restoring AMI: ${ID}`,
        '  AMI Name: pulsar-base-3.0.0-20251006',
        '  Re-enabling AMI... ✓',
        '  Cancelling deprecation... ✓',
        '',
        `✓ AMI restored: ${ID} is available`,
        `  The next cleanup retires it again unless it is kept: tag it Protected=true (aws ec2 create-tags --resources ${ID} --tags Key=Protected,Value=true)`,
        '',
      ].join('\n'),
    );
    expect(r.calls).toHaveLength(1);
    expect(r.calls[0]).toMatchObject({ method: 'POST', path: `/amis/${ID}/restore` });
    expect(r.cacheKept).toBe(false);
  });

  it('neither disabled nor deprecated: nothing to restore, exit 0', async () => {
    const r = await run(['restore', '--ami-id', ID], restored(false, false));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      '  Re-enabling AMI... - not disabled\n  Cancelling deprecation... - not deprecated\n',
    );
    expect(r.stdout).toContain(`✓ Nothing to restore: ${ID} is available and not deprecated\n`);
  });

  it.each(['ami-123', 'AMI-0A1B2C3D4E5F67890', 'i-0123456789abcdef0'])(
    '--ami-id %s: exit 2, no request',
    async (id) => {
      const r = await run(['restore', '--ami-id', id], restored(true, true));
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^pulsar-ami: --ami-id must look like ami-0123456789abcdef0/);
      expect(r.calls).toHaveLength(0);
    },
  );

  it.each([
    [404, 'AMI not found', `AMI ${ID} was not found in us-west-2 (or is not owned by this account)`],
    [403, 'AMI not managed by pulsar-ami', `AMI ${ID} is not a pulsar-ami image; it is left untouched`],
  ])('%i: the API’s detail, exit 1', async (status, title, detail) => {
    const r = await run(['restore', '--ami-id', ID], {
      [`POST /amis/${ID}/restore`]: () => problem(status, title, detail),
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(`Restoring AMI: ${ID}\n`);
    expect(r.stderr).toBe(`Error: ${detail}\n`);
  });
});

describe('--help', () => {
  it.each([
    ['cleanup', ['--keep <N>', '--apply', '--follow <CLEANUP_ID>', 'PULSAR_AMI_CLEANUP_WAIT_MS', '--region']],
    ['restore', ['--ami-id <AMI_ID>', 'AMI ID to restore (required)', '--dry-run']],
  ])('%s --help shows its options and the global ones; no request', async (command, texts) => {
    const r = await run([command, '--help'], {});
    expect(r.code).toBe(0);
    for (const text of texts) expect(r.stdout).toContain(text);
    expect(r.calls).toHaveLength(0);
  });

  it('the program’s help lists both commands', async () => {
    const r = await run(['--help'], {});
    expect(r.stdout).toMatch(/cleanup \[options\]\s+Plan the retirement of old AMIs/);
    expect(r.stdout).toMatch(/restore \[options\]\s+Re-enable a disabled AMI and cancel its deprecation/);
  });
});
