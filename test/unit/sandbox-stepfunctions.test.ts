/**
 * Sandbox Step Functions pieces on their own: EventBridge pattern matching, Step Functions'
 * names for SDK errors, the compressed-time rewrite of a definition, and serverless.yml's
 * functions, events and state machines with their references resolved.
 */
import { resolve } from 'node:path';
import { EC2ServiceException } from '@aws-sdk/client-ec2';
import * as ssm from '@aws-sdk/client-ssm';
import { describe, expect, it, vi } from 'vitest';
import { matchesPattern } from '../../sandbox/eventbridge';
import { loadServerlessApp } from '../../sandbox/serverless-config';
import { stepFunctionsError, toStepFunctionsJson } from '../../sandbox/stepfunctions/aws-sdk-task';
import { prepareDefinition, SANDBOX_WAIT_RESOURCE } from '../../sandbox/stepfunctions/definition';
import { ExecutionClock } from '../../sandbox/stepfunctions/runner';

const metadata = { httpStatusCode: 400, requestId: 'req-1' };

describe('EventBridge patterns', () => {
  const event = {
    source: 'aws.states',
    'detail-type': 'Step Functions Execution Status Change',
    resources: ['arn:x'],
    detail: { status: 'ABORTED', stateMachineArn: 'arn:m', count: 5, name: 'run-1' },
  };

  it('matches exact values in arrays and nested objects', () => {
    expect(matchesPattern({ source: ['aws.states'], detail: { status: ['FAILED', 'ABORTED'] } }, event)).toBe(
      true,
    );
    expect(matchesPattern({ detail: { status: ['FAILED'] } }, event)).toBe(false);
    expect(matchesPattern({ detail: { stateMachineArn: ['arn:other'] } }, event)).toBe(false);
    expect(matchesPattern({ detail: { missing: ['x'] } }, event)).toBe(false);
    expect(matchesPattern({ resources: ['arn:x'] }, event)).toBe(true);
  });

  it('understands the usual content filters', () => {
    expect(matchesPattern({ detail: { name: [{ prefix: 'run-' }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { name: [{ suffix: '-2' }] } }, event)).toBe(false);
    expect(matchesPattern({ detail: { status: [{ 'anything-but': ['SUCCEEDED'] }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { count: [{ numeric: ['>', 1, '<=', 5] }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { error: [{ exists: false }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { name: [{ exists: true }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { status: [{ 'equals-ignore-case': 'aborted' }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { name: [{ wildcard: 'run-*' }] } }, event)).toBe(true);
  });
});

describe('Step Functions names for SDK errors', () => {
  it('names every EC2 error Ec2.Ec2Exception and keeps the code in the Cause', () => {
    const error = new EC2ServiceException({
      name: 'InvalidInstanceID.NotFound',
      $fault: 'client',
      $metadata: metadata,
      message: "The instance ID 'i-0abc' does not exist",
    });
    expect(stepFunctionsError('ec2', error)).toEqual({
      error: 'Ec2.Ec2Exception',
      cause:
        "The instance ID 'i-0abc' does not exist (Service: Ec2, Status Code: 400, Error Code: InvalidInstanceID.NotFound, Request ID: req-1)",
    });
  });

  it('names modelled errors of other services <Service>.<Code>Exception, others <Service>.<Service>Exception', () => {
    const modelled = new ssm.InvocationDoesNotExist({ $metadata: metadata, message: 'nope' });
    expect(stepFunctionsError('ssm', modelled, ssm).error).toBe('Ssm.InvocationDoesNotExistException');
    const throttled = new ssm.ThrottlingException({
      $metadata: metadata,
      message: 'Rate exceeded',
      Message: 'Rate exceeded',
    });
    expect(stepFunctionsError('ssm', throttled, ssm).error).toBe('Ssm.ThrottlingException');
    const other = new ssm.SSMServiceException({
      name: 'SomethingNew',
      $fault: 'client',
      $metadata: metadata,
      message: 'new',
    });
    expect(stepFunctionsError('ssm', other, ssm).error).toBe('Ssm.SsmException');
    expect(stepFunctionsError('ssm', new Error('socket hang up'), ssm)).toEqual({
      error: 'Ssm.SdkClientException',
      cause: 'socket hang up',
    });
  });

  it('renders responses as Step Functions does: no $metadata, ISO dates, base64 blobs', () => {
    expect(
      toStepFunctionsJson({
        $metadata: metadata,
        LaunchTime: new Date('2026-01-02T03:04:05Z'),
        Blob: new Uint8Array([104, 105]),
        Missing: undefined,
        List: [{ A: 1 }],
      }),
    ).toEqual({ LaunchTime: '2026-01-02T03:04:05.000Z', Blob: 'aGk=', List: [{ A: 1 }] });
  });
});

describe('compressed time', () => {
  it('keeps TimeoutSeconds in AWS seconds for the runner, scales Wait Seconds and Retry intervals; turns dynamic Waits into sandbox waits', () => {
    const { runnable, states, timeoutSeconds, scale } = prepareDefinition(
      {
        StartAt: 'A',
        TimeoutSeconds: 3600,
        States: {
          A: { Type: 'Wait', Seconds: 10, Next: 'B' },
          B: { Type: 'Wait', SecondsPath: '$.s', InputPath: '$.x', Next: 'C' },
          C: {
            Type: 'Task',
            Resource: 'arn:aws:states:::aws-sdk:ec2:describeImages',
            Retry: [{ ErrorEquals: ['X'], IntervalSeconds: 4, MaxDelaySeconds: 20 }, { ErrorEquals: ['Y'] }],
            End: true,
          },
        },
      },
      0.01,
    );
    const s = runnable.States as unknown as Record<string, Record<string, unknown>>;
    expect(runnable.TimeoutSeconds).toBeUndefined();
    expect([timeoutSeconds, scale]).toEqual([3600, 0.01]);
    expect(s.A).toEqual({
      Type: 'Task',
      Resource: SANDBOX_WAIT_RESOURCE,
      Parameters: { 'input.$': '$', seconds: 10 },
      TimeoutSeconds: 86_400,
      Next: 'B',
    });
    expect(s.B).toEqual({
      Type: 'Task',
      Resource: SANDBOX_WAIT_RESOURCE,
      Parameters: { 'input.$': '$', 'seconds.$': '$.s' },
      TimeoutSeconds: 86_400,
      InputPath: '$.x',
      Next: 'C',
    });
    expect(s.C?.Retry).toEqual([
      { ErrorEquals: ['X'], IntervalSeconds: 0.04, MaxDelaySeconds: 0.2 },
      { ErrorEquals: ['Y'], IntervalSeconds: 0.01 },
    ]);
    expect(s.C?.TimeoutSeconds).toBe(86_400);
    expect(states.get('B')).toEqual({ name: 'B', type: 'Wait', resource: SANDBOX_WAIT_RESOURCE });
  });
});

describe('serverless.yml for Step Functions and EventBridge', () => {
  it("reads the project's machine, its functions' events and the references in the environment", () => {
    const app = loadServerlessApp(resolve(import.meta.dirname, '../../serverless.yml'), {
      stage: 'dev',
      region: 'us-west-2',
      accountId: '123456789012',
    });
    const machineArn = 'arn:aws:states:us-west-2:123456789012:stateMachine:pulsar-ami-dev-validate-ami';
    const buildArn = 'arn:aws:states:us-west-2:123456789012:stateMachine:pulsar-ami-dev-build-ami';
    const cleanupArn = 'arn:aws:states:us-west-2:123456789012:stateMachine:pulsar-ami-dev-cleanup-amis';
    expect(app.stateMachines.map((m) => m.arn)).toEqual([machineArn, buildArn, cleanupArn]);
    expect(app.stateMachines[0]?.definition).toMatchObject({
      StartAt: 'Read Validation Request',
      TimeoutSeconds: 3600,
    });
    // ValidateAmi's settings are serverless variables and the template's security group.
    const validate = app.stateMachines[0]?.definition as {
      States: Record<string, { Parameters?: Record<string, unknown> }>;
    };
    expect(validate.States['Run Validation Checks']?.Parameters?.DocumentName).toBe(
      'pulsar-ami-dev-validation-checks',
    );
    expect(validate.States['Prepare Launch Request']?.Parameters?.SecurityGroupIds).toEqual([
      app.securityGroups.find((g) => g.logicalId === 'ValidationSecurityGroup')?.groupId,
    ]);
    expect(app.ssmDocuments.map((d) => [d.logicalId, d.name, d.documentType])).toEqual([
      ['ValidationChecksDocument', 'pulsar-ami-dev-validation-checks', 'Command'],
    ]);
    expect(app.environment.ALLOWED_INSTANCE_TYPES?.split(',')).toContain('t3.micro');
    // BuildAmi names the stage's Lambdas and CodeBuild project through serverless variables.
    const build = app.stateMachines[1]?.definition as { States: Record<string, { Parameters?: object }> };
    expect(build.States['Find Existing AMI']?.Parameters).toMatchObject({
      FunctionName: 'pulsar-ami-dev-findExistingAmi',
    });
    expect(build.States['Build Image With Packer']?.Parameters).toMatchObject({
      ProjectName: 'pulsar-ami-dev-build-ami',
    });
    expect(app.environment.VALIDATE_AMI_STATE_MACHINE_ARN).toBe(machineArn);
    const rule = app.functions.find((f) => f.functionKey === 'terminateExecutionInstances')?.eventBridge[0];
    expect(rule?.pattern).toMatchObject({ detail: { stateMachineArn: [machineArn, buildArn] } });
    const sweep = app.functions.find((f) => f.functionKey === 'sweepValidationInstances');
    expect(sweep?.schedules).toEqual([{ expression: 'rate(30 minutes)', enabled: true }]);
    expect(app.functions.find((f) => f.functionKey === 'evaluateCheckResults')).toMatchObject({
      functionName: 'pulsar-ami-dev-evaluateCheckResults',
      timeoutSeconds: 10,
    });
  });
});

describe("an execution's clock", () => {
  it('counts a Wait at its full AWS duration and real work as it runs', () => {
    vi.useFakeTimers({ now: 0 });
    try {
      const clock = new ExecutionClock(0.01);
      vi.advanceTimersByTime(200); // real work: 200 ms
      clock.enterWait();
      vi.advanceTimersByTime(100); // a Wait: 100 real ms = 10 AWS seconds
      expect(clock.awsMs()).toBe(200 + 10_000);
      clock.leaveWait();
      vi.advanceTimersByTime(50);
      expect(clock.awsMs()).toBe(250 + 10_000);
    } finally {
      vi.useRealTimers();
    }
  });

  it('counts overlapping Waits (a Map, a Parallel) once', () => {
    vi.useFakeTimers({ now: 0 });
    try {
      const clock = new ExecutionClock(0.5);
      clock.enterWait();
      vi.advanceTimersByTime(10);
      clock.enterWait();
      vi.advanceTimersByTime(10);
      clock.leaveWait();
      vi.advanceTimersByTime(10);
      clock.leaveWait();
      expect(clock.awsMs()).toBe(60);
    } finally {
      vi.useRealTimers();
    }
  });
});
