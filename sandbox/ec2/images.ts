/** DescribeImages and DeregisterImage. */
import { AMI_ID_PATTERN } from '../../functions/lib/validation';
import { AwsError } from '../aws-error';
import type { ImageRecord } from '../state';
import { items } from '../xml';
import { type Ec2Action, type Ec2Context, idList, malformed, requireParam } from './context';
import { compileFilters, type FilterFields } from './filters';
import { checkPageOrIds, paginate } from './pagination';
import { renderImage } from './render';

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
function ownerMatcher(ctx: Ec2Context, owners: string[]): (image: ImageRecord) => boolean {
  const tests = owners.map((owner) => {
    if (owner === 'self') return (i: ImageRecord) => i.ownerId === ctx.world.accountId;
    if (/^\d{12}$/.test(owner)) return (i: ImageRecord) => i.ownerId === owner;
    if (owner === 'amazon' || owner === 'aws-marketplace' || owner === 'aws-backup-vault') {
      return (i: ImageRecord) => i.ownerAlias === owner;
    }
    throw new AwsError('InvalidUserID.Malformed', `Invalid user id: "${owner}"`);
  });
  return (image) => tests.some((test) => test(image));
}

/** Resolves ImageId.N, with EC2's Malformed/NotFound errors; the images in request order. */
export function findImages(ctx: Ec2Context, imageIds: readonly string[]): ImageRecord[] {
  for (const id of imageIds)
    if (!AMI_ID_PATTERN.test(id)) throw malformed('InvalidAMIID.Malformed', id, 'ami');
  const missing = imageIds.filter((id) => !ctx.region.images.has(id));
  if (missing.length > 0) {
    throw new AwsError('InvalidAMIID.NotFound', `The image id '${idList(missing)}' does not exist`);
  }
  return [...new Set(imageIds)].flatMap((id) => {
    const image = ctx.region.images.get(id);
    return image ? [image] : [];
  });
}

export const describeImages: Ec2Action = (ctx) => {
  const imageIds = ctx.params.list('ImageId');
  const owners = ctx.params.list('Owner');
  const maxResults = ctx.params.int('MaxResults');
  const nextToken = ctx.params.get('NextToken');
  checkPageOrIds(maxResults, imageIds, 'imageIdsSet');
  const filter = compileFilters(ctx.params.filters(), IMAGE_FILTERS, (i) => i.tags);
  const ownedBy = owners.length > 0 ? ownerMatcher(ctx, owners) : () => true;
  const candidates = imageIds.length > 0 ? findImages(ctx, imageIds) : [...ctx.region.images.values()];
  ctx.dryRunCheckpoint();
  const matching = candidates.filter((image) => ownedBy(image) && filter(image));
  const { page, nextToken: next } = paginate('images', matching, (i) => i.imageId, maxResults, nextToken);
  return { imagesSet: items(page.map(renderImage)), nextToken: next };
};

export const deregisterImage: Ec2Action = (ctx) => {
  const imageId = requireParam(ctx, 'ImageId');
  const [image] = findImages(ctx, [imageId]);
  if (!image) throw new AwsError('InvalidAMIID.NotFound', `The image id '[${imageId}]' does not exist`);
  if (image.ownerId !== ctx.world.accountId) {
    throw new AwsError('AuthFailure', `Not authorized for image:${imageId}`);
  }
  if (image.deregistrationProtection) {
    throw new AwsError(
      'OperationNotPermitted',
      `Deregistration protection is enabled for image ${imageId}. Disable it before deregistering the image.`,
    );
  }
  const deleteSnapshots = ctx.params.bool('DeleteAssociatedSnapshots');
  ctx.dryRunCheckpoint();
  ctx.region.images.delete(imageId);
  if (!deleteSnapshots) return { return: true };
  const results = image.blockDevices.map((device) => {
    const inUse = ctx.region.imagesUsingSnapshot(device.snapshotId).length > 0;
    if (!inUse) ctx.region.snapshots.delete(device.snapshotId);
    return { snapshotId: device.snapshotId, returnCode: inUse ? 'client-error' : 'success' };
  });
  return { return: true, deleteSnapshotResultSet: items(results) };
};
