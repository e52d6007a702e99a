/**
 * `pulsar-ami validate` end to end: the built CLI → SigV4 → the sandbox's API → the
 * start-validation Lambda → the sandbox's Step Functions running statemachines/validate-ami
 * → EC2 instances and SSM commands that really run the check script on the instance's files.
 * Healthy and with each fault: the exit code, the named failed check, and no instance left.
 */

import { spawn } from 'node:child_process';
import { DescribeImagesCommand, DescribeInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { ListExecutionsCommand, SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_ALLOWED_INSTANCE_TYPES } from '../../functions/lib/validation';
import { sandboxCredentials } from '../../sandbox/credentials';
import { CLI, type CliResult, type E2e, startE2e } from '../support/e2e';
import { waitFor } from '../support/sandbox-clients';

let e2e: E2e;
let ec2: EC2Client;
let sfn: SFNClient;
let healthy: string;

const MACHINE = 'arn:aws:states:us-west-2:123456789012:stateMachine:pulsar-ami-dev-validate-ami';
const FAST = { PULSAR_AMI_POLL_INTERVAL_MS: '25' };
const validate = (args: string[]) => e2e.cli(['validate', ...args], FAST);

beforeAll(async () => {
  e2e = await startE2e();
  ec2 = e2e.ec2;
  sfn = new SFNClient({
    region: 'us-west-2',
    endpoint: e2e.url,
    credentials: sandboxCredentials,
    maxAttempts: 1,
  });
});
afterAll(async () => {
  sfn.destroy();
  await e2e.close();
});
beforeEach(async () => {
  await e2e.reset();
  const page = await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }));
  healthy = page.Images?.find((i) => i.Name?.startsWith('pulsar-base-3.0.0'))?.ImageId ?? '';
  expect(healthy).toMatch(/^ami-/);
  await e2e.control('DELETE', 'calls');
});

async function instances() {
  const page = await ec2.send(new DescribeInstancesCommand({}));
  return (page.Reservations ?? []).flatMap((r) => r.Instances ?? []);
}

/** Every launched instance ends terminated (the sandbox's shutting-down lasts a moment). */
async function expectNothingLeftRunning() {
  await e2e.control('POST', 'executions/wait', { timeoutMs: 20_000 });
  const all = await waitFor(instances, (list) => list.every((i) => i.State?.Name === 'terminated'), {
    timeoutMs: 5_000,
    what: 'every instance terminated',
  });
  return all;
}

async function tagsOf(imageId: string): Promise<Record<string, string>> {
  const page = await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }));
  return Object.fromEntries((page.Images?.[0]?.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
}

const runInstancesCalls = async () =>
  (await e2e.calls()).filter((c) => c.service === 'ec2' && c.action === 'RunInstances' && !c.dryRun);

function expectGuideLines(result: CliResult) {
  for (const line of [
    'Validating AMI',
    `AMI ID: ${healthy}`,
    'Instance Type: t3.micro',
    'Region: us-west-2',
    'Step 1/6: Launching test instance...',
    'Step 2/6: Waiting for instance to be running...',
    'Step 5/6: Terminating test instance...',
    '  ✓ Test instance terminated',
  ]) {
    expect(result.stdout.split('\n')).toContain(line);
  }
}

describe('pulsar-ami validate', () => {
  it('passes a healthy image: the guide’s lines, exit 0, AMI tagged Validated=true, one SendCommand, no instance left', async () => {
    const result = await validate(['--ami-id', healthy]);
    expect(result.code).toBe(0);
    expectGuideLines(result);
    for (const check of [
      'Pulsar directory exists',
      'Pulsar binaries present',
      'Systemd templates installed',
      'Java installed',
      'OpenMessaging Benchmark installed',
    ]) {
      expect(result.stdout).toContain(`  Checking: ${check}... ✓`);
    }
    expect(result.stdout).toMatch(/ {2}✓ Instance launched: i-[0-9a-f]{17}\n/);
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe('✓ AMI VALIDATION PASSED');
    const sends = (await e2e.calls()).filter((c) => c.action === 'SendCommand');
    expect(sends).toHaveLength(1);
    const tags = await tagsOf(healthy);
    expect(tags.Validated).toBe('true');
    expect(tags.ValidationDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(tags.ValidationExecutionArn).toMatch(/^arn:aws:states:us-west-2:123456789012:execution:/);
    const all = await expectNothingLeftRunning();
    expect(all).toHaveLength(1);
  });

  const faults: { name: string; fault: Record<string, unknown>; failed: RegExp; launched: number }[] = [
    {
      name: 'an image missing OpenMessaging Benchmark',
      fault: { imageMissing: { component: 'openmessaging-benchmark' } },
      failed: /✗ AMI VALIDATION FAILED: .*OpenMessaging Benchmark installed/,
      launched: 1,
    },
    {
      name: 'an image without Java',
      fault: { imageMissing: { component: 'java' } },
      failed:
        /✗ AMI VALIDATION FAILED: .*Java installed.*Java 17|✗ AMI VALIDATION FAILED: .*Java 17.*Java installed/,
      launched: 1,
    },
    {
      name: 'an SSM agent that never comes online',
      fault: { ssmOffline: true },
      failed: /✗ AMI VALIDATION FAILED: .*SSM/i,
      launched: 1,
    },
    {
      name: 'an instance that never reaches running',
      fault: { neverRunning: true },
      failed: /✗ AMI VALIDATION FAILED: .*running/i,
      launched: 1,
    },
    {
      name: 'a check command that hangs',
      fault: { commandHangs: true },
      failed: /✗ AMI VALIDATION FAILED: .*(check|command)/i,
      launched: 1,
    },
    {
      name: 'no capacity for the test instance',
      fault: { noCapacity: true },
      failed: /✗ AMI VALIDATION FAILED: .*(capacity|launch)/i,
      launched: 0,
    },
  ];

  for (const { name, fault, failed, launched } of faults) {
    it(`fails on ${name}: exit 1, the cause named, no instance left`, async () => {
      await e2e.control('PUT', 'faults', fault);
      const result = await validate(['--ami-id', healthy]);
      expect(result.code).toBe(1);
      expect(result.stdout + result.stderr).toMatch(failed);
      expect(result.stdout).not.toContain('✓ AMI VALIDATION PASSED');
      const all = await expectNothingLeftRunning();
      expect(all).toHaveLength(launched);
    }, 60_000);
  }

  it('refuses an instance type outside the allowlist, or of another architecture, before starting anything', async () => {
    for (const [type, message] of [
      ['t4g.medium', `instanceType t4g.medium runs arm64, but AMI ${healthy} is x86_64`],
      [
        'p5.48xlarge',
        `instanceType p5.48xlarge is not allowed here; allowed types: ${DEFAULT_ALLOWED_INSTANCE_TYPES.join(', ')}`,
      ],
    ] as const) {
      const result = await validate(['--ami-id', healthy, '--instance-type', type]);
      expect([type, result.code]).toEqual([type, 1]);
      expect(result.stderr).toContain(message);
    }
    const actions = (await e2e.calls()).map((c) => c.action);
    expect(actions).not.toContain('StartExecution');
    expect(await runInstancesCalls()).toEqual([]);
  });

  it('validates a legacy pulsar-base-* image (no ManagedBy tag): adopted with the version its name says, then checked', async () => {
    const page = await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }));
    const legacy = page.Images?.find((i) => i.Name?.startsWith('pulsar-base-2.9.0'));
    expect(legacy?.Tags?.map((t) => t.Key) ?? []).not.toContain('ManagedBy');
    const result = await validate(['--ami-id', legacy?.ImageId ?? '']);
    const tags = await tagsOf(legacy?.ImageId ?? '');
    expect(tags).toMatchObject({ ManagedBy: 'pulsar-ami', PulsarVersion: '2.9.0' });
    // The machine ran the checks (a verdict is recorded), whatever they found on that image.
    expect(['true', 'false']).toContain(tags.Validated);
    expect(result.stdout + result.stderr).not.toMatch(/ImageNotManaged/);
    await expectNothingLeftRunning();
  });

  it('marks an image whose checks fail Validated=false', async () => {
    await e2e.control('PUT', 'faults', { imageMissing: { component: 'pulsar-binaries' } });
    const result = await validate(['--ami-id', healthy]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/Checking: Pulsar binaries present\.\.\. ✗/);
    expect((await tagsOf(healthy)).Validated).toBe('false');
  });

  it('rides out a terminate that fails twice, and EC2/SSM throttling, then passes', async () => {
    await e2e.control('PUT', 'faults', {
      terminateFails: { times: 2 },
      throttle: { service: 'ssm', actions: ['GetCommandInvocation'], times: 2 },
    });
    const result = await validate(['--ami-id', healthy]);
    expect(result.code).toBe(0);
    const terminates = (await e2e.calls()).filter((c) => c.action === 'TerminateInstances');
    expect(terminates.length).toBeGreaterThanOrEqual(3);
    await expectNothingLeftRunning();
  });
});

describe('a test instance that cannot be terminated', () => {
  it('checks passed: the AMI passes (exit 0, Validated=true) with a warning, and the execution-status rule terminates the instance', async () => {
    // Six refusals outlast the machine's own terminate attempts (one and five retries), so the
    // execution fails and its EventBridge rule runs the cleanup Lambda, whose call succeeds.
    await e2e.control('PUT', 'faults', { terminateFails: { times: 6, code: 'InternalError' } });
    const result = await validate(['--ami-id', healthy]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Test instance could not be terminated');
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe('✓ AMI VALIDATION PASSED');
    expect(result.stderr).toMatch(/^Warning: /m);
    expect((await tagsOf(healthy)).Validated).toBe('true');
    await e2e.control('POST', 'events/wait');
    const all = await expectNothingLeftRunning();
    expect(all).toHaveLength(1);
    const deliveries = await e2e.control<{ deliveries: unknown[] }>('GET', 'events');
    expect(JSON.stringify(deliveries)).toContain('terminateExecutionInstances');
  }, 60_000);
});

describe('the sweeper', () => {
  it('terminates validation instances past their lifetime, and nothing else', async () => {
    const validationTags = { Purpose: 'AMI-Validation', ManagedBy: 'pulsar-ami' };
    const seed = async (tags: Record<string, string>, launchedMinutesAgo: number) =>
      (
        await e2e.control<{ instanceId: string }>('POST', 'instances', {
          imageId: healthy,
          tags,
          launchedMinutesAgo,
        })
      ).instanceId;
    const expired = await seed(validationTags, 120);
    const young = await seed(validationTags, 10);
    const expiredByOwnTag = await seed({ ...validationTags, MaxLifetimeMinutes: '30' }, 45);
    const notOurs = await seed({ Purpose: 'AMI-Validation' }, 600);
    const workload = await seed({ Name: 'pulsar-broker-1' }, 600);
    const run = await e2e.control<unknown>('POST', 'schedules/run', { function: 'sweepValidationInstances' });
    expect(JSON.stringify(run)).not.toMatch(/"error"/i);
    const states = await waitFor(
      async () => Object.fromEntries((await instances()).map((i) => [i.InstanceId, i.State?.Name])),
      (s) => s[expired] === 'terminated' && s[expiredByOwnTag] === 'terminated',
      { what: 'the expired validation instances terminated' },
    );
    expect(states[young]).toBe('running');
    expect(states[notOurs]).toBe('running');
    expect(states[workload]).toBe('running');
  });
});

describe('validate: bad input changes nothing and launches nothing', () => {
  it('a malformed --ami-id or --instance-type: exit 2, no request', async () => {
    for (const args of [
      ['--ami-id', 'ami-xyz'],
      ['--ami-id', 'i-0123456789abcdef0'],
      ['--ami-id', healthy, '--instance-type', 't3.huge'],
      ['--ami-id', healthy, '--instance-type', 'm5'],
      ['--ami-id'],
    ]) {
      const result = await validate(args);
      expect([args, result.code]).toEqual([args, 2]);
    }
    expect(await e2e.calls()).toEqual([]);
  });

  it('an unknown AMI or one that is not this tool’s: exit 1, nothing started', async () => {
    const page = await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }));
    const foreign = page.Images?.find((i) => i.Name?.startsWith('ubuntu'))?.ImageId ?? '';
    for (const id of ['ami-0fffffffffffffff0', foreign]) {
      const result = await validate(['--ami-id', id]);
      expect([id, result.code]).toEqual([id, 1]);
      expect(result.stderr).toContain(id);
    }
    const started = (await e2e.calls()).filter((c) => c.action === 'StartExecution');
    expect(started).toEqual([]);
    expect(await runInstancesCalls()).toEqual([]);
  });

  it('--dry-run checks the AMI, prints the plan, launches nothing', async () => {
    const result = await e2e.cli(['--dry-run', 'validate', '--ami-id', healthy], FAST);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('[DRY RUN]');
    expect(result.stdout).toContain(healthy);
    const actions = (await e2e.calls()).map((c) => c.action);
    expect(actions).not.toContain('StartExecution');
    expect(await runInstancesCalls()).toEqual([]);
  });
});

describe('nothing leaks when Catch cannot run', () => {
  it('an aborted execution (StopExecution) has its instance terminated by the EventBridge rule', async () => {
    await e2e.control('PUT', 'faults', { ssmOffline: true });
    const started = await e2e.cli(['--json', 'validate', '--ami-id', healthy], {
      ...FAST,
      PULSAR_AMI_VALIDATE_WAIT_MS: '0',
    });
    expect(started.stderr).toContain('the validation is still running');
    const listed = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: MACHINE, statusFilter: 'RUNNING' }),
    );
    expect(listed.executions).toHaveLength(1);
    const arn = listed.executions?.[0]?.executionArn;
    await waitFor(instances, (list) => list.some((i) => i.State?.Name === 'running'), {
      timeoutMs: 10_000,
      what: 'the test instance running',
    });
    await sfn.send(new StopExecutionCommand({ executionArn: arn, cause: 'test: abort' }));
    await e2e.control('POST', 'events/wait');
    const all = await expectNothingLeftRunning();
    expect(all).toHaveLength(1);
    const deliveries = await e2e.control<{ deliveries: { function?: string; functionKey?: string }[] }>(
      'GET',
      'events',
    );
    expect(JSON.stringify(deliveries)).toContain('terminateExecutionInstances');
  }, 60_000);

  it('Ctrl-C stops waiting, says how to follow, and the machine still terminates the instance', async () => {
    const child = spawn(process.execPath, [CLI, 'validate', '--ami-id', healthy], {
      env: { ...e2e.env, PATH: process.env.PATH ?? '', PULSAR_AMI_POLL_INTERVAL_MS: '25' },
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString();
        if (stdout.includes('Step 2/6')) resolve();
      }),
    );
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stdout + stderr).toMatch(/continues/i);
    expect(stdout + stderr).toMatch(/arn:aws:states:/);
    const all = await expectNothingLeftRunning();
    expect(all).toHaveLength(1);
  }, 60_000);
});
