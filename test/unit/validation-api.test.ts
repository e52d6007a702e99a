import {
  type _InstanceType,
  CreateTagsCommand,
  DescribeImagesCommand,
  DescribeInstanceTypesCommand,
  EC2Client,
  type Image,
} from '@aws-sdk/client-ec2';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { CHECK_NAMES } from '../../functions/lib/checks';
import { DEFAULT_ALLOWED_INSTANCE_TYPES, loadConfig } from '../../functions/lib/config';
import {
  executionArnFor,
  uuidV5,
  VALIDATION_ID_PATTERN,
  validationIdFor,
} from '../../functions/lib/validation-executions';
import { STORY, validationProgress } from '../../functions/lib/validation-progress';
import { getValidation, readHistory } from '../../functions/lib/validation-status';
import { apiEvent, lambdaContext } from '../support/api-event';
import {
  countThroughEntry,
  DEFINITION,
  describeAt,
  EXECUTION_ARN,
  IMAGE_ID,
  INSTANCE_ID,
  type RecordedExecution,
  recordExecution,
  SCENARIOS,
  START,
  STATE_MACHINE_ARN,
  VALIDATION_ID,
} from '../support/validation-history';

vi.hoisted(() => {
  process.env.VALIDATE_AMI_STATE_MACHINE_ARN =
    'arn:aws:states:us-west-2:123456789012:stateMachine:pulsar-ami-dev-validate-ami';
});

const { handler: startValidation } = await import('../../functions/start-validation');
const { handler: getValidationHandler } = await import('../../functions/get-validation');

const ec2Mock = mockClient(EC2Client);
const ssmMock = mockClient(SSMClient);
const sfnMock = mockClient(SFNClient);

beforeEach(() => {
  ec2Mock.reset();
  ssmMock.reset();
  sfnMock.reset();
  ec2Mock.on(DescribeInstanceTypesCommand).callsFake(async (input: { InstanceTypes: string[] }) => ({
    InstanceTypes: input.InstanceTypes.map((type) => ({
      InstanceType: type,
      ProcessorInfo: {
        SupportedArchitectures: [/^[a-z]+\d+g/.test(type.split('.')[0] ?? '') ? 'arm64' : 'x86_64'],
      },
    })),
  }));
});

const progressAt = (recorded: RecordedExecution, count = recorded.events.length) =>
  validationProgress(describeAt(recorded, count), recorded.events.slice(0, count));

describe('history → progress', () => {
  it('places every state of the machine in the story', () => {
    const placed = new Set(STORY.flatMap((s) => s.states));
    for (const state of Object.keys(DEFINITION.States)) expect(placed.has(state), state).toBe(true);
  });

  it('a passing validation: stages in order, instance, checks, verdict', async () => {
    const run = await recordExecution(SCENARIOS.passed);
    const end = progressAt(run);
    expect(end).toMatchObject({
      imageId: IMAGE_ID,
      instanceType: 't3.micro',
      status: 'SUCCEEDED',
      currentStep: 'Complete Validation',
      currentState: 'Complete Validation',
      phases: {
        launch: 'succeeded',
        instanceRunning: 'succeeded',
        ssmAgent: 'succeeded',
        checks: 'succeeded',
        terminate: 'succeeded',
      },
      instanceId: INSTANCE_ID,
      failedChecks: [],
      passed: true,
      startedAt: new Date(START).toISOString(),
    });
    expect(end.error).toBeUndefined();
    expect(end.failedPhase).toBeUndefined();
    expect(end.checks?.map((c) => c.name)).toEqual([...CHECK_NAMES]);
    expect(end.checks?.every((c) => c.passed)).toBe(true);
    expect(end.steps.map((s) => s.name)).toEqual([
      'Launch Test Instance',
      'Wait For Instance Running',
      'Wait For SSM Agent',
      'Run Validation Checks',
      'Evaluate Check Results',
      'Record Validation Result',
      'Terminate Test Instance',
      'Complete Validation',
    ]);
    for (const step of end.steps) {
      expect(step.exitedAt, step.name).toBeDefined();
      expect(Date.parse(step.exitedAt ?? '') >= Date.parse(step.enteredAt)).toBe(true);
    }
  });

  it('mid-way: the step being waited for is running, the earlier ones done', async () => {
    const run = await recordExecution(SCENARIOS.passed);
    const atLaunch = progressAt(run, countThroughEntry(run, 'Launch Test Instance'));
    expect(atLaunch).toMatchObject({ status: 'RUNNING', currentStep: 'Launch Test Instance' });
    expect(atLaunch.phases).toEqual({
      launch: 'running',
      instanceRunning: 'pending',
      ssmAgent: 'pending',
      checks: 'pending',
      terminate: 'pending',
    });
    expect(atLaunch.instanceId).toBeUndefined();
    expect(atLaunch.passed).toBeUndefined();
    expect(atLaunch.steps).toEqual([{ name: 'Launch Test Instance', enteredAt: expect.any(String) }]);

    const waitingForAgent = progressAt(run, countThroughEntry(run, 'Describe SSM Agent', 2));
    expect(waitingForAgent).toMatchObject({
      status: 'RUNNING',
      currentStep: 'Wait For SSM Agent',
      currentState: 'Describe SSM Agent',
      instanceId: INSTANCE_ID,
      phases: { launch: 'succeeded', instanceRunning: 'succeeded', ssmAgent: 'running', checks: 'pending' },
    });
    const [launch, running, agent] = waitingForAgent.steps;
    expect(launch?.exitedAt).toBeDefined();
    expect(running?.exitedAt).toBeDefined();
    expect(agent?.exitedAt).toBeUndefined();

    const evaluated = progressAt(run, countThroughEntry(run, 'Record Validation Result'));
    expect(evaluated.phases.checks).toBe('running');
    expect(evaluated.checks).toHaveLength(CHECK_NAMES.length);
  });

  it('failed checks: the checks with their details, FAILED, instance terminated', async () => {
    const run = await recordExecution(SCENARIOS.failedChecks);
    const end = progressAt(run);
    expect(end).toMatchObject({
      status: 'FAILED',
      passed: false,
      failedChecks: ['OpenMessaging Benchmark installed', 'Java 17'],
      phases: { checks: 'failed', terminate: 'succeeded' },
      error: {
        error: 'ValidationChecksFailed',
        summary: 'OpenMessaging Benchmark installed, Java 17',
      },
      currentStep: 'Fail Validation',
    });
    expect(end.failedPhase).toBeUndefined();
    expect(end.checks?.find((c) => c.name === 'OpenMessaging Benchmark installed')).toEqual({
      name: 'OpenMessaging Benchmark installed',
      passed: false,
      detail: '/opt/openmessaging-benchmark/bin/benchmark missing',
    });
    expect(end.steps.at(-1)).toEqual({ name: 'Fail Validation', enteredAt: expect.any(String) });
  });

  it('failed checks without the history data: the names come from the Fail cause', async () => {
    const run = await recordExecution(SCENARIOS.failedChecks);
    const end = validationProgress(describeAt(run), []);
    expect(end.failedChecks).toEqual(['OpenMessaging Benchmark installed', 'Java 17']);
    expect(end.error?.summary).toBe('OpenMessaging Benchmark installed, Java 17');
  });

  it('SSM agent never online: the stage that failed, the error, still terminated', async () => {
    const run = await recordExecution(SCENARIOS.ssmOffline);
    // While terminating, the error is already known.
    const terminating = progressAt(run, countThroughEntry(run, 'Terminate Test Instance'));
    expect(terminating).toMatchObject({
      status: 'RUNNING',
      failedPhase: 'ssmAgent',
      phases: { instanceRunning: 'succeeded', ssmAgent: 'failed', checks: 'pending', terminate: 'running' },
      error: {
        error: 'SsmAgentOfflineError',
        summary: 'SSM agent did not come online (SsmAgentOfflineError)',
      },
    });
    const end = progressAt(run);
    expect(end).toMatchObject({
      status: 'FAILED',
      passed: false,
      instanceId: INSTANCE_ID,
      failedPhase: 'ssmAgent',
      phases: { ssmAgent: 'failed', checks: 'pending', terminate: 'succeeded' },
      error: {
        error: 'SsmAgentOfflineError',
        cause: `The SSM agent of test instance ${INSTANCE_ID} was not online after 5 checks`,
        summary: 'SSM agent did not come online (SsmAgentOfflineError)',
      },
    });
    expect(end.checks).toBeUndefined();
  });

  it('terminate refused after the agent failed: the agent is the cause, the termination failure on top', async () => {
    const end = progressAt(await recordExecution(SCENARIOS.ssmOfflineTerminateRefused));
    expect(end).toMatchObject({
      status: 'FAILED',
      failedPhase: 'ssmAgent',
      phases: { ssmAgent: 'failed', terminate: 'failed' },
      error: { error: 'SsmAgentOfflineError' },
      terminationError: {
        error: 'TestInstanceNotTerminatedError',
        summary: 'Test instance could not be terminated (TestInstanceNotTerminatedError)',
      },
    });
    expect(end.terminationError?.cause).toContain('UnauthorizedOperation');
  });

  it('checks never finish: failed in the checks stage', async () => {
    const end = progressAt(await recordExecution(SCENARIOS.checksTimedOut));
    expect(end).toMatchObject({
      failedPhase: 'checks',
      phases: { checks: 'failed', terminate: 'succeeded' },
      error: {
        error: 'ChecksTimedOutError',
        summary: 'Validation checks did not finish in time (ChecksTimedOutError)',
      },
    });
  });

  it('launch refused: failed at launch, nothing to terminate', async () => {
    const end = progressAt(await recordExecution(SCENARIOS.launchRefused));
    expect(end).toMatchObject({
      status: 'FAILED',
      failedPhase: 'launch',
      phases: { launch: 'failed', instanceRunning: 'pending', terminate: 'skipped' },
      error: {
        error: 'Ec2.Ec2Exception',
        summary:
          'Could not launch the test instance: InsufficientInstanceCapacity — We currently do not have sufficient t3.micro capacity in the Availability Zone you requested (us-west-2a).',
      },
    });
    expect(end.instanceId).toBeUndefined();
  });

  const at = (s: number) => new Date(START + s * 1000);
  const entered = (id: number, type: string, name: string, input: unknown): HistoryEvent => ({
    id,
    timestamp: at(id),
    type: `${type}StateEntered` as HistoryEvent['type'],
    stateEnteredEventDetails: { name, input: JSON.stringify(input) },
  });
  const exited = (id: number, type: string, name: string, output: unknown): HistoryEvent => ({
    id,
    timestamp: at(id),
    type: `${type}StateExited` as HistoryEvent['type'],
    stateExitedEventDetails: { name, output: JSON.stringify(output) },
  });
  const launched = {
    imageId: IMAGE_ID,
    testInstance: { instanceId: INSTANCE_ID, instanceIds: [INSTANCE_ID] },
  };
  const untilAgentWait: HistoryEvent[] = [
    { id: 1, timestamp: at(1), type: 'ExecutionStarted', executionStartedEventDetails: { input: '{}' } },
    entered(2, 'Task', 'Launch Test Instance', { imageId: IMAGE_ID }),
    exited(3, 'Task', 'Launch Test Instance', launched),
    entered(4, 'Wait', 'Wait For Instance Running', launched),
    exited(5, 'Wait', 'Wait For Instance Running', launched),
    entered(6, 'Choice', 'Instance Running?', launched),
    exited(7, 'Choice', 'Instance Running?', launched),
    entered(8, 'Wait', 'Wait For SSM Agent', launched),
  ];

  it('aborted (StopExecution): Catch never ran, so the cleanup rule terminates the instance', () => {
    const events = [
      ...untilAgentWait,
      {
        id: 9,
        timestamp: at(9),
        type: 'ExecutionAborted',
        executionAbortedEventDetails: {},
      } as HistoryEvent,
    ];
    const end = validationProgress(
      {
        status: 'ABORTED',
        startDate: at(0),
        stopDate: at(9),
        input: JSON.stringify({ imageId: IMAGE_ID, instanceType: 't3.small' }),
      },
      events,
    );
    expect(end).toMatchObject({
      status: 'ABORTED',
      instanceType: 't3.small',
      passed: false,
      instanceId: INSTANCE_ID,
      failedPhase: 'ssmAgent',
      currentStep: 'Wait For SSM Agent',
      phases: {
        launch: 'succeeded',
        instanceRunning: 'succeeded',
        ssmAgent: 'failed',
        terminate: 'delegated',
      },
      error: { error: 'ExecutionAborted', cause: '', summary: 'Validation was stopped (ExecutionAborted)' },
      stoppedAt: at(9).toISOString(),
    });
    expect(end.steps.at(-1)).toEqual({ name: 'Wait For SSM Agent', enteredAt: at(8).toISOString() });
  });

  it('timed out: States.Timeout, the stage it was in, the cleanup rule terminates', () => {
    const events = [
      ...untilAgentWait,
      {
        id: 9,
        timestamp: at(9),
        type: 'ExecutionTimedOut',
        executionTimedOutEventDetails: { error: 'States.Timeout' },
      } as HistoryEvent,
    ];
    const end = validationProgress(
      { status: 'TIMED_OUT', startDate: at(0), stopDate: at(9), input: '{}' },
      events,
    );
    expect(end).toMatchObject({
      status: 'TIMED_OUT',
      imageId: null,
      failedPhase: 'ssmAgent',
      phases: { terminate: 'delegated' },
      error: { error: 'States.Timeout', summary: 'Validation timed out (States.Timeout)' },
    });
  });

  it('aborted before anything launched: nothing to terminate', () => {
    const end = validationProgress({ status: 'ABORTED', startDate: at(0) }, [
      { id: 1, timestamp: at(1), type: 'ExecutionStarted' },
      entered(2, 'Pass', 'Prepare Launch Request', {}),
      { id: 3, timestamp: at(3), type: 'ExecutionAborted' },
    ]);
    expect(end.phases).toMatchObject({ launch: 'failed', terminate: 'skipped' });
  });
});

describe('validation ids', () => {
  it('v4 when random, v5 (stable) from an Idempotency-Key, both within the ClientToken limit', () => {
    const random = validationIdFor(IMAGE_ID);
    expect(random).toMatch(VALIDATION_ID_PATTERN);
    expect(random).not.toBe(validationIdFor(IMAGE_ID));
    const keyed = validationIdFor(IMAGE_ID, 'retry-me');
    expect(keyed).toMatch(VALIDATION_ID_PATTERN);
    expect(keyed).toBe(validationIdFor(IMAGE_ID, 'retry-me'));
    expect(keyed).not.toBe(validationIdFor(IMAGE_ID, 'another'));
    expect(keyed).not.toBe(validationIdFor('ami-0123456789abcdef0', 'retry-me'));
    expect(keyed.length).toBeLessThanOrEqual(64);
  });

  it('uuidV5 matches RFC 9562 (the DNS namespace example)', () => {
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe(
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    );
  });

  it('the execution ARN follows from the machine and the id', () => {
    expect(executionArnFor(STATE_MACHINE_ARN, VALIDATION_ID)).toBe(EXECUTION_ARN);
  });
});

const image = (over: Partial<Image> = {}): Image => ({
  ImageId: IMAGE_ID,
  Name: 'pulsar-base-3.0.0-20251006142311',
  State: 'available',
  CreationDate: '2025-10-06T14:23:11.000Z',
  OwnerId: '123456789012',
  Tags: [
    { Key: 'ManagedBy', Value: 'pulsar-ami' },
    { Key: 'PulsarVersion', Value: '3.0.0' },
  ],
  ...over,
});

function postEvent(
  id: string,
  body: string | null,
  headers: Record<string, string> = {},
): APIGatewayProxyEvent {
  const event = apiEvent({ method: 'POST', path: `/amis/${id}/validations`, pathParameters: { id } });
  return {
    ...event,
    body,
    headers,
    requestContext: {
      path: `/dev/amis/${id}/validations`,
      stage: 'dev',
    } as APIGatewayProxyEvent['requestContext'],
  };
}

const problemOf = (response: { statusCode: number; headers?: Record<string, unknown>; body: string }) => {
  expect(response.headers?.['content-type']).toBe('application/problem+json');
  return JSON.parse(response.body) as { status: number; field?: string; detail: string; title: string };
};

const noAwsCalls = () => {
  expect(ec2Mock.calls()).toHaveLength(0);
  expect(sfnMock.calls()).toHaveLength(0);
  expect(ssmMock.calls()).toHaveLength(0);
};

describe('POST /amis/{id}/validations', () => {
  it('starts ValidateAmi: 202, the validation id as execution name, Location', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [image()] });
    sfnMock.on(StartExecutionCommand).callsFake((input: { name: string }) => ({
      executionArn: executionArnFor(STATE_MACHINE_ARN, input.name),
      startDate: new Date(START),
    }));
    const response = await startValidation(
      postEvent(IMAGE_ID, '{"instanceType":"t3.small"}'),
      lambdaContext(),
    );
    expect(response.statusCode).toBe(202);
    const body = JSON.parse(response.body);
    expect(body).toEqual({
      validationId: expect.stringMatching(VALIDATION_ID_PATTERN),
      executionArn: executionArnFor(STATE_MACHINE_ARN, body.validationId),
      imageId: IMAGE_ID,
      instanceType: 't3.small',
      status: 'RUNNING',
      location: `/validations/${body.validationId}`,
    });
    expect(response.headers?.location).toBe(`/dev/validations/${body.validationId}`);
    const start = sfnMock.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    expect(start?.stateMachineArn).toBe(STATE_MACHINE_ARN);
    expect(start?.name).toBe(body.validationId);
    // Only what to validate: no commands, user data, profile, subnet or function names.
    const input = JSON.parse(start?.input ?? '{}');
    expect(Object.keys(input).sort()).toEqual(['imageId', 'instanceType', 'polling']);
    expect(input).toMatchObject({ imageId: IMAGE_ID, instanceType: 't3.small' });
  });

  it.each(['p5.48xlarge', 'm7i.metal-48xl', 'c5.large'])(
    'an instance type outside the allowlist (%s): 400 naming the allowed types, no AWS call',
    async (type) => {
      const response = await startValidation(
        postEvent(IMAGE_ID, `{"instanceType":"${type}"}`),
        lambdaContext(),
      );
      expect(response.statusCode).toBe(400);
      expect(problemOf(response)).toMatchObject({
        field: 'instanceType',
        detail: `instanceType ${type} is not allowed here; allowed types: ${DEFAULT_ALLOWED_INSTANCE_TYPES.join(', ')}`,
      });
      noAwsCalls();
    },
  );

  it('tags a legacy pulsar-base-* image ManagedBy (and its version) first, so the machine may validate it and record its result', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({
      Images: [image({ Tags: [], BlockDeviceMappings: [{ Ebs: { SnapshotId: 'snap-0aaaaaaaaaaaaaaa1' } }] })],
    });
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: EXECUTION_ARN, startDate: new Date(START) });
    const response = await startValidation(postEvent(IMAGE_ID, null), lambdaContext());
    expect(response.statusCode).toBe(202);
    expect(ec2Mock.commandCalls(CreateTagsCommand)[0]?.args[0].input).toEqual({
      Resources: [IMAGE_ID],
      // And the version its name says: the machine reads the version from the tags.
      Tags: [
        { Key: 'ManagedBy', Value: 'pulsar-ami' },
        { Key: 'PulsarVersion', Value: '3.0.0' },
      ],
    });
  });

  it('leaves a managed image’s tags alone', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [image()] });
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: EXECUTION_ARN, startDate: new Date(START) });
    expect((await startValidation(postEvent(IMAGE_ID, null), lambdaContext())).statusCode).toBe(202);
    expect(ec2Mock.commandCalls(CreateTagsCommand)).toHaveLength(0);
  });

  it('an instance type EC2 does not offer, or of another architecture: 400 on instanceType, nothing started or tagged', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [image({ Architecture: 'x86_64', Tags: [] })] });
    ec2Mock.on(DescribeInstanceTypesCommand, { InstanceTypes: ['t3a.micro' as _InstanceType] }).rejects(
      Object.assign(new Error('The following supplied instance types do not exist: [t3a.micro]'), {
        name: 'InvalidInstanceType',
        $fault: 'client',
      }),
    );
    const unknown = await startValidation(
      postEvent(IMAGE_ID, '{"instanceType":"t3a.micro"}'),
      lambdaContext(),
    );
    expect(unknown.statusCode).toBe(400);
    expect(problemOf(unknown)).toMatchObject({
      field: 'instanceType',
      detail: 'instanceType t3a.micro is not an instance type EC2 offers in us-west-2',
    });
    const arm = await startValidation(postEvent(IMAGE_ID, '{"instanceType":"t4g.medium"}'), lambdaContext());
    expect(arm.statusCode).toBe(400);
    expect(problemOf(arm).detail).toBe(`instanceType t4g.medium runs arm64, but AMI ${IMAGE_ID} is x86_64`);
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);
    expect(ec2Mock.commandCalls(CreateTagsCommand)).toHaveLength(0);
  });

  it('an empty body means t3.micro', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [image()] });
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: EXECUTION_ARN, startDate: new Date(START) });
    for (const body of [null, '', '{}']) {
      const response = await startValidation(postEvent(IMAGE_ID, body), lambdaContext());
      expect(response.statusCode).toBe(202);
      expect(JSON.parse(response.body).instanceType).toBe('t3.micro');
    }
  });

  const badRequests: [string, string, string | null, Record<string, string>, string][] = [
    ['a malformed AMI id', 'ami-xyz', null, {}, 'id'],
    ['an unknown instance type', IMAGE_ID, '{"instanceType":"t3.huge"}', {}, 'instanceType'],
    ['an instance type without size', IMAGE_ID, '{"instanceType":"m5"}', {}, 'instanceType'],
    ['a body that is not JSON', IMAGE_ID, 'instanceType=t3.micro', {}, 'body'],
    ['a JSON array body', IMAGE_ID, '[]', {}, 'body'],
    ['an unknown field', IMAGE_ID, '{"instancetype":"t3.micro"}', {}, 'instancetype'],
    ['an empty Idempotency-Key', IMAGE_ID, null, { 'Idempotency-Key': '' }, 'Idempotency-Key'],
  ];
  for (const [what, id, body, headers, field] of badRequests) {
    it(`${what}: 400 naming ${field}, no AWS call`, async () => {
      const response = await startValidation(postEvent(id, body, headers), lambdaContext());
      expect(response.statusCode).toBe(400);
      expect(problemOf(response).field).toBe(field);
      noAwsCalls();
    });
  }

  it('an unknown AMI: 404, nothing started', async () => {
    ec2Mock
      .on(DescribeImagesCommand)
      .rejects(Object.assign(new Error('nope'), { name: 'InvalidAMIID.NotFound', $fault: 'client' }));
    const response = await startValidation(postEvent(IMAGE_ID, null), lambdaContext());
    expect(response.statusCode).toBe(404);
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('an AMI that is not this tool’s: 403, nothing started', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [image({ Name: 'golden-image', Tags: [] })] });
    const response = await startValidation(postEvent(IMAGE_ID, null), lambdaContext());
    expect(response.statusCode).toBe(403);
    expect(problemOf(response).title).toBe('AMI not managed by pulsar-ami');
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('an AMI still pending: 409 AmiNotAvailableError, nothing started', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [image({ State: 'pending' })] });
    const response = await startValidation(postEvent(IMAGE_ID, null), lambdaContext());
    expect(response.statusCode).toBe(409);
    expect(problemOf(response)).toMatchObject({
      type: 'urn:pulsar-ami:problem:ami-not-available',
      detail: `AMI ${IMAGE_ID} is pending, not available; only an available AMI can be validated`,
    });
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('the same Idempotency-Key starts the same execution name', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [image()] });
    sfnMock.on(StartExecutionCommand).callsFake((input: { name: string }) => ({
      executionArn: executionArnFor(STATE_MACHINE_ARN, input.name),
      startDate: new Date(START),
    }));
    const first = await startValidation(
      postEvent(IMAGE_ID, null, { 'idempotency-key': 'k-1' }),
      lambdaContext(),
    );
    const again = await startValidation(
      postEvent(IMAGE_ID, null, { 'Idempotency-Key': 'k-1' }),
      lambdaContext(),
    );
    const other = await startValidation(
      postEvent(IMAGE_ID, null, { 'Idempotency-Key': 'k-2' }),
      lambdaContext(),
    );
    const names = sfnMock.commandCalls(StartExecutionCommand).map((c) => c.args[0].input.name);
    expect(names[0]).toBe(names[1]);
    expect(names[2]).not.toBe(names[0]);
    expect(JSON.parse(first.body).validationId).toBe(JSON.parse(again.body).validationId);
    expect(JSON.parse(other.body).validationId).toBe(names[2]);
  });

  it('a retry after the execution ended answers with it; the key reused for another request is a 409', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [image()] });
    sfnMock
      .on(StartExecutionCommand)
      .rejects(
        Object.assign(new Error('already exists'), { name: 'ExecutionAlreadyExists', $fault: 'client' }),
      );
    sfnMock.on(DescribeExecutionCommand).resolves({
      executionArn: EXECUTION_ARN,
      status: 'SUCCEEDED',
      input: JSON.stringify({ imageId: IMAGE_ID, instanceType: 't3.micro' }),
      startDate: new Date(START),
    });
    const replay = await startValidation(
      postEvent(IMAGE_ID, null, { 'Idempotency-Key': 'k-1' }),
      lambdaContext(),
    );
    expect(replay.statusCode).toBe(202);
    expect(JSON.parse(replay.body)).toMatchObject({ status: 'SUCCEEDED', instanceType: 't3.micro' });

    const reused = await startValidation(
      postEvent(IMAGE_ID, '{"instanceType":"t3.medium"}', { 'Idempotency-Key': 'k-1' }),
      lambdaContext(),
    );
    expect(reused.statusCode).toBe(409);
    expect(problemOf(reused).title).toBe('Idempotency key reused');
  });
});

describe('GET /validations/{id}', () => {
  const getEvent = (id: string) =>
    apiEvent({ method: 'GET', path: `/validations/${id}`, pathParameters: { id } });

  it('a malformed id: 400, no AWS call', async () => {
    for (const id of ['nope', `${VALIDATION_ID}x`, 'arn:aws:states:x', VALIDATION_ID.toUpperCase()]) {
      const response = await getValidationHandler(getEvent(id), lambdaContext());
      expect(response.statusCode).toBe(400);
      expect(problemOf(response).field).toBe('id');
    }
    noAwsCalls();
  });

  it('an unknown id: 404', async () => {
    sfnMock.on(DescribeExecutionCommand).rejects(
      Object.assign(new Error('Execution Does Not Exist'), {
        name: 'ExecutionDoesNotExist',
        $fault: 'client',
      }),
    );
    const response = await getValidationHandler(getEvent(VALIDATION_ID), lambdaContext());
    expect(response.statusCode).toBe(404);
    expect(problemOf(response).title).toBe('Validation not found');
    expect(sfnMock.commandCalls(DescribeExecutionCommand)[0]?.args[0].input.executionArn).toBe(EXECUTION_ARN);
  });

  it('reads the execution and its paged history into the progress', async () => {
    const run = await recordExecution(SCENARIOS.failedChecks);
    const execution = describeAt(run);
    sfnMock.on(DescribeExecutionCommand).resolves({
      executionArn: EXECUTION_ARN,
      stateMachineArn: STATE_MACHINE_ARN,
      status: 'FAILED',
      startDate: new Date(START),
      ...(execution as object),
    });
    const half = Math.floor(run.events.length / 2);
    sfnMock
      .on(GetExecutionHistoryCommand, { nextToken: undefined })
      .resolves({ events: run.events.slice(0, half), nextToken: 'page-2' })
      .on(GetExecutionHistoryCommand, { nextToken: 'page-2' })
      .resolves({ events: run.events.slice(half) });
    const response = await getValidationHandler(getEvent(VALIDATION_ID), lambdaContext());
    expect(response.statusCode).toBe(200);
    const body = JSON.parse(response.body);
    expect(body).toMatchObject({
      validationId: VALIDATION_ID,
      executionArn: EXECUTION_ARN,
      imageId: IMAGE_ID,
      status: 'FAILED',
      failedChecks: ['OpenMessaging Benchmark installed', 'Java 17'],
      instanceId: INSTANCE_ID,
    });
    expect(body.historyTruncated).toBeUndefined();
    expect(sfnMock.commandCalls(GetExecutionHistoryCommand)).toHaveLength(2);
  });

  it('a history longer than the bound: the first pages and the newest one, marked truncated', async () => {
    const page = (from: number) =>
      Array.from({ length: 1000 }, (_, i) => ({ id: from + i, type: 'WaitStateEntered' }) as HistoryEvent);
    sfnMock
      .on(GetExecutionHistoryCommand)
      .callsFake((input: { nextToken?: string; reverseOrder?: boolean }) => {
        if (input.reverseOrder) return { events: page(99_001).reverse(), nextToken: 'older' };
        const n = Number(input.nextToken ?? 0);
        return { events: page(n * 1000 + 1), nextToken: String(n + 1) };
      });
    const { events, truncated } = await readHistory(new SFNClient({ region: 'us-west-2' }), EXECUTION_ARN);
    expect(truncated).toBe(true);
    expect(events).toHaveLength(6000);
    expect(events.at(-1)?.id).toBe(100_000);
    expect(sfnMock.commandCalls(GetExecutionHistoryCommand)).toHaveLength(6);
  });

  it('without the machine configured: a clear 500, not a crash', async () => {
    const config = loadConfig({});
    expect(config.validateAmiStateMachineArn).toBeNull();
    await expect(
      getValidation(new SFNClient({ region: 'us-west-2' }), config, VALIDATION_ID),
    ).rejects.toThrow(/VALIDATE_AMI_STATE_MACHINE_ARN is not set/);
    expect(() => loadConfig({ VALIDATE_AMI_STATE_MACHINE_ARN: 'not-an-arn' })).toThrow(
      /VALIDATE_AMI_STATE_MACHINE_ARN/,
    );
  });
});
