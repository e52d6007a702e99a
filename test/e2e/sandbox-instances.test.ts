/**
 * Sandbox EC2 instances through the real SDK v3 over HTTP: RunInstances validation and
 * idempotency, the compressed lifecycle (pending → running → shutting-down → terminated),
 * DescribeInstances filters, DescribeInstanceStatus, DryRun, the user data's self-shutdown,
 * and the instance faults (noCapacity, terminateFails, neverRunning).
 */
import {
  DescribeInstanceStatusCommand,
  DescribeInstancesCommand,
  type EC2Client,
  type Instance,
  RunInstancesCommand,
  type RunInstancesCommandInput,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../sandbox/server';
import { sandboxControl, sandboxEc2, sandboxImageId, waitFor } from '../support/sandbox-clients';

let sandbox: Sandbox;
let ec2: EC2Client;
let pulsarImage: string;
let pendingImage: string;

const control = <T>(method: string, path: string, body?: unknown) =>
  sandboxControl<T>(sandbox.url, method, path, body);
const imageIdNamed = (name: string) => sandboxImageId(sandbox.url, name);

const launch = (extra: Partial<RunInstancesCommandInput> = {}) =>
  ec2.send(
    new RunInstancesCommand({
      ImageId: pulsarImage,
      InstanceType: 't3.micro',
      MinCount: 1,
      MaxCount: 1,
      IamInstanceProfile: { Name: 'pulsar-ami-dev-validation' },
      ...extra,
    }),
  );

async function describe1(instanceId: string): Promise<Instance> {
  const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  const instance = out.Reservations?.[0]?.Instances?.[0];
  if (!instance) throw new Error(`${instanceId} not described`);
  return instance;
}

const stateOf = async (id: string) => (await describe1(id)).State?.Name;

async function awaitState(id: string, state: string, timeoutMs = 3_000) {
  return waitFor(
    () => stateOf(id),
    (s) => s === state,
    { timeoutMs, what: `${id} ${state}` },
  );
}

async function errorOf(
  promise: Promise<unknown>,
): Promise<{ name: string; message: string; status?: number }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('expected an error');
}

beforeAll(async () => {
  sandbox = await startSandbox({ port: 0 });
  ec2 = sandboxEc2(sandbox.url);
});

afterAll(async () => {
  ec2.destroy();
  await sandbox.close();
});

beforeEach(async () => {
  await control('POST', 'reset', {});
  await control('DELETE', 'faults');
  pulsarImage = await imageIdNamed('pulsar-base-3.0.0-20250615103000');
  const created = await control<{ images: { imageId: string }[] }>('POST', 'images', {
    images: [{ name: 'pulsar-base-3.1.0-20251001000000', state: 'pending' }],
  });
  pendingImage = created.images[0]?.imageId ?? '';
});

describe('RunInstances', () => {
  it('launches pending, runs after a boot, with tags on the instance and its volume', async () => {
    const out = await launch({
      TagSpecifications: [
        { ResourceType: 'instance', Tags: [{ Key: 'Purpose', Value: 'AMI-Validation' }] },
        { ResourceType: 'volume', Tags: [{ Key: 'Purpose', Value: 'AMI-Validation-Volume' }] },
      ],
      InstanceInitiatedShutdownBehavior: 'terminate',
      UserData: Buffer.from('#!/bin/bash\necho hello\n').toString('base64'),
    });
    expect(out.ReservationId).toMatch(/^r-[0-9a-f]{17}$/);
    const [instance] = out.Instances ?? [];
    const id = instance?.InstanceId ?? '';
    expect(id).toMatch(/^i-[0-9a-f]{17}$/);
    expect(instance?.State).toEqual({ Code: 0, Name: 'pending' });
    expect(instance?.ImageId).toBe(pulsarImage);
    expect(instance?.InstanceType).toBe('t3.micro');
    expect(instance?.IamInstanceProfile?.Arn).toBe(
      'arn:aws:iam::123456789012:instance-profile/pulsar-ami-dev-validation',
    );
    expect(instance?.Tags).toEqual([{ Key: 'Purpose', Value: 'AMI-Validation' }]);
    const running = await awaitState(id, 'running');
    expect(running).toBe('running');
    const described = await describe1(id);
    expect(described.State?.Code).toBe(16);
    expect(described.SubnetId).toMatch(/^subnet-/);
    const volumeId = described.BlockDeviceMappings?.[0]?.Ebs?.VolumeId;
    expect(volumeId).toMatch(/^vol-/);
    const state = await control<{
      regions: Record<string, { volumes: { volumeId: string; tags: Record<string, string> }[] }>;
    }>('GET', 'state');
    expect(state.regions['us-west-2']?.volumes.find((v) => v.volumeId === volumeId)?.tags).toEqual({
      Purpose: 'AMI-Validation-Volume',
    });
  });

  it('refuses a missing, malformed or unavailable image, a bad type, subnet or counts', async () => {
    expect(await errorOf(launch({ ImageId: 'ami-0123456789abcdef0' }))).toMatchObject({
      name: 'InvalidAMIID.NotFound',
      status: 400,
    });
    expect((await errorOf(launch({ ImageId: 'ami-nope' }))).name).toBe('InvalidAMIID.Malformed');
    expect((await errorOf(launch({ ImageId: pendingImage }))).name).toBe('InvalidAMIID.Unavailable');
    expect((await errorOf(launch({ InstanceType: 'not-a-type' as 't3.micro' }))).name).toBe(
      'InvalidParameterValue',
    );
    expect((await errorOf(launch({ SubnetId: 'subnet-0123456789abcdef0' }))).name).toBe(
      'InvalidSubnetID.NotFound',
    );
    expect((await errorOf(launch({ MinCount: 2, MaxCount: 1 }))).name).toBe('InvalidParameterValue');
    expect((await errorOf(launch({ UserData: 'not base64!' }))).name).toBe('InvalidParameterValue');
    const all = await ec2.send(new DescribeInstancesCommand({}));
    expect(all.Reservations ?? []).toEqual([]);
  });

  it('launches MaxCount instances in one reservation, in the subnet asked for', async () => {
    const subnets = await control<{ regions: Record<string, { subnets: { subnetId: string }[] }> }>(
      'GET',
      'state',
    );
    const subnetId = subnets.regions['us-west-2']?.subnets[1]?.subnetId;
    const out = await launch({ MinCount: 1, MaxCount: 3, SubnetId: subnetId });
    expect(out.Instances).toHaveLength(3);
    expect(new Set(out.Instances?.map((i) => i.SubnetId))).toEqual(new Set([subnetId]));
    const described = await ec2.send(
      new DescribeInstancesCommand({
        Filters: [{ Name: 'reservation-id', Values: [out.ReservationId ?? ''] }],
      }),
    );
    expect(described.Reservations).toHaveLength(1);
    expect(described.Reservations?.[0]?.Instances).toHaveLength(3);
  });

  it('is idempotent by ClientToken: the same reservation, no second instance; other parameters are a mismatch', async () => {
    const first = await launch({ ClientToken: 'validate-ami-exec-1' });
    const again = await launch({ ClientToken: 'validate-ami-exec-1' });
    expect(again.ReservationId).toBe(first.ReservationId);
    expect(again.Instances?.map((i) => i.InstanceId)).toEqual(first.Instances?.map((i) => i.InstanceId));
    const all = await ec2.send(new DescribeInstancesCommand({}));
    expect(all.Reservations?.flatMap((r) => r.Instances ?? [])).toHaveLength(1);
    expect(
      (await errorOf(launch({ ClientToken: 'validate-ami-exec-1', InstanceType: 't3.small' }))).name,
    ).toBe('IdempotentParameterMismatch');
    const other = await launch({ ClientToken: 'validate-ami-exec-2' });
    expect(other.ReservationId).not.toBe(first.ReservationId);
  });

  it('answers DryRun with DryRunOperation and launches nothing; an invalid DryRun is still refused', async () => {
    expect(await errorOf(launch({ DryRun: true }))).toMatchObject({ name: 'DryRunOperation', status: 412 });
    expect((await errorOf(launch({ DryRun: true, ImageId: 'ami-0123456789abcdef0' }))).name).toBe(
      'InvalidAMIID.NotFound',
    );
    const all = await ec2.send(new DescribeInstancesCommand({}));
    expect(all.Reservations ?? []).toEqual([]);
  });
});

describe('TerminateInstances', () => {
  it('moves running → shutting-down → terminated, and terminated instances stay visible', async () => {
    const id = (await launch()).Instances?.[0]?.InstanceId ?? '';
    await awaitState(id, 'running');
    const out = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    expect(out.TerminatingInstances).toEqual([
      {
        InstanceId: id,
        CurrentState: { Code: 32, Name: 'shutting-down' },
        PreviousState: { Code: 16, Name: 'running' },
      },
    ]);
    await awaitState(id, 'terminated');
    const again = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    expect(again.TerminatingInstances?.[0]).toMatchObject({
      CurrentState: { Name: 'terminated' },
      PreviousState: { Name: 'terminated' },
    });
    const live = await ec2.send(
      new DescribeInstancesCommand({
        Filters: [{ Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] }],
      }),
    );
    expect(live.Reservations ?? []).toEqual([]);
    expect((await describe1(id)).StateReason?.Code).toBe('Client.UserInitiatedShutdown');
  });

  it('terminates a pending instance, which then never runs', async () => {
    const id = (await launch()).Instances?.[0]?.InstanceId ?? '';
    const out = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    expect(out.TerminatingInstances?.[0]?.PreviousState?.Name).toBe('pending');
    await awaitState(id, 'terminated');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await stateOf(id)).toBe('terminated');
  });

  it('answers DryRun without terminating, and unknown or malformed ids with EC2 errors', async () => {
    const id = (await launch()).Instances?.[0]?.InstanceId ?? '';
    expect(
      (await errorOf(ec2.send(new TerminateInstancesCommand({ InstanceIds: [id], DryRun: true })))).name,
    ).toBe('DryRunOperation');
    expect(await stateOf(id)).not.toMatch(/shutting-down|terminated/);
    const missing = await errorOf(
      ec2.send(new TerminateInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] })),
    );
    expect(missing.name).toBe('InvalidInstanceID.NotFound');
    expect(missing.message).toContain('does not exist');
    expect((await errorOf(ec2.send(new TerminateInstancesCommand({ InstanceIds: ['i-xyz'] })))).name).toBe(
      'InvalidInstanceID.Malformed',
    );
  });
});

describe('DescribeInstances and DescribeInstanceStatus', () => {
  it('filters by state, tag, image and id; unknown and malformed ids are errors', async () => {
    const tagged =
      (
        await launch({
          TagSpecifications: [
            { ResourceType: 'instance', Tags: [{ Key: 'ManagedBy', Value: 'pulsar-ami' }] },
          ],
        })
      ).Instances?.[0]?.InstanceId ?? '';
    const other = await imageIdNamed('al2023-ami-2023.6.20250101.0-kernel-6.1-x86_64');
    const plain = (await launch({ ImageId: other })).Instances?.[0]?.InstanceId ?? '';
    const ids = async (filters: { Name: string; Values: string[] }[]) =>
      (await ec2.send(new DescribeInstancesCommand({ Filters: filters }))).Reservations?.flatMap(
        (r) => r.Instances ?? [],
      )
        .map((i) => i.InstanceId)
        .sort() ?? [];
    expect(await ids([{ Name: 'tag:ManagedBy', Values: ['pulsar-ami'] }])).toEqual([tagged]);
    expect(await ids([{ Name: 'image-id', Values: [other] }])).toEqual([plain]);
    expect(await ids([{ Name: 'instance-id', Values: [plain] }])).toEqual([plain]);
    expect(await ids([{ Name: 'instance-state-name', Values: ['pending', 'running'] }])).toEqual(
      [tagged, plain].sort(),
    );
    expect(await ids([{ Name: 'instance-state-name', Values: ['terminated'] }])).toEqual([]);
    await awaitState(tagged, 'running');
    await awaitState(plain, 'running');
    expect(await ids([{ Name: 'instance-state-name', Values: ['running'] }])).toEqual([tagged, plain].sort());
    const notFound = await errorOf(
      ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] })),
    );
    expect(notFound.name).toBe('InvalidInstanceID.NotFound');
    expect(notFound.message).toContain('does not exist');
    expect((await errorOf(ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-1'] })))).name).toBe(
      'InvalidInstanceID.Malformed',
    );
  });

  it('reports status checks initializing, then ok; IncludeAllInstances shows pending ones', async () => {
    const id = (await launch()).Instances?.[0]?.InstanceId ?? '';
    const before = await ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: [id] }));
    expect(before.InstanceStatuses ?? []).toEqual([]);
    const all = await ec2.send(
      new DescribeInstanceStatusCommand({ InstanceIds: [id], IncludeAllInstances: true }),
    );
    expect(all.InstanceStatuses?.[0]).toMatchObject({
      InstanceId: id,
      InstanceState: { Name: 'pending' },
      InstanceStatus: { Status: 'not-applicable' },
    });
    const initializing = await waitFor(
      () => ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: [id] })),
      (out) => (out.InstanceStatuses?.length ?? 0) > 0,
      { what: 'a running status' },
    );
    expect(initializing.InstanceStatuses?.[0]?.InstanceStatus?.Status).toBe('initializing');
    const ok = await waitFor(
      () => ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: [id] })),
      (out) => out.InstanceStatuses?.[0]?.InstanceStatus?.Status === 'ok',
      { what: 'status ok' },
    );
    expect(ok.InstanceStatuses?.[0]).toMatchObject({
      SystemStatus: { Status: 'ok', Details: [{ Name: 'reachability', Status: 'passed' }] },
      InstanceState: { Name: 'running', Code: 16 },
    });
    const filtered = await ec2.send(
      new DescribeInstanceStatusCommand({
        Filters: [{ Name: 'instance-status.status', Values: ['initializing'] }],
      }),
    );
    expect(filtered.InstanceStatuses ?? []).toEqual([]);
  });
});

describe('lifetime', () => {
  it('terminates itself when the user data shuts it down and the behaviour is terminate', async () => {
    const userData = Buffer.from('#!/bin/bash\nshutdown -h +1\n').toString('base64');
    const id =
      (await launch({ UserData: userData, InstanceInitiatedShutdownBehavior: 'terminate' })).Instances?.[0]
        ?.InstanceId ?? '';
    await awaitState(id, 'running');
    // one minute at the default scale is 300 ms
    await awaitState(id, 'terminated', 3_000);
    expect((await describe1(id)).StateReason?.Code).toBe('Client.InstanceInitiatedShutdown');
  });

  it('stops instead when the behaviour is stop', async () => {
    const userData = Buffer.from('#!/bin/bash\nshutdown -h +1\n').toString('base64');
    const id = (await launch({ UserData: userData })).Instances?.[0]?.InstanceId ?? '';
    await awaitState(id, 'stopped', 3_000);
  });
});

describe('faults', () => {
  it('noCapacity: RunInstances answers InsufficientInstanceCapacity (500), `times` then succeeds', async () => {
    await control('PUT', 'faults', { noCapacity: { times: 1 } });
    const refused = await errorOf(launch());
    expect(refused).toMatchObject({ name: 'InsufficientInstanceCapacity', status: 500 });
    expect(refused.message).toContain('sufficient t3.micro capacity');
    expect((await launch()).Instances).toHaveLength(1);
    await control('PUT', 'faults', { noCapacity: true });
    expect((await errorOf(launch())).name).toBe('InsufficientInstanceCapacity');
    expect((await errorOf(launch())).name).toBe('InsufficientInstanceCapacity');
  });

  it('terminateFails: the first K TerminateInstances fail with the code, then it terminates', async () => {
    const id = (await launch()).Instances?.[0]?.InstanceId ?? '';
    await control('PUT', 'faults', { terminateFails: { times: 2 } });
    const first = await errorOf(ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] })));
    expect(first).toMatchObject({ name: 'RequestLimitExceeded', status: 503 });
    expect((await errorOf(ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] })))).name).toBe(
      'RequestLimitExceeded',
    );
    expect(await stateOf(id)).toBe('pending');
    const ok = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    expect(ok.TerminatingInstances?.[0]?.CurrentState?.Name).toBe('shutting-down');
    await control('PUT', 'faults', { terminateFails: { times: 1, code: 'InternalError' } });
    expect(await errorOf(ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] })))).toMatchObject({
      name: 'InternalError',
      status: 500,
    });
  });

  it('neverRunning: instances stay pending (for this image only when scoped)', async () => {
    await control('PUT', 'faults', { neverRunning: { imageId: pulsarImage } });
    const stuck = (await launch()).Instances?.[0]?.InstanceId ?? '';
    const other = await imageIdNamed('pulsar-base-2.11.0-20250310141500');
    const fine = (await launch({ ImageId: other })).Instances?.[0]?.InstanceId ?? '';
    await awaitState(fine, 'running');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await stateOf(stuck)).toBe('pending');
    await control('DELETE', 'faults');
    await awaitState(stuck, 'running');
  });
});

describe('reset', () => {
  it('clears instances, their timers and roots', async () => {
    const id = (await launch()).Instances?.[0]?.InstanceId ?? '';
    const state = await control<{
      regions: Record<string, { instances: { instanceId: string; rootDir?: string }[] }>;
    }>('GET', 'state');
    const root = state.regions['us-west-2']?.instances.find((i) => i.instanceId === id)?.rootDir ?? '';
    const { existsSync } = await import('node:fs');
    expect(existsSync(root)).toBe(true);
    await control('POST', 'reset', {});
    expect(existsSync(root)).toBe(false);
    expect(sandbox.world.timeline.pending).toBe(0);
    expect((await ec2.send(new DescribeInstancesCommand({}))).Reservations ?? []).toEqual([]);
  });
});
