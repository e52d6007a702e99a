import {
  DescribeInstancesCommand,
  EC2Client,
  type Instance,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  isExpired,
  sweepValidationInstances,
  terminateExecutionInstances,
  terminateInstances,
} from '../../functions/lib/validation-instances';
import { handler as sweepHandler } from '../../functions/sweep-validation-instances';
import { handler as terminateHandler } from '../../functions/terminate-execution-instances';

const ec2 = mockClient(EC2Client);
const client = new EC2Client({ region: 'us-west-2' });
const EXECUTION_ARN = 'arn:aws:states:us-west-2:123456789012:execution:pulsar-ami-dev-validate-ami:abc-123';

function notFound(id: string) {
  return Object.assign(new Error(`The instance ID '${id}' does not exist`), {
    name: 'InvalidInstanceID.NotFound',
    Code: 'InvalidInstanceID.NotFound',
    $fault: 'client',
    $metadata: {},
  });
}

const instance = (InstanceId: string, minutesAgo: number, lifetime?: string): Instance => ({
  InstanceId,
  LaunchTime: new Date(Date.parse('2026-01-01T12:00:00Z') - minutesAgo * 60_000),
  Tags: [
    { Key: 'Purpose', Value: 'AMI-Validation' },
    { Key: 'ManagedBy', Value: 'pulsar-ami' },
    ...(lifetime !== undefined ? [{ Key: 'MaxLifetimeMinutes', Value: lifetime }] : []),
  ],
});

beforeEach(() => {
  ec2.reset();
  ec2.on(TerminateInstancesCommand).resolves({});
});

describe('terminateExecutionInstances', () => {
  it('terminates the instances tagged with the execution, and only asks for live ones of ours', async () => {
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [{ Instances: [{ InstanceId: 'i-0123456789abcdef0' }] }],
    });
    const result = await terminateExecutionInstances(client, EXECUTION_ARN);
    expect(result).toEqual({ executionArn: EXECUTION_ARN, terminated: ['i-0123456789abcdef0'] });
    const filters = ec2.commandCalls(DescribeInstancesCommand)[0]?.args[0].input.Filters;
    expect(filters).toEqual([
      { Name: 'tag:ValidationExecutionArn', Values: [EXECUTION_ARN] },
      { Name: 'tag:Purpose', Values: ['AMI-Validation'] },
      { Name: 'tag:ManagedBy', Values: ['pulsar-ami'] },
      { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
    ]);
    expect(ec2.commandCalls(TerminateInstancesCommand).map((c) => c.args[0].input.InstanceIds)).toEqual([
      ['i-0123456789abcdef0'],
    ]);
  });

  it('makes no TerminateInstances call when nothing is left (idempotent)', async () => {
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    const result = await terminateExecutionInstances(client, EXECUTION_ARN);
    expect(result.terminated).toEqual([]);
    expect(ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
  });

  it('follows DescribeInstances pages', async () => {
    ec2
      .on(DescribeInstancesCommand)
      .resolvesOnce({ Reservations: [{ Instances: [{ InstanceId: 'i-00000001' }] }], NextToken: 't2' })
      .resolvesOnce({ Reservations: [{ Instances: [{ InstanceId: 'i-00000002' }] }] });
    const result = await terminateExecutionInstances(client, EXECUTION_ARN);
    expect(result.terminated).toEqual(['i-00000001', 'i-00000002']);
    expect(ec2.commandCalls(DescribeInstancesCommand)[1]?.args[0].input.NextToken).toBe('t2');
  });
});

describe('terminateInstances', () => {
  it('skips ids EC2 no longer knows and terminates the rest', async () => {
    ec2
      .on(TerminateInstancesCommand)
      .rejectsOnce(notFound('i-00000001'))
      .rejectsOnce(notFound('i-00000001'))
      .resolves({});
    expect(await terminateInstances(client, ['i-00000001', 'i-00000002'])).toEqual(['i-00000002']);
  });

  it('turns other AWS errors into named errors', async () => {
    ec2.on(TerminateInstancesCommand).rejects(
      Object.assign(new Error('You are not authorized'), {
        name: 'UnauthorizedOperation',
        Code: 'UnauthorizedOperation',
        $fault: 'client',
        $metadata: {},
      }),
    );
    await expect(terminateInstances(client, ['i-00000001'])).rejects.toMatchObject({ name: 'AwsCallError' });
  });
});

describe('sweepValidationInstances', () => {
  const now = new Date('2026-01-01T12:00:00Z');

  it('terminates only the instances past their lifetime', async () => {
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [
        { Instances: [instance('i-00000001', 200), instance('i-00000002', 30)] },
        { Instances: [instance('i-00000003', 40, '30'), instance('i-00000004', 100, '240')] },
      ],
    });
    const result = await sweepValidationInstances(client, { now, maxLifetimeMinutes: 90 });
    // i-00000004's tag asks for 240 minutes: a tag can only shorten the configured 90.
    expect(result).toEqual({ inspected: 4, terminated: ['i-00000001', 'i-00000003', 'i-00000004'] });
    expect(ec2.commandCalls(TerminateInstancesCommand)[0]?.args[0].input.InstanceIds).toEqual([
      'i-00000001',
      'i-00000003',
      'i-00000004',
    ]);
  });

  it('never lets a lifetime tag lengthen the configured maximum (99999 minutes is still 90)', () => {
    const settings = { now, maxLifetimeMinutes: 90 };
    expect(isExpired(instance('i-1', 91, '99999'), settings)).toBe(true);
    expect(isExpired(instance('i-1', 89, '99999'), settings)).toBe(false);
    expect(isExpired(instance('i-1', 31, '30'), settings)).toBe(true);
  });

  it('makes no TerminateInstances call when nothing expired', async () => {
    ec2
      .on(DescribeInstancesCommand)
      .resolves({ Reservations: [{ Instances: [instance('i-00000002', 10)] }] });
    expect((await sweepValidationInstances(client, { now, maxLifetimeMinutes: 90 })).terminated).toEqual([]);
    expect(ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
  });

  it('ignores a nonsense lifetime tag and an instance without launch time', () => {
    const settings = { now, maxLifetimeMinutes: 90 };
    expect(isExpired(instance('i-1', 60, 'soon'), settings)).toBe(false);
    expect(isExpired(instance('i-1', 100, '0'), settings)).toBe(true);
    expect(isExpired({ InstanceId: 'i-1' }, settings)).toBe(false);
  });
});

describe('terminate-execution-instances handler', () => {
  const event = (status: string) => ({
    version: '0',
    source: 'aws.states',
    'detail-type': 'Step Functions Execution Status Change',
    detail: { executionArn: EXECUTION_ARN, stateMachineArn: 'arn:…', status },
  });

  it.each(['FAILED', 'TIMED_OUT', 'ABORTED'])('cleans up after %s', async (status) => {
    ec2
      .on(DescribeInstancesCommand)
      .resolves({ Reservations: [{ Instances: [{ InstanceId: 'i-00000001' }] }] });
    expect(await terminateHandler(event(status))).toEqual({
      executionArn: EXECUTION_ARN,
      terminated: ['i-00000001'],
    });
  });

  it('ignores other statuses without calling EC2', async () => {
    expect(await terminateHandler(event('SUCCEEDED'))).toEqual({ skipped: 'SUCCEEDED' });
    expect(ec2.calls()).toHaveLength(0);
  });

  it('refuses an event that is not an execution status change', async () => {
    await expect(terminateHandler({ detail: {} })).rejects.toMatchObject({ name: 'InvalidInputError' });
    expect(ec2.calls()).toHaveLength(0);
  });
});

describe('sweep-validation-instances handler', () => {
  it('sweeps with the configured lifetime', async () => {
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    expect(await sweepHandler()).toEqual({ inspected: 0, terminated: [] });
  });
});
