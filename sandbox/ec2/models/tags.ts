/** Tags on images, snapshots, instances, VPCs and subnets: CreateTags' and DeleteTags' rules. */
import {
  InvalidAmiIdNotFound,
  InvalidId,
  InvalidInstanceIdNotFound,
  InvalidParameterValue,
  InvalidSnapshotNotFound,
  InvalidSubnetIdNotFound,
  InvalidVpcIdNotFound,
  MissingParameter,
  TagLimitExceeded,
} from '../../errors/ec2';
import type { Tags } from '../../state';
import type { Ec2Scope } from './context';

interface Taggable {
  tags: Tags;
}

/** A `Tag.N` as given: DeleteTags may leave the value out (any value) or the key too. */
export interface TagInput {
  key?: string;
  value?: string;
}

const NOT_FOUND: Record<string, (id: string) => Error> = {
  ami: (id) => new InvalidAmiIdNotFound(id),
  snap: (id) => new InvalidSnapshotNotFound(id),
  i: (id) => new InvalidInstanceIdNotFound([id]),
  vpc: (id) => new InvalidVpcIdNotFound([id]),
  subnet: (id) => new InvalidSubnetIdNotFound([id]),
};

function resolve(scope: Ec2Scope, id: string): Taggable {
  const match = /^([a-z]+)-([0-9a-f]{8}|[0-9a-f]{17})$/.exec(id);
  const prefix = match?.[1];
  const notFound = prefix === undefined ? undefined : NOT_FOUND[prefix];
  if (!notFound || prefix === undefined) throw InvalidId.unknownKind(id);
  const r = scope.region;
  if (prefix === 'vpc' || prefix === 'subnet') {
    // The default network carries no tags in the sandbox's state; accept tags for known ids only.
    const known = prefix === 'vpc' ? r.vpcs.has(id) : r.subnets.has(id);
    if (!known) throw notFound(id);
    return { tags: {} };
  }
  const found: Taggable | undefined =
    prefix === 'ami' ? r.images.get(id) : prefix === 'snap' ? r.snapshots.get(id) : r.instances.get(id);
  if (!found) throw notFound(id);
  return found;
}

/** ResourceId.N: at least one, each shaped like an id. */
export function checkResourceIds(ids: readonly string[]): void {
  if (ids.length === 0) throw new MissingParameter('resourceIdSet');
  for (const id of ids) if (!/^[a-z]+-[0-9a-z]+$/.test(id)) throw InvalidId.malformed(id);
}

export function createTags(scope: Ec2Scope, resourceIds: readonly string[], tags: readonly TagInput[]): void {
  checkResourceIds(resourceIds);
  if (tags.length === 0) throw new MissingParameter('tagSet');
  for (const tag of tags) {
    const key = tag.key ?? '';
    if (key === '' || key.length > 128) {
      throw new InvalidParameterValue(`Tag key must be between 1 and 128 characters: '${key}'`);
    }
    if (key.toLowerCase().startsWith('aws:')) {
      throw new InvalidParameterValue("Tag keys starting with 'aws:' are reserved for internal use");
    }
    if ((tag.value ?? '').length > 256) {
      throw new InvalidParameterValue(`Tag value for key '${key}' exceeds 256 characters`);
    }
  }
  const resources = resourceIds.map((id) => resolve(scope, id));
  for (const resource of resources) {
    const keys = new Set([...Object.keys(resource.tags), ...tags.map((t) => t.key ?? '')]);
    if (keys.size > 50) throw new TagLimitExceeded();
  }
  scope.checkpoint();
  for (const resource of resources) for (const tag of tags) resource.tags[tag.key ?? ''] = tag.value ?? '';
}

export function deleteTags(scope: Ec2Scope, resourceIds: readonly string[], tags: readonly TagInput[]): void {
  checkResourceIds(resourceIds);
  const resources = resourceIds.map((id) => resolve(scope, id));
  scope.checkpoint();
  for (const resource of resources) {
    if (tags.length === 0) {
      for (const key of Object.keys(resource.tags)) delete resource.tags[key];
      continue;
    }
    for (const tag of tags) {
      const key = tag.key ?? '';
      if (tag.value === undefined || resource.tags[key] === tag.value) delete resource.tags[key];
    }
  }
}
