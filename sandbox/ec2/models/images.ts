/** Images: which ones a DescribeImages selects, and DeregisterImage's rules. */
import { AMI_ID_PATTERN } from '../../../functions/lib/validation';
import {
  AuthFailure,
  IncorrectState,
  InvalidAmiIdMalformed,
  InvalidAmiIdNotFound,
  InvalidAmiNameDuplicate,
  InvalidParameterValue,
  InvalidUserIdMalformed,
  MissingParameter,
  OperationNotPermitted,
} from '../../errors/ec2';
import type { ImageRecord, Tags } from '../../state';
import { AWS_SECONDS } from '../../timeline';
import { type Ec2Scope, idFinder } from './context';
import { compileFilters, type Filter, type FilterFields } from './filters';
import { findSnapshots } from './snapshots';

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
  /** Disabled images are left out unless asked for, for their owner too. */
  includeDisabled?: boolean;
}

/** The images a DescribeImages selects (unordered; the protocol pages them). */
export function describeImages(scope: Ec2Scope, input: DescribeImagesInput): ImageRecord[] {
  const filter = compileFilters(input.filters, IMAGE_FILTERS, (i) => i.tags);
  const ownedBy = input.owners.length > 0 ? ownerMatcher(scope, input.owners) : () => true;
  const candidates =
    input.imageIds.length > 0 ? findImages(scope, input.imageIds) : [...scope.region.images.values()];
  scope.checkpoint();
  return candidates.filter(
    (image) => (input.includeDisabled || image.state !== 'disabled') && ownedBy(image) && filter(image),
  );
}

/**
 * Whether deregistration protection refuses now: on, or switched off with a cooldown that has
 * not ended. As DescribeImages says it: `enabled`, `enabled-with-cooldown`,
 * `disabled-until-<ISO time>` during a cooldown, else `disabled`.
 */
export function protectionState(image: ImageRecord, now = Date.now()): string {
  if (image.deregistrationProtection) return image.protectionCooldown ? 'enabled-with-cooldown' : 'enabled';
  if (image.protectionUntil !== undefined && image.protectionUntil > now) {
    return `disabled-until-${new Date(image.protectionUntil).toISOString()}`;
  }
  return 'disabled';
}

function ownImage(scope: Ec2Scope, imageId: string): ImageRecord {
  const image = findImage(scope, imageId);
  if (image.ownerId !== scope.world.accountId) throw new AuthFailure(`image:${imageId}`);
  return image;
}

/** EnableImageDeregistrationProtection (WithCooldown) and DisableImageDeregistrationProtection. */
export function setDeregistrationProtection(
  scope: Ec2Scope,
  input: { imageId: string; enabled: boolean; withCooldown?: boolean },
): void {
  const image = ownImage(scope, input.imageId);
  scope.checkpoint();
  if (input.enabled) {
    image.deregistrationProtection = true;
    image.protectionCooldown = input.withCooldown === true;
    image.protectionUntil = undefined;
    return;
  }
  if (image.deregistrationProtection && image.protectionCooldown) {
    image.protectionUntil = Date.now() + scope.world.timeline.ms(AWS_SECONDS.protectionCooldown);
  }
  image.deregistrationProtection = false;
  image.protectionCooldown = false;
}

/** DisableImage (available → disabled) and EnableImage (disabled → available). */
export function setImageEnabled(scope: Ec2Scope, input: { imageId: string; enabled: boolean }): void {
  const image = ownImage(scope, input.imageId);
  const from = input.enabled ? 'disabled' : 'available';
  if (image.state !== from && image.state !== (input.enabled ? 'available' : 'disabled')) {
    throw new IncorrectState(
      `The image ${input.imageId} is ${image.state}; only ${from} images can be ${input.enabled ? 'enabled' : 'disabled'}.`,
    );
  }
  scope.checkpoint();
  image.state = input.enabled ? 'available' : 'disabled';
}

export interface RegisterImageInput {
  name: string;
  description?: string;
  architecture: 'x86_64' | 'arm64';
  rootDeviceName: string;
  blockDevices: { deviceName: string; snapshotId: string; volumeSize?: number; volumeType?: string }[];
  tags: Tags;
}

/** RegisterImage from existing snapshots of this account (as `aws ec2 register-image` sends it). */
export function registerImage(scope: Ec2Scope, input: RegisterImageInput): ImageRecord {
  if (input.blockDevices.length === 0) throw new MissingParameter('BlockDeviceMapping');
  const snapshots = findSnapshots(
    scope,
    input.blockDevices.map((d) => d.snapshotId),
  );
  for (const snapshot of snapshots) {
    if (snapshot.ownerId !== scope.world.accountId) throw new AuthFailure(`snapshot:${snapshot.snapshotId}`);
  }
  if (
    [...scope.region.images.values()].some(
      (i) => i.name === input.name && i.ownerId === scope.world.accountId,
    )
  ) {
    throw new InvalidAmiNameDuplicate(input.name);
  }
  scope.checkpoint();
  const imageId = scope.world.ids.next('ami');
  const image: ImageRecord = {
    imageId,
    name: input.name,
    ...(input.description !== undefined ? { description: input.description } : {}),
    state: 'available',
    ownerId: scope.world.accountId,
    isPublic: false,
    creationDate: new Date().toISOString(),
    architecture: input.architecture,
    rootDeviceName: input.rootDeviceName,
    virtualizationType: 'hvm',
    blockDevices: input.blockDevices.map((d, index) => ({
      deviceName: d.deviceName,
      snapshotId: d.snapshotId,
      volumeSize: d.volumeSize ?? snapshots[index]?.volumeSize ?? 8,
      volumeType: d.volumeType ?? 'gp3',
      deleteOnTermination: true,
      encrypted: false,
    })),
    tags: { ...input.tags },
    deregistrationProtection: false,
  };
  scope.region.images.set(imageId, image);
  return image;
}

/** A built image's files (instance-root.ts) go with its last image (copies share them). */
function releaseBuiltFiles(scope: Ec2Scope, image: ImageRecord): void {
  const files = image.contents?.kind === 'built' ? image.contents.files : undefined;
  if (files === undefined) return;
  const shared = scope.world
    .regionNames()
    .some((name) =>
      [...scope.world.region(name).images.values()].some((other) => other.contents?.files === files),
    );
  if (!shared) scope.world.roots.removeImage(files);
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
  const image = ownImage(scope, imageId);
  if (protectionState(image) !== 'disabled') throw OperationNotPermitted.deregistrationProtection(imageId);
  scope.checkpoint();
  scope.region.images.delete(imageId);
  releaseBuiltFiles(scope, image);
  const snapshotIds = image.blockDevices.map((device) => device.snapshotId);
  if (!input.deleteSnapshots) {
    // EC2 finishes the deregistration later: until then the image still holds its snapshots.
    const seconds = scope.world.faults.snapshotReleaseSeconds(AWS_SECONDS.snapshotRelease);
    scope.region.releasing.set(imageId, {
      snapshotIds,
      until: Date.now() + scope.world.timeline.ms(seconds),
    });
    return undefined;
  }
  // Its own snapshots go with it; one another image also uses is kept.
  return snapshotIds.map((snapshotId) => {
    const inUse = scope.region.snapshotHolders(snapshotId).length > 0;
    if (!inUse) scope.region.snapshots.delete(snapshotId);
    return { snapshotId, deleted: !inUse };
  });
}

/** EnableImageDeprecation (a time rounded to the minute, not in the past) and DisableImageDeprecation. */
export function setImageDeprecation(scope: Ec2Scope, input: { imageId: string; deprecateAt?: string }): void {
  const image = ownImage(scope, input.imageId);
  if (input.deprecateAt === undefined) {
    scope.checkpoint();
    image.deprecationTime = undefined;
    return;
  }
  const at = Date.parse(input.deprecateAt);
  if (Number.isNaN(at)) throw InvalidParameterValue.forParameter('DeprecateAt', input.deprecateAt);
  const rounded = Math.round(at / 60_000) * 60_000;
  if (rounded < Date.now() - 60_000) {
    throw InvalidParameterValue.forParameter(
      'DeprecateAt',
      input.deprecateAt,
      'The deprecation time cannot be in the past.',
    );
  }
  scope.checkpoint();
  image.deprecationTime = new Date(rounded).toISOString();
}

/** The image attributes DescribeImageAttribute answers here (lastLaunchedTime: the owner only). */
export const IMAGE_ATTRIBUTES = ['description', 'lastLaunchedTime', 'deregistrationProtection'] as const;

export function imageAttribute(
  scope: Ec2Scope,
  input: { imageId: string; attribute: string },
): { attribute: (typeof IMAGE_ATTRIBUTES)[number]; value: string | undefined } {
  const image = ownImage(scope, input.imageId);
  const attribute = IMAGE_ATTRIBUTES.find((a) => a === input.attribute);
  if (attribute === undefined) throw InvalidParameterValue.forParameter('Attribute', input.attribute);
  scope.checkpoint();
  const value =
    attribute === 'description'
      ? image.description
      : attribute === 'lastLaunchedTime'
        ? image.lastLaunchedTime
        : protectionState(image);
  return { attribute, value };
}
