/**
 * `pulsar-ami build` against a fake API: POST /builds answers as the API does, each
 * GET /builds/{id} answers the next snapshot of a build (the nested validation's snapshots are
 * the real progress mapping over the real ValidateAmi machine's history), and
 * GET /builds/{id}/logs hands out the log lines written so far, page by page, with its token.
 * Sleep only moves the fake clock; Ctrl-C is an abort of the signal.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildTime, streamLine } from '../../cli/commands/build';
import type { CliDeps, FetchLike } from '../../cli/deps';
import { runCli } from '../../cli/run';
import type {
  AlreadyBuiltResponse,
  BuildPhaseName,
  BuildPhaseStatus,
  BuildResponse,
  CodeBuildStatus,
  StartBuildResponse,
  ValidationResponse,
} from '../../functions/lib/api-types';
import { buildIdFor } from '../../functions/lib/builds';
import { validationProgress } from '../../functions/lib/validation-progress';
import {
  describeAt,
  type RecordedExecution,
  recordExecution,
  SCENARIOS,
  EXECUTION_ARN as VALIDATION_ARN,
  VALIDATION_ID,
} from '../support/validation-history';
import { API, json, problem, T0, TEST_CREDENTIALS } from './cli-harness';

const BUILD_ID = 'build-6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b';
const EXECUTION_ARN = `arn:aws:states:us-west-2:123456789012:execution:pulsar-ami-dev-build-ami:${BUILD_ID}`;
const AMI_ID = 'ami-0fedcba9876543210';
const AMI_NAME = 'pulsar-base-3.0.0-20260115120500';
const CODEBUILD_ID = 'pulsar-ami-dev-build-ami:0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9';

interface Call {
  method: string;
  path: string;
  query: Record<string, string>;
  body?: string;
  headers?: Record<string, string>;
}

type Route = (call: Call, abort: () => void) => Response | Promise<Response>;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  calls: Call[];
  home: string;
}

const homes: string[] = [];
afterEach(() => {
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

async function runBuild(
  argv: string[],
  routes: Record<string, Route>,
  options: { onSleep?: (n: number, abort: () => void) => void; home?: string } = {},
): Promise<Run> {
  const calls: Call[] = [];
  let now = T0;
  let stdout = '';
  let stderr = '';
  let sleeps = 0;
  const controller = new AbortController();
  const home = options.home ?? mkdtempSync(join(tmpdir(), 'pulsar-ami-build-'));
  homes.push(home);
  const fetch: FetchLike = async (input, init) => {
    const url = new URL(input);
    const call: Call = {
      method: init.method ?? 'GET',
      path: url.pathname.replace(/^\/dev/, ''),
      query: Object.fromEntries(url.searchParams),
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
  const deps: CliDeps = {
    fetch,
    env: { PULSAR_AMI_API_URL: API },
    now: () => now,
    stdout: { write: (s: string) => (stdout += s) },
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
  return { code, stdout, stderr, calls, home };
}

const PHASES_PENDING: Record<BuildPhaseName, BuildPhaseStatus> = {
  find: 'pending',
  build: 'pending',
  validate: 'pending',
  publish: 'pending',
  copy: 'pending',
  cleanup: 'pending',
};

function codeBuild(
  currentPhase: string,
  done: string[],
  failed?: { phase: string; reason: string },
): CodeBuildStatus {
  return {
    id: CODEBUILD_ID,
    status: failed ? 'FAILED' : currentPhase === 'COMPLETED' ? 'SUCCEEDED' : 'IN_PROGRESS',
    currentPhase,
    phases: [
      ...done.map((phase) => ({ phase, status: 'SUCCEEDED' })),
      ...(failed ? [{ phase: failed.phase, status: 'FAILED', reason: failed.reason }] : []),
    ],
    logGroup: '/aws/codebuild/pulsar-ami-dev-build-ami',
    logStream: '0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9',
  };
}

function snap(
  phases: Partial<Record<BuildPhaseName, BuildPhaseStatus>>,
  extra: Partial<BuildResponse> = {},
): BuildResponse {
  return {
    buildId: BUILD_ID,
    executionArn: EXECUTION_ARN,
    status: 'RUNNING',
    version: '3.0.0',
    instanceType: 't3.small',
    architecture: 'x86_64',
    force: false,
    copyToRegions: [],
    currentStep: null,
    currentState: null,
    steps: [],
    phases: { ...PHASES_PENDING, ...phases },
    startedAt: new Date(T0).toISOString(),
    durationSeconds: 10,
    ...extra,
  };
}

/** The nested validation, as GET /validations/{id} would tell it after `count` events (all: the end). */
function validationAt(run: RecordedExecution, count = run.events.length): ValidationResponse {
  return {
    validationId: VALIDATION_ID,
    executionArn: VALIDATION_ARN,
    ...validationProgress(describeAt(run, count), run.events.slice(0, count)),
  };
}

const LOG_INSTALL = [
  '[Container] 2026/01/15 12:00:05.000000 Entering phase INSTALL',
  'Downloading Packer 1.11.2 (packer_1.11.2_linux_amd64.zip)',
  'packer_1.11.2_linux_amd64.zip: OK',
];
const LOG_PRE_BUILD = [
  '[Container] 2026/01/15 12:00:20.000000 Entering phase PRE_BUILD',
  'packer init (plugins of required_plugins)',
  'Installed plugin github.com/hashicorp/amazon v1.3.3',
];
const LOG_BUILD = [
  '[Container] 2026/01/15 12:00:40.000000 Entering phase BUILD',
  'amazon-ebs.pulsar: output will be in this color.',
  '==> amazon-ebs.pulsar: Creating AMI pulsar-base-3.0.0-20260115120500 from instance i-0123456789abcdef0',
  `==> amazon-ebs.pulsar: AMI ID: ${AMI_ID}`,
  "Build 'amazon-ebs.pulsar' finished after 11 minutes 2 seconds.",
];

interface Stage {
  build: BuildResponse;
  /** Log lines written by then (cumulative). */
  logs: string[];
}

/** A fake API over `stages`: each GET /builds/{id} moves to the next stage; logs hand out what is written. */
function buildRoutes(stages: Stage[], post: StartBuildResponse | AlreadyBuiltResponse = started()) {
  let at = -1;
  const current = () => stages[Math.max(0, Math.min(at, stages.length - 1))] as Stage;
  return {
    'POST /builds': () => json(post.outcome === 'already-built' ? 200 : 202, post),
    [`GET /builds/${BUILD_ID}`]: () => {
      at++;
      return json(200, current().build);
    },
    [`GET /builds/${BUILD_ID}/logs`]: (call: Call) => {
      const from = call.query.nextToken ? Number(call.query.nextToken.slice(1)) : 0;
      const written = current().logs;
      // Two lines a page, so the CLI pages through.
      const page = written.slice(from, from + 2);
      return json(200, {
        buildId: BUILD_ID,
        codeBuildId: CODEBUILD_ID,
        logGroup: '/aws/codebuild/pulsar-ami-dev-build-ami',
        logStream: '0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9',
        events: page.map((message) => ({ timestamp: new Date(T0).toISOString(), message })),
        nextToken: `t${from + page.length}`,
      });
    },
  } satisfies Record<string, Route>;
}

function started(extra: Partial<StartBuildResponse> = {}): StartBuildResponse {
  return {
    outcome: 'started',
    buildId: BUILD_ID,
    executionArn: EXECUTION_ARN,
    status: 'RUNNING',
    location: `/builds/${BUILD_ID}`,
    region: 'us-west-2',
    version: '3.0.0',
    instanceType: 't3.small',
    architecture: 'x86_64',
    force: false,
    copyToRegions: [],
    ...extra,
  };
}

let passed: RecordedExecution;
let failedChecks: RecordedExecution;

beforeAll(async () => {
  [passed, failedChecks] = await Promise.all([
    recordExecution(SCENARIOS.passed),
    recordExecution(SCENARIOS.failedChecks),
  ]);
});

/** A whole successful build, stage by stage. */
function successStages(copyToRegions: string[] = []): Stage[] {
  const all = [...LOG_INSTALL, ...LOG_PRE_BUILD, ...LOG_BUILD];
  const base = { copyToRegions };
  return [
    { build: snap({ find: 'running' }, base), logs: [] },
    {
      build: snap({ find: 'succeeded', build: 'running' }, { ...base, codeBuild: codeBuild('INSTALL', []) }),
      logs: LOG_INSTALL,
    },
    {
      build: snap(
        { find: 'succeeded', build: 'running' },
        { ...base, codeBuild: codeBuild('PRE_BUILD', ['INSTALL']) },
      ),
      logs: [...LOG_INSTALL, ...LOG_PRE_BUILD],
    },
    {
      build: snap(
        { find: 'succeeded', build: 'running' },
        { ...base, codeBuild: codeBuild('BUILD', ['INSTALL', 'PRE_BUILD']) },
      ),
      logs: all,
    },
    {
      build: snap(
        { find: 'succeeded', build: 'succeeded', validate: 'running' },
        { ...base, amiId: AMI_ID, amiName: AMI_NAME, validation: validationAt(passed, 12) },
      ),
      logs: all,
    },
    {
      build: snap(
        { find: 'succeeded', build: 'succeeded', validate: 'succeeded', publish: 'running' },
        { ...base, amiId: AMI_ID, amiName: AMI_NAME, validation: validationAt(passed) },
      ),
      logs: all,
    },
    {
      build: snap(
        {
          find: 'succeeded',
          build: 'succeeded',
          validate: 'succeeded',
          publish: 'succeeded',
          copy: 'succeeded',
          cleanup: 'skipped',
        },
        {
          ...base,
          status: 'SUCCEEDED',
          amiId: AMI_ID,
          amiName: AMI_NAME,
          region: 'us-west-2',
          validation: validationAt(passed),
          published: { versionParameter: '/pulsar-ami/dev/versions/3.0.0/latest-ami-id', latest: AMI_ID },
          regions: [
            { region: 'us-west-2', amiId: AMI_ID },
            ...copyToRegions.map((region) => ({ region, amiId: 'ami-0aaaaaaaaaaaaaaaa' })),
          ],
          ...(copyToRegions.length > 0
            ? {
                copies: copyToRegions.map((region) => ({
                  region,
                  amiId: 'ami-0aaaaaaaaaaaaaaaa',
                  published: true,
                })),
              }
            : {}),
          durationSeconds: 754,
          stoppedAt: new Date(T0 + 754_000).toISOString(),
        },
      ),
      logs: all,
    },
  ];
}

const HEADER = [
  'Building Pulsar AMI',
  'Pulsar Version: 3.0.0',
  'Instance Type: t3.small',
  'Region: us-west-2',
];

const VALIDATION_LINES = [
  '',
  'Validating AMI (test instance t3.micro)...',
  '  Step 1/6: Launching test instance...',
  '    ✓ Instance launched: i-0123456789abcdef0',
];

describe('build', () => {
  it('prints the guide’s output, Packer’s output streamed, the later steps, the AMI ID line; exit 0', async () => {
    const r = await runBuild(['build', '--version', '3.0.0'], buildRoutes(successStages()));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = r.stdout.split('\n');
    expect(out.slice(0, 14)).toEqual([
      ...HEADER,
      '',
      'Initializing Packer plugins...',
      ...LOG_INSTALL,
      ...LOG_PRE_BUILD,
      '✓ Packer plugins initialized',
      '',
    ]);
    expect(r.stdout).toContain(
      [
        'Starting Packer build (this will take 10-15 minutes)...',
        ...LOG_BUILD.map(streamLine),
        '',
        `✓ Packer build finished: ${AMI_ID} (${AMI_NAME})`,
        ...VALIDATION_LINES,
      ].join('\n'),
    );
    expect(r.stdout).toContain(
      [
        '  ✓ AMI VALIDATION PASSED',
        '',
        'Publishing AMI...',
        '  ✓ Published as /pulsar-ami/dev/versions/3.0.0/latest-ami-id',
        "  ✓ It is the account's latest AMI now",
        '',
        '✓ AMI built successfully!',
        `  AMI ID: ${AMI_ID}`,
        '  Build time: 12m 34s',
        '  Region: us-west-2',
        '',
      ].join('\n'),
    );
    expect(r.stdout.endsWith('  Region: us-west-2\n')).toBe(true);
    // The guide's pipe: one line, the id third.
    const matches = out.filter((line) => line.includes('AMI ID:'));
    expect(matches).toEqual([`  AMI ID: ${AMI_ID}`]);
    expect(matches[0]?.trim().split(/\s+/)[2]).toBe(AMI_ID);

    const [post] = r.calls;
    expect(post).toMatchObject({ method: 'POST', path: '/builds' });
    expect(JSON.parse(post?.body ?? '{}')).toEqual({
      version: '3.0.0',
      instanceType: 't3.small',
      architecture: 'x86_64',
      force: false,
      copyToRegions: [],
    });
    // Logs are read with the token each answer gave.
    const logCalls = r.calls.filter((c) => c.path.endsWith('/logs'));
    expect(logCalls[0]?.query).toEqual({});
    expect(logCalls.slice(1).every((c) => /^t\d+$/.test(c.query.nextToken ?? ''))).toBe(true);
  });

  it('the validation’s lines are the validate command’s, indented, each once', async () => {
    const r = await runBuild(['build', '--version', '3.0.0'], buildRoutes(successStages()));
    for (const check of [
      'Pulsar directory exists',
      'Pulsar binaries present',
      'Systemd templates installed',
      'Java installed',
      'OpenMessaging Benchmark installed',
    ]) {
      expect(r.stdout.split(`  Checking: ${check}... ✓`)).toHaveLength(2);
    }
    expect(r.stdout).toContain('  Step 6/6: Validation complete');
  });

  it('--quiet hides Packer’s output, nothing else', async () => {
    const r = await runBuild(['build', '--version', '3.0.0', '--quiet'], buildRoutes(successStages()));
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').slice(0, 12)).toEqual([
      ...HEADER,
      '',
      'Initializing Packer plugins...',
      '✓ Packer plugins initialized',
      '',
      'Starting Packer build (this will take 10-15 minutes)...',
      '',
      `✓ Packer build finished: ${AMI_ID} (${AMI_NAME})`,
      '',
    ]);
    for (const line of [...LOG_INSTALL, ...LOG_BUILD]) expect(r.stdout).not.toContain(line);
    expect(r.stdout).toContain(`  AMI ID: ${AMI_ID}\n`);
  });

  it('copies: one line per region, and the copies after the AMI ID', async () => {
    const r = await runBuild(
      ['build', '--version', '3.0.0', '--copy-to-regions', 'us-east-1, eu-west-1'],
      buildRoutes(successStages(['eu-west-1', 'us-east-1'])),
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.calls[0]?.body ?? '{}').copyToRegions).toEqual(['us-east-1', 'eu-west-1']);
    expect(r.stdout).toContain(
      [
        'Copying AMI to eu-west-1, us-east-1...',
        '  ✓ eu-west-1: ami-0aaaaaaaaaaaaaaaa',
        '  ✓ us-east-1: ami-0aaaaaaaaaaaaaaaa',
      ].join('\n'),
    );
    expect(r.stdout).toContain(
      `  Region: us-west-2\n  Copied to eu-west-1: ami-0aaaaaaaaaaaaaaaa\n  Copied to us-east-1: ami-0aaaaaaaaaaaaaaaa\n`,
    );
    expect(r.stdout.split('\n').filter((l) => l.includes('AMI ID:'))).toHaveLength(1);
  });

  it('already built: says so, the same AMI ID line, exit 0, nothing followed', async () => {
    const existing: AlreadyBuiltResponse = {
      outcome: 'already-built',
      version: '3.0.0',
      architecture: 'x86_64',
      region: 'us-west-2',
      amiId: 'ami-0a1b2c3d4e5f67890',
      ami: {
        imageId: 'ami-0a1b2c3d4e5f67890',
        name: 'pulsar-base-3.0.0-20251006142311',
        version: '3.0.0',
        state: 'available',
        createdAt: '2025-10-06T14:23:11.000Z',
        ownerId: '123456789012',
        ownership: 'managed',
        validated: true,
        validationDate: '2025-10-06',
        protected: false,
        snapshotIds: [],
        tags: {},
      },
    };
    const r = await runBuild(['build', '--version', '3.0.0'], buildRoutes([], existing));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        ...HEADER,
        '',
        '✓ AMI already built: pulsar-base-3.0.0-20251006142311, validated (Pulsar 3.0.0, x86_64); use --force to build again',
        '  AMI ID: ami-0a1b2c3d4e5f67890',
        '  Region: us-west-2',
        '',
      ].join('\n'),
    );
    expect(r.calls).toHaveLength(1);
  });

  it('--force and the other flags go in the request', async () => {
    const r = await runBuild(
      [
        '--region',
        'us-west-2',
        'build',
        '--version',
        '3.0.0',
        '--force',
        '--instance-type',
        't4g.medium',
        '--architecture',
        'arm64',
      ],
      buildRoutes(successStages()),
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.calls[0]?.body ?? '{}')).toEqual({
      version: '3.0.0',
      instanceType: 't4g.medium',
      architecture: 'arm64',
      force: true,
      copyToRegions: [],
    });
    expect(r.stdout).toContain('Instance Type: t4g.medium\n');
  });

  it('--dry-run: the plan, nothing started (one POST with dryRun)', async () => {
    const r = await runBuild(['--dry-run', 'build', '--version', '3.0.0'], {
      'POST /builds': (call) => {
        expect(JSON.parse(call.body ?? '{}')).toMatchObject({ version: '3.0.0', dryRun: true });
        return json(200, {
          outcome: 'plan',
          dryRun: true,
          region: 'us-west-2',
          version: '3.0.0',
          instanceType: 't3.small',
          architecture: 'x86_64',
          force: false,
          copyToRegions: [],
          existing: null,
          checksumUrl:
            'https://archive.apache.org/dist/pulsar/pulsar-3.0.0/apache-pulsar-3.0.0-bin.tar.gz.sha512',
          stateMachineArn: 'arn:aws:states:us-west-2:123456789012:stateMachine:pulsar-ami-dev-build-ami',
          codeBuildProject: 'pulsar-ami-dev-build-ami',
          steps: [
            'Start BuildAmi (pulsar-ami-dev-build-ami) in us-west-2',
            'Validate AMI: ValidateAmi launches a test instance',
          ],
        });
      },
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        ...HEADER,
        '',
        '[DRY RUN] Pulsar 3.0.0 is in the archive: https://archive.apache.org/dist/pulsar/pulsar-3.0.0/apache-pulsar-3.0.0-bin.tar.gz.sha512',
        '[DRY RUN] Would start BuildAmi (pulsar-ami-dev-build-ami) in us-west-2',
        '[DRY RUN] Would validate AMI: ValidateAmi launches a test instance',
        '',
        '✓ Dry run: nothing was started',
        '',
      ].join('\n'),
    );
    expect(r.calls).toHaveLength(1);
  });

  it('a version the archive lacks: the API’s 422 reason, exit 1, nothing followed', async () => {
    const r = await runBuild(['build', '--version', '9.9.9'], {
      'POST /builds': () =>
        problem(
          422,
          'Pulsar version not in the archive',
          'Apache Pulsar 9.9.9 is not in the archive: … answered 404, so it is not a released version there',
          {
            field: 'version',
          },
        ),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: Apache Pulsar 9\.9\.9 is not in the archive/);
    expect(r.calls).toHaveLength(1);
  });

  it('a failed build: the failed step and the reason, exit 1; the list cache dropped', async () => {
    const home = mkdtempSync(join(tmpdir(), 'pulsar-ami-build-cache-'));
    const cache = join(home, '.pulsar-aws-lab', 'ami-cache', 'ami-list-us-west-2.json');
    mkdirSync(dirname(cache), { recursive: true });
    writeFileSync(cache, '{}');
    const reason =
      'CodeBuild build pulsar-ami-dev-build-ami:0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9 FAILED in phase BUILD: COMMAND_EXECUTION_ERROR: Error while executing command: packer build . Reason: exit status 1';
    const failed = codeBuild('COMPLETED', ['INSTALL', 'PRE_BUILD'], {
      phase: 'BUILD',
      reason: 'COMMAND_EXECUTION_ERROR: Error while executing command: packer build . Reason: exit status 1',
    });
    const stages: Stage[] = [
      {
        build: snap(
          { find: 'succeeded', build: 'running' },
          { codeBuild: codeBuild('BUILD', ['INSTALL', 'PRE_BUILD']) },
        ),
        logs: [
          ...LOG_INSTALL,
          ...LOG_PRE_BUILD,
          LOG_BUILD[0] as string,
          '==> amazon-ebs.pulsar: [install-pulsar] ERROR: checksum mismatch for apache-pulsar-3.0.0-bin.tar.gz',
        ],
      },
      {
        build: snap(
          { find: 'succeeded', build: 'failed', cleanup: 'succeeded' },
          {
            status: 'FAILED',
            codeBuild: failed,
            cleanup: { deleted: [], kept: [] },
            error: {
              error: 'BuildFailed',
              cause: `Build ${BUILD_ID}: ${reason}`,
              failedStep: 'Build Image With Packer',
              summary: `Build Image With Packer failed: ${reason}`,
            },
          },
        ),
        logs: [
          ...LOG_INSTALL,
          ...LOG_PRE_BUILD,
          LOG_BUILD[0] as string,
          '==> amazon-ebs.pulsar: [install-pulsar] ERROR: checksum mismatch for apache-pulsar-3.0.0-bin.tar.gz',
        ],
      },
    ];
    const r = await runBuild(['build', '--version', '3.0.0'], buildRoutes(stages), { home });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      [
        'Starting Packer build (this will take 10-15 minutes)...',
        LOG_BUILD[0],
        '==> amazon-ebs.pulsar: [install-pulsar] ERROR: checksum mismatch for apache-pulsar-3.0.0-bin.tar.gz',
        '',
        '✗ Packer build failed in BUILD: COMMAND_EXECUTION_ERROR: Error while executing command: packer build . Reason: exit status 1',
        '',
        "Deleting the failed build's AMI...",
        '  - No AMI of this build to delete',
        '',
      ].join('\n'),
    );
    expect(r.stdout).not.toContain('AMI ID:');
    expect(r.stderr).toBe(
      [
        `✗ Build failed: Build Image With Packer failed: ${reason}`,
        '  Last error in the build log: ==> amazon-ebs.pulsar: [install-pulsar] ERROR: checksum mismatch for apache-pulsar-3.0.0-bin.tar.gz',
        `  Build: ${BUILD_ID}`,
        `  Execution: ${EXECUTION_ARN}`,
        '',
      ].join('\n'),
    );
    expect(existsSync(cache)).toBe(false);
  });

  it('a failed validation: its lines, the AMI deleted, the reason, exit 1', async () => {
    const stages: Stage[] = [
      {
        build: snap(
          { find: 'succeeded', build: 'succeeded', validate: 'running' },
          { amiId: AMI_ID, amiName: AMI_NAME, validation: validationAt(failedChecks, 10) },
        ),
        logs: [],
      },
      {
        build: snap(
          { find: 'succeeded', build: 'succeeded', validate: 'failed', cleanup: 'succeeded' },
          {
            status: 'FAILED',
            amiId: AMI_ID,
            amiName: AMI_NAME,
            validation: validationAt(failedChecks),
            cleanup: { deleted: [AMI_ID], kept: [] },
            error: {
              error: 'ValidationFailed',
              cause: `Build ${BUILD_ID}: AMI ${AMI_ID} failed validation: checks failed: OpenMessaging Benchmark installed, Java 17`,
              failedStep: 'Validate AMI',
              summary: `Validate AMI failed: AMI ${AMI_ID} failed validation: checks failed: OpenMessaging Benchmark installed, Java 17`,
            },
          },
        ),
        logs: [],
      },
    ];
    const r = await runBuild(['build', '--version', '3.0.0', '--quiet'], buildRoutes(stages));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('  ✗ AMI VALIDATION FAILED: OpenMessaging Benchmark installed, Java 17\n');
    expect(r.stdout).toContain(
      `\nDeleting the failed build's AMI...\n  ✓ Deleted ${AMI_ID} and its snapshots\n`,
    );
    expect(r.stderr).toContain(
      `✗ Build failed: Validate AMI failed: AMI ${AMI_ID} failed validation: checks failed: OpenMessaging Benchmark installed, Java 17\n`,
    );
    expect(r.stdout).not.toContain('AMI ID:');
  });

  it('Ctrl-C before the API answers: exit 130, naming the build its Idempotency-Key may have started', async () => {
    const r = await runBuild(['build', '--version', '3.0.0'], {
      'POST /builds': (_call, abort) => {
        abort();
        throw Object.assign(new Error('This operation was aborted'), { name: 'AbortError' });
      },
    });
    expect(r.code).toBe(130);
    const key = r.calls[0]?.headers?.['idempotency-key'] ?? '';
    expect(key).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.stderr).toBe(
      [
        '',
        'Stopped before the API answered: the build may have started. If it did:',
        `Follow it: pulsar-ami --region us-west-2 build --follow ${buildIdFor(key)}`,
        '',
      ].join('\n'),
    );
  });

  it('Ctrl-C stops waiting, not the build: exit 130 and how to follow it', async () => {
    const r = await runBuild(['build', '--version', '3.0.0'], buildRoutes(successStages()), {
      onSleep: (n, abort) => {
        if (n === 2) abort();
      },
    });
    expect(r.code).toBe(130);
    expect(r.stderr).toBe(
      [
        '',
        'Stopped waiting. The build continues in AWS (a failed build cleans up after itself).',
        `Follow it: pulsar-ami --region us-west-2 build --follow ${BUILD_ID}`,
        `       or: aws stepfunctions describe-execution --execution-arn ${EXECUTION_ARN}`,
        '',
      ].join('\n'),
    );
    expect(r.calls.some((c) => c.method !== 'GET' && c.method !== 'POST')).toBe(false);
  });

  it('--follow attaches to a build: no POST, the whole story from the start, exit 0', async () => {
    const stages = successStages();
    const routes = buildRoutes(stages.slice(-1));
    const r = await runBuild(['build', '--follow', BUILD_ID], routes);
    expect(r.code).toBe(0);
    expect(r.calls.some((c) => c.method === 'POST')).toBe(false);
    expect(
      r.stdout.startsWith([...HEADER, '', 'Initializing Packer plugins...', LOG_INSTALL[0]].join('\n')),
    ).toBe(true);
    expect(r.stdout).toContain(`  AMI ID: ${AMI_ID}\n  Build time: 12m 34s\n`);
  });

  it('--follow of an unknown build: the API’s 404, exit 1', async () => {
    const r = await runBuild(['build', '--follow', BUILD_ID], {
      [`GET /builds/${BUILD_ID}`]: () => problem(404, 'Build not found', `No build ${BUILD_ID} exists`),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`No build ${BUILD_ID} exists`);
  });

  it('--json prints the final build, no progress lines', async () => {
    const r = await runBuild(['--json', 'build', '--version', '3.0.0'], buildRoutes(successStages()));
    expect(r.code).toBe(0);
    const body = JSON.parse(r.stdout) as BuildResponse;
    expect(body).toMatchObject({ buildId: BUILD_ID, status: 'SUCCEEDED', amiId: AMI_ID });
  });

  it.each([
    [['build'], /required option '--version <VERSION>'/],
    [['build', '--version', '3.0'], /--version must be MAJOR\.MINOR\.PATCH/],
    [
      ['build', '--version', '3.0.0', '--instance-type', 'big'],
      /--instance-type must be an EC2 instance type/,
    ],
    [['build', '--version', '3.0.0', '--architecture', 'sparc'], /--architecture must be x86_64 or arm64/],
    [
      ['build', '--version', '3.0.0', '--instance-type', 'm7g.large'],
      /--instance-type m7g\.large is an arm64 instance type/,
    ],
    [
      ['build', '--version', '3.0.0', '--architecture', 'arm64'],
      /--instance-type t3\.small is an x86_64 instance type/,
    ],
    [
      ['build', '--version', '3.0.0', '--copy-to-regions', 'us-weast-1'],
      /--copy-to-regions must be an AWS region/,
    ],
    [
      ['build', '--version', '3.0.0', '--copy-to-regions', 'us-west-2'],
      /us-west-2 is the region the build runs in/,
    ],
    [
      ['build', '--version', '3.0.0', '--copy-to-regions', 'us-east-1,us-east-1'],
      /us-east-1 is listed twice/,
    ],
    [['build', '--version', '3.0.0', '--copy-to-regions', 'us-east-1,'], /regions separated by commas/],
    [['build', '--follow', 'nope'], /--follow must be a build id/],
    [['build', '--follow', BUILD_ID, '--version', '3.0.0'], /--version cannot be used with --follow/],
    [['build', '--version'], /argument missing/],
    [['build', '--version', '3.0.0', '--colour'], /unknown option '--colour'/],
  ])('%j: exit 2, one line, no API call', async (argv, message) => {
    const r = await runBuild(argv, {});
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toMatch(message);
    expect(r.calls).toHaveLength(0);
  });
});

describe('build output helpers', () => {
  it('build time in the guide’s format', () => {
    expect(buildTime(754)).toBe('12m 34s');
    expect(buildTime(42)).toBe('0m 42s');
    expect(buildTime(3600)).toBe('60m 0s');
  });

  it('a streamed line never makes a second match for grep "AMI ID:", nor drives the terminal', () => {
    expect(streamLine('==> amazon-ebs: AMI ID: ami-1')).toBe('==> amazon-ebs: AMI Id: ami-1');
    expect(streamLine('plain')).toBe('plain');
    // Text from the archive or the build cannot drive the terminal: escapes are shown, not sent.
    expect(streamLine('found: \u001b[31mRED\u001b]52;c;ZXZpbA==\u0007 x\rAMI ID: ami-2')).toBe(
      'found: \\x1b[31mRED\\x1b]52;c;ZXZpbA==\\x07 x\\x0dAMI Id: ami-2',
    );
    expect(streamLine('a\tb\nc')).toBe('a\tb\nc');
  });
});
