import {
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImageReferencesCommand,
  DescribeImagesCommand,
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  type Image,
  type ImageReferenceResourceType,
} from '@aws-sdk/client-ec2';
import {
  DeleteParameterCommand,
  GetParameterCommand,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { deleteAmi } from '../../functions/lib/ami-deletion';
import {
  AmiInUseError,
  AmiNotFoundError,
  AmiNotManagedError,
  AmiProtectedError,
  AwsThrottledError,
} from '../../functions/lib/errors';

const ec2Mock = mockClient(EC2Client);
const ssmMock = mockClient(SSMClient);
const clients = { ec2: new EC2Client({ region: 'us-west-2' }), ssm: new SSMClient({ region: 'us-west-2' }) };
const settings = {
  region: 'us-west-2',
  latestAmiParameter: '/pulsar-ami/dev/latest-ami-id',
  listPageSize: 1000,
};
const ID = 'ami-0aaaaaaaaaaaaaaa1';

const managed = (overrides: Partial<Image> = {}): Image => ({
  ImageId: ID,
  Name: 'pulsar-base-3.0.0-20251006142300',
  State: 'available',
  CreationDate: '2025-10-06T14:23:00.000Z',
  Tags: [{ Key: 'ManagedBy', Value: 'pulsar-ami' }],
  BlockDeviceMappings: [
    { Ebs: { SnapshotId: 'snap-0aaaaaaaaaaaaaaa1' } },
    { Ebs: { SnapshotId: 'snap-0aaaaaaaaaaaaaaa2' } },
  ],
  ...overrides,
});

const destructive = () => [
  ...ec2Mock.commandCalls(DeregisterImageCommand).filter((c) => !c.args[0].input.DryRun),
  ...ec2Mock.commandCalls(DeleteSnapshotCommand),
  ...ec2Mock.commandCalls(CreateTagsCommand),
];

beforeEach(() => {
  ec2Mock.reset();
  ssmMock.reset();
  ec2Mock.on(DescribeImageReferencesCommand).resolves({ ImageReferences: [] });
  // The images' snapshots carry the build's ManagedBy tag, as the image does.
  ec2Mock.on(DescribeSnapshotsCommand).resolves({
    Snapshots: ['snap-0aaaaaaaaaaaaaaa1', 'snap-0aaaaaaaaaaaaaaa2'].map((SnapshotId) => ({
      SnapshotId,
      Tags: [{ Key: 'ManagedBy', Value: 'pulsar-ami' }],
    })),
  });
  ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: 'ami-0bbbbbbbbbbbbbbb1' } });
});

describe('deleteAmi refuses, changing nothing', () => {
  it('an AMI that does not exist', async () => {
    ec2Mock
      .on(DescribeImagesCommand)
      .rejects(Object.assign(new Error('not found'), { name: 'InvalidAMIID.NotFound', $fault: 'client' }));
    await expect(
      deleteAmi(clients, settings, ID, { keepSnapshots: false, dryRun: false }),
    ).rejects.toBeInstanceOf(AmiNotFoundError);
    expect(destructive()).toHaveLength(0);
  });

  it('an AMI that is not this tool’s', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [managed({ Name: 'ubuntu-custom', Tags: [] })] });
    await expect(
      deleteAmi(clients, settings, ID, { keepSnapshots: false, dryRun: false }),
    ).rejects.toBeInstanceOf(AmiNotManagedError);
    expect(destructive()).toHaveLength(0);
  });

  it.each([
    [
      { DeregistrationProtection: 'disabled-until-2999-01-01T00:00:00.000Z' },
      'in its cooldown until 2999-01-01T00:00:00.000Z',
    ],
    [
      { DeregistrationProtection: 'enabled-with-cooldown' },
      'EC2 deregistration protection (enabled, with a 24-hour cooldown)',
    ],
    [
      {
        Tags: [
          { Key: 'ManagedBy', Value: 'pulsar-ami' },
          { Key: 'Protected', Value: 'true' },
        ],
      },
      'the Protected=true tag',
    ],
  ])('a protected AMI, in a dry run too, naming the protection (%o)', async (extra, named) => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [managed(extra)] });
    for (const dryRun of [true, false]) {
      const error = await deleteAmi(clients, settings, ID, { keepSnapshots: false, dryRun }).catch((e) => e);
      expect(error).toBeInstanceOf(AmiProtectedError);
      expect(error.message).toContain(named);
    }
    expect(ec2Mock.calls().filter((c) => JSON.stringify(c.args[0].input).includes('DryRun'))).toHaveLength(0);
    expect(destructive()).toHaveLength(0);
  });

  it('a protected AMI', async () => {
    ec2Mock
      .on(DescribeImagesCommand)
      .resolves({ Images: [managed({ DeregistrationProtection: 'enabled' })] });
    await expect(
      deleteAmi(clients, settings, ID, { keepSnapshots: false, dryRun: false }),
    ).rejects.toBeInstanceOf(AmiProtectedError);
    expect(destructive()).toHaveLength(0);
  });

  const ARN = 'arn:aws:ec2:us-west-2:123456789012';
  it.each([
    [
      'an instance that is not terminated',
      { ResourceType: 'ec2:Instance', Arn: `${ARN}:instance/i-0aaaaaaaaaaaaaaa1` },
      'instance i-0aaaaaaaaaaaaaaa1',
    ],
    [
      "a launch template's default and latest version",
      { ResourceType: 'ec2:LaunchTemplate', Arn: `${ARN}:launch-template/lt-0aaaaaaaaaaaaaaa1` },
      'launch template web-asg (lt-0aaaaaaaaaaaaaaa1) version 3 (default, latest)',
    ],
    [
      "another application's SSM parameter",
      { ResourceType: 'ssm:Parameter', Arn: 'arn:aws:ssm:us-west-2:123456789012:parameter/other-app/ami-id' },
      'SSM parameter /other-app/ami-id',
    ],
    [
      'an Image Builder image recipe',
      {
        ResourceType: 'imagebuilder:ImageRecipe',
        Arn: 'arn:aws:imagebuilder:us-west-2:123456789012:image-recipe/pulsar-derived/1.0.0',
      },
      'Image Builder image recipe pulsar-derived/1.0.0',
    ],
    [
      'an Image Builder container recipe',
      {
        ResourceType: 'imagebuilder:ContainerRecipe',
        Arn: 'arn:aws:imagebuilder:us-west-2:123456789012:container-recipe/pulsar-ctr/2.0.0',
      },
      'Image Builder container recipe pulsar-ctr/2.0.0',
    ],
  ])('an AMI referenced by %s: 409 naming it, in a dry run too', async (_what, reference, named) => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [managed()] });
    ec2Mock.on(DescribeImageReferencesCommand).resolves({
      ImageReferences: [
        { ImageId: ID, ...reference, ResourceType: reference.ResourceType as ImageReferenceResourceType },
      ],
    });
    ec2Mock.on(DescribeLaunchTemplatesCommand).resolves({
      LaunchTemplates: [
        {
          LaunchTemplateId: 'lt-0aaaaaaaaaaaaaaa1',
          LaunchTemplateName: 'web-asg',
          DefaultVersionNumber: 3,
          LatestVersionNumber: 3,
        },
      ],
    });
    ec2Mock.on(DescribeLaunchTemplateVersionsCommand).resolves({
      LaunchTemplateVersions: [
        { LaunchTemplateId: 'lt-0aaaaaaaaaaaaaaa1', VersionNumber: 3, LaunchTemplateData: { ImageId: ID } },
      ],
    });
    for (const dryRun of [true, false]) {
      const error = await deleteAmi(clients, settings, ID, { keepSnapshots: false, dryRun }).catch((e) => e);
      expect(error).toBeInstanceOf(AmiInUseError);
      expect(error.status).toBe(409);
      expect(error.message).toBe(`AMI ${ID} is in use by 1 resource(s): ${named}; nothing was deleted`);
      expect(error.extensions.references).toMatchObject([{ arn: reference.Arn, detail: named }]);
      expect(error.instanceIds).toEqual(
        reference.ResourceType === 'ec2:Instance' ? ['i-0aaaaaaaaaaaaaaa1'] : [],
      );
    }
    expect(ec2Mock.commandCalls(DeregisterImageCommand)).toHaveLength(0);
    expect(ec2Mock.commandCalls(DeleteSnapshotCommand)).toHaveLength(0);
    expect(destructive()).toHaveLength(0);
  });

  it("is not refused for the stack's own parameters (the latest rule republishes them)", async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [managed()] });
    ec2Mock.on(DescribeImageReferencesCommand).resolves({
      ImageReferences: [
        {
          ImageId: ID,
          ResourceType: 'ssm:Parameter',
          Arn: 'arn:aws:ssm:us-west-2:123456789012:parameter/pulsar-ami/dev/versions/3.0.0/latest-ami-id',
        },
      ],
    });
    const result = await deleteAmi(
      clients,
      { ...settings, versionParameterPrefix: '/pulsar-ami/dev/versions' },
      ID,
      { keepSnapshots: true, dryRun: true },
    );
    expect(result).toMatchObject({ imageId: ID, dryRun: true });
  });

  it('is refused for any other parameter, even one in the stage’s own folder', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [managed()] });
    ec2Mock.on(DescribeImageReferencesCommand).resolves({
      ImageReferences: [
        {
          ImageId: ID,
          ResourceType: 'ssm:Parameter',
          Arn: 'arn:aws:ssm:us-west-2:123456789012:parameter/pulsar-ami/dev/pinned/prod-ami-id',
        },
      ],
    });
    const error = await deleteAmi(
      clients,
      { ...settings, versionParameterPrefix: '/pulsar-ami/dev/versions' },
      ID,
      { keepSnapshots: false, dryRun: false },
    ).catch((e) => e);
    expect(error).toBeInstanceOf(AmiInUseError);
    expect(error.message).toContain('/pulsar-ami/dev/pinned/prod-ami-id');
    expect(destructive()).toHaveLength(0);
  });

  it('when EC2 keeps throttling, with a named error', async () => {
    ec2Mock.on(DescribeImagesCommand).rejects(
      Object.assign(new Error('Request limit exceeded.'), {
        name: 'RequestLimitExceeded',
        $fault: 'client',
      }),
    );
    await expect(
      deleteAmi(clients, settings, ID, { keepSnapshots: false, dryRun: false }),
    ).rejects.toBeInstanceOf(AwsThrottledError);
    expect(destructive()).toHaveLength(0);
  });
});

describe('deleteAmi', () => {
  it('dry run: asks EC2 with DryRun, reports the plan, changes nothing', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [managed()] });
    ec2Mock
      .on(DeregisterImageCommand)
      .rejects(Object.assign(new Error('Request would have succeeded'), { name: 'DryRunOperation' }));
    const result = await deleteAmi(clients, settings, ID, { keepSnapshots: false, dryRun: true });
    expect(result).toEqual({
      imageId: ID,
      name: 'pulsar-base-3.0.0-20251006142300',
      state: 'available',
      dryRun: true,
      deregistered: false,
      snapshots: [
        { snapshotId: 'snap-0aaaaaaaaaaaaaaa1', status: 'would-delete' },
        { snapshotId: 'snap-0aaaaaaaaaaaaaaa2', status: 'would-delete' },
      ],
    });
    expect(ec2Mock.commandCalls(DeregisterImageCommand)[0]?.args[0].input).toEqual({
      ImageId: ID,
      DryRun: true,
    });
    expect(destructive()).toHaveLength(0);
  });

  it('dry run of a legacy image: asks EC2 whether the image may be adopted; its untagged snapshots are kept', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [managed({ Tags: [] })] });
    ec2Mock.on(DescribeSnapshotsCommand).resolves({
      Snapshots: [{ SnapshotId: 'snap-0aaaaaaaaaaaaaaa1' }, { SnapshotId: 'snap-0aaaaaaaaaaaaaaa2' }],
    });
    ec2Mock
      .on(CreateTagsCommand)
      .rejects(Object.assign(new Error('Request would have succeeded'), { name: 'DryRunOperation' }));
    const result = await deleteAmi(clients, settings, ID, { keepSnapshots: false, dryRun: true });
    expect(result.dryRun).toBe(true);
    expect(ec2Mock.commandCalls(CreateTagsCommand)[0]?.args[0].input).toEqual({
      Resources: [ID],
      Tags: [
        { Key: 'ManagedBy', Value: 'pulsar-ami' },
        { Key: 'PulsarVersion', Value: '3.0.0' },
      ],
      DryRun: true,
    });
    expect(result.snapshots.map((s) => s.status)).toEqual(['kept', 'kept']);
    expect(result.snapshots[0]?.reason).toMatch(/not tagged ManagedBy=pulsar-ami/);
    expect(ec2Mock.commandCalls(DeregisterImageCommand)).toHaveLength(0);
  });

  it("an untagged snapshot under an image (another team's backup registered as pulsar-base-*): never tagged, never deleted", async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [managed({ Tags: [] })] });
    ec2Mock.on(DescribeSnapshotsCommand).resolves({
      Snapshots: [{ SnapshotId: 'snap-0aaaaaaaaaaaaaaa1' }, { SnapshotId: 'snap-0aaaaaaaaaaaaaaa2' }],
    });
    ec2Mock.on(CreateTagsCommand).resolves({});
    ec2Mock.on(DeregisterImageCommand).resolves({});
    const result = await deleteAmi(clients, settings, ID, { keepSnapshots: false, dryRun: false });
    expect(result.deregistered).toBe(true);
    expect(result.snapshots.map((s) => s.status)).toEqual(['kept', 'kept']);
    expect(ec2Mock.commandCalls(CreateTagsCommand).map((c) => c.args[0].input.Resources)).toEqual([[ID]]);
    expect(ec2Mock.commandCalls(DeleteSnapshotCommand)).toHaveLength(0);
  });

  it('dry run refused by EC2 (UnauthorizedOperation): an error, nothing changed', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [managed()] });
    ec2Mock
      .on(DeregisterImageCommand)
      .rejects(
        Object.assign(new Error('not authorized'), { name: 'UnauthorizedOperation', $fault: 'client' }),
      );
    await expect(deleteAmi(clients, settings, ID, { keepSnapshots: false, dryRun: true })).rejects.toThrow(
      /UnauthorizedOperation/,
    );
    expect(destructive()).toHaveLength(0);
  });

  const inUse = () => Object.assign(new Error('snapshot in use'), { name: 'InvalidSnapshot.InUse' });
  const noWait = {
    attempts: 3,
    baseDelayMs: 1,
    maxDelayMs: 1,
    budgetMs: 60_000,
    sleep: async () => undefined,
  };

  it('retries a snapshot the just-deregistered image still holds, then deletes it', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [managed()] });
    ec2Mock.on(DeregisterImageCommand).resolves({});
    ec2Mock
      .on(DeleteSnapshotCommand, { SnapshotId: 'snap-0aaaaaaaaaaaaaaa1' })
      .rejectsOnce(inUse())
      .resolves({})
      .on(DeleteSnapshotCommand, { SnapshotId: 'snap-0aaaaaaaaaaaaaaa2' })
      .resolves({});
    const sleeps: number[] = [];
    const result = await deleteAmi(
      clients,
      { ...settings, snapshotRetry: { ...noWait, sleep: async (ms) => void sleeps.push(ms) } },
      ID,
      { keepSnapshots: false, dryRun: false },
    );
    expect(result.snapshots).toEqual([
      { snapshotId: 'snap-0aaaaaaaaaaaaaaa1', status: 'deleted' },
      { snapshotId: 'snap-0aaaaaaaaaaaaaaa2', status: 'deleted' },
    ]);
    expect(ec2Mock.commandCalls(DeleteSnapshotCommand)).toHaveLength(3);
    expect(sleeps).toHaveLength(1);
    expect(ec2Mock.commandCalls(CreateTagsCommand)).toHaveLength(0);
  });

  it('tags a snapshot that will not go OrphanedFrom=<ami>, after bounded retries, and reports it', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [managed()] });
    ec2Mock.on(DeregisterImageCommand).resolves({});
    ec2Mock
      .on(DeleteSnapshotCommand, { SnapshotId: 'snap-0aaaaaaaaaaaaaaa1' })
      .rejects(inUse())
      .on(DeleteSnapshotCommand, { SnapshotId: 'snap-0aaaaaaaaaaaaaaa2' })
      .resolves({});
    const result = await deleteAmi(clients, { ...settings, snapshotRetry: noWait }, ID, {
      keepSnapshots: false,
      dryRun: false,
    });
    expect(result.deregistered).toBe(true);
    expect(result.snapshots).toEqual([
      {
        snapshotId: 'snap-0aaaaaaaaaaaaaaa1',
        status: 'orphaned',
        error: 'InvalidSnapshot.InUse: snapshot in use',
      },
      { snapshotId: 'snap-0aaaaaaaaaaaaaaa2', status: 'deleted' },
    ]);
    expect(
      ec2Mock.commandCalls(DeleteSnapshotCommand, { SnapshotId: 'snap-0aaaaaaaaaaaaaaa1' }),
    ).toHaveLength(3);
    expect(ec2Mock.commandCalls(CreateTagsCommand).map((c) => c.args[0].input)).toEqual([
      { Resources: ['snap-0aaaaaaaaaaaaaaa1'], Tags: [{ Key: 'OrphanedFrom', Value: ID }] },
    ]);
    expect(result).not.toHaveProperty('latestRepublished');
  });

  it('does not retry other refusals, and says when even the orphan tag could not be set', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [managed()] });
    ec2Mock.on(DeregisterImageCommand).resolves({});
    ec2Mock
      .on(DeleteSnapshotCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'UnauthorizedOperation' }));
    ec2Mock
      .on(CreateTagsCommand)
      .rejects(Object.assign(new Error('denied too'), { name: 'UnauthorizedOperation' }));
    const result = await deleteAmi(clients, { ...settings, snapshotRetry: noWait }, ID, {
      keepSnapshots: false,
      dryRun: false,
    });
    expect(result.snapshots.map((s) => [s.status, s.error])).toEqual([
      ['failed', 'UnauthorizedOperation: denied; not tagged (UnauthorizedOperation: denied too)'],
      ['failed', 'UnauthorizedOperation: denied; not tagged (UnauthorizedOperation: denied too)'],
    ]);
    expect(ec2Mock.commandCalls(DeleteSnapshotCommand)).toHaveLength(2);
  });

  it('stops retrying when the request budget is spent, and tags every snapshot left', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [managed()] });
    ec2Mock.on(DeregisterImageCommand).resolves({});
    ec2Mock.on(DeleteSnapshotCommand).rejects(inUse());
    let now = 0;
    const clock = vi.spyOn(Date, 'now').mockImplementation(() => now);
    const jitter = vi.spyOn(Math, 'random').mockReturnValue(1);
    try {
      const budget = { attempts: 100, baseDelayMs: 1_000, maxDelayMs: 1_000, budgetMs: 5_000 };
      const result = await deleteAmi(
        clients,
        {
          ...settings,
          snapshotRetry: {
            ...budget,
            sleep: async (ms) => {
              now += ms;
            },
          },
        },
        ID,
        { keepSnapshots: false, dryRun: false },
      );
      expect(result.snapshots.map((s) => s.status)).toEqual(['orphaned', 'orphaned']);
      // The second snapshot gets one try: the budget was spent on the first.
      expect(
        ec2Mock.commandCalls(DeleteSnapshotCommand, { SnapshotId: 'snap-0aaaaaaaaaaaaaaa2' }),
      ).toHaveLength(1);
      expect(now).toBeLessThanOrEqual(5_000);
    } finally {
      clock.mockRestore();
      jitter.mockRestore();
    }
  });

  it('keeps a snapshot another tool manages or nobody tagged, and never tags either', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [managed({ Tags: [] })] });
    ec2Mock.on(DescribeSnapshotsCommand).resolves({
      Snapshots: [
        { SnapshotId: 'snap-0aaaaaaaaaaaaaaa1', Tags: [{ Key: 'ManagedBy', Value: 'team-x' }] },
        { SnapshotId: 'snap-0aaaaaaaaaaaaaaa2', Tags: [] },
      ],
    });
    ec2Mock.on(DeregisterImageCommand).resolves({});
    ec2Mock.on(DeleteSnapshotCommand).resolves({});
    const result = await deleteAmi(clients, settings, ID, { keepSnapshots: false, dryRun: false });
    expect(result.snapshots).toEqual([
      { snapshotId: 'snap-0aaaaaaaaaaaaaaa1', status: 'kept', reason: 'managed by team-x (ManagedBy tag)' },
      {
        snapshotId: 'snap-0aaaaaaaaaaaaaaa2',
        status: 'kept',
        reason: 'not tagged ManagedBy=pulsar-ami: not deleted (check it and delete it by hand)',
      },
    ]);
    const tagged = ec2Mock.commandCalls(CreateTagsCommand).flatMap((c) => c.args[0].input.Resources ?? []);
    expect(tagged).toEqual([ID]);
    expect(ec2Mock.commandCalls(DeleteSnapshotCommand)).toHaveLength(0);
  });

  it('keeps a snapshot another image was registered from, naming it, in the dry run and the real run', async () => {
    const holder = 'ami-0eeeeeeeeeeeeeee1';
    ec2Mock.on(DescribeImagesCommand).callsFake(async (input) => {
      const bySnapshot = input.Filters?.find(
        (f: { Name?: string }) => f.Name === 'block-device-mapping.snapshot-id',
      );
      if (bySnapshot?.Values?.[0] === 'snap-0aaaaaaaaaaaaaaa1') {
        return { Images: [managed(), managed({ ImageId: holder })] };
      }
      return { Images: [managed()] };
    });
    ec2Mock.on(DeregisterImageCommand).resolves({});
    ec2Mock.on(DeleteSnapshotCommand).resolves({});
    const dry = await deleteAmi(clients, settings, ID, { keepSnapshots: false, dryRun: true });
    expect(dry.snapshots).toEqual([
      { snapshotId: 'snap-0aaaaaaaaaaaaaaa1', status: 'kept', heldBy: holder },
      { snapshotId: 'snap-0aaaaaaaaaaaaaaa2', status: 'would-delete' },
    ]);
    const real = await deleteAmi(clients, settings, ID, { keepSnapshots: false, dryRun: false });
    expect(real.snapshots).toEqual([
      { snapshotId: 'snap-0aaaaaaaaaaaaaaa1', status: 'kept', heldBy: holder },
      { snapshotId: 'snap-0aaaaaaaaaaaaaaa2', status: 'deleted' },
    ]);
    expect(ec2Mock.commandCalls(DeleteSnapshotCommand).map((c) => c.args[0].input.SnapshotId)).toEqual([
      'snap-0aaaaaaaaaaaaaaa2',
    ]);
  });

  it('keeps snapshots when asked', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [managed()] });
    // Even with every DeleteSnapshot failing, a snapshot kept on purpose is never tagged OrphanedFrom.
    ec2Mock
      .on(DeleteSnapshotCommand)
      .rejects(Object.assign(new Error('in use'), { name: 'InvalidSnapshot.InUse' }));
    const result = await deleteAmi(clients, settings, ID, { keepSnapshots: true, dryRun: false });
    expect(result.snapshots.map((s) => s.status)).toEqual(['kept', 'kept']);
    expect(ec2Mock.commandCalls(DeleteSnapshotCommand)).toHaveLength(0);
    expect(
      ec2Mock
        .commandCalls(CreateTagsCommand)
        .filter((c) => c.args[0].input.Tags?.some((t) => t.Key === 'OrphanedFrom')),
    ).toEqual([]);
    expect(ec2Mock.commandCalls(DeregisterImageCommand)).toHaveLength(1);
  });

  it('tags a legacy pulsar-base-* image ManagedBy before deregistering it', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [managed({ Tags: [] })] });
    ec2Mock.on(DescribeSnapshotsCommand).resolves({
      Snapshots: [{ SnapshotId: 'snap-0aaaaaaaaaaaaaaa1' }, { SnapshotId: 'snap-0aaaaaaaaaaaaaaa2' }],
    });
    await deleteAmi(clients, settings, ID, { keepSnapshots: false, dryRun: false });
    expect(ec2Mock.commandCalls(CreateTagsCommand)[0]?.args[0].input).toEqual({
      Resources: [ID],
      Tags: [
        { Key: 'ManagedBy', Value: 'pulsar-ami' },
        { Key: 'PulsarVersion', Value: '3.0.0' },
      ],
    });
  });

  it('republishes the newest validated AMI when the published latest is deleted', async () => {
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: ID } });
    ec2Mock.on(DescribeImagesCommand).callsFake(async (input) =>
      input.ImageIds
        ? { Images: [managed()] }
        : {
            Images: [
              managed({ ImageId: 'ami-0ccccccccccccccc1', CreationDate: '2025-11-01T00:00:00.000Z' }),
              managed({
                ImageId: 'ami-0ccccccccccccccc2',
                CreationDate: '2025-10-01T00:00:00.000Z',
                Tags: [
                  { Key: 'ManagedBy', Value: 'pulsar-ami' },
                  { Key: 'Validated', Value: 'true' },
                ],
              }),
            ],
          },
    );
    const result = await deleteAmi(clients, settings, ID, { keepSnapshots: false, dryRun: false });
    expect(result.latestRepublished).toBe('ami-0ccccccccccccccc2');
    expect(ssmMock.commandCalls(PutParameterCommand)[0]?.args[0].input).toMatchObject({
      Name: '/pulsar-ami/dev/latest-ami-id',
      Value: 'ami-0ccccccccccccccc2',
      Overwrite: true,
    });
  });

  it('unpublishes when no validated AMI is left', async () => {
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: ID } });
    ec2Mock
      .on(DescribeImagesCommand)
      .callsFake(async (input) => (input.ImageIds ? { Images: [managed()] } : { Images: [] }));
    const result = await deleteAmi(clients, settings, ID, { keepSnapshots: false, dryRun: false });
    expect(result.latestRepublished).toBeNull();
    expect(ssmMock.commandCalls(DeleteParameterCommand)).toHaveLength(1);
  });
});
