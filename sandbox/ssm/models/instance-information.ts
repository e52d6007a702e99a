/**
 * Which instances SSM knows: those whose agent has registered (running for
 * AWS_SECONDS.agentRegistration, with an instance profile, no `ssmOffline` fault), all
 * `Online`; instances that stop or terminate drop out. Filters by key (InstanceIds,
 * PingStatus, tag:K, …) with wildcards.
 */
import { INSTANCE_ID_PATTERN } from '../../../functions/lib/validation';
import { wildcard } from '../../ec2/models/filters';
import { agentOnline } from '../../ec2/models/instance-status';
import { InvalidFilterKey, InvalidInstanceInformationFilterValue } from '../../errors/ssm';
import type { InstanceRecord } from '../../state';
import type { World } from '../../world';

export const AGENT_VERSION = '3.3.1142.0';

export interface InstanceInformation {
  instance: InstanceRecord;
  platformName: string;
  platformVersion: string;
}

type Field = (info: InstanceInformation) => string | string[] | undefined;

const FIELDS: Record<string, Field> = {
  InstanceIds: (i) => i.instance.instanceId,
  PingStatus: () => 'Online',
  PlatformTypes: () => 'Linux',
  ResourceType: () => 'EC2Instance',
  AgentVersion: () => AGENT_VERSION,
  AssociationStatus: () => 'Success',
  IamRole: (i) => i.instance.iamInstanceProfile?.arn.replace(/.*instance-profile\//, ''),
};

export interface InformationFilter {
  key: string;
  values: string[];
}

export function compileInformationFilter(filter: InformationFilter): (info: InstanceInformation) => boolean {
  if (filter.key === 'InstanceIds') {
    for (const id of filter.values) {
      if (!INSTANCE_ID_PATTERN.test(id)) throw new InvalidInstanceInformationFilterValue(id);
    }
  }
  const matchers = filter.values.map(wildcard);
  const any = (v: string | string[] | undefined) =>
    v !== undefined && (typeof v === 'string' ? [v] : v).some((x) => matchers.some((m) => m(x)));
  if (filter.key.startsWith('tag:')) {
    const tag = filter.key.slice(4);
    return (info) => any(info.instance.tags[tag]);
  }
  if (filter.key === 'tag-key') return (info) => any(Object.keys(info.instance.tags));
  const field = FIELDS[filter.key];
  if (!field) throw new InvalidFilterKey(filter.key);
  return (info) => any(field(info));
}

/** The registered instances that pass every test, in instance-id order. */
export function registeredInstances(
  world: World,
  regionName: string,
  tests: readonly ((info: InstanceInformation) => boolean)[],
): InstanceInformation[] {
  const region = world.region(regionName);
  return [...region.instances.values()]
    .filter((instance) => agentOnline(world, instance))
    .map((instance): InstanceInformation => {
      const image = region.images.get(instance.imageId);
      const ubuntu = /ubuntu/i.test(image?.name ?? '');
      return {
        instance,
        platformName: ubuntu ? 'Ubuntu' : 'Amazon Linux',
        platformVersion: ubuntu ? '22.04' : '2023',
      };
    })
    .filter((info) => tests.every((f) => f(info)))
    .sort((a, b) => (a.instance.instanceId < b.instance.instanceId ? -1 : 1));
}
