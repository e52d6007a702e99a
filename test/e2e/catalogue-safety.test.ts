/**
 * What delete may touch, end to end on the sandbox (the real CLI → the API → the handlers → EC2
 * over HTTP): another tool's image is refused whatever its name; a pending AMI is refused; a
 * disabled one is listed and deletable; protection in every state, the cooldown included, is a
 * refusal that names it; a snapshot another image was registered from is kept and named; a
 * snapshot the deregistration still holds is retried until released, or tagged OrphanedFrom and
 * reported (exit 1) when it is not released in time. Each case checks from the calls log and
 * the state that nothing else changed.
 */
import {
  CreateTagsCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  DisableImageCommand,
  DisableImageDeregistrationProtectionCommand,
  type EC2Client,
  EnableImageCommand,
  EnableImageDeregistrationProtectionCommand,
  RegisterImageCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Ami } from '../../functions/lib/api-types';
import { type E2e, startE2e } from '../support/e2e';
import { signedGet } from '../support/sandbox-clients';

let e2e: E2e;
let ec2: EC2Client;

beforeAll(async () => {
  e2e = await startE2e();
  ec2 = e2e.ec2;
});
afterAll(async () => {
  await e2e.close();
});
beforeEach(async () => {
  await e2e.control('POST', 'reset', { seed: false });
  await e2e.control('DELETE', 'faults');
});

interface Seeded {
  imageId: string;
  snapshotIds: string[];
}

async function seed(image: Record<string, unknown>): Promise<Seeded> {
  const out = await e2e.control<{ images: Seeded[] }>('POST', 'images', { images: [image] });
  const seeded = out.images[0];
  if (!seeded) throw new Error('not seeded');
  return seeded;
}

const ours = (version: string, extra: Record<string, unknown> = {}) => ({
  name: `pulsar-base-${version}-20250701000000`,
  ...extra,
});

async function describeImage(imageId: string) {
  try {
    const out = await ec2.send(
      new DescribeImagesCommand({ ImageIds: [imageId], Owners: ['self'], IncludeDisabled: true }),
    );
    return out.Images ?? [];
  } catch (error) {
    if ((error as Error).name === 'InvalidAMIID.NotFound') return [];
    throw error;
  }
}

const snapshotExists = async (snapshotId: string) =>
  ((await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }))).Snapshots ?? []).some(
    (s) => s.SnapshotId === snapshotId,
  );

/** `--dry-run delete` and `delete` of `imageId` both exit 1 saying `message`. */
async function expectRefusedWithDryRun(imageId: string, message: string) {
  for (const args of [
    ['--dry-run', 'delete', '--ami-id', imageId],
    ['delete', '--ami-id', imageId],
  ]) {
    const result = await e2e.cli(args);
    expect([args[0], result.code]).toEqual([args[0], 1]);
    expect(result.stderr).toContain(message);
  }
}

describe('delete refuses, changing nothing', () => {
  it("another tool's image named pulsar-base-*: 403, not adopted, not deregistered", async () => {
    const { imageId, snapshotIds } = await seed({
      name: 'pulsar-base-team-x-golden',
      tags: { ManagedBy: 'team-x', Name: 'pulsar-base-team-x-golden' },
    });
    await e2e.control('DELETE', 'calls');
    await expectRefusedWithDryRun(imageId, `AMI ${imageId} is not a pulsar-ami image`);
    expect(await e2e.changes()).toEqual([]);
    const [image] = await describeImage(imageId);
    expect(image?.Tags).toContainEqual({ Key: 'ManagedBy', Value: 'team-x' });
    expect(await snapshotExists(snapshotIds[0] ?? '')).toBe(true);
    const list = await e2e.cli(['list', '--no-cache', '--json']);
    expect((JSON.parse(list.stdout) as { items: Ami[] }).items).toEqual([]);
  });

  it('a pending AMI (still being created): 409, in the dry run too', async () => {
    const { imageId } = await seed(ours('3.1.0', { state: 'pending' }));
    await e2e.control('DELETE', 'calls');
    await expectRefusedWithDryRun(imageId, `AMI ${imageId} is still being created`);
    expect(await e2e.changes()).toEqual([]);
    expect(await describeImage(imageId)).toHaveLength(1);
  });

  it.each([
    [
      'EC2 deregistration protection',
      { deregistrationProtection: true },
      'EC2 deregistration protection (enabled)',
    ],
    [
      'the cooldown',
      { deregistrationProtection: { disabledUntil: '2999-01-01T00:00:00Z' } },
      'in its cooldown until 2999-01-01T00:00:00.000Z',
    ],
    ['the Protected tag', { tags: { ManagedBy: 'pulsar-ami', Protected: 'true' } }, 'the Protected=true tag'],
  ])('an AMI protected by %s: 409 naming it', async (_what, extra, named) => {
    const { imageId } = await seed(ours('3.1.0', extra));
    await e2e.control('DELETE', 'calls');
    const result = await e2e.cli(['delete', '--ami-id', imageId]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(named);
    expect(await e2e.changes()).toEqual([]);
    expect(await describeImage(imageId)).toHaveLength(1);
  });

  it('protection switched off with a cooldown still refuses, as EC2 reports it', async () => {
    const { imageId } = await seed(ours('3.1.0'));
    await ec2.send(new EnableImageDeregistrationProtectionCommand({ ImageId: imageId, WithCooldown: true }));
    expect((await describeImage(imageId))[0]?.DeregistrationProtection).toBe('enabled-with-cooldown');
    await ec2.send(new DisableImageDeregistrationProtectionCommand({ ImageId: imageId }));
    const state = (await describeImage(imageId))[0]?.DeregistrationProtection ?? '';
    expect(state).toMatch(/^disabled-until-\d{4}-\d\d-\d\dT/);
    const result = await e2e.cli(['delete', '--ami-id', imageId]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('in its cooldown until');
    expect(await describeImage(imageId)).toHaveLength(1);
  });
});

describe('delete of what it may touch', () => {
  it('a disabled AMI is listed with its state and can be deleted', async () => {
    const { imageId, snapshotIds } = await seed(ours('3.1.0'));
    await ec2.send(new DisableImageCommand({ ImageId: imageId }));
    expect((await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images).toEqual([]);
    const list = await e2e.cli(['list', '--no-cache', '--json']);
    expect((JSON.parse(list.stdout) as { items: Ami[] }).items.map((a) => [a.imageId, a.state])).toEqual([
      [imageId, 'disabled'],
    ]);
    const result = await e2e.cli(['delete', '--ami-id', imageId]);
    expect(result.code).toBe(0);
    expect(await describeImage(imageId)).toEqual([]);
    expect(await snapshotExists(snapshotIds[0] ?? '')).toBe(false);
  });

  it('a failed AMI can be deleted', async () => {
    const { imageId } = await seed(ours('3.1.0', { state: 'failed' }));
    const result = await e2e.cli(['delete', '--ami-id', imageId]);
    expect(result.code).toBe(0);
    expect(await describeImage(imageId)).toEqual([]);
  });

  it('keeps a snapshot another image was registered from, naming it, in the dry run and the real run', async () => {
    const { imageId, snapshotIds } = await seed(ours('3.1.0'));
    const snapshotId = snapshotIds[0] ?? '';
    const registered = await ec2.send(
      new RegisterImageCommand({
        Name: 'team-copy',
        Architecture: 'x86_64',
        RootDeviceName: '/dev/xvda',
        BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: snapshotId } }],
      }),
    );
    const holder = registered.ImageId ?? '';
    expect(holder).toMatch(/^ami-/);
    const dry = await e2e.cli(['--dry-run', 'delete', '--ami-id', imageId]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`[DRY RUN] Would keep ${snapshotId} (used by ${holder})`);
    const result = await e2e.cli(['delete', '--ami-id', imageId]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`    Keeping ${snapshotId} (used by ${holder})`);
    expect(await snapshotExists(snapshotId)).toBe(true);
    expect(await describeImage(holder)).toHaveLength(1);
  });

  it("deleting a legacy image never re-tags a snapshot another tool's image shares", async () => {
    const { imageId, snapshotIds } = await seed({
      name: 'pulsar-base-2.9.0-20240101000000',
      snapshots: 2,
      tags: { PulsarVersion: '2.9.0' },
    });
    const shared = snapshotIds[1] ?? '';
    const other = await ec2.send(
      new RegisterImageCommand({
        Name: 'team-x-image',
        BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: shared } }],
      }),
    );
    await ec2.send(
      new CreateTagsCommand({
        Resources: [other.ImageId ?? '', shared],
        Tags: [{ Key: 'ManagedBy', Value: 'team-x' }],
      }),
    );
    const result = await e2e.cli(['delete', '--ami-id', imageId]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`    Keeping ${shared} (used by ${other.ImageId})`);
    const [snapshot] =
      (await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [shared] }))).Snapshots ?? [];
    expect(snapshot?.Tags).toContainEqual({ Key: 'ManagedBy', Value: 'team-x' });
    expect(snapshot?.Tags).not.toContainEqual({ Key: 'ManagedBy', Value: 'pulsar-ami' });
  });

  it("an image registered over another team's backup under a pulsar-base-* name is not ours: refused, the snapshot kept", async () => {
    // Another team's image, deregistered: its snapshot (a backup) is left, untagged.
    const backup = await seed({ name: 'team-x-db-backup', managed: false, snapshots: 1 });
    const snapshotId = backup.snapshotIds[0] ?? '';
    await ec2.send(new DeregisterImageCommand({ ImageId: backup.imageId }));
    // Someone who may only register images names one over it as this tool's, with an old date
    // in the name: EC2's CreationDate is today's, after the stack's legacy cutoff.
    const bait = await ec2.send(
      new RegisterImageCommand({
        Name: 'pulsar-base-2.8.0-20240101000000',
        Architecture: 'x86_64',
        RootDeviceName: '/dev/xvda',
        BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: snapshotId } }],
      }),
    );
    const baitId = bait.ImageId ?? '';
    await e2e.control('DELETE', 'calls');
    await expectRefusedWithDryRun(baitId, `AMI ${baitId} is not a pulsar-ami image`);
    expect(await e2e.changes()).toEqual([]);
    expect(await snapshotExists(snapshotId)).toBe(true);
    expect(await describeImage(baitId)).toHaveLength(1);
    const [snapshot] =
      (await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }))).Snapshots ?? [];
    expect(snapshot?.Tags ?? []).not.toContainEqual({ Key: 'ManagedBy', Value: 'pulsar-ami' });
  });

  it('retries a snapshot the deregistration still holds until EC2 releases it', async () => {
    const { imageId, snapshotIds } = await seed(ours('3.1.0'));
    await e2e.control('DELETE', 'calls');
    const result = await e2e.cli(['delete', '--ami-id', imageId]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('✓ AMI deleted successfully');
    const deletes = (await e2e.calls()).filter((c) => c.action === 'DeleteSnapshot');
    expect(deletes.length).toBeGreaterThanOrEqual(2);
    expect(deletes[0]?.status).toBe(400);
    expect(deletes.at(-1)?.status).toBe(200);
    expect(await snapshotExists(snapshotIds[0] ?? '')).toBe(false);
  });

  it('tags a snapshot that is not released in time OrphanedFrom=<ami>, names it, and exits 1', async () => {
    const { imageId, snapshotIds } = await seed(ours('3.1.0'));
    const snapshotId = snapshotIds[0] ?? '';
    await e2e.control('PUT', 'faults', { slowSnapshotRelease: { seconds: 86_400 } });
    const result = await e2e.cli(['delete', '--ami-id', imageId]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`tagged OrphanedFrom=${imageId} for a later cleanup`);
    expect(result.stderr).toContain(`could not be deleted: ${snapshotId}`);
    const snapshots =
      (await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }))).Snapshots ?? [];
    expect(snapshots[0]?.Tags).toContainEqual({ Key: 'OrphanedFrom', Value: imageId });
    // The AMI itself is gone: a second delete says so, and the snapshot stays findable by its tag.
    const again = await e2e.cli(['delete', '--ami-id', imageId]);
    expect(again.code).toBe(1);
    const found = await ec2.send(
      new DescribeSnapshotsCommand({
        OwnerIds: ['self'],
        Filters: [{ Name: 'tag:OrphanedFrom', Values: [imageId] }],
      }),
    );
    expect(found.Snapshots?.map((s) => s.SnapshotId)).toEqual([snapshotId]);
  }, 60_000);
});

describe('an image that only names itself ours', () => {
  it('pulsar-base-99.0.0-… registered today: never listed, adopted, validated or made latest', async () => {
    const published = await seed(ours('3.1.0', { tags: { ManagedBy: 'pulsar-ami', Validated: 'true' } }));
    const theirs = await seed({ name: 'team-x-base', managed: false, snapshots: 1 });
    const bait = await ec2.send(
      new RegisterImageCommand({
        Name: 'pulsar-base-99.0.0-20240101000000',
        Architecture: 'x86_64',
        RootDeviceName: '/dev/xvda',
        BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: theirs.snapshotIds[0] ?? '' } }],
      }),
    );
    const baitId = bait.ImageId ?? '';
    await e2e.control('DELETE', 'calls');
    const validate = await e2e.cli(['validate', '--ami-id', baitId]);
    expect(validate.code).toBe(1);
    expect(validate.stderr).toContain(`AMI ${baitId} is not a pulsar-ami image`);
    expect(await e2e.changes()).toEqual([]);
    expect((await e2e.calls()).filter((c) => c.action === 'StartExecution')).toEqual([]);
    const [image] = await describeImage(baitId);
    expect(image?.Tags ?? []).toEqual([]);
    const list = await e2e.cli(['list', '--no-cache', '--json']);
    expect((JSON.parse(list.stdout) as { items: Ami[] }).items.map((a) => a.imageId)).toEqual([
      published.imageId,
    ]);
    const latest = await e2e.cli(['latest', '--no-cache']);
    expect(latest.stdout.trim()).toBe(`Latest AMI: ${published.imageId}`);
    expect((await signedGet(e2e.url, `/amis/${baitId}`)).status).toBe(403);
  });
});

/** The seeded legacy image (pulsar-base-2.9.0-…, no ManagedBy tag, from before the cutoff). */
async function seededLegacy(): Promise<string> {
  const page = await ec2.send(
    new DescribeImagesCommand({
      Owners: ['self'],
      Filters: [{ Name: 'name', Values: ['pulsar-base-2.9.0-20250101120000'] }],
    }),
  );
  const id = page.Images?.[0]?.ImageId;
  if (!id) throw new Error('the seed has no legacy image');
  return id;
}

describe('tags someone else wrote on a legacy image', () => {
  it.each([
    ['ManagedBy ', 'team-x'],
    ['managedby', 'team-y'],
    [' MANAGEDBY', 'pulsar-ami'],
  ])(
    "a ManagedBy claim under the key '%s' (=%s): not ours, never listed, adopted, validated or deleted",
    async (Key, Value) => {
      await e2e.reset();
      const legacy = await seededLegacy();
      await ec2.send(new CreateTagsCommand({ Resources: [legacy], Tags: [{ Key, Value }] }));
      await e2e.control('DELETE', 'calls');
      await expectRefusedWithDryRun(legacy, `AMI ${legacy} is not a pulsar-ami image`);
      const validate = await e2e.cli(['validate', '--ami-id', legacy]);
      expect(validate.code).toBe(1);
      expect(validate.stderr).toContain(`AMI ${legacy} is not a pulsar-ami image`);
      expect(await e2e.changes()).toEqual([]);
      expect((await e2e.calls()).filter((c) => c.action === 'StartExecution')).toEqual([]);
      const [image] = await describeImage(legacy);
      expect(image?.Tags ?? []).toContainEqual({ Key, Value });
      expect((image?.Tags ?? []).filter((t) => t.Key === 'ManagedBy')).toEqual([]);
      const list = await e2e.cli(['list', '--no-cache', '--json']);
      expect((JSON.parse(list.stdout) as { items: Ami[] }).items.map((a) => a.imageId)).not.toContain(legacy);
      expect((await signedGet(e2e.url, `/amis/${legacy}`)).status).toBe(403);
    },
  );

  it('forged PulsarVersion=99.0.0 Validated=true: read by its name, unvalidated, never the latest after a republish', async () => {
    await e2e.reset();
    const legacy = await seededLegacy();
    await ec2.send(
      new CreateTagsCommand({
        Resources: [legacy],
        Tags: [
          { Key: 'PulsarVersion', Value: '99.0.0' },
          { Key: 'Validated', Value: 'true' },
          { Key: 'ValidationDate', Value: '2030-01-01' },
        ],
      }),
    );
    const name = 'pulsar-base-2.11.1-20250401000000';
    const right = await seed({
      name,
      createdAt: '2025-04-01T00:00:00.000Z',
      tags: { Name: name, ManagedBy: 'pulsar-ami', PulsarVersion: '2.11.1', Validated: 'true' },
    });
    const list = await e2e.cli(['list', '--no-cache', '--json']);
    const items = (JSON.parse(list.stdout) as { items: Ami[] }).items;
    expect(items.find((a) => a.imageId === legacy)).toMatchObject({ version: '2.9.0', validated: null });
    // The published latest (the seeded 3.0.0) goes: the latest moves by the rule, to 2.11.1.
    const latestBefore = (await e2e.cli(['latest', '--no-cache'])).stdout.trim().split(' ').at(-1) ?? '';
    expect(latestBefore).not.toBe(legacy);
    const deleted = await e2e.cli(['delete', '--ami-id', latestBefore]);
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toContain(`Latest AMI republished: ${right.imageId}`);
    expect((await e2e.cli(['latest', '--no-cache'])).stdout.trim()).toBe(`Latest AMI: ${right.imageId}`);
    const any = await e2e.cli(['latest', '--no-cache', '--include-unvalidated']);
    expect(any.stdout.trim()).toBe(`Latest AMI: ${right.imageId}`);
    const v99 = await signedGet(e2e.url, '/amis/latest?version=99.0.0&validated=false');
    expect(v99.status).toBe(404);
  });
});

describe('sandbox EC2 image lifecycle over the wire', () => {
  it('DisableImage leaves an image out of DescribeImages unless IncludeDisabled; EnableImage brings it back', async () => {
    const { imageId } = await seed(ours('3.1.0'));
    await ec2.send(new DisableImageCommand({ ImageId: imageId }));
    expect((await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images).toEqual([]);
    expect((await describeImage(imageId))[0]?.State).toBe('disabled');
    await ec2.send(new EnableImageCommand({ ImageId: imageId }));
    expect((await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images?.[0]?.State).toBe(
      'available',
    );
    const api = await signedGet(e2e.url, `/amis/${imageId}`);
    expect(api.status).toBe(200);
  });

  it('RegisterImage refuses a snapshot that is not there, and a name already used', async () => {
    const { snapshotIds } = await seed(ours('3.1.0'));
    const register = (name: string, snapshotId: string) =>
      ec2
        .send(
          new RegisterImageCommand({
            Name: name,
            BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: snapshotId } }],
          }),
        )
        .catch((e: Error) => e.name);
    expect(await register('x', 'snap-0123456789abcdef0')).toBe('InvalidSnapshot.NotFound');
    expect(await register('pulsar-base-3.1.0-20250701000000', snapshotIds[0] ?? '')).toBe(
      'InvalidAMIName.Duplicate',
    );
  });

  it('CreateTags of OrphanedFrom leaves the snapshot otherwise alone', async () => {
    const { snapshotIds } = await seed(ours('3.1.0'));
    await ec2.send(
      new CreateTagsCommand({ Resources: snapshotIds, Tags: [{ Key: 'OrphanedFrom', Value: 'ami-0' }] }),
    );
    expect(await snapshotExists(snapshotIds[0] ?? '')).toBe(true);
  });
});
