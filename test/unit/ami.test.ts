import type { Image } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import {
  amiName,
  buildTags,
  chooseLatest,
  compareVersions,
  isProtected,
  latestFirst,
  newestFirst,
  ownershipOf,
  parseVersion,
  protectionOf,
  recordToTags,
  tagsToRecord,
  toAmi,
  versionFromName,
} from '../../functions/lib/ami';
import { loadConfig } from '../../functions/lib/config';

describe('versions', () => {
  it('parses MAJOR.MINOR.PATCH only', () => {
    expect(parseVersion('3.0.0')).toEqual([3, 0, 0]);
    expect(parseVersion('2.11.10')).toEqual([2, 11, 10]);
    for (const bad of ['3.0', '3.0.0.1', 'v3.0.0', '03.0.0', '3.0.0-rc1', '', ' 3.0.0', 'a.b.c']) {
      expect([bad, parseVersion(bad)]).toEqual([bad, null]);
    }
  });

  it('compares numerically, not as text', () => {
    expect(compareVersions('2.11.0', '2.9.0')).toBe(1);
    expect(compareVersions('2.9.0', '2.11.0')).toBe(-1);
    expect(compareVersions('3.0.0', '3.0.0')).toBe(0);
    expect(compareVersions('10.0.0', '9.99.99')).toBe(1);
    expect(compareVersions(null, '1.0.0')).toBe(-1);
    expect(compareVersions('1.0.0', null)).toBe(1);
  });

  it('reads the version from the naming convention', () => {
    expect(versionFromName('pulsar-base-3.0.0-20251006142300')).toBe('3.0.0');
    expect(versionFromName('pulsar-base-2.11.0-20250920')).toBe('2.11.0');
    expect(versionFromName('pulsar-base-latest')).toBeNull();
    expect(versionFromName('ubuntu-3.0.0-20250101')).toBeNull();
  });

  it('names images pulsar-base-{VERSION}-{YYYYMMDDhhmmss} in UTC', () => {
    expect(amiName('3.0.0', new Date('2025-10-06T14:23:45.678Z'))).toBe('pulsar-base-3.0.0-20251006142345');
  });
});

const image = (overrides: Partial<Image>): Image => ({
  ImageId: 'ami-0123456789abcdef0',
  Name: 'pulsar-base-3.0.0-20251006142300',
  State: 'available',
  CreationDate: '2025-10-06T14:23:00.000Z',
  OwnerId: '123456789012',
  ...overrides,
});

/** The tool's deployment: untagged pulsar-base-* images EC2 created before it are legacy. */
const CUTOFF = new Date('2026-01-01T00:00:00Z');

describe('ownership', () => {
  it('is this tool’s when tagged ManagedBy=pulsar-ami, whatever the name or age', () => {
    const managed = { Name: 'custom', Tags: [{ Key: 'ManagedBy', Value: 'pulsar-ami' }] };
    expect(ownershipOf(managed, CUTOFF)).toBe('managed');
    expect(ownershipOf({ ...managed, CreationDate: '2026-11-30T00:00:00.000Z' }, null)).toBe('managed');
  });
  it('is legacy when only named pulsar-base-* and created before the cutoff', () => {
    const legacy = {
      Name: 'pulsar-base-2.9.0-20250101120000',
      Tags: [],
      CreationDate: '2025-01-01T12:00:00.000Z',
    };
    expect(ownershipOf(legacy, CUTOFF)).toBe('legacy');
    expect(toAmi(image(legacy), CUTOFF)?.ownership).toBe('legacy');
  });
  it('is not this tool’s when only the name says so and EC2 created it at or after the cutoff, or when no cutoff is set', () => {
    // Anyone who may register an image can name it pulsar-base-99.0.0-…; nobody can choose its CreationDate.
    for (const CreationDate of [
      '2026-01-01T00:00:00.000Z',
      '2026-11-30T08:00:00.000Z',
      'not a date',
      undefined,
    ]) {
      const bait = { Name: 'pulsar-base-99.0.0-20240101000000', Tags: [], CreationDate };
      expect([CreationDate, ownershipOf(bait, CUTOFF)]).toEqual([CreationDate, null]);
      expect(toAmi(image(bait), CUTOFF)).toBeNull();
    }
    expect(
      ownershipOf(
        { Name: 'pulsar-base-2.9.0-20250101120000', Tags: [], CreationDate: '2025-01-01T12:00:00.000Z' },
        null,
      ),
    ).toBeNull();
  });
  it('reads the cutoff from LEGACY_IMAGES_CREATED_BEFORE: none when unset or empty, a bad time refused', () => {
    expect(loadConfig({}).legacyImagesCreatedBefore).toBeNull();
    expect(loadConfig({ LEGACY_IMAGES_CREATED_BEFORE: '' }).legacyImagesCreatedBefore).toBeNull();
    expect(
      loadConfig({ LEGACY_IMAGES_CREATED_BEFORE: '2026-01-01T00:00:00Z' }).legacyImagesCreatedBefore,
    ).toEqual(CUTOFF);
    for (const bad of ['2026-01-01', 'yesterday', '2026-13-01T00:00:00Z']) {
      expect(() => loadConfig({ LEGACY_IMAGES_CREATED_BEFORE: bad })).toThrow(/must be an ISO 8601 time/);
    }
  });
  it('is not this tool’s otherwise, even with a look-alike tag value or name', () => {
    expect(
      ownershipOf({ Name: 'ubuntu-jammy', Tags: [{ Key: 'ManagedBy', Value: 'terraform' }] }, CUTOFF),
    ).toBeNull();
    expect(
      ownershipOf({ Name: 'my-pulsar-base-3.0.0', Tags: [], CreationDate: '2025-01-01T00:00:00Z' }, CUTOFF),
    ).toBeNull();
    expect(ownershipOf({ Name: 'x', Tags: [{ Key: 'managedby', Value: 'pulsar-ami' }] }, CUTOFF)).toBeNull();
    expect(toAmi(image({ Name: 'ubuntu', Tags: [] }), CUTOFF)).toBeNull();
  });
  it('is not this tool’s when named pulsar-base-* but managed by another tool (any ManagedBy value)', () => {
    for (const value of ['team-x', '', 'Pulsar-AMI', 'pulsar-ami ']) {
      const golden = { Name: 'pulsar-base-team-x-golden', Tags: [{ Key: 'ManagedBy', Value: value }] };
      expect([value, ownershipOf(golden, CUTOFF)]).toEqual([value, null]);
      expect(toAmi(image(golden), CUTOFF)).toBeNull();
    }
  });
  it('reads every ManagedBy claim as a person would (any case, any spaces around the key): only the exact ManagedBy=pulsar-ami is this tool’s', () => {
    // Old enough and named pulsar-base-*: without the claim it would be legacy, and adopted.
    const old = { Name: 'pulsar-base-2.9.0-20250101120000', CreationDate: '2025-01-01T12:00:00.000Z' };
    expect(ownershipOf({ ...old, Tags: [] }, CUTOFF)).toBe('legacy');
    const claims = [
      [{ Key: 'ManagedBy ', Value: 'team-x' }],
      [{ Key: 'managedby', Value: 'team-y' }],
      [{ Key: ' MANAGEDBY\t', Value: 'team-z' }],
      [{ Key: 'managedBy', Value: 'pulsar-ami' }],
      [{ Key: 'ManagedBy ', Value: 'pulsar-ami' }],
      [{ Key: 'managedby', Value: '' }],
      // Two claims, one of them ours: contested, so not ours.
      [
        { Key: 'ManagedBy', Value: 'pulsar-ami' },
        { Key: 'managedby', Value: 'team-y' },
      ],
      [
        { Key: 'ManagedBy', Value: 'pulsar-ami' },
        { Key: 'ManagedBy ', Value: 'pulsar-ami' },
      ],
    ];
    for (const Tags of claims) {
      expect([Tags, ownershipOf({ ...old, Tags }, CUTOFF)]).toEqual([Tags, null]);
      expect([Tags, toAmi(image({ ...old, Tags }), CUTOFF)]).toEqual([Tags, null]);
    }
    // Tags that only look alike are no claim: the image stays legacy.
    for (const Key of ['Managed By', 'ManagedByTeam', 'Owner']) {
      expect([Key, ownershipOf({ ...old, Tags: [{ Key, Value: 'team-x' }] }, CUTOFF)]).toEqual([
        Key,
        'legacy',
      ]);
    }
    expect(ownershipOf({ ...old, Tags: [{ Key: 'ManagedBy', Value: 'pulsar-ami' }] }, CUTOFF)).toBe(
      'managed',
    );
  });
  it('names the protection that applies, the cooldown with its end, and counts an unknown state as protected', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const at = (state: string) => protectionOf({ Tags: [], DeregistrationProtection: state }, now);
    expect(protectionOf({ Tags: [{ Key: 'Protected', Value: 'TRUE' }] }, now)).toBe('the Protected=true tag');
    expect(at('enabled')).toBe('EC2 deregistration protection (enabled)');
    expect(at('enabled-with-cooldown')).toContain('24-hour cooldown');
    expect(at('disabled-until-2026-01-01T12:00:00.000Z')).toBe(
      'EC2 deregistration protection, in its cooldown until 2026-01-01T12:00:00.000Z',
    );
    expect(at('disabled-until 2026-01-01T12:00:00Z')).toContain('cooldown until 2026-01-01T12:00:00.000Z');
    expect(at('disabled-until-2025-12-31T12:00:00.000Z')).toBeNull();
    expect(at('disabled')).toBeNull();
    expect(at('')).toBeNull();
    expect(at('something-new')).toBe('EC2 deregistration protection (something-new)');
  });
  it('treats a Protected=true tag and deregistration protection as protected', () => {
    expect(isProtected({ Tags: [{ Key: 'Protected', Value: 'true' }] })).toBe(true);
    expect(isProtected({ Tags: [], DeregistrationProtection: 'enabled-with-cooldown' })).toBe(true);
    expect(
      isProtected({ Tags: [{ Key: 'Protected', Value: 'no' }], DeregistrationProtection: 'disabled' }),
    ).toBe(false);
  });
});

describe('tag mapping', () => {
  it('round-trips tags', () => {
    const record = { Name: 'a', PulsarVersion: '3.0.0' };
    expect(tagsToRecord(recordToTags(record))).toEqual(record);
  });

  it('gives every built image the contract tags', () => {
    const tags = buildTags({
      name: 'pulsar-base-3.0.0-20251006142300',
      version: '3.0.0',
      builtAt: new Date('2025-10-06T14:23:00Z'),
      executionArn: 'arn:aws:states:us-west-2:123456789012:execution:BuildAmi:x',
    });
    expect(tags).toEqual({
      Name: 'pulsar-base-3.0.0-20251006142300',
      PulsarVersion: '3.0.0',
      BuildDate: '2025-10-06T14:23:00.000Z',
      ManagedBy: 'pulsar-ami',
      Project: 'pulsar-aws-lab',
      Environment: 'lab',
      BuildExecutionArn: 'arn:aws:states:us-west-2:123456789012:execution:BuildAmi:x',
    });
  });

  it('maps an image: version from the tag first, then the name; snapshots; validation', () => {
    const ami = toAmi(
      image({
        Tags: [
          { Key: 'ManagedBy', Value: 'pulsar-ami' },
          { Key: 'PulsarVersion', Value: '3.0.1' },
          { Key: 'Validated', Value: 'true' },
          { Key: 'ValidationDate', Value: '2025-10-07' },
        ],
        BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-0123456789abcdef0' } }, {}],
      }),
      CUTOFF,
    );
    expect(ami).toMatchObject({
      version: '3.0.1',
      ownership: 'managed',
      validated: true,
      validationDate: '2025-10-07',
      snapshotIds: ['snap-0123456789abcdef0'],
      protected: false,
    });
    expect(toAmi(image({ Tags: [{ Key: 'PulsarVersion', Value: 'garbage' }] }), CUTOFF)?.version).toBe(
      '3.0.0',
    );
    expect(toAmi(image({ CreationDate: '2025-10-06T14:23:00.000Z' }), CUTOFF)?.validated).toBeNull();
  });
});

describe('tags on a legacy image (no ManagedBy: this tool wrote none of them)', () => {
  const legacy = (tags: { Key: string; Value: string }[]) =>
    toAmi(
      image({
        ImageId: 'ami-0000000000000290a',
        Name: 'pulsar-base-2.9.0-20250101120000',
        CreationDate: '2025-01-01T12:00:00.000Z',
        Architecture: 'x86_64',
        Tags: tags,
      }),
      CUTOFF,
    );
  const forged = [
    { Key: 'PulsarVersion', Value: '99.0.0' },
    { Key: 'Validated', Value: 'true' },
    { Key: 'ValidationDate', Value: '2030-01-01T00:00:00Z' },
    { Key: 'ValidationExecutionArn', Value: 'arn:aws:states:us-west-2:123456789012:execution:x:y' },
    {
      Key: 'BuildExecutionArn',
      Value: 'arn:aws:states:us-west-2:123456789012:execution:pulsar-ami-dev-build-ami:b',
    },
    { Key: 'Team', Value: 'data' },
  ];

  it('reads the version from the name only, not validated, the tool’s tags left out', () => {
    const ami = legacy(forged);
    expect(ami).toMatchObject({
      ownership: 'legacy',
      version: '2.9.0',
      validated: null,
      validationDate: null,
    });
    expect(ami?.tags).toEqual({ Team: 'data' });
  });

  it('never answers a forged legacy image as the latest, validated or not', () => {
    const real = toAmi(
      image({
        ImageId: 'ami-0000000000000300a',
        Name: 'pulsar-base-3.0.0-20251006142300',
        Architecture: 'x86_64',
        Tags: [
          { Key: 'ManagedBy', Value: 'pulsar-ami' },
          { Key: 'PulsarVersion', Value: '3.0.0' },
          { Key: 'Validated', Value: 'true' },
        ],
      }),
      CUTOFF,
    );
    const fake = legacy(forged);
    if (!real || !fake) throw new Error('both images are this tool’s');
    expect(chooseLatest([fake, real])?.imageId).toBe(real.imageId);
    expect(chooseLatest([fake, real], { includeUnvalidated: true })?.imageId).toBe(real.imageId);
    expect(chooseLatest([fake])).toBeUndefined();
    expect(chooseLatest([fake], { version: '99.0.0', includeUnvalidated: true })).toBeUndefined();
  });

  it('reads the same tags on a managed image', () => {
    const managed = toAmi(
      image({
        Name: 'pulsar-base-2.9.0-20250101120000',
        Tags: [{ Key: 'ManagedBy', Value: 'pulsar-ami' }, ...forged],
      }),
      CUTOFF,
    );
    expect(managed).toMatchObject({ ownership: 'managed', version: '99.0.0', validated: true });
  });
});

describe('newest first', () => {
  const ami = (imageId: string, createdAt: string | null, version: string | null) => ({
    imageId,
    createdAt,
    version,
  });

  it('orders by creation time, then version numerically, then id', () => {
    const list = [
      ami('ami-00000001', '2025-08-15T09:30:00.000Z', '2.10.0'),
      ami('ami-00000002', '2025-10-06T14:23:00.000Z', '3.0.0'),
      ami('ami-00000003', '2025-09-20T10:15:00.000Z', '2.11.0'),
      ami('ami-00000004', '2025-09-20T10:15:00.000Z', '2.9.0'),
      ami('ami-00000005', null, '9.0.0'),
      ami('ami-00000006', '2025-09-20T10:15:00.000Z', '2.11.0'),
    ];
    expect([...list].sort(newestFirst).map((a) => a.imageId)).toEqual([
      'ami-00000002',
      'ami-00000003',
      'ami-00000006',
      'ami-00000004',
      'ami-00000001',
      'ami-00000005',
    ]);
  });

  it('puts an image with an unreadable date last, not first', () => {
    const list = [
      ami('ami-0000000a', 'not a date', '9.9.9'),
      ami('ami-0000000b', '2020-01-01T00:00:00Z', '1.0.0'),
    ];
    expect([...list].sort(newestFirst).map((a) => a.imageId)).toEqual(['ami-0000000b', 'ami-0000000a']);
  });
});

describe('the latest rule (chooseLatest)', () => {
  const ami = (
    imageId: string,
    version: string | null,
    createdAt: string,
    extra: Partial<{ state: string; validated: boolean | null; architecture: string }> = {},
  ) => ({ imageId, version, createdAt, state: 'available', validated: true as boolean | null, ...extra });

  it('is per architecture: x86_64 unless asked (an image that does not say counts as x86_64)', () => {
    const amis = [
      ami('ami-arm', '3.1.0', '2025-09-01T00:00:00Z', { architecture: 'arm64' }),
      ami('ami-x86', '3.0.0', '2025-08-01T00:00:00Z', { architecture: 'x86_64' }),
      ami('ami-old', '2.11.0', '2025-07-01T00:00:00Z'),
    ];
    expect(chooseLatest(amis)?.imageId).toBe('ami-x86');
    expect(chooseLatest(amis, { architecture: 'arm64' })?.imageId).toBe('ami-arm');
    expect(chooseLatest(amis, { version: '2.11.0' })?.imageId).toBe('ami-old');
    // A published arm64 image does not qualify as the x86_64 latest.
    expect(chooseLatest(amis, {}, amis[0])?.imageId).toBe('ami-x86');
  });

  it('orders versions numerically across lines, whatever the creation order', () => {
    const amis = [
      ami('ami-b', '3.9.1', '2025-08-01T00:00:00Z'),
      ami('ami-a', '3.10.0', '2025-07-01T00:00:00Z'),
      ami('ami-c', '2.11.0', '2025-09-01T00:00:00Z'),
    ];
    expect(chooseLatest(amis)?.imageId).toBe('ami-a');
    expect([...amis].sort(latestFirst).map((a) => a.imageId)).toEqual(['ami-a', 'ami-b', 'ami-c']);
  });

  it('breaks a tie within a version by creation time, then by id', () => {
    const amis = [
      ami('ami-old', '3.0.0', '2025-01-01T00:00:00Z'),
      ami('ami-new', '3.0.0', '2025-02-01T00:00:00Z'),
      ami('ami-twin-b', '2.0.0', '2025-03-01T00:00:00Z'),
      ami('ami-twin-a', '2.0.0', '2025-03-01T00:00:00Z'),
    ];
    expect(chooseLatest(amis)?.imageId).toBe('ami-new');
    expect([...amis].sort(latestFirst).map((a) => a.imageId)).toEqual([
      'ami-new',
      'ami-old',
      'ami-twin-a',
      'ami-twin-b',
    ]);
  });

  it('leaves out unvalidated, failed-validation and unavailable AMIs unless unvalidated are asked for', () => {
    const amis = [
      ami('ami-unvalidated', '4.0.0', '2025-01-01T00:00:00Z', { validated: null }),
      ami('ami-failed', '3.5.0', '2025-01-01T00:00:00Z', { validated: false }),
      ami('ami-pending', '3.4.0', '2025-01-01T00:00:00Z', { state: 'pending' }),
      ami('ami-ok', '3.0.0', '2025-01-01T00:00:00Z'),
    ];
    expect(chooseLatest(amis)?.imageId).toBe('ami-ok');
    expect(chooseLatest(amis, { includeUnvalidated: true })?.imageId).toBe('ami-unvalidated');
    expect(chooseLatest(amis, { version: '3.5.0' })).toBeUndefined();
    expect(chooseLatest(amis, { version: '3.5.0', includeUnvalidated: true })?.imageId).toBe('ami-failed');
  });

  it('answers nothing when nothing qualifies, and sorts an AMI without a version last', () => {
    expect(chooseLatest([])).toBeUndefined();
    expect(
      chooseLatest([ami('ami-x', '1.0.0', '2025-01-01T00:00:00Z', { validated: false })]),
    ).toBeUndefined();
    const noVersion = ami('ami-none', null, '2026-01-01T00:00:00Z');
    expect(chooseLatest([noVersion, ami('ami-v', '0.0.1', '2020-01-01T00:00:00Z')])?.imageId).toBe('ami-v');
  });

  it('keeps the published AMI while it qualifies, and only then', () => {
    const published = ami('ami-pub', '3.0.0', '2025-01-01T00:00:00Z');
    const higher = ami('ami-hi', '3.1.0', '2025-02-01T00:00:00Z');
    expect(chooseLatest([published, higher], {}, published)?.imageId).toBe('ami-pub');
    const failed = { ...published, validated: false };
    expect(chooseLatest([failed, higher], {}, failed)?.imageId).toBe('ami-hi');
    expect(chooseLatest([published, higher], { version: '3.1.0' }, published)?.imageId).toBe('ami-hi');
  });
});
