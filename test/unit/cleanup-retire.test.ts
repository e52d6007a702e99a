/**
 * Retiring one item (deprecate, disable, delete, an orphaned snapshot), each checked again
 * first; named errors for the machine's Retry; a retried delete; the report; the machine's plan;
 * restoring; and delete republishing a version's own parameter.
 */
import { AutoScalingClient, DescribeLaunchConfigurationsCommand } from '@aws-sdk/client-auto-scaling';
import {
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImageReferencesCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  DisableImageCommand,
  DisableImageDeprecationCommand,
  EC2Client,
  EnableImageCommand,
  EnableImageDeprecationCommand,
  type Image,
} from '@aws-sdk/client-ec2';
import {
  DeleteParameterCommand,
  GetParameterCommand,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { deleteAmi } from '../../functions/lib/ami-deletion';
import { restoreAmi } from '../../functions/lib/ami-restore';
import type { CleanupPlan } from '../../functions/lib/cleanup-plan';
import {
  deleteOrphanedSnapshot,
  deprecateAtFor,
  MAX_ITEMS_PER_RUN,
  machinePlan,
  reportCleanup,
  retireAmi,
  SnapshotInUseError,
} from '../../functions/lib/cleanup-retire';
import { AmiInUseError, AmiNotManagedError, AwsThrottledError } from '../../functions/lib/errors';
import { launchConfigurationLookup } from '../../functions/lib/launch-configurations';

const ec2Mock = mockClient(EC2Client);
const ssmMock = mockClient(SSMClient);
const asMock = mockClient(AutoScalingClient);
const clients = {
  ec2: new EC2Client({ region: 'us-west-2' }),
  ssm: new SSMClient({ region: 'us-west-2' }),
  autoScaling: new AutoScalingClient({ region: 'us-west-2' }),
};
const SETTINGS = {
  region: 'us-west-2',
  latestAmiParameter: '/pulsar-ami/dev/latest-ami-id',
  versionParameterPrefix: '/pulsar-ami/dev/versions',
  listPageSize: 1000,
  minAgeDays: 1,
  lastLaunchedWithinDays: 30,
  snapshotRetry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1, budgetMs: 50, sleep: async () => undefined },
};
const ID = 'ami-0aaaaaaaaaaaaaaa1';
const SNAP = 'snap-0aaaaaaaaaaaaaaa1';
const NOW = new Date('2026-03-01T10:15:20.000Z');

const ours = (extra: Partial<Image> = {}): Image => ({
  ImageId: ID,
  Name: 'pulsar-base-3.0.0-20250101000000',
  State: 'available',
  CreationDate: '2025-01-01T00:00:00.000Z',
  Architecture: 'x86_64',
  Tags: [
    { Key: 'ManagedBy', Value: 'pulsar-ami' },
    { Key: 'PulsarVersion', Value: '3.0.0' },
    { Key: 'Validated', Value: 'true' },
  ],
  BlockDeviceMappings: [{ Ebs: { SnapshotId: SNAP, VolumeSize: 8 } }],
  ...extra,
});

const notFound = (name: string) => Object.assign(new Error(name), { name, $fault: 'client' });

const changes = () => [
  ...ec2Mock.commandCalls(DeregisterImageCommand),
  ...ec2Mock.commandCalls(DeleteSnapshotCommand),
  ...ec2Mock.commandCalls(DisableImageCommand),
  ...ec2Mock.commandCalls(EnableImageDeprecationCommand),
  ...ec2Mock.commandCalls(CreateTagsCommand),
  ...ssmMock.commandCalls(PutParameterCommand),
  ...ssmMock.commandCalls(DeleteParameterCommand),
];

beforeEach(() => {
  ec2Mock.reset();
  ssmMock.reset();
  asMock.reset();
  ec2Mock.on(DescribeImagesCommand).resolves({ Images: [ours()] });
  ec2Mock.on(DescribeImageReferencesCommand).resolves({ ImageReferences: [] });
  ec2Mock.on(DescribeSnapshotsCommand).resolves({
    Snapshots: [{ SnapshotId: SNAP, VolumeSize: 8, Tags: [{ Key: 'ManagedBy', Value: 'pulsar-ami' }] }],
  });
  ssmMock.on(GetParameterCommand).rejects(notFound('ParameterNotFound'));
  asMock.on(DescribeLaunchConfigurationsCommand).resolves({ LaunchConfigurations: [] });
});

describe('retireAmi', () => {
  it('deprecates from the next whole minute, and disables, only when nothing keeps the AMI', async () => {
    const deprecated = await retireAmi(clients, SETTINGS, { imageId: ID, action: 'deprecate' }, NOW);
    expect(deprecated).toMatchObject({ outcome: 'done', detail: 'deprecated from 2026-03-01T10:16:00.000Z' });
    expect(ec2Mock.commandCalls(EnableImageDeprecationCommand)[0]?.args[0].input).toEqual({
      ImageId: ID,
      DeprecateAt: new Date('2026-03-01T10:16:00.000Z'),
    });
    const disabled = await retireAmi(clients, SETTINGS, { imageId: ID, action: 'disable' }, NOW);
    expect(disabled.outcome).toBe('done');
    expect(ec2Mock.commandCalls(DisableImageCommand)[0]?.args[0].input).toEqual({ ImageId: ID });
    expect(deprecateAtFor(new Date('2026-03-01T10:16:00.000Z')).toISOString()).toBe(
      '2026-03-01T10:17:00.000Z',
    );
  });

  it.each([
    [
      'published as the latest',
      () =>
        ssmMock
          .on(GetParameterCommand, { Name: SETTINGS.latestAmiParameter })
          .resolves({ Parameter: { Value: ID } }),
      'published as /pulsar-ami/dev/latest-ami-id; kept',
    ],
    [
      "published as its version's",
      () =>
        ssmMock
          .on(GetParameterCommand, { Name: '/pulsar-ami/dev/versions/3.0.0/latest-ami-id' })
          .resolves({ Parameter: { Value: ID } }),
      'published as /pulsar-ami/dev/versions/3.0.0/latest-ami-id; kept',
    ],
    [
      'protected',
      () =>
        ec2Mock
          .on(DescribeImagesCommand)
          .resolves({ Images: [ours({ DeregistrationProtection: 'enabled' })] }),
      'protected by EC2 deregistration protection (enabled); kept',
    ],
    [
      'in use by a launch configuration',
      () =>
        asMock.on(DescribeLaunchConfigurationsCommand).resolves({
          LaunchConfigurations: [
            {
              LaunchConfigurationName: 'web',
              ImageId: ID,
              LaunchConfigurationARN: 'arn:lc/web',
              InstanceType: 't3.micro',
              CreatedTime: new Date(),
            },
          ],
        }),
      'in use: Auto Scaling launch configuration web; kept',
    ],
    [
      'launched since the plan (EC2’s LastLaunchedTime, 2 days ago)',
      () =>
        ec2Mock
          .on(DescribeImagesCommand)
          .resolves({ Images: [ours({ LastLaunchedTime: '2026-02-27T10:15:20.000Z' })] }),
      'launched within 30 days (last 2026-02-27T10:15:20.000Z); kept',
    ],
    [
      'younger than the minimum age',
      () =>
        ec2Mock
          .on(DescribeImagesCommand)
          .resolves({ Images: [ours({ CreationDate: '2026-03-01T09:00:00.000Z' })] }),
      'younger than 1 day; kept',
    ],
    [
      'not this tool’s',
      () => ec2Mock.on(DescribeImagesCommand).resolves({ Images: [ours({ Name: 'ubuntu', Tags: [] })] }),
      'not a pulsar-ami image; left as it is',
    ],
    [
      'gone',
      () => ec2Mock.on(DescribeImagesCommand).rejects(notFound('InvalidAMIID.NotFound')),
      'already gone',
    ],
  ])('skips an AMI %s, for every action, changing nothing', async (_what, arrange, detail) => {
    arrange();
    for (const action of ['deprecate', 'disable', 'delete'] as const) {
      const retired = await retireAmi(clients, SETTINGS, { imageId: ID, action }, NOW);
      expect([action, retired.outcome, retired.detail]).toEqual([action, 'skipped', detail]);
    }
    expect(changes()).toEqual([]);
  });

  it('deletes through deleteAmi: deregistered, the snapshot deleted, the GiB reclaimed', async () => {
    const retired = await retireAmi(clients, SETTINGS, {
      imageId: ID,
      action: 'delete',
      snapshotIds: [SNAP],
      sizeGiB: 8,
    });
    expect(retired).toMatchObject({
      outcome: 'done',
      snapshots: { deleted: [SNAP], kept: [] },
      reclaimedGiB: 8,
      detail: 'deregistered; its 1 snapshot deleted',
    });
    expect(ec2Mock.commandCalls(DeregisterImageCommand)).toHaveLength(1);
  });

  it('says exactly what became of the snapshots: one kept untagged is not reported as deleted', async () => {
    const OTHER_SNAP = 'snap-0aaaaaaaaaaaaaaa2';
    ec2Mock.on(DescribeImagesCommand).resolves({
      Images: [
        ours({
          BlockDeviceMappings: [
            { Ebs: { SnapshotId: SNAP, VolumeSize: 8 } },
            { Ebs: { SnapshotId: OTHER_SNAP, VolumeSize: 8 } },
          ],
        }),
      ],
    });
    ec2Mock.on(DescribeSnapshotsCommand).resolves({
      Snapshots: [
        { SnapshotId: SNAP, VolumeSize: 8, Tags: [{ Key: 'ManagedBy', Value: 'pulsar-ami' }] },
        { SnapshotId: OTHER_SNAP, VolumeSize: 8 },
      ],
    });
    const retired = await retireAmi(clients, SETTINGS, {
      imageId: ID,
      action: 'delete',
      snapshotIds: [SNAP, OTHER_SNAP],
      sizeGiB: 16,
    });
    expect(retired).toMatchObject({
      outcome: 'done',
      snapshots: { deleted: [SNAP], kept: [OTHER_SNAP] },
      reclaimedGiB: 8,
      detail: `deregistered; 1 snapshot deleted; 1 kept: ${OTHER_SNAP} (not tagged ManagedBy=pulsar-ami: not deleted (check it and delete it by hand))`,
    });
    expect(ec2Mock.commandCalls(DeleteSnapshotCommand).map((c) => c.args[0].input.SnapshotId)).toEqual([
      SNAP,
    ]);
  });

  it('throws SnapshotInUseError when a snapshot stays in use (tagged OrphanedFrom), and a retry deletes it', async () => {
    ec2Mock.on(DeleteSnapshotCommand).rejectsOnce(notFound('InvalidSnapshot.InUse')).resolves({});
    const first = await retireAmi(clients, SETTINGS, {
      imageId: ID,
      action: 'delete',
      snapshotIds: [SNAP],
      sizeGiB: 8,
    }).catch((e) => e);
    expect(first).toBeInstanceOf(SnapshotInUseError);
    expect(first.name).toBe('SnapshotInUseError');
    expect(ec2Mock.commandCalls(CreateTagsCommand)[0]?.args[0].input).toEqual({
      Resources: [SNAP],
      Tags: [{ Key: 'OrphanedFrom', Value: ID }],
    });
    // The retry: the image is gone; its snapshot carries OrphanedFrom=<image> and no image uses it.
    ec2Mock.on(DescribeImagesCommand, { ImageIds: [ID] }).rejects(notFound('InvalidAMIID.NotFound'));
    ec2Mock
      .on(DescribeImagesCommand, { Filters: [{ Name: 'image-id', Values: [ID] }] })
      .resolves({ Images: [] });
    ec2Mock
      .on(DescribeImagesCommand, { Filters: [{ Name: 'block-device-mapping.snapshot-id', Values: [SNAP] }] })
      .resolves({ Images: [] });
    ec2Mock.on(DescribeSnapshotsCommand).resolves({
      Snapshots: [
        {
          SnapshotId: SNAP,
          VolumeSize: 8,
          Description: `Created by CreateImage(i-0abc) for ${ID}`,
          Tags: [
            { Key: 'ManagedBy', Value: 'pulsar-ami' },
            { Key: 'OrphanedFrom', Value: ID },
          ],
        },
      ],
    });
    const retried = await retireAmi(clients, SETTINGS, {
      imageId: ID,
      action: 'delete',
      snapshotIds: [SNAP],
      sizeGiB: 8,
    });
    expect(retried).toMatchObject({
      outcome: 'done',
      snapshots: { deleted: [SNAP], kept: [] },
      reclaimedGiB: 8,
    });
    expect(ec2Mock.commandCalls(DeregisterImageCommand)).toHaveLength(1);
  });

  it('lets throttling surface by name (AwsThrottledError) for the machine to retry', async () => {
    ec2Mock
      .on(DisableImageCommand)
      .rejects(Object.assign(new Error('slow down'), { name: 'RequestLimitExceeded', $fault: 'client' }));
    const error = await retireAmi(clients, SETTINGS, { imageId: ID, action: 'disable' }, NOW).catch((e) => e);
    expect(error).toBeInstanceOf(AwsThrottledError);
    expect(error.name).toBe('AwsThrottledError');
  });
});

describe('deleteOrphanedSnapshot', () => {
  const CREATED = `Created by CreateImage(i-0abc) for ${ID}`;
  const tagged = (tags: Record<string, string>, description: string = CREATED) =>
    ec2Mock.on(DescribeSnapshotsCommand).resolves({
      Snapshots: [
        {
          SnapshotId: SNAP,
          VolumeSize: 20,
          Description: description,
          Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
        },
      ],
    });

  it('deletes one tagged ManagedBy=pulsar-ami and OrphanedFrom, made for that AMI, which is gone, and no image uses', async () => {
    tagged({ ManagedBy: 'pulsar-ami', OrphanedFrom: ID });
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [] });
    expect(await deleteOrphanedSnapshot(clients.ec2, { snapshotId: SNAP })).toEqual({
      snapshotId: SNAP,
      outcome: 'done',
      detail: `deleted (orphaned from ${ID})`,
      reclaimedGiB: 20,
    });
    // The AMI named asked about by an image-id filter: none is gone, not an error.
    expect(
      ec2Mock.commandCalls(DescribeImagesCommand).map((c) => c.args[0].input.Filters?.[0]?.Name),
    ).toEqual(['image-id', 'block-device-mapping.snapshot-id']);
  });

  it.each([
    [{ OrphanedFrom: ID }, {}, 'not tagged ManagedBy=pulsar-ami; kept'],
    [{ ManagedBy: 'pulsar-ami' }, {}, 'not tagged OrphanedFrom; kept'],
    [
      { ManagedBy: 'pulsar-ami', OrphanedFrom: 'ami-0bbbbbbbbbbbbbbb1' },
      { orphanedFrom: ID },
      `not tagged OrphanedFrom=${ID} any more; kept`,
    ],
    [
      { ManagedBy: 'pulsar-ami', OrphanedFrom: ID },
      { heldBy: 'ami-0ccccccccccccccc1' },
      'in use by ami-0ccccccccccccccc1; kept',
    ],
    [
      { ManagedBy: 'pulsar-ami', OrphanedFrom: 'ami-0123456789abcdef0' },
      { orphanedFrom: 'ami-0123456789abcdef0' },
      `its EC2 description names ${ID}, not ami-0123456789abcdef0 (the OrphanedFrom tag); kept`,
    ],
    [
      { ManagedBy: 'pulsar-ami', OrphanedFrom: ID },
      { description: 'kept by hand' },
      'its EC2 description names no AMI (not made by CreateImage or CopyImage); kept',
    ],
    [
      { ManagedBy: 'pulsar-ami', OrphanedFrom: ID },
      { exists: 'disabled' },
      `${ID} still exists (disabled); kept`,
    ],
  ])('leaves one tagged %o alone', async (tags, extra, detail) => {
    const { description, exists } = extra as { description?: string; exists?: string };
    tagged(tags, description);
    const heldBy = (extra as { heldBy?: string }).heldBy;
    ec2Mock.on(DescribeImagesCommand).resolves({
      Images: heldBy ? [{ ImageId: heldBy, BlockDeviceMappings: [{ Ebs: { SnapshotId: SNAP } }] }] : [],
    });
    if (exists) {
      ec2Mock
        .on(DescribeImagesCommand, { Filters: [{ Name: 'image-id', Values: [ID] }] })
        .resolves({ Images: [{ ImageId: ID, State: exists as Image['State'] }] });
    }
    const { orphanedFrom } = extra as { orphanedFrom?: string };
    const result = await deleteOrphanedSnapshot(clients.ec2, {
      snapshotId: SNAP,
      ...(orphanedFrom ? { orphanedFrom } : {}),
    });
    expect([result.outcome, result.detail]).toEqual(['skipped', detail]);
    expect(ec2Mock.commandCalls(DeleteSnapshotCommand)).toEqual([]);
  });

  it('throws SnapshotInUseError when EC2 still holds it, and says so when it is gone', async () => {
    tagged({ ManagedBy: 'pulsar-ami', OrphanedFrom: ID });
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [] });
    ec2Mock.on(DeleteSnapshotCommand).rejects(notFound('InvalidSnapshot.InUse'));
    await expect(deleteOrphanedSnapshot(clients.ec2, { snapshotId: SNAP })).rejects.toBeInstanceOf(
      SnapshotInUseError,
    );
    ec2Mock.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
    expect((await deleteOrphanedSnapshot(clients.ec2, { snapshotId: SNAP })).detail).toBe('already gone');
  });
});

describe('the report and the plan the machine carries', () => {
  it('counts outcomes and sums what was deleted', () => {
    expect(
      reportCleanup({
        results: [
          { outcome: 'done', reclaimedGiB: 8 },
          { outcome: 'done', reclaimedGiB: 0 },
          { outcome: 'skipped', reclaimedGiB: 0 },
          { outcome: 'failed', reclaimedGiB: 0 },
        ],
        orphanedSnapshotResults: [
          { outcome: 'done', reclaimedGiB: 12 },
          { outcome: 'failed', reclaimedGiB: 0 },
        ],
        pricePerGbMonth: 0.05,
        deferred: 3,
      }),
    ).toEqual({
      retired: 2,
      failed: 1,
      skipped: 1,
      orphanedSnapshotsDeleted: 1,
      orphanedSnapshotsFailed: 1,
      deferred: 3,
      reclaimedGiB: 20,
      monthlySavingUsd: 1,
    });
  });

  const plan = (retire: number, keep: number): CleanupPlan => {
    const decision = (n: number, action: 'keep' | 'delete') => ({
      imageId: `ami-0${n.toString(16).padStart(16, '0')}`,
      name: `pulsar-base-3.0.0-${'x'.repeat(200)}`,
      version: '3.0.0',
      createdAt: '2026-01-01T00:00:00.000Z',
      state: 'available',
      validated: true,
      action,
      reason: action === 'keep' ? 'newest 3' : 'beyond the newest 3',
      reasons: [],
      snapshotIds: [`snap-0${n.toString(16).padStart(16, '0')}`],
      sizeGiB: 8,
    });
    return {
      region: 'us-west-2',
      generatedAt: NOW.toISOString(),
      settings: {
        region: 'us-west-2',
        keep: 3,
        minValidated: 2,
        minAgeDays: 1,
        lastLaunchedWithinDays: 30,
        deprecateAfterDays: null,
        disableAfterDays: null,
        deleteAfterDays: null,
        pricePerGbMonth: 0.05,
      },
      decisions: [
        ...Array.from({ length: keep }, (_, i) => decision(i + 1, 'keep')),
        ...Array.from({ length: retire }, (_, i) => decision(keep + i + 1, 'delete')),
      ],
      orphanedSnapshots: [],
      totals: {
        images: keep + retire,
        keep,
        deprecate: 0,
        disable: 0,
        delete: retire,
        orphanedSnapshots: 0,
        reclaimedGiB: 0,
        monthlySavingUsd: 0,
      },
    };
  };

  it('carries a small plan whole, its items oldest first', () => {
    const small = machinePlan(plan(2, 3));
    expect(small.plan.decisions).toHaveLength(5);
    expect(small.plan.keptDecisionsOmitted).toBeUndefined();
    expect(small.retirements.map((r) => r.imageId)).toEqual(
      ['ami-000000000000000005', 'ami-000000000000000004'].map((s) => s.replace('ami-00', 'ami-0')),
    );
    expect(small.retirements[0]).toMatchObject({ action: 'delete', sizeGiB: 8 });
    expect(small.deferred).toBe(0);
  });

  it('leaves the kept decisions out of a large plan, and at most MAX_ITEMS_PER_RUN items for a run', () => {
    const large = machinePlan(plan(MAX_ITEMS_PER_RUN + 50, 600));
    expect(large.retirements).toHaveLength(MAX_ITEMS_PER_RUN);
    expect(large.deferred).toBe(50);
    expect(large.plan.keptDecisionsOmitted).toBe(600);
    expect(large.plan.decisions.every((d) => d.action !== 'keep')).toBe(true);
    expect(JSON.stringify(large).length).toBeLessThan(256 * 1024 - 60_000);
  });
});

describe('restoreAmi', () => {
  it('enables a disabled AMI and cancels its deprecation', async () => {
    ec2Mock
      .on(DescribeImagesCommand)
      .resolves({ Images: [ours({ State: 'disabled', DeprecationTime: '2026-02-01T00:00:00Z' })] });
    const restored = await restoreAmi(clients, ID, 'us-west-2');
    expect(restored).toMatchObject({
      enabled: true,
      deprecationCancelled: true,
      ami: { imageId: ID, state: 'available' },
    });
    expect(ec2Mock.commandCalls(EnableImageCommand)[0]?.args[0].input).toEqual({ ImageId: ID });
    expect(ec2Mock.commandCalls(DisableImageDeprecationCommand)[0]?.args[0].input).toEqual({ ImageId: ID });
  });

  it('cancels only the deprecation of an available AMI; leaves one neither disabled nor deprecated alone', async () => {
    ec2Mock
      .on(DescribeImagesCommand)
      .resolves({ Images: [ours({ DeprecationTime: '2026-02-01T00:00:00Z' })] });
    expect(await restoreAmi(clients, ID, 'us-west-2')).toMatchObject({
      enabled: false,
      deprecationCancelled: true,
    });
    expect(ec2Mock.commandCalls(EnableImageCommand)).toEqual([]);
    ec2Mock.reset();
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [ours()] });
    expect(await restoreAmi(clients, ID, 'us-west-2')).toMatchObject({
      enabled: false,
      deprecationCancelled: false,
    });
    expect(ec2Mock.calls().map((c) => c.args[0].constructor.name)).toEqual(['DescribeImagesCommand']);
  });

  it('refuses an AMI that is not this tool’s, changing nothing', async () => {
    ec2Mock
      .on(DescribeImagesCommand)
      .resolves({ Images: [ours({ Name: 'ubuntu', Tags: [], State: 'disabled' })] });
    await expect(restoreAmi(clients, ID, 'us-west-2')).rejects.toBeInstanceOf(AmiNotManagedError);
    expect(ec2Mock.calls()).toHaveLength(1);
  });
});

describe('deleteAmi and the version parameters', () => {
  const NEWER = 'ami-0bbbbbbbbbbbbbbb1';
  const arrange = (architecture: 'x86_64' | 'arm64', parameter: string, remaining: Image[]) => {
    ec2Mock
      .on(DescribeImagesCommand, { ImageIds: [ID] })
      .resolves({ Images: [ours({ Architecture: architecture })] });
    ec2Mock
      .on(DescribeImagesCommand, { Filters: [{ Name: 'block-device-mapping.snapshot-id', Values: [SNAP] }] })
      .resolves({ Images: [] });
    ec2Mock
      .on(DescribeImagesCommand, {
        Filters: [
          { Name: 'tag:ManagedBy', Values: ['pulsar-ami'] },
          { Name: 'state', Values: ['available'] },
          { Name: 'architecture', Values: [architecture] },
          { Name: 'tag:PulsarVersion', Values: ['3.0.0'] },
          { Name: 'tag:Validated', Values: ['true'] },
        ],
      })
      .resolves({ Images: remaining });
    ssmMock.on(GetParameterCommand, { Name: parameter }).resolves({ Parameter: { Value: ID } });
  };

  it.each([
    ['x86_64', '/pulsar-ami/dev/versions/3.0.0/latest-ami-id'],
    ['arm64', '/pulsar-ami/dev/versions/3.0.0/arm64/latest-ami-id'],
  ] as const)(
    'republishes the %s version parameter to the newest validated AMI of that version left',
    async (architecture, parameter) => {
      arrange(architecture, parameter, [
        ours({ ImageId: ID, Architecture: architecture }),
        ours({ ImageId: NEWER, Architecture: architecture, CreationDate: '2025-06-01T00:00:00.000Z' }),
        ours({
          ImageId: 'ami-0ccccccccccccccc1',
          Architecture: architecture,
          CreationDate: '2025-03-01T00:00:00.000Z',
        }),
      ]);
      const deleted = await deleteAmi(clients, SETTINGS, ID, { keepSnapshots: false, dryRun: false });
      expect(deleted.versionRepublished).toEqual({ parameter, imageId: NEWER });
      expect(ssmMock.commandCalls(PutParameterCommand).map((c) => c.args[0].input)).toEqual([
        { Name: parameter, Value: NEWER, Type: 'String', DataType: 'aws:ec2:image', Overwrite: true },
      ]);
    },
  );

  it('deletes the version parameter when no validated AMI of the version is left; a dry run only says so', async () => {
    const parameter = '/pulsar-ami/dev/versions/3.0.0/latest-ami-id';
    arrange('x86_64', parameter, [ours()]);
    const dry = await deleteAmi(clients, SETTINGS, ID, { keepSnapshots: false, dryRun: true });
    expect(dry.versionRepublished).toEqual({ parameter, imageId: null });
    expect(ssmMock.commandCalls(DeleteParameterCommand)).toEqual([]);
    const deleted = await deleteAmi(clients, SETTINGS, ID, { keepSnapshots: false, dryRun: false });
    expect(deleted.versionRepublished).toEqual({ parameter, imageId: null });
    expect(ssmMock.commandCalls(DeleteParameterCommand).map((c) => c.args[0].input)).toEqual([
      { Name: parameter },
    ]);
  });

  it('leaves a version parameter naming another AMI as it is (one read)', async () => {
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: NEWER } });
    ec2Mock.on(DescribeImagesCommand, { ImageIds: [ID] }).resolves({ Images: [ours()] });
    ec2Mock
      .on(DescribeImagesCommand, { Filters: [{ Name: 'block-device-mapping.snapshot-id', Values: [SNAP] }] })
      .resolves({ Images: [] });
    const deleted = await deleteAmi(clients, SETTINGS, ID, { keepSnapshots: false, dryRun: false });
    expect(deleted.versionRepublished).toBeUndefined();
    expect([
      ...ssmMock.commandCalls(PutParameterCommand),
      ...ssmMock.commandCalls(DeleteParameterCommand),
    ]).toEqual([]);
  });

  it('refuses an AMI a launch configuration names, deleting nothing', async () => {
    asMock.on(DescribeLaunchConfigurationsCommand).resolves({
      LaunchConfigurations: [
        {
          LaunchConfigurationName: 'old-asg-lc',
          ImageId: ID,
          LaunchConfigurationARN:
            'arn:aws:autoscaling:us-west-2:1:launchConfiguration:u:launchConfigurationName/old-asg-lc',
          InstanceType: 't3.micro',
          CreatedTime: new Date(),
        },
      ],
    });
    const withLookup = { ...clients, launchConfigurations: launchConfigurationLookup(clients.autoScaling) };
    const error = await deleteAmi(withLookup, SETTINGS, ID, { keepSnapshots: false, dryRun: false }).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(AmiInUseError);
    expect(error.message).toContain('Auto Scaling launch configuration old-asg-lc');
    expect(error.references[0]).toMatchObject({ kind: 'launch-configuration', id: 'old-asg-lc' });
    expect(changes()).toEqual([]);
  });
});
