/**
 * When a snapshot counts as orphaned, one rule for the plan and for Delete Orphaned Snapshot
 * (which asks again just before DeleteSnapshot). The OrphanedFrom tag alone proves nothing:
 * anyone who may tag a snapshot could set it. A snapshot is deleted as orphaned only when
 *  (a) it is tagged ManagedBy=pulsar-ami,
 *  (b) EC2's own Description of it, which CreateImage and CopyImage write and nobody can change
 *      ("Created by CreateImage(i-…) for ami-…", "Copied for DestinationAmi ami-… from …"),
 *      names the same AMI as its OrphanedFrom tag,
 *  (c) that AMI no longer exists (DescribeImages of it: none, or deregistered), and
 *  (d) no image of the account is made from it.
 * Otherwise it is kept, with the check that failed as the reason.
 */
import { DescribeImagesCommand, type Snapshot } from '@aws-sdk/client-ec2';
import { MANAGED_BY, TAG, tagsToRecord } from './ami';
import type { Ec2 } from './ami-catalogue';
import { ORPHANED_FROM_TAG } from './ami-deletion';
import { awsCall } from './errors';
import { AMI_ID_PATTERN } from './validation';

const ec2Call = <T>(call: Promise<T>): Promise<T> => awsCall('EC2', call);

const CREATED_BY = /^Created by CreateImage\([^)]*\) for (ami-[0-9a-f]{8,17})\b/;
const COPIED_FOR = /^Copied for DestinationAmi (ami-[0-9a-f]{8,17})\b/;

/** The AMI EC2's own snapshot description names (CreateImage, CopyImage), or null. */
export function amiOfSnapshotDescription(description: string | undefined): string | null {
  const text = description ?? '';
  return CREATED_BY.exec(text)?.[1] ?? COPIED_FOR.exec(text)?.[1] ?? null;
}

/** What the rule needs besides the snapshot itself. */
export interface OrphanFacts {
  /** AMI id → state, for the AMIs named that still exist (deregistered ones left out). */
  existing: ReadonlyMap<string, string>;
  /** Snapshot id → an image of the account made from it. */
  holders: ReadonlyMap<string, string>;
}

export type OrphanVerdict =
  | { orphaned: true; orphanedFrom: string; reason: string }
  | { orphaned: false; orphanedFrom: string; reason: string };

/** The rule (see the file's comment), pure. */
export function orphanVerdict(snapshot: Snapshot, facts: OrphanFacts): OrphanVerdict {
  const tags = tagsToRecord(snapshot.Tags);
  const from = tags[ORPHANED_FROM_TAG] ?? '';
  const keep = (reason: string): OrphanVerdict => ({ orphaned: false, orphanedFrom: from, reason });
  if (tags[TAG.managedBy] !== MANAGED_BY) return keep(`not tagged ${TAG.managedBy}=${MANAGED_BY}`);
  if (!AMI_ID_PATTERN.test(from)) {
    return keep(
      from === '' ? `not tagged ${ORPHANED_FROM_TAG}` : `${ORPHANED_FROM_TAG}=${from} is not an AMI id`,
    );
  }
  const described = amiOfSnapshotDescription(snapshot.Description);
  if (described === null) {
    return keep(`its EC2 description names no AMI (not made by CreateImage or CopyImage)`);
  }
  if (described !== from) {
    return keep(`its EC2 description names ${described}, not ${from} (the ${ORPHANED_FROM_TAG} tag)`);
  }
  const state = facts.existing.get(from);
  if (state !== undefined) return keep(`${from} still exists (${state})`);
  const holder = snapshot.SnapshotId ? facts.holders.get(snapshot.SnapshotId) : undefined;
  if (holder) return keep(`in use by ${holder}`);
  return { orphaned: true, orphanedFrom: from, reason: `orphaned from ${from}` };
}

/** Snapshots an image of the account is made from, among `snapshotIds` (200 a DescribeImages). */
export async function snapshotsInUse(ec2: Ec2, snapshotIds: readonly string[]): Promise<Map<string, string>> {
  const held = new Map<string, string>();
  for (let i = 0; i < snapshotIds.length; i += 200) {
    const wanted = new Set(snapshotIds.slice(i, i + 200));
    let NextToken: string | undefined;
    do {
      const page = await ec2Call(
        ec2.send(
          new DescribeImagesCommand({
            Owners: ['self'],
            IncludeDisabled: true,
            Filters: [{ Name: 'block-device-mapping.snapshot-id', Values: [...wanted] }],
            MaxResults: 1000,
            NextToken,
          }),
        ),
      );
      for (const image of page.Images ?? []) {
        for (const m of image.BlockDeviceMappings ?? []) {
          const id = m.Ebs?.SnapshotId;
          if (id && wanted.has(id) && image.ImageId) held.set(id, image.ImageId);
        }
      }
      NextToken = page.NextToken;
    } while (NextToken);
  }
  return held;
}

/**
 * The AMIs among `imageIds` that still exist, with their state (an image-id filter, 200 ids a
 * DescribeImages: no NotFound for one that never existed; deregistered ones count as gone).
 */
export async function existingImages(ec2: Ec2, imageIds: readonly string[]): Promise<Map<string, string>> {
  const existing = new Map<string, string>();
  const unique = [...new Set(imageIds)];
  for (let i = 0; i < unique.length; i += 200) {
    let NextToken: string | undefined;
    do {
      const page = await ec2Call(
        ec2.send(
          new DescribeImagesCommand({
            Owners: ['self'],
            IncludeDisabled: true,
            IncludeDeprecated: true,
            Filters: [{ Name: 'image-id', Values: unique.slice(i, i + 200) }],
            MaxResults: 1000,
            NextToken,
          }),
        ),
      );
      for (const image of page.Images ?? []) {
        if (image.ImageId && image.State !== 'deregistered') {
          existing.set(image.ImageId, image.State ?? 'unknown');
        }
      }
      NextToken = page.NextToken;
    } while (NextToken);
  }
  return existing;
}

/** The rule for each snapshot, with the facts it needs read (two kinds of DescribeImages). */
export async function judgeOrphans(ec2: Ec2, snapshots: readonly Snapshot[]): Promise<OrphanVerdict[]> {
  const named = snapshots.flatMap((s) => {
    const from = tagsToRecord(s.Tags)[ORPHANED_FROM_TAG] ?? '';
    return AMI_ID_PATTERN.test(from) ? [from] : [];
  });
  const ids = snapshots.flatMap((s) => (s.SnapshotId ? [s.SnapshotId] : []));
  const existing = named.length > 0 ? await existingImages(ec2, named) : new Map<string, string>();
  const holders = ids.length > 0 ? await snapshotsInUse(ec2, ids) : new Map<string, string>();
  return snapshots.map((snapshot) => orphanVerdict(snapshot, { existing, holders }));
}
