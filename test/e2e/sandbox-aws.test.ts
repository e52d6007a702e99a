/**
 * The sandbox's AWS services, through the real AWS SDK v3 clients over HTTP: EC2, SSM, STS and
 * CloudFormation, their errors, DryRun, pagination, faults, SigV4 refusal and the calls log.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
  type Image,
  paginateDescribeImages,
} from '@aws-sdk/client-ec2';
import {
  DeleteParameterCommand,
  GetParameterCommand,
  GetParametersByPathCommand,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SANDBOX_ACCOUNT_ID, SANDBOX_CALLER_ARN, sandboxCredentials } from '../../sandbox/credentials';
import { type Sandbox, startSandbox } from '../../sandbox/server';
import { AWS_SECONDS } from '../../sandbox/timeline';

let sandbox: Sandbox;
const clients: { destroy(): void }[] = [];

function ec2(options: { maxAttempts?: number; secret?: string; accessKeyId?: string; region?: string } = {}) {
  const client = new EC2Client({
    region: options.region ?? 'us-west-2',
    endpoint: sandbox.url,
    maxAttempts: options.maxAttempts ?? 1,
    credentials: {
      accessKeyId: options.accessKeyId ?? sandboxCredentials.accessKeyId,
      secretAccessKey: options.secret ?? sandboxCredentials.secretAccessKey,
    },
  });
  clients.push(client);
  return client;
}

function ssm(options: { maxAttempts?: number; secret?: string } = {}) {
  const client = new SSMClient({
    region: 'us-west-2',
    endpoint: sandbox.url,
    maxAttempts: options.maxAttempts ?? 1,
    credentials: {
      ...sandboxCredentials,
      secretAccessKey: options.secret ?? sandboxCredentials.secretAccessKey,
    },
  });
  clients.push(client);
  return client;
}

async function control<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${sandbox.url}/_sandbox/${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  expect(response.status, `${method} ${path}`).toBe(200);
  return (await response.json()) as T;
}

interface Call {
  service: string;
  action: string;
  region: string;
  dryRun: boolean;
  status: number;
}
const calls = async () => (await control<{ calls: Call[] }>('GET', 'calls')).calls;

async function errorOf(
  promise: Promise<unknown>,
): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail');
}

const byName = (images: Image[] | undefined) => (images ?? []).map((i) => i.Name).sort();

beforeAll(async () => {
  sandbox = await startSandbox({ port: 0 });
});
afterAll(async () => {
  for (const client of clients) client.destroy();
  await sandbox.close();
});
beforeEach(async () => {
  await control('POST', 'reset', { seed: true });
  await control('DELETE', 'faults');
  await control('DELETE', 'calls');
});

describe('EC2 DescribeImages', () => {
  it('lists the seeded account images for Owners=self, and Amazon’s for Owners=amazon', async () => {
    const own = await ec2().send(new DescribeImagesCommand({ Owners: ['self'] }));
    expect(byName(own.Images)).toEqual([
      'pulsar-base-2.10.0-20250120093000',
      'pulsar-base-2.11.0-20250310141500',
      'pulsar-base-2.9.0-20250101120000',
      'pulsar-base-3.0.0-20250615103000',
      'ubuntu-jammy-custom',
    ]);
    const latest = own.Images?.find((i) => i.Name === 'pulsar-base-3.0.0-20250615103000');
    expect(latest).toMatchObject({
      State: 'available',
      OwnerId: SANDBOX_ACCOUNT_ID,
      CreationDate: '2025-06-15T10:30:00.000Z',
      DeregistrationProtection: 'disabled',
      Architecture: 'x86_64',
      RootDeviceName: '/dev/xvda',
      VirtualizationType: 'hvm',
    });
    expect(latest?.ImageId).toMatch(/^ami-[0-9a-f]{17}$/);
    expect(latest?.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId).toMatch(/^snap-[0-9a-f]{17}$/);
    expect(latest?.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'ManagedBy', Value: 'pulsar-ami' },
        { Key: 'PulsarVersion', Value: '3.0.0' },
        { Key: 'Validated', Value: 'true' },
      ]),
    );
    const legacy = own.Images?.find((i) => i.Name === 'pulsar-base-2.9.0-20250101120000');
    expect(legacy?.Tags?.some((t) => t.Key === 'ManagedBy')).toBe(false);

    const amazon = await ec2().send(new DescribeImagesCommand({ Owners: ['amazon'] }));
    expect(byName(amazon.Images)).toEqual([
      'al2023-ami-2023.6.20250101.0-kernel-6.1-arm64',
      'al2023-ami-2023.6.20250101.0-kernel-6.1-x86_64',
    ]);
    expect(amazon.Images?.[0]?.ImageOwnerAlias).toBe('amazon');
  });

  it('filters by name wildcards, tags, tag keys, state and image id', async () => {
    const client = ec2();
    const find = async (Filters: { Name: string; Values: string[] }[]) =>
      byName((await client.send(new DescribeImagesCommand({ Owners: ['self'], Filters }))).Images);
    expect(await find([{ Name: 'name', Values: ['pulsar-base-2.1?.0-*'] }])).toEqual([
      'pulsar-base-2.10.0-20250120093000',
      'pulsar-base-2.11.0-20250310141500',
    ]);
    expect(await find([{ Name: 'tag:ManagedBy', Values: ['pulsar-ami'] }])).toHaveLength(3);
    expect(await find([{ Name: 'tag:Validated', Values: ['true'] }])).toEqual([
      'pulsar-base-3.0.0-20250615103000',
    ]);
    expect(await find([{ Name: 'tag-key', Values: ['Team'] }])).toEqual(['ubuntu-jammy-custom']);
    expect(await find([{ Name: 'state', Values: ['pending', 'failed'] }])).toEqual([]);
    expect(
      await find([
        { Name: 'name', Values: ['pulsar-base-*'] },
        { Name: 'tag:PulsarVersion', Values: ['2.11.0', '3.0.0'] },
      ]),
    ).toEqual(['pulsar-base-2.11.0-20250310141500', 'pulsar-base-3.0.0-20250615103000']);
    const [one] = (await client.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? [];
    expect(await find([{ Name: 'image-id', Values: [one?.ImageId ?? ''] }])).toEqual([one?.Name]);
    const bad = await errorOf(
      client.send(new DescribeImagesCommand({ Filters: [{ Name: 'colour', Values: ['x'] }] })),
    );
    expect(bad.name).toBe('InvalidParameterValue');
  });

  it('paginates with MaxResults 5 across pages, without duplicates or gaps', async () => {
    await control('POST', 'images', { count: 17 });
    const seen: string[] = [];
    let pages = 0;
    for await (const page of paginateDescribeImages({ client: ec2(), pageSize: 5 }, { Owners: ['self'] })) {
      pages += 1;
      expect(page.Images?.length).toBeLessThanOrEqual(5);
      seen.push(...(page.Images ?? []).map((i) => i.ImageId ?? ''));
    }
    expect(seen).toHaveLength(22);
    expect(new Set(seen).size).toBe(22);
    expect(pages).toBe(5);
  });

  it('answers InvalidParameterValue for MaxResults outside 5–1000 and refuses MaxResults with ImageIds', async () => {
    const client = ec2();
    expect((await errorOf(client.send(new DescribeImagesCommand({ MaxResults: 4 })))).name).toBe(
      'InvalidParameterValue',
    );
    expect((await errorOf(client.send(new DescribeImagesCommand({ MaxResults: 1001 })))).name).toBe(
      'InvalidParameterValue',
    );
    const [image] = (await client.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? [];
    const combined = await errorOf(
      client.send(new DescribeImagesCommand({ ImageIds: [image?.ImageId ?? ''], MaxResults: 5 })),
    );
    expect(combined.name).toBe('InvalidParameterCombination');
  });

  it('surfaces InvalidAMIID.Malformed and InvalidAMIID.NotFound as SDK errors of those names', async () => {
    const malformed = await errorOf(ec2().send(new DescribeImagesCommand({ ImageIds: ['ami-nothex'] })));
    expect(malformed.name).toBe('InvalidAMIID.Malformed');
    expect(malformed.$metadata?.httpStatusCode).toBe(400);
    const missing = await errorOf(
      ec2().send(new DescribeImagesCommand({ ImageIds: ['ami-0123456789abcdef0'] })),
    );
    expect(missing.name).toBe('InvalidAMIID.NotFound');
    expect(missing.message).toContain('ami-0123456789abcdef0');
  });

  it('pages through 10,000 images in pages of 1,000 quickly', async () => {
    const seeded = await control<{ images: { imageId: string }[] }>('POST', 'images', { count: 10_000 });
    expect(seeded.images).toHaveLength(10_000);
    const started = Date.now();
    let total = 0;
    let pages = 0;
    for await (const page of paginateDescribeImages(
      { client: ec2(), pageSize: 1000 },
      { Owners: ['self'], Filters: [{ Name: 'name', Values: ['pulsar-base-*'] }] },
    )) {
      pages += 1;
      total += page.Images?.length ?? 0;
    }
    expect(total).toBe(10_004);
    expect(pages).toBe(11);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe('EC2 changes', () => {
  async function seededLatest(): Promise<Image> {
    const page = await ec2().send(
      new DescribeImagesCommand({
        Owners: ['self'],
        Filters: [{ Name: 'name', Values: ['pulsar-base-3.0.0-*'] }],
      }),
    );
    const image = page.Images?.[0];
    if (!image) throw new Error('seeded 3.0.0 image missing');
    return image;
  }

  it('DryRun DeregisterImage answers DryRunOperation (412) and changes nothing', async () => {
    const image = await seededLatest();
    const error = await errorOf(
      ec2().send(new DeregisterImageCommand({ ImageId: image.ImageId, DryRun: true })),
    );
    expect(error.name).toBe('DryRunOperation');
    expect(error.$metadata?.httpStatusCode).toBe(412);
    expect(error.message).toBe('Request would have succeeded, but DryRun flag is set.');
    const again = await ec2().send(new DescribeImagesCommand({ ImageIds: [image.ImageId ?? ''] }));
    expect(again.Images?.[0]?.State).toBe('available');
    expect((await calls()).find((c) => c.action === 'DeregisterImage')).toMatchObject({
      dryRun: true,
      status: 412,
    });
  });

  it('DryRun of a call that would fail answers its real error, not DryRunOperation', async () => {
    const error = await errorOf(
      ec2().send(new DeregisterImageCommand({ ImageId: 'ami-0123456789abcdef0', DryRun: true })),
    );
    expect(error.name).toBe('InvalidAMIID.NotFound');
  });

  it('DeregisterImage removes the image; once EC2 has released it, its snapshot can be deleted, and is gone', async () => {
    const client = ec2();
    const image = await seededLatest();
    const snapshotId = image.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId ?? '';
    const inUse = await errorOf(client.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId })));
    expect(inUse.name).toBe('InvalidSnapshot.InUse');
    expect(inUse.message).toContain(image.ImageId);

    await client.send(new DeregisterImageCommand({ ImageId: image.ImageId }));
    const own = await client.send(new DescribeImagesCommand({ Owners: ['self'] }));
    expect(own.Images?.map((i) => i.ImageId)).not.toContain(image.ImageId);
    const gone = await errorOf(client.send(new DescribeImagesCommand({ ImageIds: [image.ImageId ?? ''] })));
    expect(gone.name).toBe('InvalidAMIID.NotFound');

    // EC2 finishes a deregistration asynchronously: the image holds its snapshot a while longer.
    const held = await errorOf(client.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId })));
    expect(held.name).toBe('InvalidSnapshot.InUse');
    expect(held.message).toContain(image.ImageId);
    await new Promise((resolve) =>
      setTimeout(resolve, sandbox.world.timeline.ms(AWS_SECONDS.snapshotRelease) + 20),
    );
    await client.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }));
    const missing = await errorOf(client.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] })));
    expect(missing.name).toBe('InvalidSnapshot.NotFound');
    const twice = await errorOf(client.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId })));
    expect(twice.name).toBe('InvalidSnapshot.NotFound');
  });

  it('refuses to deregister an image with deregistration protection', async () => {
    const { images } = await control<{ images: { imageId: string }[] }>('POST', 'images', {
      images: [{ name: 'pulsar-base-3.1.0-20250701000000', deregistrationProtection: true }],
    });
    const imageId = images[0]?.imageId ?? '';
    const error = await errorOf(ec2().send(new DeregisterImageCommand({ ImageId: imageId })));
    expect(error.name).toBe('OperationNotPermitted');
    const still = await ec2().send(new DescribeImagesCommand({ ImageIds: [imageId] }));
    expect(still.Images?.[0]?.DeregistrationProtection).toBe('enabled');
  });

  it('CreateTags tags images and snapshots; DescribeSnapshots filters by tag and paginates', async () => {
    const client = ec2();
    const image = await seededLatest();
    const snapshotId = image.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId ?? '';
    await client.send(
      new CreateTagsCommand({
        Resources: [image.ImageId ?? '', snapshotId],
        Tags: [{ Key: 'Protected', Value: 'true' }],
      }),
    );
    const tagged = await client.send(
      new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'tag:Protected', Values: ['true'] }] }),
    );
    expect(tagged.Images?.map((i) => i.ImageId)).toEqual([image.ImageId]);
    const snaps = await client.send(
      new DescribeSnapshotsCommand({
        OwnerIds: ['self'],
        Filters: [{ Name: 'tag:Protected', Values: ['true'] }],
      }),
    );
    expect(snaps.Snapshots?.map((s) => s.SnapshotId)).toEqual([snapshotId]);
    expect(snaps.Snapshots?.[0]).toMatchObject({ State: 'completed', OwnerId: SANDBOX_ACCOUNT_ID });

    await control('POST', 'images', { count: 3 });
    const first = await client.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], MaxResults: 5 }));
    expect(first.Snapshots).toHaveLength(5);
    expect(first.NextToken).toBeTruthy();
    const second = await client.send(
      new DescribeSnapshotsCommand({ OwnerIds: ['self'], MaxResults: 5, NextToken: first.NextToken }),
    );
    expect(second.NextToken).toBeUndefined();
    const all = [...(first.Snapshots ?? []), ...(second.Snapshots ?? [])].map((s) => s.SnapshotId);
    expect(all).toHaveLength(8);
    expect(new Set(all).size).toBe(8);

    const unknown = await errorOf(
      client.send(
        new CreateTagsCommand({ Resources: ['ami-0123456789abcdef0'], Tags: [{ Key: 'a', Value: 'b' }] }),
      ),
    );
    expect(unknown.name).toBe('InvalidAMIID.NotFound');
    const dry = await errorOf(
      client.send(
        new CreateTagsCommand({
          Resources: [image.ImageId ?? ''],
          Tags: [{ Key: 'Dry', Value: 'x' }],
          DryRun: true,
        }),
      ),
    );
    expect(dry.name).toBe('DryRunOperation');
    const after = await client.send(new DescribeImagesCommand({ ImageIds: [image.ImageId ?? ''] }));
    expect(after.Images?.[0]?.Tags?.some((t) => t.Key === 'Dry')).toBe(false);
  });

  it('DescribeInstances filters by image id and state, in reservations', async () => {
    const image = await seededLatest();
    const running = await control<{ instanceId: string }>('POST', 'instances', { imageId: image.ImageId });
    await control('POST', 'instances', { imageId: image.ImageId, state: 'terminated' });
    const result = await ec2().send(
      new DescribeInstancesCommand({
        Filters: [
          { Name: 'image-id', Values: [image.ImageId ?? ''] },
          { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
        ],
      }),
    );
    const instances = (result.Reservations ?? []).flatMap((r) => r.Instances ?? []);
    expect(instances.map((i) => i.InstanceId)).toEqual([running.instanceId]);
    expect(instances[0]).toMatchObject({ ImageId: image.ImageId, State: { Code: 16, Name: 'running' } });
    expect(result.Reservations?.[0]?.ReservationId).toMatch(/^r-[0-9a-f]{17}$/);
    const all = await ec2().send(
      new DescribeInstancesCommand({ Filters: [{ Name: 'image-id', Values: [image.ImageId ?? ''] }] }),
    );
    expect((all.Reservations ?? []).flatMap((r) => r.Instances ?? [])).toHaveLength(2);
    const malformed = await errorOf(ec2().send(new DescribeInstancesCommand({ InstanceIds: ['i-zz'] })));
    expect(malformed.name).toBe('InvalidInstanceID.Malformed');
  });

  it('has one default VPC and a default subnet per AZ in every region', async () => {
    for (const region of ['us-west-2', 'eu-west-1']) {
      const vpcs = await ec2({ region }).send(
        new DescribeVpcsCommand({ Filters: [{ Name: 'isDefault', Values: ['true'] }] }),
      );
      expect(vpcs.Vpcs).toHaveLength(1);
      const subnets = await ec2({ region }).send(
        new DescribeSubnetsCommand({
          Filters: [
            { Name: 'vpc-id', Values: [vpcs.Vpcs?.[0]?.VpcId ?? ''] },
            { Name: 'default-for-az', Values: ['true'] },
          ],
        }),
      );
      expect(subnets.Subnets?.map((s) => s.AvailabilityZone).sort()).toEqual([
        `${region}a`,
        `${region}b`,
        `${region}c`,
      ]);
    }
  });

  it('keeps regions apart: an image in one region is not in another', async () => {
    const own = await ec2({ region: 'eu-west-1' }).send(new DescribeImagesCommand({ Owners: ['self'] }));
    expect(own.Images).toEqual([]);
  });
});

describe('SSM parameters', () => {
  it('gets the seeded latest parameter, puts with Overwrite semantics, pages by path and deletes', async () => {
    const client = ssm();
    const seeded = await client.send(new GetParameterCommand({ Name: '/pulsar-ami/dev/latest-ami-id' }));
    expect(seeded.Parameter).toMatchObject({ Type: 'String', DataType: 'aws:ec2:image', Version: 1 });
    expect(seeded.Parameter?.Value).toMatch(/^ami-[0-9a-f]{17}$/);
    expect(seeded.Parameter?.LastModifiedDate).toBeInstanceOf(Date);

    const exists = await errorOf(
      client.send(
        new PutParameterCommand({
          Name: '/pulsar-ami/dev/latest-ami-id',
          Value: 'ami-0123456789abcdef0',
          Type: 'String',
        }),
      ),
    );
    expect(exists.name).toBe('ParameterAlreadyExists');
    const put = await client.send(
      new PutParameterCommand({
        Name: '/pulsar-ami/dev/latest-ami-id',
        Value: 'ami-0123456789abcdef0',
        Type: 'String',
        DataType: 'aws:ec2:image',
        Overwrite: true,
      }),
    );
    expect(put.Version).toBe(2);
    const badAmi = await errorOf(
      client.send(
        new PutParameterCommand({ Name: '/x/y', Value: 'nope', Type: 'String', DataType: 'aws:ec2:image' }),
      ),
    );
    expect(badAmi.name).toBe('ValidationException');

    for (const name of ['a', 'b', 'c', 'deep/d']) {
      await client.send(
        new PutParameterCommand({ Name: `/pulsar-ami/dev/${name}`, Value: name, Type: 'String' }),
      );
    }
    const shallow = await client.send(new GetParametersByPathCommand({ Path: '/pulsar-ami/dev' }));
    expect(shallow.Parameters?.map((p) => p.Name)).not.toContain('/pulsar-ami/dev/deep/d');
    const names: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(
        new GetParametersByPathCommand({
          Path: '/pulsar-ami',
          Recursive: true,
          MaxResults: 2,
          NextToken: token,
        }),
      );
      expect(page.Parameters?.length).toBeLessThanOrEqual(2);
      names.push(...(page.Parameters ?? []).map((p) => p.Name ?? ''));
      token = page.NextToken;
    } while (token);
    expect(names).toEqual([
      '/pulsar-ami/dev/a',
      '/pulsar-ami/dev/b',
      '/pulsar-ami/dev/c',
      '/pulsar-ami/dev/deep/d',
      '/pulsar-ami/dev/latest-ami-id',
    ]);

    await client.send(new DeleteParameterCommand({ Name: '/pulsar-ami/dev/a' }));
    const deleted = await errorOf(client.send(new DeleteParameterCommand({ Name: '/pulsar-ami/dev/a' })));
    expect(deleted.name).toBe('ParameterNotFound');
    const missing = await errorOf(client.send(new GetParameterCommand({ Name: '/pulsar-ami/dev/a' })));
    expect(missing.name).toBe('ParameterNotFound');
  });
});

describe('STS and CloudFormation', () => {
  it('GetCallerIdentity answers the sandbox identity', async () => {
    const sts = new STSClient({
      region: 'us-west-2',
      endpoint: sandbox.url,
      credentials: sandboxCredentials,
    });
    clients.push(sts);
    const identity = await sts.send(new GetCallerIdentityCommand({}));
    expect(identity).toMatchObject({ Account: SANDBOX_ACCOUNT_ID, Arn: SANDBOX_CALLER_ARN });
  });

  it('DescribeStacks gives the dev stack’s ServiceEndpoint (the sandbox) and ValidationError for others', async () => {
    const cfn = new CloudFormationClient({
      region: 'us-west-2',
      endpoint: sandbox.url,
      credentials: sandboxCredentials,
      maxAttempts: 1,
    });
    clients.push(cfn);
    const stacks = await cfn.send(new DescribeStacksCommand({ StackName: 'pulsar-ami-dev' }));
    expect(stacks.Stacks?.[0]?.StackStatus).toBe('UPDATE_COMPLETE');
    expect(stacks.Stacks?.[0]?.CreationTime).toBeInstanceOf(Date);
    expect(stacks.Stacks?.[0]?.Outputs).toContainEqual(
      expect.objectContaining({ OutputKey: 'ServiceEndpoint', OutputValue: sandbox.url }),
    );
    const missing = await errorOf(cfn.send(new DescribeStacksCommand({ StackName: 'pulsar-ami-prod' })));
    expect(missing.name).toBe('ValidationError');
    expect(missing.message).toBe('Stack with id pulsar-ami-prod does not exist');
  });
});

describe('faults', () => {
  it('throttles EC2 with RequestLimitExceeded until cleared: the SDK retries, then fails', async () => {
    await control('PUT', 'faults', { throttle: { service: 'ec2', actions: ['DescribeImages'] } });
    const error = await errorOf(
      ec2({ maxAttempts: 2 }).send(new DescribeImagesCommand({ Owners: ['self'] })),
    );
    expect(error.name).toBe('RequestLimitExceeded');
    expect(error.$metadata?.httpStatusCode).toBe(503);
    const attempts = (await calls()).filter((c) => c.action === 'DescribeImages');
    expect(attempts.map((c) => c.status)).toEqual([503, 503]);
    // other actions are not throttled
    await ec2().send(new DescribeVpcsCommand({}));
  });

  it('throttles once with times: 1, so the SDK’s retry succeeds', async () => {
    await control('PUT', 'faults', { throttle: { service: 'ec2', times: 1 } });
    const page = await ec2({ maxAttempts: 3 }).send(new DescribeImagesCommand({ Owners: ['self'] }));
    expect(page.Images).toHaveLength(5);
    expect((await calls()).map((c) => c.status)).toEqual([503, 200]);
    expect(await control('GET', 'faults')).toEqual({});
  });

  it('throttles JSON services with ThrottlingException', async () => {
    await control('PUT', 'faults', { throttle: { service: 'all' } });
    const error = await errorOf(
      ssm().send(new GetParameterCommand({ Name: '/pulsar-ami/dev/latest-ami-id' })),
    );
    expect(error.name).toBe('ThrottlingException');
  });
});

describe('SigV4', () => {
  it('refuses a request signed with the wrong secret (403 SignatureDoesNotMatch) and changes nothing', async () => {
    const before = await ec2().send(new DescribeImagesCommand({ Owners: ['self'] }));
    const target = before.Images?.[0]?.ImageId ?? '';
    const error = await errorOf(
      ec2({ secret: 'not-the-secret' }).send(new DeregisterImageCommand({ ImageId: target })),
    );
    expect(error.name).toBe('SignatureDoesNotMatch');
    expect(error.$metadata?.httpStatusCode).toBe(403);
    const after = await ec2().send(new DescribeImagesCommand({ ImageIds: [target] }));
    expect(after.Images?.[0]?.ImageId).toBe(target);
    expect((await calls()).some((c) => c.action === 'DeregisterImage')).toBe(false);
  });

  it('refuses an unknown access key (InvalidClientTokenId) and a JSON call with a bad signature', async () => {
    const unknown = await errorOf(
      ec2({ accessKeyId: 'AKIAUNKNOWNUNKNOWN00' }).send(new DescribeImagesCommand({ Owners: ['self'] })),
    );
    expect(unknown.name).toBe('InvalidClientTokenId');
    const json = await errorOf(
      ssm({ secret: 'wrong' }).send(new GetParameterCommand({ Name: '/pulsar-ami/dev/latest-ami-id' })),
    );
    expect(json.name).toBe('InvalidSignatureException');
  });

  it('refuses an unsigned request', async () => {
    const response = await fetch(sandbox.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=DescribeImages&Version=2016-11-15',
    });
    expect(response.status).toBe(403);
    expect(await response.text()).toContain('MissingAuthenticationToken');
  });
});

describe('calls log and control interface', () => {
  it('records each AWS call with service, action, region and dryRun; DELETE clears it', async () => {
    await ec2().send(new DescribeImagesCommand({ Owners: ['self'] }));
    await ec2({ region: 'eu-west-1' }).send(new DescribeVpcsCommand({ DryRun: false }));
    await ssm().send(new GetParameterCommand({ Name: '/pulsar-ami/dev/latest-ami-id' }));
    const log = await calls();
    expect(log.map(({ service, action, region, dryRun }) => ({ service, action, region, dryRun }))).toEqual([
      { service: 'ec2', action: 'DescribeImages', region: 'us-west-2', dryRun: false },
      { service: 'ec2', action: 'DescribeVpcs', region: 'eu-west-1', dryRun: false },
      { service: 'ssm', action: 'GetParameter', region: 'us-west-2', dryRun: false },
    ]);
    await control('DELETE', 'calls');
    expect(await calls()).toEqual([]);
  });

  it('seeds images with managed tags (and tags their snapshots), in any region; reset without seed empties', async () => {
    const { images } = await control<{ images: { imageId: string; snapshotIds: string[] }[] }>(
      'POST',
      'images',
      {
        region: 'eu-west-1',
        images: [
          { name: 'pulsar-base-3.1.0-20250801120000', snapshots: 2 },
          { name: 'pulsar-base-3.1.1-20250802120000', managed: false },
        ],
      },
    );
    expect(images[0]?.snapshotIds).toHaveLength(2);
    const client = ec2({ region: 'eu-west-1' });
    const described = await client.send(
      new DescribeImagesCommand({ ImageIds: images.map((i) => i.imageId) }),
    );
    const managed = described.Images?.find((i) => i.ImageId === images[0]?.imageId);
    expect(managed?.CreationDate).toBe('2025-08-01T12:00:00.000Z');
    expect(managed?.Tags).toContainEqual({ Key: 'ManagedBy', Value: 'pulsar-ami' });
    expect(managed?.Tags).toContainEqual({ Key: 'PulsarVersion', Value: '3.1.0' });
    expect(described.Images?.find((i) => i.ImageId === images[1]?.imageId)?.Tags ?? []).toEqual([]);
    const snaps = await client.send(new DescribeSnapshotsCommand({ SnapshotIds: images[0]?.snapshotIds }));
    expect(snaps.Snapshots?.every((s) => s.Tags?.some((t) => t.Key === 'ManagedBy'))).toBe(true);

    // The region has the two, and Amazon Linux 2023 as AWS has it in every region.
    const state = await control<{ regions: Record<string, { images: { ownerAlias?: string }[] }> }>(
      'GET',
      'state',
    );
    const regionImages = state.regions['eu-west-1']?.images ?? [];
    expect(regionImages.filter((i) => i.ownerAlias !== 'amazon')).toHaveLength(2);
    expect(regionImages.filter((i) => i.ownerAlias === 'amazon')).toHaveLength(2);
    await control('POST', 'reset', { seed: false });
    expect((await ec2().send(new DescribeImagesCommand({}))).Images).toEqual([]);
  });

  it('answers health, and 400 for a malformed control request', async () => {
    expect(await control('GET', 'health')).toEqual({ ok: true });
    const bad = await fetch(`${sandbox.url}/_sandbox/images`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ images: [{ nmae: 'typo' }] }),
    });
    expect(bad.status).toBe(400);
    const missingImage = await fetch(`${sandbox.url}/_sandbox/instances`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ imageId: 'ami-0123456789abcdef0' }),
    });
    expect(missingImage.status).toBe(400);
  });
});
