/**
 * Sandbox SSM Run Command through the real SDK v3 over HTTP: agent registration
 * (DescribeInstanceInformation), SendCommand running for real against the instance's own
 * files in a user namespace (not the host's), the real check script on a healthy image and
 * on images missing each component, output limits, timeouts, cancellation, termination, and
 * the ssmOffline / commandHangs faults.
 */
import { existsSync } from 'node:fs';
import { type EC2Client, RunInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import {
  CancelCommandCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  SendCommandCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseCheckLines } from '../../functions/lib/check-results';
import { CHECK_NAMES, checkCommands, readCheckScript } from '../../functions/lib/checks';
import { type Sandbox, startSandbox } from '../../sandbox/server';
import { isolationProblem } from '../../sandbox/ssm/executor';
import { commandResult } from '../support/run-command';
import { sandboxControl, sandboxEc2, sandboxImageId, sandboxSsm, waitFor } from '../support/sandbox-clients';

let sandbox: Sandbox;
let ec2: EC2Client;
let ssm: SSMClient;
let pulsarImage: string;

const isolation = await isolationProblem();
if (isolation) console.warn(`sandbox Run Command tests skipped: ${isolation}`);

const control = <T>(method: string, path: string, body?: unknown) =>
  sandboxControl<T>(sandbox.url, method, path, body);
const imageIdNamed = (name: string) => sandboxImageId(sandbox.url, name);

async function launch(imageId = pulsarImage, profile = true): Promise<string> {
  const out = await ec2.send(
    new RunInstancesCommand({
      ImageId: imageId,
      InstanceType: 't3.micro',
      MinCount: 1,
      MaxCount: 1,
      ...(profile ? { IamInstanceProfile: { Name: 'pulsar-ami-dev-validation' } } : {}),
    }),
  );
  return out.Instances?.[0]?.InstanceId ?? '';
}

const online = async (instanceId: string) =>
  (
    await ssm.send(
      new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [instanceId] }] }),
    )
  ).InstanceInformationList ?? [];

async function launchOnline(imageId = pulsarImage): Promise<string> {
  const id = await launch(imageId);
  await waitFor(
    () => online(id),
    (list) => list[0]?.PingStatus === 'Online',
    { what: `${id} online` },
  );
  return id;
}

async function send(instanceId: string, commands: string[], executionTimeout?: number): Promise<string> {
  const out = await ssm.send(
    new SendCommandCommand({
      DocumentName: 'AWS-RunShellScript',
      InstanceIds: [instanceId],
      TimeoutSeconds: 60,
      Parameters: {
        commands,
        ...(executionTimeout !== undefined ? { executionTimeout: [String(executionTimeout)] } : {}),
      },
    }),
  );
  return out.Command?.CommandId ?? '';
}

function result(commandId: string, instanceId: string, timeoutMs = 10_000) {
  return commandResult(ssm, commandId, instanceId, timeoutMs);
}

async function run(instanceId: string, commands: string[]) {
  return result(await send(instanceId, commands), instanceId);
}

async function errorOf(promise: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return { name: (error as Error).name, message: (error as Error).message };
  }
  throw new Error('expected an error');
}

beforeAll(async () => {
  sandbox = await startSandbox({ port: 0 });
  ec2 = sandboxEc2(sandbox.url);
  ssm = sandboxSsm(sandbox.url);
});

afterAll(async () => {
  ec2.destroy();
  ssm.destroy();
  await sandbox.close();
});

beforeEach(async () => {
  await control('POST', 'reset', {});
  await control('DELETE', 'faults');
  pulsarImage = await imageIdNamed('pulsar-base-3.0.0-20250615103000');
});

describe('DescribeInstanceInformation', () => {
  it('lists an instance only once its agent has registered after boot, Online, and drops it when terminated', async () => {
    const id = await launch();
    expect(await online(id)).toEqual([]);
    const [info] = await waitFor(
      () => online(id),
      (l) => l.length > 0,
      { what: 'registration' },
    );
    expect(info).toMatchObject({
      InstanceId: id,
      PingStatus: 'Online',
      PlatformType: 'Linux',
      PlatformName: 'Amazon Linux',
      ResourceType: 'EC2Instance',
    });
    expect(info?.LastPingDateTime).toBeInstanceOf(Date);
    const viaList = await ssm.send(
      new DescribeInstanceInformationCommand({
        InstanceInformationFilterList: [{ key: 'InstanceIds', valueSet: [id] }],
      }),
    );
    expect(viaList.InstanceInformationList?.map((i) => i.InstanceId)).toEqual([id]);
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    expect(await online(id)).toEqual([]);
  });

  it('never lists an instance launched without an instance profile', async () => {
    const bare = await launch(pulsarImage, false);
    const withProfile = await launchOnline();
    expect(await online(bare)).toEqual([]);
    const all = await ssm.send(new DescribeInstanceInformationCommand({}));
    expect(all.InstanceInformationList?.map((i) => i.InstanceId)).toEqual([withProfile]);
  });

  it('ssmOffline: the agent never registers', async () => {
    await control('PUT', 'faults', { ssmOffline: true });
    const id = await launch();
    await waitFor(
      () =>
        control<{ regions: Record<string, { instances: { instanceId: string; state: string }[] }> }>(
          'GET',
          'state',
        ),
      (s) => s.regions['us-west-2']?.instances.find((i) => i.instanceId === id)?.state === 'running',
      { what: 'running' },
    );
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await online(id)).toEqual([]);
    expect((await ssm.send(new DescribeInstanceInformationCommand({}))).InstanceInformationList).toEqual([]);
    expect((await errorOf(send(id, ['true']))).name).toBe('InvalidInstanceId');
  });
});

describe('SendCommand validation', () => {
  it('refuses other documents, unregistered instances and missing commands', async () => {
    const id = await launchOnline();
    const pending = await launch();
    expect(
      (
        await errorOf(
          ssm.send(
            new SendCommandCommand({
              DocumentName: 'AWS-RunPowerShellScript',
              InstanceIds: [id],
              Parameters: { commands: ['true'] },
            }),
          ),
        )
      ).name,
    ).toBe('InvalidDocument');
    const refused = await errorOf(send(pending, ['true']));
    expect(refused.name).toBe('InvalidInstanceId');
    expect(refused.message).toContain(pending);
    expect((await errorOf(send('i-0123456789abcdef0', ['true']))).name).toBe('InvalidInstanceId');
    expect(
      (
        await errorOf(
          ssm.send(
            new SendCommandCommand({ DocumentName: 'AWS-RunShellScript', InstanceIds: [id], Parameters: {} }),
          ),
        )
      ).name,
    ).toBe('InvalidParameters');
  });
});

describe.skipIf(isolation !== null)('Run Command against the instance filesystem', () => {
  it('answers InvocationDoesNotExist right after SendCommand, then Pending/InProgress, then Success', async () => {
    const id = await launchOnline();
    const sent = await ssm.send(
      new SendCommandCommand({
        DocumentName: 'AWS-RunShellScript',
        InstanceIds: [id],
        Comment: 'hello',
        Parameters: { commands: ['echo hello', 'echo oops >&2'] },
      }),
    );
    expect(sent.Command).toMatchObject({
      Status: 'Pending',
      DocumentName: 'AWS-RunShellScript',
      InstanceIds: [id],
    });
    expect(sent.Command?.CommandId).toMatch(/^[0-9a-f-]{36}$/);
    expect(sent.Command?.RequestedDateTime).toBeInstanceOf(Date);
    const commandId = sent.Command?.CommandId ?? '';
    const early = await errorOf(
      ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: id })),
    );
    expect(early.name).toBe('InvocationDoesNotExist');
    const done = await result(commandId, id);
    expect(done).toMatchObject({
      Status: 'Success',
      StatusDetails: 'Success',
      ResponseCode: 0,
      StandardOutputContent: 'hello\n',
      StandardErrorContent: 'oops\n',
      Comment: 'hello',
      PluginName: 'aws:runShellScript',
    });
    expect(Number.isNaN(Date.parse(done.ExecutionStartDateTime ?? ''))).toBe(false);
    const listed = await ssm.send(new ListCommandInvocationsCommand({ CommandId: commandId, Details: true }));
    expect(listed.CommandInvocations?.[0]).toMatchObject({ InstanceId: id, Status: 'Success' });
    expect(listed.CommandInvocations?.[0]?.CommandPlugins?.[0]?.Output).toContain('hello');
  });

  it("sees the instance's /opt, not the host's, and an agent-like environment", async () => {
    expect(existsSync('/opt/pulsar')).toBe(false);
    const pulsar = await launchOnline();
    const plain = await launchOnline(await imageIdNamed('al2023-ami-2023.6.20250101.0-kernel-6.1-x86_64'));
    const probe = [
      'test -d /opt/pulsar && echo yes || echo no',
      'ls /opt | tr "\\n" " "; echo',
      'echo "id=$AWS_SSM_INSTANCE_ID home=$(printenv HOME || echo unset) path=$PATH"',
      'command -v java || echo "no java"',
    ];
    const a = await run(pulsar, probe);
    expect(a.Status).toBe('Success');
    const [dir, listing, env, java] = (a.StandardOutputContent ?? '').split('\n');
    expect(dir).toBe('yes');
    expect(listing?.trim().split(' ').sort()).toEqual([
      'openmessaging-benchmark',
      'pulsar',
      'pulsar-templates',
    ]);
    expect(env).toBe(
      `id=${pulsar} home=unset path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    );
    expect(java).toBe('/usr/local/bin/java');
    const b = await run(plain, probe);
    expect((b.StandardOutputContent ?? '').split('\n').slice(0, 2)).toEqual(['no', '']);
    expect(b.StandardOutputContent).toContain('no java');
    // Each instance writes only to its own tree.
    await run(pulsar, ['echo mine > /opt/pulsar/marker', 'touch /tmp/scratch']);
    const other = await launchOnline();
    const c = await run(other, [
      'test -e /opt/pulsar/marker && echo leaked || echo clean',
      'test -e /tmp/scratch && echo leaked || echo clean',
    ]);
    expect(c.StandardOutputContent).toBe('clean\nclean\n');
    expect(existsSync('/opt/pulsar/marker')).toBe(false);
  });

  it('passes the real check script on a healthy image: seven JSON lines, all passed', async () => {
    const id = await launchOnline();
    const out = await run(id, checkCommands(readCheckScript(), '3.0.0'));
    expect(out.StandardErrorContent).toBe('');
    expect(out.Status).toBe('Success');
    expect(out.ResponseCode).toBe(0);
    const lines = (out.StandardOutputContent ?? '').trim().split('\n');
    expect(lines).toHaveLength(7);
    const checks = parseCheckLines(out.StandardOutputContent ?? '');
    expect(checks.map((c) => c.name)).toEqual([...CHECK_NAMES]);
    expect(checks.every((c) => c.passed)).toBe(true);
    expect(checks.find((c) => c.name === 'Java installed')?.detail).toMatch(/^openjdk version "17\.0\.\d+"/);
    expect(checks.find((c) => c.name === 'Pulsar version matches')?.detail).toContain('installed 3.0.0');
  });

  it('fails every check on a plain image', async () => {
    const id = await launchOnline(await imageIdNamed('ubuntu-jammy-custom'));
    const out = await run(id, checkCommands(readCheckScript(), '3.0.0'));
    expect(out.Status).toBe('Failed');
    expect(out.ResponseCode).toBe(1);
    expect(parseCheckLines(out.StandardOutputContent ?? '').filter((c) => c.passed)).toEqual([]);
  });

  const missingCases: [string, string[]][] = [
    ['openmessaging-benchmark', ['OpenMessaging Benchmark installed']],
    ['pulsar-binaries', ['Pulsar binaries present']],
    ['systemd-templates', ['Systemd templates installed']],
    ['java', ['Java installed', 'Java 17']],
    ['pulsar-version', ['Pulsar version matches']],
    ['pulsar-dir', ['Pulsar directory exists', 'Pulsar binaries present', 'Pulsar version matches']],
  ];
  it.each(missingCases)('imageMissing %s: exactly those checks fail', async (component, failing) => {
    await control('PUT', 'faults', { imageMissing: { component, imageId: pulsarImage } });
    const id = await launchOnline();
    const out = await run(id, checkCommands(readCheckScript(), '3.0.0'));
    expect(out.Status).toBe('Failed');
    const failed = parseCheckLines(out.StandardOutputContent ?? '')
      .filter((c) => !c.passed)
      .map((c) => c.name);
    expect(failed).toEqual(failing);
  });

  it('image contents when seeding: Java 11 and another Pulsar version', async () => {
    const created = await control<{ images: { imageId: string }[] }>('POST', 'images', {
      images: [
        {
          name: 'pulsar-base-3.1.0-20251001000000',
          contents: { javaMajor: 11, pulsarVersion: '3.0.9' },
        },
      ],
    });
    const id = await launchOnline(created.images[0]?.imageId);
    const out = await run(id, checkCommands(readCheckScript(), '3.1.0'));
    const failed = parseCheckLines(out.StandardOutputContent ?? '').filter((c) => !c.passed);
    expect(failed.map((c) => c.name)).toEqual(['Pulsar version matches', 'Java 17']);
    expect(failed[1]?.detail).toContain("'11'");
  });

  it('reports a non-zero exit as Failed with its code, and cuts output at 24,000 / 8,000 characters', async () => {
    const id = await launchOnline();
    const out = await run(id, [
      "head -c 30000 /dev/zero | tr '\\0' 'a'",
      "head -c 9000 /dev/zero | tr '\\0' 'b' >&2",
      'exit 3',
    ]);
    expect(out.Status).toBe('Failed');
    expect(out.ResponseCode).toBe(3);
    expect(out.StandardOutputContent).toHaveLength(24_000);
    expect(out.StandardErrorContent).toHaveLength(8_000);
  });

  it('times out at executionTimeout and kills the script', async () => {
    const id = await launchOnline();
    const started = Date.now();
    // TimedOut is reported only once the killed script's output has been read, so what it
    // printed before the kill is there; two seconds give the namespace time to start.
    const commandId = await send(id, ['echo started', 'sleep 30', 'echo never'], 2);
    const out = await result(commandId, id, 8_000);
    expect(out.Status).toBe('TimedOut');
    expect(out.StatusDetails).toBe('ExecutionTimedOut');
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(out.StandardOutputContent).toBe('started\n');
  });

  it('commandHangs: InProgress until the execution timeout, then TimedOut', async () => {
    await control('PUT', 'faults', { commandHangs: true });
    const id = await launchOnline();
    const commandId = await send(id, ['echo hi'], 1);
    const inProgress = await waitFor(
      async () => {
        try {
          return await ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: id }));
        } catch {
          return undefined;
        }
      },
      (o) => o?.Status === 'InProgress',
      { what: 'InProgress' },
    );
    expect(inProgress?.StandardOutputContent).toBe('');
    const out = await result(commandId, id, 5_000);
    expect(out.Status).toBe('TimedOut');
    expect(out.StandardOutputContent).toBe('');
  });

  it('fails a running command when its instance is terminated, and cancels on CancelCommand', async () => {
    const id = await launchOnline();
    const running = await send(id, ['sleep 30']);
    await waitFor(
      async () => {
        try {
          return (await ssm.send(new GetCommandInvocationCommand({ CommandId: running, InstanceId: id })))
            .Status;
        } catch {
          return undefined;
        }
      },
      (s) => s === 'InProgress',
      { what: 'InProgress' },
    );
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    const out = await result(running, id, 3_000);
    expect(out.Status).toBe('Failed');

    const other = await launchOnline();
    const cancelled = await send(other, ['sleep 30']);
    await ssm.send(new CancelCommandCommand({ CommandId: cancelled }));
    expect((await result(cancelled, other, 3_000)).Status).toBe('Cancelled');
    expect(sandbox.world.running.size).toBe(0);
  });
});
