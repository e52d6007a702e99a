/**
 * DescribeImageReferences: the account's resources that name an image. Instances (in the
 * states asked, all by default), launch templates (one reference per template when any of its
 * `version-depth` most recent versions, 10 by default, names the image) and SSM parameters
 * whose value is the image id (the account's own; AWS's public `/aws/…` parameters are not the
 * account's). The sandbox has no Image Builder: recipes are never found.
 */
import { AMI_ID_PATTERN } from '../../../functions/lib/validation';
import { InvalidAmiIdMalformed, InvalidParameterValue, MissingParameter } from '../../errors/ec2';
import type { InstanceStateName } from '../../state';
import type { Ec2Scope } from './context';

export const REFERENCE_TYPES = [
  'ec2:Instance',
  'ec2:LaunchTemplate',
  'ssm:Parameter',
  'imagebuilder:ImageRecipe',
  'imagebuilder:ContainerRecipe',
] as const;

export type ReferenceType = (typeof REFERENCE_TYPES)[number];

const INSTANCE_STATES: readonly InstanceStateName[] = [
  'pending',
  'running',
  'shutting-down',
  'terminated',
  'stopping',
  'stopped',
];

export interface ResourceTypeRequest {
  type: string;
  options: { name: string; values: string[] }[];
}

export interface ImageReferenceItem {
  imageId: string;
  resourceType: ReferenceType;
  arn: string;
}

const DEFAULT_VERSION_DEPTH = 10;

/** The options EC2 applies to each type: ResourceTypes' own, else the defaults. */
function scopeOf(requests: ResourceTypeRequest[], includeAll: boolean) {
  if (!includeAll && requests.length === 0)
    throw new MissingParameter('IncludeAllResourceTypes or ResourceTypes');
  const types = new Set<ReferenceType>(includeAll ? REFERENCE_TYPES : []);
  let states: Set<string> = new Set(INSTANCE_STATES);
  let depth = DEFAULT_VERSION_DEPTH;
  for (const request of requests) {
    if (!(REFERENCE_TYPES as readonly string[]).includes(request.type)) {
      throw InvalidParameterValue.forParameter('ResourceType', request.type);
    }
    types.add(request.type as ReferenceType);
    for (const option of request.options) {
      if (request.type === 'ec2:Instance' && option.name === 'state-name') {
        const bad = option.values.find((v) => !(INSTANCE_STATES as readonly string[]).includes(v));
        if (bad !== undefined) throw InvalidParameterValue.forParameter('state-name', bad);
        states = new Set(option.values);
      } else if (request.type === 'ec2:LaunchTemplate' && option.name === 'version-depth') {
        const raw = option.values[0] ?? '';
        const n = Number(raw);
        if (option.values.length !== 1 || !/^\d+$/.test(raw) || n < 1 || n > 10_000) {
          throw InvalidParameterValue.forParameter(
            'version-depth',
            raw,
            'Expecting an integer from 1 to 10000.',
          );
        }
        depth = n;
      } else {
        throw InvalidParameterValue.forParameter('OptionName', option.name);
      }
    }
  }
  return { types, states, depth };
}

export function describeImageReferences(
  scope: Ec2Scope,
  input: { imageIds: string[]; includeAll: boolean; resourceTypes: ResourceTypeRequest[] },
): ImageReferenceItem[] {
  if (input.imageIds.length === 0) throw new MissingParameter('ImageId');
  if (input.imageIds.length > 10) {
    throw InvalidParameterValue.forParameter(
      'ImageId',
      String(input.imageIds.length),
      'At most 10 image IDs are allowed.',
    );
  }
  const ids = [...new Set(input.imageIds)];
  for (const id of ids) if (!AMI_ID_PATTERN.test(id)) throw new InvalidAmiIdMalformed(id);
  const { types, states, depth } = scopeOf(input.resourceTypes, input.includeAll);
  scope.checkpoint();
  const wanted = new Set(ids);
  const { region, regionName, world } = scope;
  const account = world.accountId;
  const found: ImageReferenceItem[] = [];
  if (types.has('ec2:Instance')) {
    for (const i of region.instances.values()) {
      if (wanted.has(i.imageId) && states.has(i.state)) {
        found.push({
          imageId: i.imageId,
          resourceType: 'ec2:Instance',
          arn: `arn:aws:ec2:${regionName}:${account}:instance/${i.instanceId}`,
        });
      }
    }
  }
  if (types.has('ec2:LaunchTemplate')) {
    for (const t of region.launchTemplates.values()) {
      const recent = t.versions.slice(-depth);
      for (const imageId of ids) {
        if (recent.some((v) => v.data.imageId === imageId)) {
          found.push({
            imageId,
            resourceType: 'ec2:LaunchTemplate',
            arn: `arn:aws:ec2:${regionName}:${account}:launch-template/${t.launchTemplateId}`,
          });
        }
      }
    }
  }
  if (types.has('ssm:Parameter')) {
    for (const p of region.parameters.values()) {
      if (p.name.startsWith('/aws/') || !wanted.has(p.value.trim())) continue;
      found.push({
        imageId: p.value.trim(),
        resourceType: 'ssm:Parameter',
        arn: `arn:aws:ssm:${regionName}:${account}:parameter/${p.name.replace(/^\//, '')}`,
      });
    }
  }
  return found;
}
