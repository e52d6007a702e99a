import type { Image } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import {
  amiName,
  buildTags,
  compareVersions,
  isProtected,
  newestFirst,
  ownershipOf,
  parseVersion,
  recordToTags,
  tagsToRecord,
  toAmi,
  versionFromName,
} from '../../functions/lib/ami';

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

describe('ownership', () => {
  it('is this tool’s when tagged ManagedBy=pulsar-ami, whatever the name', () => {
    expect(ownershipOf({ Name: 'custom', Tags: [{ Key: 'ManagedBy', Value: 'pulsar-ami' }] })).toBe(
      'managed',
    );
  });
  it('is legacy when only named pulsar-base-*', () => {
    expect(ownershipOf({ Name: 'pulsar-base-2.9.0-20250101120000', Tags: [] })).toBe('legacy');
  });
  it('is not this tool’s otherwise, even with a look-alike tag value or name', () => {
    expect(
      ownershipOf({ Name: 'ubuntu-jammy', Tags: [{ Key: 'ManagedBy', Value: 'terraform' }] }),
    ).toBeNull();
    expect(ownershipOf({ Name: 'my-pulsar-base-3.0.0', Tags: [] })).toBeNull();
    expect(ownershipOf({ Name: 'x', Tags: [{ Key: 'managedby', Value: 'pulsar-ami' }] })).toBeNull();
    expect(toAmi(image({ Name: 'ubuntu', Tags: [] }))).toBeNull();
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
    );
    expect(ami).toMatchObject({
      version: '3.0.1',
      ownership: 'managed',
      validated: true,
      validationDate: '2025-10-07',
      snapshotIds: ['snap-0123456789abcdef0'],
      protected: false,
    });
    expect(toAmi(image({ Tags: [{ Key: 'PulsarVersion', Value: 'garbage' }] }))?.version).toBe('3.0.0');
    expect(toAmi(image({}))?.validated).toBeNull();
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
