/**
 * `pulsar-ami validate` against a fake API whose GET /validations/{id} answers are the real
 * progress mapping over the real machine's history, cut one event further at each poll: the
 * CLI sees the execution move exactly as a client of Step Functions would. Sleep only moves
 * the fake clock.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { progressLines } from '../../cli/commands/validate';
import type { CliDeps, FetchLike } from '../../cli/deps';
import { runCli } from '../../cli/run';
import type { ValidationResponse } from '../../functions/lib/api-types';
import { validationProgress } from '../../functions/lib/validation-progress';
import {
  describeAt,
  EXECUTION_ARN,
  IMAGE_ID,
  INSTANCE_ID,
  type RecordedExecution,
  recordExecution,
  SCENARIOS,
  VALIDATION_ID,
} from '../support/validation-history';
import { AMIS, API, json, problem, T0, TEST_CREDENTIALS } from './cli-harness';

interface Call {
  method: string;
  path: string;
  body?: string;
}

type Route = (call: Call) => Response | Promise<Response>;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  calls: Call[];
  sleeps: number[];
  home: string;
}

/** Each run's temporary HOME, removed after the test. */
const homes: string[] = [];
afterEach(() => {
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

async function runValidate(
  argv: string[],
  routes: Record<string, Route>,
  options: { env?: Record<string, string>; onSleep?: (n: number, abort: () => void) => void } = {},
): Promise<Run> {
  const calls: Call[] = [];
  const sleeps: number[] = [];
  let now = T0;
  let stdout = '';
  let stderr = '';
  const controller = new AbortController();
  const home = mkdtempSync(join(tmpdir(), 'pulsar-ami-validate-'));
  homes.push(home);
  const fetch: FetchLike = async (input, init) => {
    const url = new URL(input);
    const call: Call = {
      method: init.method ?? 'GET',
      path: url.pathname.replace(/^\/dev/, ''),
      ...(typeof init.body === 'string' ? { body: init.body } : {}),
    };
    calls.push(call);
    const route = routes[`${call.method} ${call.path}`];
    return route ? route(call) : problem(500, 'Unexpected', `no route for ${call.method} ${call.path}`);
  };
  const deps: CliDeps = {
    fetch,
    env: { PULSAR_AMI_API_URL: API, ...options.env },
    now: () => now,
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    homeDir: home,
    credentials: async () => TEST_CREDENTIALS,
    signal: controller.signal,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
      options.onSleep?.(sleeps.length, () => controller.abort());
    },
  };
  const code = await runCli(argv, deps);
  return { code, stdout, stderr, calls, sleeps, home };
}

const started = {
  validationId: VALIDATION_ID,
  executionArn: EXECUTION_ARN,
  imageId: IMAGE_ID,
  instanceType: 't3.micro',
  status: 'RUNNING',
  location: `/validations/${VALIDATION_ID}`,
};

/** The answers a client polling one event at a time sees, from the first state to the end. */
function snapshots(run: RecordedExecution): ValidationResponse[] {
  const answers: ValidationResponse[] = [];
  for (let count = 2; count <= run.events.length; count++) {
    answers.push({
      validationId: VALIDATION_ID,
      executionArn: EXECUTION_ARN,
      ...validationProgress(describeAt(run, count), run.events.slice(0, count)),
    });
  }
  return answers;
}

/** POST answers 202; each GET answers the next snapshot (the last one forever). */
function validationRoutes(answers: ValidationResponse[]): Record<string, Route> {
  let next = 0;
  return {
    [`POST /amis/${IMAGE_ID}/validations`]: () => json(202, started),
    [`GET /validations/${VALIDATION_ID}`]: () => json(200, answers[Math.min(next++, answers.length - 1)]),
  };
}

/** Ec2.Ec2Exception says nothing: the summary tells the EC2 error code and the Cause's first sentence. */
const CAPACITY_SUMMARY =
  'Could not launch the test instance: InsufficientInstanceCapacity — We currently do not have sufficient t3.micro capacity in the Availability Zone you requested (us-west-2a).';

const HEADER = ['Validating AMI', `AMI ID: ${IMAGE_ID}`, 'Instance Type: t3.micro', 'Region: us-west-2'];

const UNTIL_AGENT = [
  '',
  'Step 1/6: Launching test instance...',
  `  ✓ Instance launched: ${INSTANCE_ID}`,
  '',
  'Step 2/6: Waiting for instance to be running...',
  '  ✓ Instance is running',
  '',
  'Step 3/6: Waiting for SSM agent...',
];

let passed: RecordedExecution;
let failedChecks: RecordedExecution;
let ssmOffline: RecordedExecution;
let launchRefused: RecordedExecution;

beforeAll(async () => {
  [passed, failedChecks, ssmOffline, launchRefused] = await Promise.all([
    recordExecution(SCENARIOS.passed),
    recordExecution(SCENARIOS.failedChecks),
    recordExecution(SCENARIOS.ssmOffline),
    recordExecution(SCENARIOS.launchRefused),
  ]);
});

describe('validate', () => {
  it('each answer only adds lines at the end, whatever the path', async () => {
    for (const name of Object.keys(SCENARIOS) as (keyof typeof SCENARIOS)[]) {
      const answers = snapshots(await recordExecution(SCENARIOS[name]));
      let before: string[] = [];
      for (const answer of answers) {
        const lines = progressLines(answer);
        expect(lines.slice(0, before.length), `${name} at ${answer.currentState}`).toEqual(before);
        before = lines;
      }
      expect(before.at(-1), name).toMatch(/^(✓ AMI VALIDATION PASSED|✗ AMI VALIDATION FAILED: .+)$/);
    }
  });

  it('SSM offline and terminate refused: says so and who terminates the instance instead, exit 1', async () => {
    const answers = snapshots(await recordExecution(SCENARIOS.ssmOfflineTerminateRefused));
    const r = await runValidate(['validate', '--ami-id', IMAGE_ID], validationRoutes(answers));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      [
        'Step 5/6: Terminating test instance...',
        '  ✗ Test instance could not be terminated (TestInstanceNotTerminatedError)',
      ].join('\n'),
    );
    expect(r.stdout).toContain(
      `  ! Test instance ${INSTANCE_ID} is terminated by the execution-status rule (or the sweeper)\n`,
    );
    expect(r.stdout).toContain(
      '✗ AMI VALIDATION FAILED: SSM agent did not come online (SsmAgentOfflineError)\n',
    );
  });

  it('checks passed, terminate refused: the AMI passed (Validated=true), a warning for the instance, exit 0', async () => {
    const answers = snapshots(await recordExecution(SCENARIOS.terminateRefused));
    const end = answers.at(-1);
    // The execution fails on purpose, so the execution-status rule terminates the instance.
    expect(end).toMatchObject({
      status: 'FAILED',
      passed: false,
      error: { error: 'TestInstanceNotTerminatedError' },
    });
    const r = await runValidate(['validate', '--ami-id', IMAGE_ID], validationRoutes(answers));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      [
        '  Checking: Java 17... ✓',
        '  ✓ All validation checks passed',
        '',
        'Step 5/6: Terminating test instance...',
        '  ! Test instance could not be terminated (TestInstanceNotTerminatedError)',
      ].join('\n'),
    );
    expect(r.stdout).toContain(
      [
        `  ! Test instance ${INSTANCE_ID} is terminated by the execution-status rule (or the sweeper)`,
        '',
        'Step 6/6: Validation complete',
        '',
        '✓ AMI VALIDATION PASSED',
        '',
      ].join('\n'),
    );
    expect(r.stdout.endsWith('✓ AMI VALIDATION PASSED\n')).toBe(true);
    expect(r.stdout).not.toContain('FAILED');
    expect(r.stderr).toBe(
      `Warning: test instance ${INSTANCE_ID} could not be terminated; the execution-status rule (or the sweeper) terminates it (execution ${EXECUTION_ARN})\n`,
    );

    const json = await runValidate(['--json', 'validate', '--ami-id', IMAGE_ID], validationRoutes(answers));
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(end);
    expect(json.stderr).toContain('could not be terminated');
  });

  it('prints the guide’s output as the execution moves, exit 0', async () => {
    const answers = snapshots(passed);
    const r = await runValidate(['validate', '--ami-id', IMAGE_ID], validationRoutes(answers));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        ...HEADER,
        ...UNTIL_AGENT,
        '  ✓ SSM agent is online',
        '',
        'Step 4/6: Running validation checks...',
        '  Checking: Pulsar directory exists... ✓',
        '  Checking: Pulsar binaries present... ✓',
        '  Checking: Systemd templates installed... ✓',
        '  Checking: Java installed... ✓',
        '  Checking: OpenMessaging Benchmark installed... ✓',
        '  Checking: Pulsar version matches... ✓',
        '  Checking: Java 17... ✓',
        '  ✓ All validation checks passed',
        '',
        'Step 5/6: Terminating test instance...',
        '  ✓ Test instance terminated',
        '',
        'Step 6/6: Validation complete',
        '',
        '✓ AMI VALIDATION PASSED',
        '',
      ].join('\n'),
    );
    const [post, ...gets] = r.calls;
    expect(post).toEqual({
      method: 'POST',
      path: `/amis/${IMAGE_ID}/validations`,
      body: '{"instanceType":"t3.micro"}',
    });
    expect(gets).toHaveLength(answers.length);
    expect(r.sleeps).toHaveLength(answers.length - 1);
    expect(new Set(r.sleeps)).toEqual(new Set([2000]));
  });

  it('shows each step once it is reached: Step 1 alone while launching', async () => {
    const answers = snapshots(passed);
    const launching = answers.findIndex((a) => a.currentStep === 'Launch Test Instance');
    let seen = '';
    const r = await runValidate(['validate', '--ami-id', IMAGE_ID], validationRoutes(answers), {
      onSleep: (n, abort) => {
        if (n === launching + 1) abort();
      },
    });
    seen = r.stdout;
    expect(seen).toBe([...HEADER, '', 'Step 1/6: Launching test instance...', ''].join('\n'));
    expect(r.code).toBe(130);
  });

  it('a failed check: ✗ with its detail, the count, terminate lines, the failure line, exit 1', async () => {
    const r = await runValidate(
      ['validate', '--ami-id', IMAGE_ID, '--instance-type', 't3.micro'],
      validationRoutes(snapshots(failedChecks)),
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      [
        'Step 4/6: Running validation checks...',
        '  Checking: Pulsar directory exists... ✓',
        '  Checking: Pulsar binaries present... ✓',
        '  Checking: Systemd templates installed... ✓',
        '  Checking: Java installed... ✓',
        '  Checking: OpenMessaging Benchmark installed... ✗ (/opt/openmessaging-benchmark/bin/benchmark missing)',
        '  Checking: Pulsar version matches... ✓',
        '  Checking: Java 17... ✗ (java -version reports 11.0.22)',
        '  ✗ 2 check(s) failed: OpenMessaging Benchmark installed, Java 17',
        '',
        'Step 5/6: Terminating test instance...',
        '  ✓ Test instance terminated',
        '',
        'Step 6/6: Validation complete',
        '',
        '✗ AMI VALIDATION FAILED: OpenMessaging Benchmark installed, Java 17',
        `Execution: ${EXECUTION_ARN}`,
        '',
      ].join('\n'),
    );
    expect(r.stdout).not.toContain('PASSED');
  });

  it('SSM agent never online: names the step and the error, shows the instance terminated, exit 1', async () => {
    const r = await runValidate(['validate', '--ami-id', IMAGE_ID], validationRoutes(snapshots(ssmOffline)));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      [
        ...HEADER,
        ...UNTIL_AGENT,
        '  ✗ SSM agent did not come online (SsmAgentOfflineError)',
        `    The SSM agent of test instance ${INSTANCE_ID} was not online after 5 checks`,
        '',
        'Step 5/6: Terminating test instance...',
        '  ✓ Test instance terminated',
        '',
        'Step 6/6: Validation complete',
        '',
        '✗ AMI VALIDATION FAILED: SSM agent did not come online (SsmAgentOfflineError)',
        `Execution: ${EXECUTION_ARN}`,
        '',
      ].join('\n'),
    );
  });

  it('launch refused: the launch step fails with EC2’s reason, nothing to terminate, exit 1', async () => {
    const r = await runValidate(
      ['validate', '--ami-id', IMAGE_ID],
      validationRoutes(snapshots(launchRefused)),
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      ['Step 1/6: Launching test instance...', `  ✗ ${CAPACITY_SUMMARY}`].join('\n'),
    );
    expect(r.stdout).toContain(
      'Step 5/6: Terminating test instance...\n  - No test instance was launched; nothing to terminate\n',
    );
    expect(r.stdout).toContain(`✗ AMI VALIDATION FAILED: ${CAPACITY_SUMMARY}\n`);
    expect(r.stdout).not.toContain('Step 2/6');
  });

  it('aborted in AWS: says the cleanup rule terminates the instance, exit 1', async () => {
    const answer: ValidationResponse = {
      validationId: VALIDATION_ID,
      executionArn: EXECUTION_ARN,
      imageId: IMAGE_ID,
      instanceType: 't3.micro',
      status: 'ABORTED',
      currentStep: 'Wait For SSM Agent',
      currentState: 'Describe SSM Agent',
      steps: [],
      phases: {
        launch: 'succeeded',
        instanceRunning: 'succeeded',
        ssmAgent: 'failed',
        checks: 'pending',
        terminate: 'delegated',
      },
      failedPhase: 'ssmAgent',
      instanceId: INSTANCE_ID,
      passed: false,
      error: { error: 'ExecutionAborted', cause: '', summary: 'Validation was stopped (ExecutionAborted)' },
      startedAt: '2026-01-15T12:00:00.000Z',
    };
    const r = await runValidate(['validate', '--ami-id', IMAGE_ID], validationRoutes([answer]));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      [
        'Step 3/6: Waiting for SSM agent...',
        '  ✗ Validation was stopped (ExecutionAborted)',
        '',
        'Step 5/6: Terminating test instance...',
        `  ! Test instance ${INSTANCE_ID} is terminated by the execution-status rule (or the sweeper)`,
      ].join('\n'),
    );
    expect(r.stdout).toContain('✗ AMI VALIDATION FAILED: Validation was stopped (ExecutionAborted)');
  });

  it('--json: the final GET answer, same exit code', async () => {
    const answers = snapshots(failedChecks);
    const r = await runValidate(['validate', '--ami-id', IMAGE_ID, '--json'], validationRoutes(answers));
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual(answers.at(-1));
    const ok = await runValidate(
      ['--json', 'validate', '--ami-id', IMAGE_ID],
      validationRoutes(snapshots(passed)),
    );
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({
      status: 'SUCCEEDED',
      passed: true,
      instanceId: INSTANCE_ID,
    });
  });

  it('--instance-type goes in the request and the header', async () => {
    const r = await runValidate(
      ['validate', '--ami-id', IMAGE_ID, '--instance-type', 't3.small'],
      validationRoutes(snapshots(passed)),
    );
    expect(r.stdout).toContain('Instance Type: t3.small\n');
    expect(r.calls[0]?.body).toBe('{"instanceType":"t3.small"}');
  });

  it('the API refusing to start (AMI pending): its reason, exit 1', async () => {
    const r = await runValidate(['validate', '--ami-id', IMAGE_ID], {
      [`POST /amis/${IMAGE_ID}/validations`]: () =>
        problem(
          409,
          'AMI not available',
          `AMI ${IMAGE_ID} is pending, not available; only an available AMI can be validated`,
        ),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `Error: AMI ${IMAGE_ID} is pending, not available; only an available AMI can be validated\n`,
    );
  });

  it('Ctrl-C while waiting: stops polling, says how to follow, exit 130, no stop requested', async () => {
    const answers = snapshots(passed);
    const r = await runValidate(['validate', '--ami-id', IMAGE_ID], validationRoutes(answers), {
      onSleep: (n, abort) => {
        if (n === 3) abort();
      },
    });
    expect(r.code).toBe(130);
    expect(r.calls.filter((c) => c.method === 'GET')).toHaveLength(3);
    expect(r.calls.every((c) => c.method === 'GET' || c.method === 'POST')).toBe(true);
    expect(r.stderr).toBe(
      [
        '',
        'Stopped waiting. The validation continues in AWS and its test instance will be terminated.',
        `Follow it: pulsar-ami --region us-west-2 validate --ami-id ${IMAGE_ID} --follow ${VALIDATION_ID}`,
        `       or: aws stepfunctions describe-execution --execution-arn ${EXECUTION_ARN}`,
        '',
      ].join('\n'),
    );
  });

  it('--follow picks up a running validation without starting one', async () => {
    const answers = snapshots(passed);
    const r = await runValidate(
      ['validate', '--ami-id', IMAGE_ID, '--follow', VALIDATION_ID],
      validationRoutes(answers.slice(40)),
    );
    expect(r.code).toBe(0);
    expect(r.calls.some((c) => c.method === 'POST')).toBe(false);
    expect(r.stdout.startsWith(`${HEADER.join('\n')}\n`)).toBe(true);
    expect(r.stdout).toContain('✓ AMI VALIDATION PASSED\n');
  });

  it('--dry-run --follow: following only reads, so it just follows (no POST, no “Would launch”)', async () => {
    const answers = snapshots(passed);
    const r = await runValidate(
      ['--dry-run', 'validate', '--ami-id', IMAGE_ID, '--follow', VALIDATION_ID],
      validationRoutes(answers.slice(40)),
    );
    expect(r.code).toBe(0);
    expect(r.calls.map((c) => c.method).every((m) => m === 'GET')).toBe(true);
    expect(r.calls[0]).toEqual({ method: 'GET', path: `/validations/${VALIDATION_ID}` });
    expect(r.stdout).not.toContain('Would launch');
    expect(r.stdout.startsWith(`[DRY RUN] --follow only reads; following…\n${HEADER.join('\n')}\n`)).toBe(
      true,
    );
    expect(r.stdout).toContain('✓ AMI VALIDATION PASSED\n');
  });

  it('the wait is bounded: says so, exit 1', async () => {
    const answers = snapshots(passed).slice(0, 5);
    const r = await runValidate(['validate', '--ami-id', IMAGE_ID], validationRoutes(answers), {
      env: { PULSAR_AMI_POLL_INTERVAL_MS: '1000', PULSAR_AMI_VALIDATE_WAIT_MS: '60000' },
    });
    expect(r.code).toBe(1);
    expect(r.sleeps).toHaveLength(60);
    expect(r.stderr).toContain(
      'Stopped waiting after 1 minute(s) (PULSAR_AMI_VALIDATE_WAIT_MS); the validation is still running in AWS.\n',
    );
    expect(r.stderr).toContain(`--follow ${VALIDATION_ID}`);
  });

  it('a poll failing for a moment is retried; one that keeps failing ends the command', async () => {
    const answers = snapshots(passed);
    let n = 0;
    const flaky: Record<string, Route> = {
      ...validationRoutes(answers),
      [`GET /validations/${VALIDATION_ID}`]: () =>
        ++n % 3 === 0
          ? problem(503, 'AWS is throttling requests', 'slow down')
          : json(200, answers[Math.min(n, answers.length - 1)]),
    };
    const ok = await runValidate(['validate', '--ami-id', IMAGE_ID], flaky);
    expect(ok.code).toBe(0);

    const down = await runValidate(['validate', '--ami-id', IMAGE_ID], {
      [`POST /amis/${IMAGE_ID}/validations`]: () => json(202, started),
      [`GET /validations/${VALIDATION_ID}`]: () =>
        problem(502, 'AWS call failed', 'Step Functions answered InternalError'),
    });
    expect(down.code).toBe(1);
    expect(down.calls.filter((c) => c.method === 'GET')).toHaveLength(4);
    expect(down.stderr).toBe('Error: Step Functions answered InternalError\n');
  });

  describe('--dry-run', () => {
    it('checks the AMI and prints the plan; starts nothing', async () => {
      const r = await runValidate(['--dry-run', 'validate', '--ami-id', IMAGE_ID], {
        [`GET /amis/${IMAGE_ID}`]: () => json(200, AMIS[0]),
      });
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(
        [
          ...HEADER,
          '',
          `[DRY RUN] Would launch a t3.micro test instance from ${IMAGE_ID}, run 7 checks through SSM, then terminate it`,
          '',
        ].join('\n'),
      );
      expect(r.calls).toEqual([{ method: 'GET', path: `/amis/${IMAGE_ID}` }]);
    });

    it('an AMI that is not found, not ours or not available: exit 1, nothing started', async () => {
      const cases: [Route, string][] = [
        [
          () =>
            problem(
              404,
              'AMI not found',
              `AMI ${IMAGE_ID} was not found in us-west-2 (or is not owned by this account)`,
            ),
          'was not found',
        ],
        [
          () => problem(403, 'AMI not managed by pulsar-ami', `AMI ${IMAGE_ID} is not a pulsar-ami image`),
          'is not a pulsar-ami image',
        ],
        [() => json(200, { ...AMIS[0], state: 'pending' }), 'is pending, not available'],
      ];
      for (const [route, reason] of cases) {
        const r = await runValidate(['validate', '--ami-id', IMAGE_ID, '--dry-run'], {
          [`GET /amis/${IMAGE_ID}`]: route,
        });
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(reason);
        expect(r.calls.map((c) => c.method)).toEqual(['GET']);
      }
    });
  });

  describe('temporary HOME', () => {
    let home = '';
    it('each run has one', async () => {
      home = (await runValidate(['validate', '--ami-id', 'ami-xyz'], {})).home;
      expect(existsSync(home)).toBe(true);
    });
    it('it is removed after the test', () => {
      expect(home).not.toBe('');
      expect(existsSync(home)).toBe(false);
    });
  });

  describe('usage errors exit 2 with no HTTP call', () => {
    const cases: [string[], RegExp][] = [
      [['validate', '--ami-id', 'ami-xyz'], /--ami-id must look like ami-0123456789abcdef0/],
      [['validate'], /required option '--ami-id <AMI_ID>' not specified/],
      [
        ['validate', '--ami-id', IMAGE_ID, '--instance-type', 't3.huge'],
        /--instance-type must be an EC2 instance type/,
      ],
      [
        ['validate', '--ami-id', IMAGE_ID, '--instance-type', 'm5'],
        /--instance-type must be an EC2 instance type/,
      ],
      [['validate', '--ami-id', IMAGE_ID, '--follow', 'latest'], /--follow must be a validation id/],
      [
        ['validate', '--ami-id', IMAGE_ID, '--follow', VALIDATION_ID, '--instance-type', 't3.small'],
        /--instance-type cannot be used with --follow/,
      ],
    ];
    for (const [argv, message] of cases) {
      it(argv.slice(1).join(' ') || 'no --ami-id', async () => {
        const r = await runValidate(argv, {});
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(message);
        expect(r.calls).toHaveLength(0);
      });
    }

    it('a bad poll interval', async () => {
      const r = await runValidate(
        ['validate', '--ami-id', IMAGE_ID],
        {},
        { env: { PULSAR_AMI_POLL_INTERVAL_MS: 'fast' } },
      );
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(
        "PULSAR_AMI_POLL_INTERVAL_MS must be a whole number of milliseconds (0-600000), got 'fast'",
      );
      expect(r.calls).toHaveLength(0);
    });
  });
});
