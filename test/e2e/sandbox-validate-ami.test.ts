/**
 * The project's own ValidateAmi machine (statemachines/validate-ami.asl.yml through
 * serverless.yml) run by the sandbox end to end, started with the real SFNClient: RunInstances,
 * the polling loops, one SendCommand running the real check script against the instance's
 * files, the Evaluate Check Results Lambda in-process, tagging, termination; a failing check;
 * and an aborted execution whose instance the EventBridge rule's Lambda terminates.
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
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CHECK_NAMES } from '../../functions/lib/checks';
import { sandboxCredentials } from '../../sandbox/credentials';
import type { Delivery } from '../../sandbox/eventbridge';
import { type Sandbox, startSandbox } from '../../sandbox/server';
import { sandboxEc2, waitFor } from '../support/sandbox-clients';
import { serviceInput } from '../support/validate-ami-fakes';

const MACHINE = 'arn:aws:states:us-west-2:123456789012:stateMachine:pulsar-ami-dev-validate-ami';

let sandbox: Sandbox;
let sfn: SFNClient;
let ec2: EC2Client;
let imageId: string;

beforeAll(async () => {
  sandbox = await startSandbox({ port: 0 });
  sfn = new SFNClient({
    region: 'us-west-2',
    endpoint: sandbox.url,
    credentials: sandboxCredentials,
    maxAttempts: 1,
  });
  ec2 = sandboxEc2(sandbox.url);
});
afterAll(async () => {
  sfn.destroy();
  ec2.destroy();
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

async function run(name: string) {
  const { executionArn = '' } = await sfn.send(
    new StartExecutionCommand({ stateMachineArn: MACHINE, name, input: JSON.stringify(input()) }),
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
