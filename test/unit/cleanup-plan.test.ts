/**
 * The cleanup rules, table-driven (decideCleanup, no AWS), and planCleanup against fake clients:
 * what it reads, that it changes nothing, and that the in-use question is asked only of the
 * images the other rules would retire.
 */

import { AutoScalingClient, DescribeLaunchConfigurationsCommand } from '@aws-sdk/client-auto-scaling';
import {
  DescribeImageReferencesCommand,
  DescribeImagesCommand,
  DescribeLaunchTemplatesCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  type Image,
} from '@aws-sdk/client-ec2';
import { GetParameterCommand, GetParametersByPathCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { toAmi } from '../../functions/lib/ami';
import {
  type CleanupDecision,
  type CleanupFacts,
  type CleanupImage,
  type CleanupSettings,
  cleanupImageOf,
  cleanupSettings,
  cleanupTotals,
  decideCleanup,
  planCleanup,
  planOrphanedSnapshots,
  publishedAmis,
  versionParameterPhrase,
  withReclaim,
} from '../../functions/lib/cleanup-plan';
import { loadConfig } from '../../functions/lib/config';
import type { ImageReference } from '../../functions/lib/image-references';
import { amiIdOfParameterValue, readPublishedLatest } from '../../functions/lib/latest-ami';
import { amiOfSnapshotDescription } from '../../functions/lib/orphaned-snapshots';

const NOW = new Date('2026-03-01T00:00:00.000Z');
const daysAgo = (n: number) => new Date(NOW.getTime() - n * 86_400_000).toISOString();

const SETTINGS: CleanupSettings = {
  region: 'us-west-2',
  keep: 3,
  minValidated: 2,
  minAgeDays: 1,
  lastLaunchedWithinDays: 30,
  deprecateAfterDays: null,
  disableAfterDays: null,
  deleteAfterDays: null,
  pricePerGbMonth: 0.05,
  latestAmiParameter: '/pulsar-ami/dev/latest-ami-id',
  versionParameterPrefix: '/pulsar-ami/dev/versions',
  listPageSize: 1000,
  buildStateMachineName: 'pulsar-ami-dev-build-ami',
};

let counter = 0;
const id = (n: number) => `ami-0${n.toString(16).padStart(16, '0')}`;

/** An image `age` days old, validated unless said otherwise. */
function image(age: number, extra: Partial<CleanupImage> = {}): CleanupImage {
  counter += 1;
  return {
    imageId: id(counter),
    name: `pulsar-base-3.0.${counter}-x`,
    version: `3.0.${counter}`,
    createdAt: daysAgo(age),
    state: 'available',
    validated: true,
    protection: null,
    snapshotIds: [`snap-0${counter.toString(16).padStart(16, '0')}`],
    sizeGiB: 8,
    lastLaunchedTime: null,
    deprecationTime: null,
    ...extra,
  };
}

const noFacts = (): CleanupFacts => ({ published: new Map(), references: new Map() });

/** [imageId, action, reason] in the decisions' order. */
const outcome = (images: CleanupImage[], facts = noFacts(), settings = SETTINGS) =>
  decideCleanup(images, facts, settings, NOW).map((d) => [d.imageId, d.action, d.reason]);

const ref = (detail: string, kind: ImageReference['kind'] = 'instance'): ImageReference => ({
  kind,
  arn: `arn:${detail}`,
  id: detail,
  detail,
});

beforeEach(() => {
  counter = 0;
});

describe('decideCleanup: the rules', () => {
  it('keeps the newest 3 and deletes the rest, newest first, whatever order they come in', () => {
    const images = [image(50), image(10), image(40), image(20), image(30)];
    expect(outcome(images)).toEqual([
      [images[1]?.imageId, 'keep', 'newest 3'],
      [images[3]?.imageId, 'keep', 'newest 3'],
      [images[4]?.imageId, 'keep', 'newest 3'],
      [images[2]?.imageId, 'delete', 'beyond the newest 3'],
      [images[0]?.imageId, 'delete', 'beyond the newest 3'],
    ]);
  });

  it('counts the newest N per architecture: arm64 builds never push x86_64 images out', () => {
    const x86 = [image(10), image(20), image(30), image(40)];
    const arm = [image(5, { architecture: 'arm64' }), image(6, { architecture: 'arm64' })];
    const decisions = decideCleanup([...x86, ...arm], noFacts(), SETTINGS, NOW);
    const byId = new Map(decisions.map((d) => [d.imageId, d]));
    expect(arm.map((i) => byId.get(i.imageId)?.reason)).toEqual(['newest 3 arm64', 'newest 3 arm64']);
    expect(x86.map((i) => byId.get(i.imageId)?.action)).toEqual(['keep', 'keep', 'keep', 'delete']);
  });

  it('gives none of the newest N to a pending build or a failed image', () => {
    const images = [
      image(1.2, { state: 'pending' }),
      image(1.5, { state: 'failed', validated: null }),
      image(2),
      image(3),
      image(4),
      image(5),
    ];
    expect(outcome(images)).toEqual([
      [images[0]?.imageId, 'keep', 'still being created (pending)'],
      [images[1]?.imageId, 'delete', 'failed (EC2 could not create it)'],
      [images[2]?.imageId, 'keep', 'newest 3'],
      [images[3]?.imageId, 'keep', 'newest 3'],
      [images[4]?.imageId, 'keep', 'newest 3'],
      [images[5]?.imageId, 'delete', 'beyond the newest 3'],
    ]);
  });

  it('gives no place to a disabled AMI (it cannot be launched), keeps one newer than the Nth, and never counts it as one of the two validated', () => {
    const images = [
      image(1, { state: 'disabled', validated: true }),
      image(2, { validated: false }),
      image(3, { state: 'disabled', validated: true }),
      image(4, { validated: true }),
      image(5, { validated: false }),
      image(6, { state: 'disabled', validated: true }),
      image(7, { validated: true }),
      image(8, { validated: true }),
    ];
    expect(outcome(images)).toEqual([
      [images[0]?.imageId, 'keep', 'disabled, newer than the newest 3 available'],
      [images[1]?.imageId, 'keep', 'newest 3'],
      [images[2]?.imageId, 'keep', 'disabled, newer than the newest 3 available'],
      [images[3]?.imageId, 'keep', 'newest 3'],
      [images[4]?.imageId, 'keep', 'newest 3'],
      // Beyond the newest 3 available: a disabled one is retired like any other.
      [images[5]?.imageId, 'delete', 'beyond the newest 3'],
      // Two validated that can be launched: 4 days old (newest 3) and this one.
      [images[6]?.imageId, 'keep', 'one of the 2 newest validated'],
      [images[7]?.imageId, 'delete', 'beyond the newest 3'],
    ]);
  });

  it('keeps everything when N is larger than the count', () => {
    const images = [image(10), image(20)];
    expect(outcome(images, noFacts(), { ...SETTINGS, keep: 5 }).map((d) => d[1])).toEqual(['keep', 'keep']);
  });

  it('never keeps fewer than two validated: the newest validated ones beyond N stay', () => {
    const images = [
      image(10, { validated: false }),
      image(20, { validated: null }),
      image(30, { validated: true }),
      image(40, { validated: false }),
      image(50, { validated: true }),
      image(60, { validated: true }),
    ];
    expect(outcome(images)).toEqual([
      [images[0]?.imageId, 'keep', 'newest 3'],
      [images[1]?.imageId, 'keep', 'newest 3'],
      [images[2]?.imageId, 'keep', 'newest 3'],
      [images[3]?.imageId, 'delete', 'beyond the newest 3'],
      [images[4]?.imageId, 'keep', 'one of the 2 newest validated'],
      [images[5]?.imageId, 'delete', 'beyond the newest 3'],
    ]);
  });

  it('counts a validated AMI kept for another reason (in use) toward the two, and a failed one not at all', () => {
    const images = [
      image(10, { validated: false }),
      image(20, { validated: false }),
      image(30, { validated: false }),
      image(40, { validated: true, state: 'failed' }),
      image(50, { validated: true }),
      image(60, { validated: true }),
      image(70, { validated: true }),
    ];
    const facts = { ...noFacts(), references: new Map([[images[6]?.imageId ?? '', [ref('instance i-1')]]]) };
    expect(outcome(images, facts).slice(3)).toEqual([
      [images[3]?.imageId, 'delete', 'failed (EC2 could not create it)'],
      [images[4]?.imageId, 'keep', 'one of the 2 newest validated'],
      [images[5]?.imageId, 'delete', 'beyond the newest 3'],
      [images[6]?.imageId, 'keep', 'in use: instance i-1'],
    ]);
  });

  it('keeps every published AMI: the account latest and each version parameter, x86_64 and arm64', () => {
    const images = [image(1.5), image(2), image(3), image(4), image(5, { architecture: 'arm64' }), image(6)];
    const published = new Map([
      [images[3]?.imageId ?? '', ['published latest']],
      [images[5]?.imageId ?? '', ['published latest of 3.0.6']],
    ]);
    const decisions = decideCleanup(images, { ...noFacts(), published }, SETTINGS, NOW);
    expect(decisions.map((d) => [d.action, d.reason])).toEqual([
      ['keep', 'newest 3'],
      ['keep', 'newest 3'],
      ['keep', 'newest 3'],
      ['keep', 'published latest'],
      ['keep', 'newest 3 arm64'],
      ['keep', 'published latest of 3.0.6'],
    ]);
  });

  it('keeps another stage’s images, which take none of this stage’s newest N or validated places', () => {
    const prod = { buildMachine: 'pulsar-ami-prod-build-ami' };
    const images = [
      image(1.5, prod),
      image(2, prod),
      image(3, { buildMachine: 'pulsar-ami-dev-build-ami' }),
      image(4, prod),
      image(5, { validated: false }),
      image(6, { validated: false, buildMachine: 'SomeoneElsesMachine' }),
      image(7),
      image(8),
      image(9),
    ];
    expect(outcome(images, noFacts(), { ...SETTINGS, keep: 3, minValidated: 2 })).toEqual([
      [images[0]?.imageId, 'keep', 'built by another stage (pulsar-ami-prod-build-ami)'],
      [images[1]?.imageId, 'keep', 'built by another stage (pulsar-ami-prod-build-ami)'],
      [images[2]?.imageId, 'keep', 'newest 3'],
      [images[3]?.imageId, 'keep', 'built by another stage (pulsar-ami-prod-build-ami)'],
      [images[4]?.imageId, 'keep', 'newest 3'],
      // A machine that is no stage's BuildAmi says nothing: the image is this stage's.
      [images[5]?.imageId, 'keep', 'newest 3'],
      // Only one validated image of this stage is kept so far (the 3rd): the newest other one joins it.
      [images[6]?.imageId, 'keep', 'one of the 2 newest validated'],
      [images[7]?.imageId, 'delete', 'beyond the newest 3'],
      [images[8]?.imageId, 'delete', 'beyond the newest 3'],
    ]);
    // The same images with no stage named: the newest 3 are taken by the first three.
    const unnamed = images.map(({ buildMachine: _m, ...rest }) => rest);
    expect(outcome(unnamed).map(([, action]) => action)).toEqual([
      'keep',
      'keep',
      'keep',
      'delete',
      'delete',
      'delete',
      'delete',
      'delete',
      'delete',
    ]);
  });

  it.each([
    ['an instance', ref('instance i-0123', 'instance')],
    ['a launch template version', ref('launch template web (lt-1) version 3 (default)', 'launch-template')],
    ["another application's parameter", ref('SSM parameter /app/ami', 'ssm-parameter')],
    ['an Image Builder recipe', ref('Image Builder image recipe r/1.0.0', 'image-recipe')],
    ['a launch configuration', ref('Auto Scaling launch configuration web-lc', 'launch-configuration')],
  ])('keeps an AMI in use by %s, naming it', (_kind, reference) => {
    const images = [image(1.5), image(2), image(3), image(4)];
    const references = new Map([[images[3]?.imageId ?? '', [reference]]]);
    const [last] = decideCleanup(images, { ...noFacts(), references }, SETTINGS, NOW).slice(-1);
    expect(last).toMatchObject({ action: 'keep', reason: `in use: ${reference.detail}` });
  });

  it('keeps AMIs launched within the last 30 days, protected, younger than the minimum age, or pending', () => {
    const images = [
      image(2),
      image(3),
      image(4),
      image(40, { lastLaunchedTime: daysAgo(29) }),
      image(41, { lastLaunchedTime: daysAgo(31) }),
      image(42, { protection: 'the Protected=true tag' }),
      image(43, { protection: 'EC2 deregistration protection (enabled)' }),
      image(44, { state: 'pending' }),
    ];
    // Younger than the minimum age, though beyond the newest 3 of a larger batch:
    const young = image(0.5);
    const decisions = decideCleanup([...images, young], noFacts(), { ...SETTINGS, keep: 1 }, NOW);
    expect(decisions.map((d) => [d.imageId, d.action, d.reason])).toEqual([
      [young.imageId, 'keep', 'newest 1'],
      // Validated ones kept for other reasons below make the two already.
      [images[0]?.imageId, 'delete', 'beyond the newest 1'],
      [images[1]?.imageId, 'delete', 'beyond the newest 1'],
      [images[2]?.imageId, 'delete', 'beyond the newest 1'],
      [images[3]?.imageId, 'keep', `launched within 30 days (last ${daysAgo(29)})`],
      [images[4]?.imageId, 'delete', 'beyond the newest 1'],
      [images[5]?.imageId, 'keep', 'protected by the Protected=true tag'],
      [images[6]?.imageId, 'keep', 'protected by EC2 deregistration protection (enabled)'],
      [images[7]?.imageId, 'keep', 'still being created (pending)'],
    ]);
    const youngOnly = decideCleanup(
      [image(0.1), image(0.5, { validated: false })],
      noFacts(),
      { ...SETTINGS, keep: 1 },
      NOW,
    );
    expect(youngOnly[1]).toMatchObject({ action: 'keep', reasons: ['younger than 1 day'] });
  });

  it('lists every reason that applies, the first as the reason', () => {
    const [a] = [image(0.1, { protection: 'the Protected=true tag', lastLaunchedTime: daysAgo(1) })];
    const facts = {
      published: new Map([[a?.imageId ?? '', ['published latest']]]),
      references: new Map([[a?.imageId ?? '', [ref('instance i-9')]]]),
    };
    const [decision] = decideCleanup([a as CleanupImage], facts, SETTINGS, NOW);
    expect(decision?.reasons).toEqual([
      'newest 3',
      'published latest',
      'protected by the Protected=true tag',
      'in use: instance i-9',
      'younger than 1 day',
      `launched within 30 days (last ${daysAgo(1)})`,
    ]);
    expect(decision?.reason).toBe('newest 3');
  });

  describe('stages (deprecate 30, disable 60, delete 90 days)', () => {
    const staged = {
      ...SETTINGS,
      keep: 1,
      minValidated: 0,
      deprecateAfterDays: 30,
      disableAfterDays: 60,
      deleteAfterDays: 90,
    };
    it.each([
      [10, {}, 'keep', 'beyond the newest 1; deprecated at 30 days old'],
      [45, {}, 'deprecate', 'beyond the newest 1: deprecate after 30 days'],
      [
        45,
        { deprecationTime: daysAgo(2) },
        'keep',
        'beyond the newest 1; deprecated, disabled at 60 days old',
      ],
      [70, { deprecationTime: daysAgo(2) }, 'disable', 'beyond the newest 1: disable after 60 days'],
      [70, {}, 'disable', 'beyond the newest 1: disable after 60 days'],
      [70, { state: 'disabled' }, 'keep', 'beyond the newest 1; disabled, deleted at 90 days old'],
      [70, { state: 'failed' }, 'delete', 'failed (EC2 could not create it)'],
      [100, { state: 'disabled' }, 'delete', 'beyond the newest 1: delete after 90 days'],
      [100, {}, 'delete', 'beyond the newest 1: delete after 90 days'],
    ] as const)('an image %d days old (%o): %s', (age, extra, action, reason) => {
      const decisions = decideCleanup([image(1.5), image(age, extra)], noFacts(), staged, NOW);
      expect(decisions[1]).toMatchObject({ action, reason });
    });

    it('only the stages set apply: deprecate alone never deletes; delete alone waits for its age', () => {
      const deprecateOnly = { ...staged, disableAfterDays: null, deleteAfterDays: null };
      expect(decideCleanup([image(1.5), image(400)], noFacts(), deprecateOnly, NOW)[1]?.action).toBe(
        'deprecate',
      );
      const deleteOnly = { ...staged, deprecateAfterDays: null, disableAfterDays: null };
      const [, young, old] = decideCleanup([image(1.5), image(50), image(100)], noFacts(), deleteOnly, NOW);
      expect([young?.action, young?.reason]).toEqual(['keep', 'beyond the newest 1; deleted at 90 days old']);
      expect(old?.action).toBe('delete');
    });
  });

  it('totals count each action and what deleting reclaims at the price, rounded to cents', () => {
    const images = [image(2), image(3), image(4), image(5, { sizeGiB: 8 }), image(6, { sizeGiB: 30 })];
    const decisions = decideCleanup(images, noFacts(), SETTINGS, NOW);
    const orphaned = [
      { snapshotId: 'snap-1', orphanedFrom: 'ami-1', sizeGiB: 20, action: 'delete' as const, reason: '' },
      { snapshotId: 'snap-2', orphanedFrom: 'ami-1', sizeGiB: 99, action: 'keep' as const, reason: '' },
    ];
    expect(cleanupTotals(decisions, orphaned, 0.033)).toEqual({
      images: 5,
      keep: 3,
      deprecate: 0,
      disable: 0,
      delete: 2,
      orphanedSnapshots: 1,
      reclaimedGiB: 58,
      monthlySavingUsd: 1.91,
    });
  });
});

describe('cleanupImageOf and the settings', () => {
  it('sums the EBS volume sizes, keeps LastLaunchedTime and DeprecationTime, and knows only this tool’s images', () => {
    const ours: Image = {
      ImageId: id(1),
      Name: 'pulsar-base-3.0.0-20260101000000',
      State: 'available',
      CreationDate: '2026-01-01T00:00:00.000Z',
      LastLaunchedTime: '2026-02-01T00:00:00Z',
      DeprecationTime: '2026-02-02T00:00:00Z',
      Tags: [{ Key: 'ManagedBy', Value: 'pulsar-ami' }],
      BlockDeviceMappings: [
        { DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-0aaaaaaaaaaaaaaa1', VolumeSize: 8 } },
        { DeviceName: '/dev/xvdb', Ebs: { SnapshotId: 'snap-0aaaaaaaaaaaaaaa2', VolumeSize: 100 } },
        { DeviceName: '/dev/sdc', VirtualName: 'ephemeral0' },
      ],
    };
    const ami = toAmi(ours, null);
    expect(ami && cleanupImageOf(ours, ami)).toMatchObject({
      sizeGiB: 108,
      snapshotIds: ['snap-0aaaaaaaaaaaaaaa1', 'snap-0aaaaaaaaaaaaaaa2'],
      lastLaunchedTime: '2026-02-01T00:00:00Z',
      deprecationTime: '2026-02-02T00:00:00Z',
    });
    expect(toAmi({ ...ours, Name: 'ubuntu-custom', Tags: [] }, null)).toBeNull();
    const built = {
      ...ours,
      Tags: [
        { Key: 'ManagedBy', Value: 'pulsar-ami' },
        {
          Key: 'BuildExecutionArn',
          Value: 'arn:aws:states:us-west-2:123456789012:execution:pulsar-ami-prod-build-ami:b1',
        },
      ],
    };
    const builtAmi = toAmi(built, null);
    expect(builtAmi && cleanupImageOf(built, builtAmi).buildMachine).toBe('pulsar-ami-prod-build-ami');
    expect(ami && cleanupImageOf(ours, ami)).not.toHaveProperty('buildMachine');
    expect(toAmi({ ...ours, Tags: [{ Key: 'ManagedBy', Value: 'other-tool' }] }, null)).toBeNull();
  });

  it('reads the defaults from the environment and takes the request’s keep', () => {
    const config = loadConfig({ STAGE: 'dev', CLEANUP_KEEP: '5', CLEANUP_DELETE_AFTER_DAYS: '90' });
    expect(cleanupSettings(config)).toMatchObject({
      keep: 5,
      minValidated: 2,
      minAgeDays: 1,
      lastLaunchedWithinDays: 30,
      deprecateAfterDays: null,
      disableAfterDays: null,
      deleteAfterDays: 90,
      pricePerGbMonth: 0.05,
      latestAmiParameter: '/pulsar-ami/dev/latest-ami-id',
      versionParameterPrefix: '/pulsar-ami/dev/versions',
    });
    expect(cleanupSettings(config, { keep: 7 }).keep).toBe(7);
    expect(() => loadConfig({ CLEANUP_KEEP: '0' })).toThrow(/CLEANUP_KEEP/);
    expect(() =>
      loadConfig({ CLEANUP_DEPRECATE_AFTER_DAYS: '60', CLEANUP_DISABLE_AFTER_DAYS: '30' }),
    ).toThrow(/must not decrease/);
  });

  it('reads version parameter names, x86_64 and arm64, and nothing else under the prefix', () => {
    const prefix = '/pulsar-ami/dev/versions';
    expect(versionParameterPhrase(prefix, `${prefix}/3.0.0/latest-ami-id`)).toBe('published latest of 3.0.0');
    expect(versionParameterPhrase(prefix, `${prefix}/3.0.0/arm64/latest-ami-id`)).toBe(
      'published latest of 3.0.0 arm64',
    );
    expect(versionParameterPhrase(prefix, `${prefix}/3.0.0/notes`)).toBeNull();
    expect(versionParameterPhrase(prefix, '/other/3.0.0/latest-ami-id')).toBeNull();
  });
});

describe('planCleanup against fake clients', () => {
  const ec2Mock = mockClient(EC2Client);
  const ssmMock = mockClient(SSMClient);
  const asMock = mockClient(AutoScalingClient);
  const clients = {
    ec2: new EC2Client({ region: 'us-west-2' }),
    ssm: new SSMClient({ region: 'us-west-2' }),
    autoScaling: new AutoScalingClient({ region: 'us-west-2' }),
  };
  const snapshot = (n: number) => `snap-0${n.toString(16).padStart(16, '0')}`;
  const ec2Image = (n: number, age: number, extra: Partial<Image> = {}): Image => ({
    ImageId: id(n),
    Name: `pulsar-base-3.0.${n}-20260101000000`,
    State: 'available',
    CreationDate: daysAgo(age),
    Architecture: 'x86_64',
    Tags: [
      { Key: 'ManagedBy', Value: 'pulsar-ami' },
      { Key: 'PulsarVersion', Value: `3.0.${n}` },
      { Key: 'Validated', Value: 'true' },
    ],
    BlockDeviceMappings: [{ Ebs: { SnapshotId: snapshot(n), VolumeSize: 10 } }],
    ...extra,
  });
  /** 25 images a day apart (1 = the newest), in pages of 10 as EC2 would page them. */
  const IMAGES = Array.from({ length: 25 }, (_, i) => ec2Image(i + 1, i + 2));

  beforeEach(() => {
    ec2Mock.reset();
    ssmMock.reset();
    asMock.reset();
    ec2Mock.on(DescribeImagesCommand).callsFake((input) => {
      const filter = input.Filters?.[0];
      if (filter?.Name === 'image-id') {
        return { Images: IMAGES.filter((i) => filter.Values?.includes(i.ImageId ?? '')) };
      }
      const start = Number(input.NextToken ?? 0);
      const page = IMAGES.slice(start, start + 10);
      return { Images: page, ...(start + 10 < IMAGES.length ? { NextToken: String(start + 10) } : {}) };
    });
    ec2Mock.on(DescribeImageReferencesCommand).callsFake((input) => ({
      ImageReferences: (input.ImageIds as string[]).includes(id(20))
        ? [{ ImageId: id(20), ResourceType: 'ec2:Instance', Arn: 'arn:aws:ec2:us-west-2:1:instance/i-0abc' }]
        : [],
    }));
    ec2Mock.on(DescribeLaunchTemplatesCommand).resolves({ LaunchTemplates: [] });
    // This tool's snapshots (what a delete removes): every image's but the 5th's (a legacy one's, untagged).
    ec2Mock
      .on(DescribeSnapshotsCommand, { Filters: [{ Name: 'tag:ManagedBy', Values: ['pulsar-ami'] }] })
      .resolves({
        Snapshots: IMAGES.filter((_, i) => i !== 4).map((image) => ({
          SnapshotId: image.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId,
          VolumeSize: 10,
          Tags: [{ Key: 'ManagedBy', Value: 'pulsar-ami' }],
        })),
      });
    ec2Mock
      .on(DescribeSnapshotsCommand, { Filters: [{ Name: 'tag-key', Values: ['OrphanedFrom'] }] })
      .resolves({
        Snapshots: [
          {
            SnapshotId: 'snap-0ffffffffffffff01',
            VolumeSize: 12,
            Description: 'Created by CreateImage(i-0abc) for ami-0ffffffffffffff99',
            Tags: [
              { Key: 'ManagedBy', Value: 'pulsar-ami' },
              { Key: 'OrphanedFrom', Value: 'ami-0ffffffffffffff99' },
            ],
          },
          {
            SnapshotId: 'snap-0ffffffffffffff02',
            VolumeSize: 50,
            Tags: [{ Key: 'OrphanedFrom', Value: 'ami-1' }],
          },
        ],
      });
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: id(24) } });
    ssmMock
      .on(GetParametersByPathCommand)
      .resolvesOnce({
        Parameters: [{ Name: '/pulsar-ami/dev/versions/3.0.22/latest-ami-id', Value: id(22) }],
        NextToken: 'p2',
      })
      .resolves({
        Parameters: [{ Name: '/pulsar-ami/dev/versions/3.0.23/arm64/latest-ami-id', Value: id(23) }],
      });
    asMock.on(DescribeLaunchConfigurationsCommand).resolves({
      LaunchConfigurations: [
        {
          LaunchConfigurationName: 'web-lc',
          LaunchConfigurationARN: 'arn:aws:autoscaling:lc/web-lc',
          ImageId: id(21),
          InstanceType: 't3.micro',
          CreatedTime: new Date(),
        },
      ],
    });
  });

  it('reads pages, parameters, references of the 19 candidates only (ten a call) and the orphans, and changes nothing', async () => {
    const plan = await planCleanup(clients, SETTINGS, NOW);
    const byId = new Map(plan.decisions.map((d) => [d.imageId, d]));
    expect(plan.decisions.map((d) => d.imageId)).toEqual(IMAGES.map((i) => i.ImageId));
    expect(byId.get(id(1))?.reason).toBe('newest 3');
    expect(byId.get(id(20))?.reason).toBe('in use: instance i-0abc');
    expect(byId.get(id(21))?.reason).toBe('in use: Auto Scaling launch configuration web-lc');
    expect(byId.get(id(22))?.reason).toBe('published latest of 3.0.22');
    expect(byId.get(id(23))?.reason).toBe('published latest of 3.0.23 arm64');
    expect(byId.get(id(24))?.reason).toBe('published latest');
    expect(byId.get(id(4))).toMatchObject({ action: 'delete', sizeGiB: 10, snapshotIds: [snapshot(4)] });
    expect(plan.totals).toMatchObject({ images: 25, keep: 8, delete: 17, orphanedSnapshots: 1 });
    // What the deletes free: the 5th image's snapshot is not this tool's, a delete keeps it.
    expect(byId.get(id(4))?.reclaimGiB).toBe(10);
    expect(byId.get(id(5))).toMatchObject({ action: 'delete', sizeGiB: 10, reclaimGiB: 0 });
    expect(plan.totals.reclaimedGiB).toBe(16 * 10 + 12);
    expect(plan.totals.monthlySavingUsd).toBe(8.6);
    expect(plan.orphanedSnapshots).toEqual([
      {
        snapshotId: 'snap-0ffffffffffffff01',
        orphanedFrom: 'ami-0ffffffffffffff99',
        sizeGiB: 12,
        action: 'delete',
        reason: 'orphaned from ami-0ffffffffffffff99',
      },
      {
        snapshotId: 'snap-0ffffffffffffff02',
        orphanedFrom: 'ami-1',
        sizeGiB: 50,
        action: 'keep',
        reason: 'not tagged ManagedBy=pulsar-ami',
      },
    ]);
    expect(plan.settings).not.toHaveProperty('latestAmiParameter');
    // The in-use question: only the 19 images the other rules would retire, ten a call.
    const asked = ec2Mock.commandCalls(DescribeImageReferencesCommand).map((c) => c.args[0].input.ImageIds);
    expect(asked.map((ids) => ids?.length)).toEqual([10, 9]);
    expect(asked.flat()).not.toContain(id(1));
    expect(asked.flat()).not.toContain(id(24));
    // Two ownership queries of three pages each, MaxResults the page size, disabled images included.
    const pages = ec2Mock.commandCalls(DescribeImagesCommand).map((c) => c.args[0].input);
    const by = (name: string) => pages.filter((p) => p.Filters?.[0]?.Name === name);
    expect(pages.length - by('block-device-mapping.snapshot-id').length - by('image-id').length).toBe(6);
    // Whether the AMI an orphan names still exists: one image-id query, no NotFound for a gone one.
    expect(pages.filter((p) => p.Filters?.[0]?.Name === 'image-id')).toEqual([
      expect.objectContaining({ Filters: [{ Name: 'image-id', Values: ['ami-0ffffffffffffff99'] }] }),
    ]);
    expect(pages[0]).toMatchObject({ Owners: ['self'], MaxResults: 1000, IncludeDisabled: true });
    expect(ssmMock.commandCalls(GetParametersByPathCommand).map((c) => c.args[0].input)).toEqual([
      { Path: '/pulsar-ami/dev/versions', Recursive: true, MaxResults: 10, NextToken: undefined },
      { Path: '/pulsar-ami/dev/versions', Recursive: true, MaxResults: 10, NextToken: 'p2' },
      { Path: '/pulsar-ami', Recursive: true, MaxResults: 10, NextToken: undefined },
    ]);
    // Reads only: every command sent is a Describe or a Get.
    const sent = [...ec2Mock.calls(), ...ssmMock.calls(), ...asMock.calls()].map(
      (c) => (c.args[0] as { constructor: { name: string } }).constructor.name,
    );
    expect(sent.filter((name) => !/^(Describe|Get)\w+Command$/.test(name))).toEqual([]);
  });

  it('keeps what every other stage publishes: each …/latest-ami-id under /pulsar-ami/', async () => {
    ssmMock.reset();
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: id(1) } });
    ssmMock.on(GetParametersByPathCommand).resolves({ Parameters: [] });
    ssmMock
      .on(GetParametersByPathCommand, { Path: '/pulsar-ami' })
      .resolvesOnce({
        Parameters: [
          { Name: '/pulsar-ami/dev/latest-ami-id', Value: id(1) },
          { Name: '/pulsar-ami/dev/versions/3.0.2/latest-ami-id', Value: id(2) },
          { Name: '/pulsar-ami/prod/latest-ami-id', Value: id(3) },
        ],
        NextToken: 'p2',
      })
      .resolves({
        Parameters: [
          { Name: '/pulsar-ami/prod/versions/3.0.4/arm64/latest-ami-id', Value: ` ${id(4)} ` },
          { Name: '/pulsar-ami/prod/versions/3.0.5/latest-ami-id', Value: 'not-an-ami' },
          { Name: '/pulsar-ami/prod/notes', Value: id(6) },
        ],
      });
    const published = await publishedAmis(clients.ssm, SETTINGS);
    expect([...published]).toEqual([
      [id(1), ['published latest']],
      [id(3), ['published by another stage (/pulsar-ami/prod/latest-ami-id)']],
      [id(4), ['published by another stage (/pulsar-ami/prod/versions/3.0.4/arm64/latest-ami-id)']],
    ]);
    expect(
      ssmMock
        .commandCalls(GetParametersByPathCommand)
        .map((c) => [c.args[0].input.Path, c.args[0].input.NextToken]),
    ).toEqual([
      ['/pulsar-ami/dev/versions', undefined],
      ['/pulsar-ami', undefined],
      ['/pulsar-ami', 'p2'],
    ]);
  });

  it('counts as freed only the snapshots a delete removes: this tool’s, and used by no image that stays', () => {
    const decision = (imageId: string, action: 'keep' | 'delete', snapshotIds: string[]) =>
      ({ imageId, action, snapshotIds, sizeGiB: 8 * snapshotIds.length }) as CleanupDecision;
    const own = new Map([
      ['snap-a', 8],
      ['snap-b', 8],
      ['snap-shared', 8],
    ]);
    const out = withReclaim(
      [
        decision('ami-kept', 'keep', ['snap-shared']),
        decision('ami-1', 'delete', ['snap-a', 'snap-shared']),
        decision('ami-legacy', 'delete', ['snap-untagged']),
        decision('ami-2', 'delete', ['snap-b']),
      ],
      own,
    );
    expect(out.map((d) => [d.imageId, d.reclaimGiB])).toEqual([
      ['ami-kept', undefined],
      ['ami-1', 8],
      ['ami-legacy', 0],
      ['ami-2', 8],
    ]);
    expect(cleanupTotals(out, [], 0.05)).toMatchObject({
      delete: 3,
      reclaimedGiB: 16,
      monthlySavingUsd: 0.8,
    });
  });

  it('asks again about the validated AMIs the minimum keeps no longer once in-use ones count', async () => {
    // Only the two oldest are validated; the older of them is in use, so the minimum of two is
    // met by it and the newest validated one: no more asking needed than for the candidates.
    IMAGES.splice(
      0,
      IMAGES.length,
      ...Array.from({ length: 6 }, (_, i) =>
        ec2Image(i + 1, i + 2, i < 3 ? { Tags: [{ Key: 'ManagedBy', Value: 'pulsar-ami' }] } : {}),
      ),
    );
    ec2Mock.on(DescribeImageReferencesCommand).callsFake((input) => ({
      ImageReferences: (input.ImageIds as string[]).includes(id(6))
        ? [{ ImageId: id(6), ResourceType: 'ec2:Instance', Arn: 'arn:aws:ec2:us-west-2:1:instance/i-0def' }]
        : [],
    }));
    ssmMock.on(GetParameterCommand).rejects(Object.assign(new Error('none'), { name: 'ParameterNotFound' }));
    ssmMock.on(GetParametersByPathCommand).resolves({ Parameters: [] });
    const plan = await planCleanup(clients, SETTINGS, NOW);
    expect(plan.decisions.map((d) => [d.imageId, d.action, d.reason])).toEqual([
      [id(1), 'keep', 'newest 3'],
      [id(2), 'keep', 'newest 3'],
      [id(3), 'keep', 'newest 3'],
      [id(4), 'keep', 'one of the 2 newest validated'],
      [id(5), 'delete', 'beyond the newest 3'],
      [id(6), 'keep', 'in use: instance i-0def'],
    ]);
    // First asked: 6 (the minimum kept 4 and 5); then 5, which the minimum no longer keeps.
    const asked = ec2Mock.commandCalls(DescribeImageReferencesCommand).map((c) => c.args[0].input.ImageIds);
    expect(asked).toEqual([[id(6)], [id(5)]]);
  });
});

describe('orphaned snapshots: the OrphanedFrom tag alone is not enough', () => {
  const ec2Mock = mockClient(EC2Client);
  const ec2 = new EC2Client({ region: 'us-west-2' });
  const GONE = 'ami-0123456789abcdef0';
  const LIVE = 'ami-0aaaaaaaaaaaaaaa1';
  const OTHER = 'ami-0bbbbbbbbbbbbbbb2';
  const snap = (
    n: number,
    tags: Record<string, string>,
    description?: string,
  ): {
    SnapshotId: string;
    VolumeSize: number;
    Description?: string;
    Tags: { Key: string; Value: string }[];
  } => ({
    SnapshotId: `snap-0${n.toString(16).padStart(16, '0')}`,
    VolumeSize: 10,
    ...(description !== undefined ? { Description: description } : {}),
    Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
  });
  const ours = { ManagedBy: 'pulsar-ami' };

  it.each([
    [
      'kept on purpose, then tagged with an id that never existed',
      snap(1, { ...ours, OrphanedFrom: GONE }, `Created by CreateImage(i-0abc) for ${OTHER}`),
      'keep',
      `its EC2 description names ${OTHER}, not ${GONE} (the OrphanedFrom tag)`,
    ],
    [
      'a description EC2 did not write for an image',
      snap(2, { ...ours, OrphanedFrom: GONE }, 'my backup'),
      'keep',
      'its EC2 description names no AMI (not made by CreateImage or CopyImage)',
    ],
    [
      'no description at all',
      snap(3, { ...ours, OrphanedFrom: GONE }),
      'keep',
      'its EC2 description names no AMI (not made by CreateImage or CopyImage)',
    ],
    [
      'the AMI it names still exists',
      snap(4, { ...ours, OrphanedFrom: LIVE }, `Created by CreateImage(i-0abc) for ${LIVE}`),
      'keep',
      `${LIVE} still exists (available)`,
    ],
    [
      'not tagged ManagedBy',
      snap(5, { OrphanedFrom: GONE }, `Created by CreateImage(i-0abc) for ${GONE}`),
      'keep',
      'not tagged ManagedBy=pulsar-ami',
    ],
    [
      'an OrphanedFrom that is not an AMI id',
      snap(6, { ...ours, OrphanedFrom: 'nonsense' }, `Created by CreateImage(i-0abc) for ${GONE}`),
      'keep',
      'OrphanedFrom=nonsense is not an AMI id',
    ],
    [
      'used by another image',
      snap(7, { ...ours, OrphanedFrom: GONE }, `Created by CreateImage(i-0abc) for ${GONE}`),
      'keep',
      `in use by ${OTHER}`,
    ],
    [
      'made by CreateImage for the AMI the tag names, that AMI gone',
      snap(8, { ...ours, OrphanedFrom: GONE }, `Created by CreateImage(i-0abc) for ${GONE} from vol-0abc`),
      'delete',
      `orphaned from ${GONE}`,
    ],
    [
      'made by CopyImage for the AMI the tag names, that AMI gone',
      snap(
        9,
        { ...ours, OrphanedFrom: GONE },
        `Copied for DestinationAmi ${GONE} from SourceAmi ${OTHER} for SourceSnapshot snap-0abc. Task created on 1.`,
      ),
      'delete',
      `orphaned from ${GONE}`,
    ],
  ])('%s: %s', async (_what, snapshot, action, reason) => {
    ec2Mock.reset();
    ec2Mock.on(DescribeSnapshotsCommand).resolves({ Snapshots: [snapshot] });
    ec2Mock.on(DescribeImagesCommand).callsFake((input) => {
      const filter = input.Filters?.[0];
      if (filter?.Name === 'image-id') {
        // GONE never existed (no NotFound with a filter); LIVE does.
        return { Images: filter.Values?.includes(LIVE) ? [{ ImageId: LIVE, State: 'available' }] : [] };
      }
      // Only snap 7 is used by an image.
      return {
        Images: filter?.Values?.includes(snap(7, {}).SnapshotId)
          ? [{ ImageId: OTHER, BlockDeviceMappings: [{ Ebs: { SnapshotId: snap(7, {}).SnapshotId } }] }]
          : [],
      };
    });
    const [planned] = await planOrphanedSnapshots(ec2);
    expect(planned).toMatchObject({ snapshotId: snapshot.SnapshotId, action, reason });
  });

  it('reads EC2’s own descriptions, CreateImage’s and CopyImage’s, and nothing else', () => {
    expect(amiOfSnapshotDescription(`Created by CreateImage(i-0abc) for ${GONE}`)).toBe(GONE);
    expect(amiOfSnapshotDescription(`Created by CreateImage(i-0abc) for ${GONE} from vol-0abc`)).toBe(GONE);
    expect(amiOfSnapshotDescription(`Copied for DestinationAmi ${GONE} from SourceAmi ${OTHER} …`)).toBe(
      GONE,
    );
    expect(amiOfSnapshotDescription(`note: Created by CreateImage(i-0abc) for ${GONE}`)).toBeNull();
    expect(amiOfSnapshotDescription('Created by CreateImage for pulsar-base-3.0.0')).toBeNull();
    expect(amiOfSnapshotDescription(undefined)).toBeNull();
  });
});

describe('one reader of a parameter’s AMI id', () => {
  const ssmMock = mockClient(SSMClient);
  const ssm = new SSMClient({ region: 'us-west-2' });

  it('trims and pattern-checks the latest parameter as it does the version parameters', async () => {
    ssmMock.reset();
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: ' ami-0aaaaaaaaaaaaaaa1\n' } });
    ssmMock.on(GetParametersByPathCommand).resolves({
      Parameters: [
        { Name: '/pulsar-ami/dev/versions/3.0.0/latest-ami-id', Value: 'ami-0bbbbbbbbbbbbbbb2 ' },
        { Name: '/pulsar-ami/dev/versions/3.0.1/latest-ami-id', Value: 'not-an-ami' },
        { Name: '/pulsar-ami/dev/versions/3.0.2/i386/latest-ami-id', Value: 'ami-0ccccccccccccccc3' },
      ],
    });
    expect(await readPublishedLatest(ssm, '/pulsar-ami/dev/latest-ami-id')).toBe('ami-0aaaaaaaaaaaaaaa1');
    const published = await publishedAmis(ssm, {
      latestAmiParameter: '/pulsar-ami/dev/latest-ami-id',
      versionParameterPrefix: '/pulsar-ami/dev/versions',
    });
    expect([...published]).toEqual([
      ['ami-0aaaaaaaaaaaaaaa1', ['published latest']],
      ['ami-0bbbbbbbbbbbbbbb2', ['published latest of 3.0.0']],
    ]);
    expect(amiIdOfParameterValue('  ')).toBeNull();
  });
});
