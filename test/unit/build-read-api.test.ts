/**
 * GET /builds, GET /builds/{id} and GET /builds/{id}/logs through their handlers, the SDK
 * clients mocked: newest first with the token passed through, 400s on a malformed id or
 * token, 404 for an unknown build, the CodeBuild build and the nested validation found in the
 * history, and the logs read forward from CloudWatch with a token that skips the history.
 */
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { BatchGetBuildsCommand, CodeBuildClient } from '@aws-sdk/client-codebuild';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { decodeLogToken, encodeLogToken } from '../../functions/lib/builds-logs';
import { apiEvent, lambdaContext } from '../support/api-event';

vi.hoisted(() => {
  process.env.BUILD_AMI_STATE_MACHINE_ARN =
    'arn:aws:states:us-west-2:123456789012:stateMachine:pulsar-ami-dev-build-ami';
});

const { handler: listBuilds } = await import('../../functions/list-builds');
const { handler: getBuild } = await import('../../functions/get-build');
const { handler: getBuildLogs } = await import('../../functions/get-build-logs');

const sfnMock = mockClient(SFNClient);
const codebuildMock = mockClient(CodeBuildClient);
const logsMock = mockClient(CloudWatchLogsClient);

const MACHINE = 'arn:aws:states:us-west-2:123456789012:stateMachine:pulsar-ami-dev-build-ami';
const BUILD_ID = 'build-6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b';
const EXECUTION_ARN = `arn:aws:states:us-west-2:123456789012:execution:pulsar-ami-dev-build-ami:${BUILD_ID}`;
const CODEBUILD_ID = 'pulsar-ami-dev-build-ami:0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9';
const STREAM = '0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9';
const VALIDATION_ARN =
  'arn:aws:states:us-west-2:123456789012:execution:pulsar-ami-dev-validate-ami:6b0f9a8e-1c2d-5e3f-8a4b-5c6d7e8f9a0b';
const INPUT = {
  buildId: BUILD_ID,
  version: '3.0.0',
  instanceType: 't3.small',
  architecture: 'x86_64',
  force: false,
  copyToRegions: [],
};
const T0 = Date.parse('2026-01-15T12:00:00Z');

beforeEach(() => {
  sfnMock.reset();
  codebuildMock.reset();
  logsMock.reset();
});

async function call(
  handler: typeof getBuild,
  input: { path: string; pathParameters?: Record<string, string>; query?: Record<string, string> },
) {
  const result = (await handler(
    apiEvent({ method: 'GET', ...input }),
    lambdaContext(),
  )) as APIGatewayProxyResult;
  return { ...result, json: JSON.parse(result.body) as Record<string, unknown> };
}

/** History events, 1 s apart, ids in order. */
function history(...events: Omit<HistoryEvent, 'id' | 'timestamp'>[]): HistoryEvent[] {
  return events.map((e, i) => ({
    ...e,
    id: i + 1,
    previousEventId: i,
    timestamp: new Date(T0 + (i + 1) * 1000),
  }));
}

const entered = (
  name: string,
  input: unknown = INPUT,
  kind = 'Task',
): Omit<HistoryEvent, 'id' | 'timestamp'> => ({
  type: `${kind}StateEntered` as HistoryEvent['type'],
  stateEnteredEventDetails: { name, input: JSON.stringify(input) },
});
const exited = (name: string, output: unknown, kind = 'Task'): Omit<HistoryEvent, 'id' | 'timestamp'> => ({
  type: `${kind}StateExited` as HistoryEvent['type'],
  stateExitedEventDetails: { name, output: JSON.stringify(output) },
});

/** The build's history mid-way: Find Existing AMI done, the CodeBuild build submitted and running. */
const BUILDING = history(
  { type: 'ExecutionStarted', executionStartedEventDetails: { input: JSON.stringify(INPUT) } },
  entered('Find Existing AMI'),
  exited('Find Existing AMI', { ...INPUT, existing: { found: false, region: 'us-west-2', result: null } }),
  entered('AMI Already Built?', INPUT, 'Choice'),
  exited('AMI Already Built?', INPUT, 'Choice'),
  entered('Build Image With Packer'),
  {
    type: 'TaskScheduled',
    taskScheduledEventDetails: {
      resourceType: 'codebuild',
      resource: 'startBuild.sync',
      region: 'us-west-2',
      parameters: '{}',
    },
  },
  {
    type: 'TaskStarted',
    taskStartedEventDetails: { resourceType: 'codebuild', resource: 'startBuild.sync' },
  },
  {
    type: 'TaskSubmitted',
    taskSubmittedEventDetails: {
      resourceType: 'codebuild',
      resource: 'startBuild.sync',
      output: JSON.stringify({
        Build: { Id: CODEBUILD_ID, BuildStatus: 'IN_PROGRESS', CurrentPhase: 'SUBMITTED' },
      }),
    },
  },
);

function describeRunning(events: HistoryEvent[] = BUILDING) {
  sfnMock.on(DescribeExecutionCommand, { executionArn: EXECUTION_ARN }).resolves({
    executionArn: EXECUTION_ARN,
    name: BUILD_ID,
    stateMachineArn: MACHINE,
    status: 'RUNNING',
    startDate: new Date(T0),
    input: JSON.stringify(INPUT),
  });
  sfnMock.on(GetExecutionHistoryCommand, { executionArn: EXECUTION_ARN }).resolves({ events });
}

describe('GET /builds', () => {
  it('newest first as Step Functions lists them, each with its request; the token passed through', async () => {
    const executions = ['build-b', 'build-a'].map((name, i) => ({
      executionArn: `${MACHINE.replace(':stateMachine:', ':execution:')}:${name}`,
      name,
      stateMachineArn: MACHINE,
      status: i === 0 ? ('RUNNING' as const) : ('SUCCEEDED' as const),
      startDate: new Date(T0 - i * 3_600_000),
      ...(i === 1 ? { stopDate: new Date(T0 - i * 3_600_000 + 754_000) } : {}),
    }));
    sfnMock.on(ListExecutionsCommand).resolves({ executions, nextToken: 'sfn-token-2' });
    for (const e of executions) {
      sfnMock.on(DescribeExecutionCommand, { executionArn: e.executionArn }).resolves({
        ...e,
        input: JSON.stringify({
          ...INPUT,
          buildId: e.name,
          version: e.name === 'build-a' ? '2.11.0' : '3.0.0',
        }),
        ...(e.status === 'SUCCEEDED' ? { output: JSON.stringify({ amiId: 'ami-0123456789abcdef0' }) } : {}),
      });
    }
    const r = await call(listBuilds, { path: '/builds', query: { limit: '2', nextToken: 'sfn-token-1' } });
    expect(r.statusCode).toBe(200);
    expect(r.json).toEqual({
      items: [
        {
          buildId: 'build-b',
          executionArn: executions[0]?.executionArn,
          status: 'RUNNING',
          version: '3.0.0',
          instanceType: 't3.small',
          architecture: 'x86_64',
          startedAt: '2026-01-15T12:00:00.000Z',
        },
        {
          buildId: 'build-a',
          executionArn: executions[1]?.executionArn,
          status: 'SUCCEEDED',
          version: '2.11.0',
          instanceType: 't3.small',
          architecture: 'x86_64',
          amiId: 'ami-0123456789abcdef0',
          startedAt: '2026-01-15T11:00:00.000Z',
          stoppedAt: '2026-01-15T11:12:34.000Z',
        },
      ],
      nextToken: 'sfn-token-2',
    });
    expect(sfnMock.commandCalls(ListExecutionsCommand)[0]?.args[0].input).toEqual({
      stateMachineArn: MACHINE,
      maxResults: 2,
      nextToken: 'sfn-token-1',
    });
  });

  it('a bad limit, or a token Step Functions refuses → 400 naming it', async () => {
    const limit = await call(listBuilds, { path: '/builds', query: { limit: '0' } });
    expect(limit.statusCode).toBe(400);
    expect(limit.json.field).toBe('limit');
    expect(sfnMock.calls()).toHaveLength(0);
    sfnMock
      .on(ListExecutionsCommand)
      .rejects(Object.assign(new Error('Invalid Token'), { name: 'InvalidToken', $fault: 'client' }));
    const token = await call(listBuilds, { path: '/builds', query: { nextToken: 'garbage' } });
    expect(token.statusCode).toBe(400);
    expect(token.json.field).toBe('nextToken');
  });
});

describe('GET /builds/{id}', () => {
  it('a malformed id → 400 with no AWS call; an unknown one → 404', async () => {
    const bad = await call(getBuild, { path: '/builds/x', pathParameters: { id: 'ami-123' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json.field).toBe('id');
    expect(sfnMock.calls()).toHaveLength(0);
    sfnMock
      .on(DescribeExecutionCommand)
      .rejects(
        Object.assign(new Error('does not exist'), { name: 'ExecutionDoesNotExist', $fault: 'client' }),
      );
    const unknown = await call(getBuild, { path: `/builds/${BUILD_ID}`, pathParameters: { id: BUILD_ID } });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json).toMatchObject({ title: 'Build not found', buildId: BUILD_ID });
  });

  it('while building: the step, the CodeBuild phase from BatchGetBuilds of the build in the history', async () => {
    describeRunning();
    codebuildMock.on(BatchGetBuildsCommand).resolves({
      builds: [
        {
          id: CODEBUILD_ID,
          buildStatus: 'IN_PROGRESS',
          currentPhase: 'PRE_BUILD',
          phases: [
            { phaseType: 'SUBMITTED', phaseStatus: 'SUCCEEDED', durationInSeconds: 0 },
            { phaseType: 'INSTALL', phaseStatus: 'SUCCEEDED', durationInSeconds: 12 },
            { phaseType: 'PRE_BUILD' },
          ],
          logs: { groupName: '/aws/codebuild/pulsar-ami-dev-build-ami', streamName: STREAM },
        },
      ],
    });
    const r = await call(getBuild, { path: `/builds/${BUILD_ID}`, pathParameters: { id: BUILD_ID } });
    expect(r.statusCode).toBe(200);
    expect(r.json).toMatchObject({
      buildId: BUILD_ID,
      executionArn: EXECUTION_ARN,
      status: 'RUNNING',
      version: '3.0.0',
      instanceType: 't3.small',
      architecture: 'x86_64',
      currentStep: 'Build Image With Packer',
      currentState: 'Build Image With Packer',
      phases: {
        find: 'succeeded',
        build: 'running',
        validate: 'pending',
        publish: 'pending',
        cleanup: 'pending',
      },
      codeBuild: {
        id: CODEBUILD_ID,
        status: 'IN_PROGRESS',
        currentPhase: 'PRE_BUILD',
        logGroup: '/aws/codebuild/pulsar-ami-dev-build-ami',
        logStream: STREAM,
      },
      startedAt: '2026-01-15T12:00:00.000Z',
    });
    expect((r.json.codeBuild as { phases: unknown[] }).phases).toEqual([
      { phase: 'SUBMITTED', status: 'SUCCEEDED', durationSeconds: 0 },
      { phase: 'INSTALL', status: 'SUCCEEDED', durationSeconds: 12 },
      { phase: 'PRE_BUILD', status: null },
    ]);
    expect(codebuildMock.commandCalls(BatchGetBuildsCommand)[0]?.args[0].input).toEqual({
      ids: [CODEBUILD_ID],
    });
    expect(r.json.error).toBeUndefined();
  });

  it('failed in the build: the failed step and reason from the Fail cause; the phase from the recorded build when CodeBuild cannot say', async () => {
    const failedBuild = {
      Id: CODEBUILD_ID,
      BuildStatus: 'FAILED',
      CurrentPhase: 'COMPLETED',
      Phases: [
        { PhaseType: 'PRE_BUILD', PhaseStatus: 'SUCCEEDED' },
        {
          PhaseType: 'BUILD',
          PhaseStatus: 'FAILED',
          Contexts: [
            {
              StatusCode: 'COMMAND_EXECUTION_ERROR',
              Message: 'Error while executing command: packer build .. Reason: exit status 1',
            },
          ],
        },
      ],
    };
    const cause = `Build ${BUILD_ID}: CodeBuild build ${CODEBUILD_ID} FAILED in phase BUILD: COMMAND_EXECUTION_ERROR: Error while executing command: packer build .. Reason: exit status 1`;
    const events = history(
      ...BUILDING.map(({ id: _id, timestamp: _t, previousEventId: _p, ...e }) => e),
      {
        type: 'TaskFailed',
        taskFailedEventDetails: {
          resourceType: 'codebuild',
          resource: 'startBuild.sync',
          error: 'States.TaskFailed',
          cause: JSON.stringify(failedBuild),
        },
      },
      exited('Build Image With Packer', {
        ...INPUT,
        error: { Error: 'States.TaskFailed', Cause: JSON.stringify(failedBuild) },
      }),
      entered('Find AMIs From Failed Build', { ...INPUT, error: { Error: 'States.TaskFailed', Cause: '…' } }),
      exited('Find AMIs From Failed Build', { ...INPUT, cleanup: { imageIds: [] } }),
      entered('Delete Failed AMI', { ...INPUT, cleanup: { imageIds: [] } }),
      exited('Delete Failed AMI', {
        ...INPUT,
        cleanup: { imageIds: [], deletion: { deleted: [], kept: [] } },
      }),
      entered('Explain Build Failure'),
      exited('Explain Build Failure', { failure: { error: 'BuildFailed', cause } }),
      entered('Fail Build', {}, 'Fail'),
      { type: 'ExecutionFailed', executionFailedEventDetails: { error: 'BuildFailed', cause } },
    );
    sfnMock.on(DescribeExecutionCommand, { executionArn: EXECUTION_ARN }).resolves({
      executionArn: EXECUTION_ARN,
      status: 'FAILED',
      startDate: new Date(T0),
      stopDate: new Date(T0 + 754_000),
      input: JSON.stringify(INPUT),
      error: 'BuildFailed',
      cause,
    });
    sfnMock.on(GetExecutionHistoryCommand).resolves({ events });
    codebuildMock.on(BatchGetBuildsCommand).rejects(new Error('no access'));
    const r = await call(getBuild, { path: `/builds/${BUILD_ID}`, pathParameters: { id: BUILD_ID } });
    expect(r.statusCode).toBe(200);
    expect(r.json).toMatchObject({
      status: 'FAILED',
      currentStep: 'Fail Build',
      phases: { find: 'succeeded', build: 'failed', validate: 'pending', cleanup: 'succeeded' },
      cleanup: { deleted: [], kept: [] },
      error: {
        error: 'BuildFailed',
        failedStep: 'Build Image With Packer',
        summary: `Build Image With Packer failed: CodeBuild build ${CODEBUILD_ID} FAILED in phase BUILD: COMMAND_EXECUTION_ERROR: Error while executing command: packer build .. Reason: exit status 1`,
      },
      codeBuild: {
        id: CODEBUILD_ID,
        status: 'FAILED',
        phases: [
          { phase: 'PRE_BUILD', status: 'SUCCEEDED' },
          {
            phase: 'BUILD',
            status: 'FAILED',
            // CodeBuild's whole command shortened to the line that ran last.
            reason: 'COMMAND_EXECUTION_ERROR: command `packer build .` failed (exit status 1)',
          },
        ],
      },
      durationSeconds: 754,
      stoppedAt: '2026-01-15T12:12:34.000Z',
    });
  });

  it('validating: the nested ValidateAmi execution told as GET /validations/{id} tells it', async () => {
    const events = history(
      ...BUILDING.map(({ id: _id, timestamp: _t, previousEventId: _p, ...e }) => e),
      {
        type: 'TaskSucceeded',
        taskSucceededEventDetails: {
          resourceType: 'codebuild',
          resource: 'startBuild.sync',
          output: JSON.stringify({ Build: { Id: CODEBUILD_ID, BuildStatus: 'SUCCEEDED' } }),
        },
      },
      exited('Build Image With Packer', {
        ...INPUT,
        build: {
          codeBuildId: CODEBUILD_ID,
          exportedVariables: [{ Name: 'AMI_ID', Value: 'ami-0fedcba9876543210' }],
        },
      }),
      entered('Prepare Validation'),
      exited('Prepare Validation', {
        ...INPUT,
        image: { imageId: 'ami-0fedcba9876543210', name: 'pulsar-base-3.0.0-20260115120500' },
      }),
      entered('Validate AMI'),
      {
        type: 'TaskSubmitted',
        taskSubmittedEventDetails: {
          resourceType: 'states',
          resource: 'startExecution.sync:2',
          output: JSON.stringify({ ExecutionArn: VALIDATION_ARN, StartDate: T0 / 1000 + 40 }),
        },
      },
    );
    describeRunning(events);
    sfnMock.on(DescribeExecutionCommand, { executionArn: VALIDATION_ARN }).resolves({
      executionArn: VALIDATION_ARN,
      status: 'RUNNING',
      startDate: new Date(T0 + 40_000),
      input: JSON.stringify({ imageId: 'ami-0fedcba9876543210', instanceType: 't3.micro' }),
    });
    sfnMock.on(GetExecutionHistoryCommand, { executionArn: VALIDATION_ARN }).resolves({
      events: history({
        type: 'TaskStateEntered',
        stateEnteredEventDetails: { name: 'Launch Test Instance', input: '{}' },
      }),
    });
    codebuildMock
      .on(BatchGetBuildsCommand)
      .resolves({ builds: [{ id: CODEBUILD_ID, buildStatus: 'SUCCEEDED', currentPhase: 'COMPLETED' }] });
    const r = await call(getBuild, { path: `/builds/${BUILD_ID}`, pathParameters: { id: BUILD_ID } });
    expect(r.json).toMatchObject({
      currentStep: 'Validate AMI',
      amiId: 'ami-0fedcba9876543210',
      amiName: 'pulsar-base-3.0.0-20260115120500',
      phases: { find: 'succeeded', build: 'succeeded', validate: 'running', publish: 'pending' },
      validation: {
        validationId: '6b0f9a8e-1c2d-5e3f-8a4b-5c6d7e8f9a0b',
        executionArn: VALIDATION_ARN,
        imageId: 'ami-0fedcba9876543210',
        instanceType: 't3.micro',
        status: 'RUNNING',
        currentStep: 'Launch Test Instance',
        phases: { launch: 'running' },
      },
    });
  });
});

describe('GET /builds/{id}/logs', () => {
  it('before the build step started one: no stream yet, no token', async () => {
    describeRunning(BUILDING.slice(0, 5));
    const r = await call(getBuildLogs, {
      path: `/builds/${BUILD_ID}/logs`,
      pathParameters: { id: BUILD_ID },
    });
    expect(r.statusCode).toBe(200);
    expect(r.json).toEqual({
      buildId: BUILD_ID,
      codeBuildId: null,
      logGroup: '/aws/codebuild/pulsar-ami-dev-build-ami',
      logStream: null,
      events: [],
    });
    expect(logsMock.calls()).toHaveLength(0);
  });

  it('reads the stream forward from the head; the token it gives reads on without the history', async () => {
    describeRunning();
    logsMock
      .on(GetLogEventsCommand, { logStreamName: STREAM, nextToken: undefined })
      .resolves({
        events: [
          { timestamp: T0 + 5000, message: '[Container] 2026/01/15 12:00:05 Entering phase INSTALL\n' },
          { timestamp: T0 + 6000, message: 'Downloading Packer 1.11.2\n' },
        ],
        nextForwardToken: 'f/1',
        nextBackwardToken: 'b/1',
      })
      .on(GetLogEventsCommand, { logStreamName: STREAM, nextToken: 'f/1' })
      .resolves({ events: [{ timestamp: T0 + 9000, message: 'packer init .' }], nextForwardToken: 'f/2' })
      .on(GetLogEventsCommand, { logStreamName: STREAM, nextToken: 'f/2' })
      .resolves({ events: [], nextForwardToken: 'f/2' });
    const first = await call(getBuildLogs, {
      path: `/builds/${BUILD_ID}/logs`,
      pathParameters: { id: BUILD_ID },
    });
    expect(first.statusCode).toBe(200);
    expect(first.json).toMatchObject({
      buildId: BUILD_ID,
      codeBuildId: CODEBUILD_ID,
      logGroup: '/aws/codebuild/pulsar-ami-dev-build-ami',
      logStream: STREAM,
      events: [
        {
          timestamp: '2026-01-15T12:00:05.000Z',
          message: '[Container] 2026/01/15 12:00:05 Entering phase INSTALL',
        },
        { timestamp: '2026-01-15T12:00:06.000Z', message: 'Downloading Packer 1.11.2' },
      ],
    });
    expect(logsMock.commandCalls(GetLogEventsCommand)[0]?.args[0].input).toEqual({
      logGroupName: '/aws/codebuild/pulsar-ami-dev-build-ami',
      logStreamName: STREAM,
      startFromHead: true,
    });
    sfnMock.resetHistory();
    const second = await call(getBuildLogs, {
      path: `/builds/${BUILD_ID}/logs`,
      pathParameters: { id: BUILD_ID },
      query: { nextToken: String(first.json.nextToken) },
    });
    expect(second.json.events).toEqual([{ timestamp: '2026-01-15T12:00:09.000Z', message: 'packer init .' }]);
    expect(sfnMock.calls()).toHaveLength(0);
    // At the end of the stream: nothing new, the same token back.
    const third = await call(getBuildLogs, {
      path: `/builds/${BUILD_ID}/logs`,
      pathParameters: { id: BUILD_ID },
      query: { nextToken: String(second.json.nextToken) },
    });
    expect(third.json.events).toEqual([]);
    expect(decodeLogToken(String(third.json.nextToken), BUILD_ID)).toEqual({
      b: BUILD_ID,
      c: CODEBUILD_ID,
      t: 'f/2',
    });
  });

  it('follows empty pages while the token moves (at most a few), and a stream not made yet is no error', async () => {
    describeRunning();
    logsMock
      .on(GetLogEventsCommand, { nextToken: undefined })
      .resolves({ events: [], nextForwardToken: 'f/1' })
      .on(GetLogEventsCommand, { nextToken: 'f/1' })
      .resolves({ events: [{ timestamp: T0, message: 'hello' }], nextForwardToken: 'f/2' });
    const r = await call(getBuildLogs, {
      path: `/builds/${BUILD_ID}/logs`,
      pathParameters: { id: BUILD_ID },
    });
    expect(r.json.events).toEqual([{ timestamp: '2026-01-15T12:00:00.000Z', message: 'hello' }]);

    logsMock.reset();
    logsMock.on(GetLogEventsCommand).rejects(
      Object.assign(new Error('The specified log stream does not exist.'), {
        name: 'ResourceNotFoundException',
        $fault: 'client',
      }),
    );
    const early = await call(getBuildLogs, {
      path: `/builds/${BUILD_ID}/logs`,
      pathParameters: { id: BUILD_ID },
    });
    expect(early.statusCode).toBe(200);
    expect(early.json).toMatchObject({ codeBuildId: CODEBUILD_ID, logStream: STREAM, events: [] });
    expect(decodeLogToken(String(early.json.nextToken), BUILD_ID)).toEqual({ b: BUILD_ID, c: CODEBUILD_ID });
  });

  it('a token of another build, or not ours → 400 on nextToken, nothing read', async () => {
    const other = encodeLogToken({ b: 'build-other', c: CODEBUILD_ID, t: 'f/1' });
    for (const nextToken of [other, 'garbage', encodeLogToken({ b: BUILD_ID, c: '../../etc', t: 'x' })]) {
      const r = await call(getBuildLogs, {
        path: `/builds/${BUILD_ID}/logs`,
        pathParameters: { id: BUILD_ID },
        query: { nextToken },
      });
      expect(r.statusCode).toBe(400);
      expect(r.json.field).toBe('nextToken');
    }
    expect(logsMock.calls()).toHaveLength(0);
    expect(sfnMock.calls()).toHaveLength(0);
  });

  it('an unknown build → 404', async () => {
    sfnMock
      .on(DescribeExecutionCommand)
      .rejects(
        Object.assign(new Error('does not exist'), { name: 'ExecutionDoesNotExist', $fault: 'client' }),
      );
    const r = await call(getBuildLogs, {
      path: `/builds/${BUILD_ID}/logs`,
      pathParameters: { id: BUILD_ID },
    });
    expect(r.statusCode).toBe(404);
  });
});
