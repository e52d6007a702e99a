/** CreateTags and DeleteTags on images, snapshots, instances, VPCs and subnets. */
import { AwsError } from '../aws-error';
import type { Tags } from '../state';
import { type Ec2Action, type Ec2Context, malformed } from './context';

interface Taggable {
  tags: Tags;
}

const KINDS: Record<string, { notFound: string; what: string }> = {
  ami: { notFound: 'InvalidAMIID.NotFound', what: 'The image id' },
  snap: { notFound: 'InvalidSnapshot.NotFound', what: 'The snapshot' },
  i: { notFound: 'InvalidInstanceID.NotFound', what: 'The instance ID' },
  vpc: { notFound: 'InvalidVpcID.NotFound', what: 'The vpc ID' },
  subnet: { notFound: 'InvalidSubnetID.NotFound', what: 'The subnet ID' },
};

function resolve(ctx: Ec2Context, id: string): Taggable {
  const match = /^([a-z]+)-([0-9a-f]{8}|[0-9a-f]{17})$/.exec(id);
  const prefix = match?.[1];
  const kind = prefix === undefined ? undefined : KINDS[prefix];
  if (!kind || prefix === undefined) throw new AwsError('InvalidID', `The ID '${id}' is not valid`);
  const r = ctx.region;
  const found: Taggable | undefined =
    prefix === 'ami'
      ? r.images.get(id)
      : prefix === 'snap'
        ? r.snapshots.get(id)
        : prefix === 'i'
          ? r.instances.get(id)
          : undefined;
  if (prefix === 'vpc' || prefix === 'subnet') {
    // The default network carries no tags in the sandbox's state; accept tags for known ids only.
    const known = prefix === 'vpc' ? r.vpcs.has(id) : r.subnets.has(id);
    if (!known) throw new AwsError(kind.notFound, `${kind.what} '${id}' does not exist`);
    return { tags: {} };
  }
  if (!found) throw new AwsError(kind.notFound, `${kind.what} '${id}' does not exist`);
  return found;
}

function resourceIds(ctx: Ec2Context): string[] {
  const ids = ctx.params.list('ResourceId');
  if (ids.length === 0)
    throw new AwsError('MissingParameter', 'The request must contain the parameter resourceIdSet');
  for (const id of ids) if (!/^[a-z]+-[0-9a-z]+$/.test(id)) throw malformed('InvalidID', id, 'resource');
  return ids;
}

export const createTags: Ec2Action = (ctx) => {
  const ids = resourceIds(ctx);
  const tags = ctx.params.structs('Tag');
  if (tags.length === 0)
    throw new AwsError('MissingParameter', 'The request must contain the parameter tagSet');
  for (const tag of tags) {
    const key = tag.Key ?? '';
    if (key === '' || key.length > 128) {
      throw new AwsError('InvalidParameterValue', `Tag key must be between 1 and 128 characters: '${key}'`);
    }
    if (key.toLowerCase().startsWith('aws:')) {
      throw new AwsError(
        'InvalidParameterValue',
        "Tag keys starting with 'aws:' are reserved for internal use",
      );
    }
    if ((tag.Value ?? '').length > 256) {
      throw new AwsError('InvalidParameterValue', `Tag value for key '${key}' exceeds 256 characters`);
    }
  }
  const resources = ids.map((id) => resolve(ctx, id));
  for (const resource of resources) {
    const keys = new Set([...Object.keys(resource.tags), ...tags.map((t) => t.Key ?? '')]);
    if (keys.size > 50)
      throw new AwsError('TagLimitExceeded', 'The maximum number of Tags for a resource has been reached.');
  }
  ctx.dryRunCheckpoint();
  for (const resource of resources) for (const tag of tags) resource.tags[tag.Key ?? ''] = tag.Value ?? '';
  return { return: true };
};

export const deleteTags: Ec2Action = (ctx) => {
  const ids = resourceIds(ctx);
  const tags = ctx.params.structs('Tag');
  const resources = ids.map((id) => resolve(ctx, id));
  ctx.dryRunCheckpoint();
  for (const resource of resources) {
    if (tags.length === 0) {
      for (const key of Object.keys(resource.tags)) delete resource.tags[key];
      continue;
    }
    for (const tag of tags) {
      const key = tag.Key ?? '';
      if (tag.Value === undefined || resource.tags[key] === tag.Value) delete resource.tags[key];
    }
  }
  return { return: true };
};
