/**
 * Step Functions in the sandbox through the real SDK v3 SFNClient over HTTP, on a fixture
 * serverless.yml (test/e2e/fixtures/sandbox-sfn.yml): Pass, Choice, Wait, Task (lambda:invoke
 * and a plain Lambda ARN in-process, aws-sdk:ec2:describeImages against the sandbox itself,
 * states:startExecution.sync:2), Retry, Catch, Fail, Succeed; StartExecution's idempotency and
 * errors; history by state name; StopExecution and TimeoutSeconds with the EventBridge rule's
 * function invoked; schedules run on demand; reset.
 */
import { resolve } from 'node:path';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  InvalidExecutionInput,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
  StateMachineDoesNotExist,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sandboxCredentials } from '../../sandbox/credentials';
import type { Delivery } from '../../sandbox/eventbridge';
import { type Sandbox, startSandbox } from '../../sandbox/server';

const FIXTURE = resolve(import.meta.dirname, 'fixtures/sandbox-sfn.yml');
const MACHINE = 'arn:aws:states:us-west-2:123456789012:stateMachine:sfn-fixture-dev-fixture';
const CHILD = 'arn:aws:states:us-west-2:123456789012:stateMachine:sfn-fixture-dev-child';
const SLEEPY = 'arn:aws:states:us-west-2:123456789012:stateMachine:sfn-fixture-dev-sleepy';

let sandbox: Sandbox;
let sfn: SFNClient;
let imageId: string;

beforeAll(async () => {
  process.env.PULSAR_AMI_SANDBOX_TIME_SCALE = '0.005';
  sandbox = await startSandbox({ port: 0, serverlessYml: FIXTURE });
  sfn = new SFNClient({
    region: 'us-west-2',
    endpoint: sandbox.url,
    credentials: sandboxCredentials,
    maxAttempts: 1,
  });
});
afterAll(async () => {
  sfn.destroy();
  await sandbox.close();
});
beforeEach(async () => {
  sandbox.reset();
  const images = sandbox.world.region('us-west-2').images;
  imageId = [...images.values()].find((i) => i.name.startsWith('pulsar-base-3.0.0'))?.imageId ?? '';
  expect(imageId).toMatch(/^ami-/);
});

async function control<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${sandbox.url}/_sandbox/${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  expect(response.status, await response.clone().text()).toBeLessThan(300);
  return (await response.json()) as T;
}

async function start(machine: string, input: unknown, name?: string): Promise<string> {
  const out = await sfn.send(
    new StartExecutionCommand({
      stateMachineArn: machine,
      input: JSON.stringify(input),
      ...(name ? { name } : {}),
    }),
  );
  expect(out.startDate).toBeInstanceOf(Date);
  return out.executionArn ?? '';
}

async function finished(executionArn: string): Promise<DescribeExecutionCommandOutput> {
  await control('POST', 'executions/wait', { executionArns: [executionArn], timeoutMs: 20_000 });
  return sfn.send(new DescribeExecutionCommand({ executionArn }));
}

async function history(executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 7, nextToken }));
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}

const entered = (events: HistoryEvent[]) =>
  events.filter((e) => e.type?.endsWith('StateEntered')).map((e) => e.stateEnteredEventDetails?.name);

async function deliveries(): Promise<Delivery[]> {
  return (await control<{ deliveries: Delivery[] }>('POST', 'events/wait')).deliveries;
}

describe('executions', () => {
  it('runs Pass, Choice, an aws-sdk task against the sandbox, Lambdas in-process with Retry, Wait and Succeed', async () => {
    sandbox.calls.clear();
    const arn = await start(MACHINE, { mode: 'ok', word: 'pulsar', imageId }, 'happy-path');
    expect(arn).toBe('arn:aws:states:us-west-2:123456789012:execution:sfn-fixture-dev-fixture:happy-path');
    const done = await finished(arn);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.stopDate).toBeInstanceOf(Date);
    const output = JSON.parse(done.output ?? '{}');
    expect(output).toMatchObject({
      mode: 'ok',
      execution: 'happy-path',
      image: { name: 'pulsar-base-3.0.0-20250615103000', state: 'available' },
      shout: { shouted: 'PULSAR', statusCode: 200 },
      flaky: { attempts: 3 },
    });
    // serverless.yml's references, resolved in the Lambdas' environment.
    expect(output.shout.env).toEqual({
      FIXTURE_MACHINE_ARN: MACHINE,
      FIXTURE_SHOUT_ARN: 'arn:aws:lambda:us-west-2:123456789012:function:sfn-fixture-dev-shout',
      FIXTURE_CHILD_ARN: CHILD,
      FIXTURE_UNKNOWN: null,
      AWS_ENDPOINT_URL: sandbox.url,
    });

    const events = await history(arn);
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
    expect(events.map((e) => e.previousEventId)).toEqual(events.map((_, i) => i));
    expect(events[0]?.type).toBe('ExecutionStarted');
    expect(events.at(-1)?.type).toBe('ExecutionSucceeded');
    expect(entered(events)).toEqual([
      'Prepare',
      'Which Mode?',
      'Describe Image',
      'Shout It',
      'Try Flaky',
      'Wait Briefly',
      'All Done',
    ]);
    const types = events.map((e) => e.type);
    expect(types.slice(0, 12)).toEqual([
      'ExecutionStarted',
      'PassStateEntered',
      'PassStateExited',
      'ChoiceStateEntered',
      'ChoiceStateExited',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSucceeded',
      'TaskStateExited',
      'TaskStateEntered',
      'TaskScheduled',
    ]);
    const scheduled = events.find((e) => e.type === 'TaskScheduled')?.taskScheduledEventDetails;
    expect(scheduled).toMatchObject({
      resourceType: 'aws-sdk:ec2',
      resource: 'describeImages',
      region: 'us-west-2',
    });
    expect(JSON.parse(scheduled?.parameters ?? '{}')).toEqual({ ImageIds: [imageId] });
    expect(types.filter((t) => t === 'LambdaFunctionFailed')).toHaveLength(2);
    expect(types.filter((t) => t === 'LambdaFunctionSucceeded')).toHaveLength(1);
    expect(types).toContain('WaitStateEntered');
    expect(types).toContain('SucceedStateEntered');
    const exited = events.find((e) => e.stateExitedEventDetails?.name === 'Prepare')?.stateExitedEventDetails;
    expect(JSON.parse(exited?.output ?? '{}')).toMatchObject({
      mode: 'ok',
      word: 'pulsar',
      execution: 'happy-path',
    });
    expect(events[0]?.timestamp).toBeInstanceOf(Date);

    const reversed = await sfn.send(
      new GetExecutionHistoryCommand({
        executionArn: arn,
        reverseOrder: true,
        maxResults: 2,
        includeExecutionData: false,
      }),
    );
    expect(reversed.events?.map((e) => e.type)).toEqual(['ExecutionSucceeded', 'SucceedStateExited']);
    expect(reversed.events?.[0]?.executionSucceededEventDetails?.output).toBeUndefined();
    expect(reversed.nextToken).toBeTruthy();

    const log = sandbox.calls.list().map((c) => `${c.service} ${c.action}${c.path ? ` ${c.path}` : ''}`);
    expect(log).toContain('ec2 DescribeImages');
    expect(log).toContain('lambda Invoke sfn-fixture-dev-shout');
    expect(log.filter((l) => l === 'lambda Invoke sfn-fixture-dev-flaky')).toHaveLength(3);

    const { executions } = await control<{ executions: { executionArn: string; transitions: number }[] }>(
      'GET',
      'executions',
    );
    // 7 states entered + 2 retries.
    expect(executions.find((e) => e.executionArn === arn)?.transitions).toBe(9);
    // A successful execution is no business of the rule.
    expect(await deliveries()).toEqual([]);
  });

  it('fails with the Lambda error name, caught, and a cause shaped like Lambda errors', async () => {
    const arn = await start(MACHINE, { mode: 'fail', word: 'x', imageId });
    const done = await finished(arn);
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe('ValidationChecksFailed');
    const cause = JSON.parse(done.cause ?? '{}');
    expect(cause).toMatchObject({
      errorType: 'ValidationChecksFailed',
      errorMessage: 'Validation checks failed: java-17',
    });
    expect(cause.trace).toEqual(expect.arrayContaining([expect.stringContaining('ValidationChecksFailed')]));
    const events = await history(arn);
    const failed = events.find((e) => e.type === 'TaskFailed')?.taskFailedEventDetails;
    expect(failed).toMatchObject({
      resourceType: 'lambda',
      resource: 'invoke',
      error: 'ValidationChecksFailed',
    });
    expect(entered(events)).toEqual(['Prepare', 'Which Mode?', 'Reject It', 'Report Error', 'Fail Here']);
    expect(events.at(-1)).toMatchObject({
      type: 'ExecutionFailed',
      executionFailedEventDetails: { error: 'ValidationChecksFailed' },
    });
    const [delivery] = await deliveries();
    expect(delivery).toMatchObject({ function: 'onEnded', status: 'succeeded' });
    expect((delivery?.result as { detail: { status: string } } | undefined)?.detail.status).toBe('FAILED');
  });

  it('names an EC2 failure Ec2.Ec2Exception, with the code and message in the Cause', async () => {
    const arn = await start(MACHINE, { mode: 'ok', word: 'x', imageId: 'ami-nope' });
    const done = await finished(arn);
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe('Ec2.Ec2Exception');
    expect(done.cause).toMatch(
      /^Invalid id: "ami-nope" \(expecting "ami-\.\.\."\) \(Service: Ec2, Status Code: 400, Error Code: InvalidAMIID\.Malformed, Request ID: [\w-]+\)$/,
    );
  });

  it('runs a nested execution with states:startExecution.sync:2 and fails the state when the child fails', async () => {
    const arn = await start(MACHINE, { mode: 'nested', word: 'hello', imageId }, 'parent');
    const done = await finished(arn);
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output ?? '{}').child).toEqual({
      childOutput: { echoed: 'hello', parent: arn },
      childStatus: 'SUCCEEDED',
    });
    const child = await sfn.send(
      new DescribeExecutionCommand({
        executionArn: `${CHILD.replace(':stateMachine:', ':execution:')}:parent-child`,
      }),
    );
    expect(child.status).toBe('SUCCEEDED');
    const types = (await history(arn)).map((e) => e.type);
    expect(types).toEqual(
      expect.arrayContaining(['TaskScheduled', 'TaskStarted', 'TaskSubmitted', 'TaskSucceeded']),
    );

    const failing = await start(MACHINE, { mode: 'nested-fail', word: 'hello', imageId }, 'parent-2');
    const failed = await finished(failing);
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toBe('States.TaskFailed');
    expect(JSON.parse(failed.cause ?? '{}')).toMatchObject({
      Status: 'FAILED',
      Error: 'ChildFailed',
      Cause: 'the child was asked to fail',
      Name: 'parent-2-child',
    });
  });
});

describe('StartExecution', () => {
  it('is idempotent for a running execution with the same name and input, refuses a different input', async () => {
    const first = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: SLEEPY, name: 'once', input: '{"seconds":100000}' }),
    );
    const again = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: SLEEPY, name: 'once', input: '{"seconds":100000}' }),
    );
    expect(again).toMatchObject({ executionArn: first.executionArn, startDate: first.startDate });
    await expect(
      sfn.send(new StartExecutionCommand({ stateMachineArn: SLEEPY, name: 'once', input: '{"seconds":1}' })),
    ).rejects.toBeInstanceOf(ExecutionAlreadyExists);
    const listed = await sfn.send(new ListExecutionsCommand({ stateMachineArn: SLEEPY }));
    expect(listed.executions?.map((e) => e.name)).toEqual(['once']);
    await sfn.send(new StopExecutionCommand({ executionArn: first.executionArn }));
    // Once it has ended, the name is taken for good.
    await expect(
      sfn.send(
        new StartExecutionCommand({ stateMachineArn: SLEEPY, name: 'once', input: '{"seconds":100000}' }),
      ),
    ).rejects.toBeInstanceOf(ExecutionAlreadyExists);
  });

  it('refuses bad input, unknown machines and unknown executions with Step Functions errors', async () => {
    await expect(
      sfn.send(new StartExecutionCommand({ stateMachineArn: SLEEPY, input: '{not json' })),
    ).rejects.toBeInstanceOf(InvalidExecutionInput);
    await expect(
      sfn.send(new StartExecutionCommand({ stateMachineArn: `${SLEEPY}-nope`, input: '{}' })),
    ).rejects.toBeInstanceOf(StateMachineDoesNotExist);
    await expect(
      sfn.send(
        new DescribeExecutionCommand({
          executionArn: `${SLEEPY.replace(':stateMachine:', ':execution:')}:nope`,
        }),
      ),
    ).rejects.toBeInstanceOf(ExecutionDoesNotExist);
    await expect(
      sfn.send(
        new StopExecutionCommand({ executionArn: `${SLEEPY.replace(':stateMachine:', ':execution:')}:nope` }),
      ),
    ).rejects.toBeInstanceOf(ExecutionDoesNotExist);
  });

  it('lists executions newest first, by status, a page at a time', async () => {
    const arns: string[] = [];
    for (const name of ['a', 'b', 'c']) arns.push(await start(SLEEPY, { seconds: 1 }, name));
    await control('POST', 'executions/wait', {});
    const running = await start(SLEEPY, { seconds: 100000 }, 'd');
    const page1 = await sfn.send(new ListExecutionsCommand({ stateMachineArn: SLEEPY, maxResults: 2 }));
    expect(page1.executions?.map((e) => e.name)).toEqual(['d', 'c']);
    const page2 = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: SLEEPY, maxResults: 2, nextToken: page1.nextToken }),
    );
    expect(page2.executions?.map((e) => e.name)).toEqual(['b', 'a']);
    expect(page2.nextToken).toBeUndefined();
    const succeeded = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: SLEEPY, statusFilter: 'SUCCEEDED' }),
    );
    expect(succeeded.executions?.map((e) => e.name).sort()).toEqual(['a', 'b', 'c']);
    const stillRunning = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: SLEEPY, statusFilter: 'RUNNING' }),
    );
    expect(stillRunning.executions?.map((e) => e.executionArn)).toEqual([running]);
  });
});

describe('StopExecution, TimeoutSeconds and the EventBridge rule', () => {
  it('aborts a running execution (no Catch), keeps error and cause, and delivers the status change', async () => {
    const arn = await start(SLEEPY, { seconds: 100000 }, 'to-stop');
    await new Promise((r) => setTimeout(r, 50));
    const stopped = await sfn.send(
      new StopExecutionCommand({ executionArn: arn, error: 'UserCancelled', cause: 'Ctrl-C' }),
    );
    expect(stopped.stopDate).toBeInstanceOf(Date);
    const done = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
    expect(done).toMatchObject({ status: 'ABORTED', error: 'UserCancelled', cause: 'Ctrl-C' });
    const events = await history(arn);
    expect(entered(events)).toEqual(['Sleep A While']);
    expect(events.at(-1)).toMatchObject({
      type: 'ExecutionAborted',
      executionAbortedEventDetails: { error: 'UserCancelled', cause: 'Ctrl-C' },
    });
    const [delivery, ...others] = await deliveries();
    expect(others).toEqual([]);
    expect(delivery).toMatchObject({
      function: 'onEnded',
      status: 'succeeded',
      detailType: 'Step Functions Execution Status Change',
    });
    expect(delivery?.result).toMatchObject({
      source: 'aws.states',
      detailType: 'Step Functions Execution Status Change',
      resources: [arn],
      account: '123456789012',
      region: 'us-west-2',
      detail: {
        executionArn: arn,
        stateMachineArn: SLEEPY,
        name: 'to-stop',
        status: 'ABORTED',
        input: '{"seconds":100000}',
        output: null,
        error: 'UserCancelled',
        cause: 'Ctrl-C',
      },
    });
    const detail = (delivery?.result as { detail: { startDate: number; stopDate: number } } | undefined)
      ?.detail;
    expect(detail?.stopDate).toBeGreaterThanOrEqual(detail?.startDate ?? Number.POSITIVE_INFINITY);
    // Stopping again changes nothing.
    await sfn.send(new StopExecutionCommand({ executionArn: arn }));
    expect((await sfn.send(new DescribeExecutionCommand({ executionArn: arn }))).error).toBe('UserCancelled');
  });

  it('times out at TimeoutSeconds × the time scale', async () => {
    const started = Date.now();
    const arn = await start(SLEEPY, { seconds: 100000 }, 'too-slow');
    const done = await finished(arn);
    expect(done.status).toBe('TIMED_OUT');
    // TimeoutSeconds 100 × 0.005 = 0.5 s.
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await history(arn)).at(-1)?.type).toBe('ExecutionTimedOut');
    const [delivery] = await deliveries();
    expect((delivery?.result as { detail: { status: string } } | undefined)?.detail.status).toBe('TIMED_OUT');
  });

  it('runs a scheduled function on demand with a Scheduled Event', async () => {
    const { schedules } = await control<{ schedules: unknown[] }>('GET', 'schedules');
    expect(schedules).toEqual([{ function: 'sweep', expression: 'rate(30 minutes)', enabled: true }]);
    const delivery = await control<Delivery>('POST', 'schedules/run', { function: 'sweep' });
    expect(delivery).toMatchObject({
      function: 'sweep',
      status: 'succeeded',
      result: { source: 'aws.events', detailType: 'Scheduled Event' },
    });
    const refused = await fetch(`${sandbox.url}/_sandbox/schedules/run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ function: 'shout' }),
    });
    expect(refused.status).toBe(400);
  });

  it('forgets executions on reset', async () => {
    const arn = await start(SLEEPY, { seconds: 100000 }, 'forgotten');
    await control('POST', 'reset', { seed: false });
    expect((await control<{ executions: unknown[] }>('GET', 'executions')).executions).toEqual([]);
    await expect(sfn.send(new DescribeExecutionCommand({ executionArn: arn }))).rejects.toBeInstanceOf(
      ExecutionDoesNotExist,
    );
  });
});
