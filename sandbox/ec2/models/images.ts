/** Images: which ones a DescribeImages selects, and DeregisterImage's rules. */
import { AMI_ID_PATTERN } from '../../../functions/lib/validation';
import {
  AuthFailure,
  InvalidAmiIdMalformed,
  InvalidAmiIdNotFound,
  InvalidUserIdMalformed,
  OperationNotPermitted,
} from '../../errors/ec2';
import type { ImageRecord } from '../../state';
import { type Ec2Scope, idFinder } from './context';
import { compileFilters, type Filter, type FilterFields } from './filters';

const IMAGE_FILTERS: FilterFields<ImageRecord> = {
  name: (i) => i.name,
  state: (i) => i.state,
  'image-id': (i) => i.imageId,
  'owner-id': (i) => i.ownerId,
  'owner-alias': (i) => i.ownerAlias,
  architecture: (i) => i.architecture,
  'is-public': (i) => String(i.isPublic),
  'image-type': () => 'machine',
  'root-device-type': () => 'ebs',
  'root-device-name': (i) => i.rootDeviceName,
  'virtualization-type': (i) => i.virtualizationType,
  description: (i) => i.description,
  'creation-date': (i) => i.creationDate,
  'block-device-mapping.snapshot-id': (i) => i.blockDevices.map((d) => d.snapshotId),
  'block-device-mapping.device-name': (i) => i.blockDevices.map((d) => d.deviceName),
  'source-image-id': (i) => i.sourceImageId,
};

/** Owner.N: `self`, an account id, or an alias (`amazon`, `aws-marketplace`). */
function ownerMatcher(scope: Ec2Scope, owners: string[]): (image: ImageRecord) => boolean {
  const tests = owners.map((owner) => {
    if (owner === 'self') return (i: ImageRecord) => i.ownerId === scope.world.accountId;
    if (/^\d{12}$/.test(owner)) return (i: ImageRecord) => i.ownerId === owner;
    if (owner === 'amazon' || owner === 'aws-marketplace' || owner === 'aws-backup-vault') {
      return (i: ImageRecord) => i.ownerAlias === owner;
    }
    throw new InvalidUserIdMalformed(owner);
  });
  return (image) => tests.some((test) => test(image));
}

/** Resolves image ids, with EC2's Malformed/NotFound errors; the images in request order. */
export const findImages = idFinder(
  (scope) => scope.region.images,
  AMI_ID_PATTERN,
  (id) => new InvalidAmiIdMalformed(id),
  (missing) => new InvalidAmiIdNotFound(missing),
);

/** One image by id (Malformed/NotFound otherwise). */
export function findImage(scope: Ec2Scope, imageId: string): ImageRecord {
  const [image] = findImages(scope, [imageId]);
  if (!image) throw new InvalidAmiIdNotFound([imageId]);
  return image;
}

export interface DescribeImagesInput {
  imageIds: string[];
  owners: string[];
  filters: Filter[];
}

/** The images a DescribeImages selects (unordered; the protocol pages them). */
export function describeImages(scope: Ec2Scope, input: DescribeImagesInput): ImageRecord[] {
  const filter = compileFilters(input.filters, IMAGE_FILTERS, (i) => i.tags);
  const ownedBy = input.owners.length > 0 ? ownerMatcher(scope, input.owners) : () => true;
  const candidates =
    input.imageIds.length > 0 ? findImages(scope, input.imageIds) : [...scope.region.images.values()];
  scope.checkpoint();
  return candidates.filter((image) => ownedBy(image) && filter(image));
}

export interface SnapshotDeletion {
  snapshotId: string;
  deleted: boolean;
}

/**
 * Deregisters an image of this account (not protected); with `deleteSnapshots`, deletes its
 * snapshots that no other image uses and says which.
 */
export function deregisterImage(
  scope: Ec2Scope,
  input: { imageId: string; deleteSnapshots: boolean },
): SnapshotDeletion[] | undefined {
  const { imageId } = input;
  const image = findImage(scope, imageId);
  if (image.ownerId !== scope.world.accountId) throw new AuthFailure(`image:${imageId}`);
  if (image.deregistrationProtection) throw OperationNotPermitted.deregistrationProtection(imageId);
  scope.checkpoint();
  scope.region.images.delete(imageId);
  if (!input.deleteSnapshots) return undefined;
  return image.blockDevices.map((device) => {
    const inUse = scope.region.imagesUsingSnapshot(device.snapshotId).length > 0;
    if (!inUse) scope.region.snapshots.delete(device.snapshotId);
    return { snapshotId: device.snapshotId, deleted: !inUse };
  });
}
