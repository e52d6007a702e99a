/**
 * CopyImage: an image of another region (or this one) copied into the call's region. The copy
 * is `pending` with new `pending` snapshots, and `available` (snapshots `completed`) after
 * AWS_COPY_SECONDS of compressed time; it carries the source's contents (what an instance of it
 * finds on disk, a built image's files included), architecture, devices and, with
 * CopyImageTags, its tags. ClientToken makes the call idempotent per destination region.
 */
import { createHash } from 'node:crypto';
import { isAwsRegion } from '../../../functions/lib/regions';
import {
  IdempotentParameterMismatch,
  InvalidAmiIdUnavailable,
  InvalidAmiNameDuplicate,
  InvalidParameterValue,
  MissingParameter,
} from '../../errors/ec2';
import type { ImageRecord, SnapshotRecord, Tags } from '../../state';
import type { Ec2Scope } from './context';
import { findImage } from './images';

/** How long a copy takes in AWS (scaled like all time): pending → available. */
export const AWS_COPY_SECONDS = 120;

export interface CopyImageInput {
  sourceRegion: string;
  sourceImageId: string;
  name: string;
  description?: string;
  clientToken?: string;
  copyImageTags?: boolean;
  /** TagSpecifications: tags for the new image and for its snapshots. */
  imageTags: Tags;
  snapshotTags: Tags;
  encrypted?: boolean;
}

const NAME = /^[A-Za-z0-9()[\]./\-'@_ ]{3,128}$/;

function fingerprint(input: CopyImageInput): string {
  const { clientToken: _token, ...rest } = input;
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex');
}

export function copyImage(scope: Ec2Scope, input: CopyImageInput): ImageRecord {
  if (!input.sourceRegion) throw new MissingParameter('SourceRegion');
  if (!input.sourceImageId) throw new MissingParameter('SourceImageId');
  if (!input.name) throw new MissingParameter('Name');
  if (!isAwsRegion(input.sourceRegion)) {
    throw InvalidParameterValue.forParameter('SourceRegion', input.sourceRegion, 'It must be an AWS region.');
  }
  if (!NAME.test(input.name)) {
    throw new InvalidParameterValue(
      `Invalid AMI name ${input.name}: 3 to 128 letters, digits and ( ) [ ] . / - ' @ _ or space`,
    );
  }
  const { world, region } = scope;
  const tokens = region.copyImageTokens;
  if (input.clientToken !== undefined) {
    const earlier = tokens.get(input.clientToken);
    if (earlier) {
      if (earlier.fingerprint !== fingerprint(input)) throw new IdempotentParameterMismatch();
      const image = region.images.get(earlier.imageId);
      if (image) return image;
      throw new IdempotentParameterMismatch();
    }
  }
  const sourceScope: Ec2Scope = {
    ...scope,
    region: world.region(input.sourceRegion),
    regionName: input.sourceRegion,
  };
  const source = findImage(sourceScope, input.sourceImageId);
  if (source.state !== 'available') throw new InvalidAmiIdUnavailable(source.imageId, source.state);
  if ([...region.images.values()].some((i) => i.name === input.name && i.ownerId === world.accountId)) {
    throw new InvalidAmiNameDuplicate(input.name);
  }
  scope.checkpoint();

  const imageId = world.ids.next('ami');
  const now = new Date();
  const snapshots: SnapshotRecord[] = source.blockDevices.map((device) => {
    const snapshotId = world.ids.next('snap');
    const sourceSnapshot = sourceScope.region.snapshots.get(device.snapshotId);
    return {
      snapshotId,
      volumeId: 'vol-ffffffff',
      ownerId: world.accountId,
      state: 'pending',
      startTime: now.toISOString(),
      volumeSize: sourceSnapshot?.volumeSize ?? device.volumeSize,
      description: `Copied for DestinationAmi ${imageId} from SourceAmi ${source.imageId} for SourceSnapshot ${device.snapshotId}. Task created on ${now.getTime()}.`,
      encrypted: input.encrypted ?? device.encrypted,
      tags: { ...input.snapshotTags },
    };
  });
  for (const snapshot of snapshots) region.snapshots.set(snapshot.snapshotId, snapshot);
  const image: ImageRecord = {
    imageId,
    name: input.name,
    ...(input.description !== undefined
      ? { description: input.description }
      : source.description !== undefined
        ? { description: source.description }
        : {}),
    state: 'pending',
    ownerId: world.accountId,
    isPublic: false,
    creationDate: now.toISOString(),
    architecture: source.architecture,
    rootDeviceName: source.rootDeviceName,
    virtualizationType: source.virtualizationType,
    blockDevices: source.blockDevices.map((device, index) => ({
      ...device,
      snapshotId: snapshots[index]?.snapshotId ?? device.snapshotId,
      encrypted: input.encrypted ?? device.encrypted,
    })),
    tags: { ...(input.copyImageTags ? userTags(source.tags) : {}), ...input.imageTags },
    deregistrationProtection: false,
    sourceImageId: source.imageId,
    sourceImageRegion: input.sourceRegion,
    ...(source.contents !== undefined
      ? { contents: { ...source.contents, missing: [...source.contents.missing] } }
      : {}),
  };
  region.images.set(imageId, image);
  if (input.clientToken !== undefined) {
    tokens.set(input.clientToken, { fingerprint: fingerprint(input), imageId });
  }
  world.timeline.after(AWS_COPY_SECONDS, () => {
    for (const snapshot of snapshots) if (snapshot.state === 'pending') snapshot.state = 'completed';
    if (region.images.get(imageId) === image && image.state === 'pending') image.state = 'available';
  });
  return image;
}

/** The tags CopyImageTags copies: the user's, not AWS's own (`aws:` keys). */
function userTags(tags: Tags): Tags {
  return Object.fromEntries(Object.entries(tags).filter(([key]) => !key.startsWith('aws:')));
}
