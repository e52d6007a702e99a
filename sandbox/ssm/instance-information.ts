/**
 * DescribeInstanceInformation: the instances whose SSM agent has registered (running for
 * AWS_SECONDS.agentRegistration, with an instance profile, no `ssmOffline` fault), all
 * `Online`; instances that stop or terminate drop out. Filters (Key/Values) and
 * InstanceInformationFilterList (key/valueSet), MaxResults 5–50 with NextToken.
 */
import { INSTANCE_ID_PATTERN } from '../../functions/lib/validation';
import { AwsError } from '../aws-error';
import { wildcard } from '../ec2/filters';
import { agentOnline } from '../ec2/lifecycle';
import { optionalInteger, optionalString } from '../json-input';
import type { JsonOperation } from '../services';
import type { InstanceRecord } from '../state';

export const AGENT_VERSION = '3.3.1142.0';

interface Info {
  instance: InstanceRecord;
  platformName: string;
  platformVersion: string;
}

type Field = (info: Info) => string | string[] | undefined;

const FIELDS: Record<string, Field> = {
  InstanceIds: (i) => i.instance.instanceId,
  PingStatus: () => 'Online',
  PlatformTypes: () => 'Linux',
  ResourceType: () => 'EC2Instance',
  AgentVersion: () => AGENT_VERSION,
  AssociationStatus: () => 'Success',
  IamRole: (i) => i.instance.iamInstanceProfile?.arn.replace(/.*instance-profile\//, ''),
};

interface RawFilter {
  key: string;
  values: string[];
}

function readFilters(value: unknown, keyName: string, valuesName: string): RawFilter[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new AwsError('ValidationException', `${keyName} filters must be a list`);
  return value.map((f) => {
    const record = (typeof f === 'object' && f !== null ? f : {}) as Record<string, unknown>;
    const key = record[keyName];
    const values = record[valuesName];
    if (typeof key !== 'string' || !Array.isArray(values) || !values.every((v) => typeof v === 'string')) {
      throw new AwsError('InvalidFilter', `Each filter needs a ${keyName} and a list of ${valuesName}`);
    }
    return { key, values: values as string[] };
  });
}

function compile(filter: RawFilter): (info: Info) => boolean {
  if (filter.key === 'InstanceIds') {
    for (const id of filter.values) {
      if (!INSTANCE_ID_PATTERN.test(id)) {
        throw new AwsError('InvalidInstanceInformationFilterValue', `${id} is not a valid instance id`);
      }
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
  if (!field) throw new AwsError('InvalidFilterKey', `The filter key ${filter.key} is not valid`);
  return (info) => any(field(info));
}

export const describeInstanceInformation: JsonOperation = (input, ctx) => {
  const filters = [
    ...readFilters(input.Filters, 'Key', 'Values'),
    ...readFilters(input.InstanceInformationFilterList, 'key', 'valueSet'),
  ].map(compile);
  const maxResults = optionalInteger(input, 'MaxResults', 5, 50) ?? 50;
  const token = optionalString(input, 'NextToken');
  const region = ctx.world.region(ctx.regionName);
  const matching = [...region.instances.values()]
    .filter((instance) => agentOnline(ctx.world, instance))
    .map((instance): Info => {
      const image = region.images.get(instance.imageId);
      const ubuntu = /ubuntu/i.test(image?.name ?? '');
      return {
        instance,
        platformName: ubuntu ? 'Ubuntu' : 'Amazon Linux',
        platformVersion: ubuntu ? '22.04' : '2023',
      };
    })
    .filter((info) => filters.every((f) => f(info)))
    .sort((a, b) => (a.instance.instanceId < b.instance.instanceId ? -1 : 1));
  let start = 0;
  if (token !== undefined) {
    const after = Buffer.from(token, 'base64url').toString('utf8');
    if (!INSTANCE_ID_PATTERN.test(after))
      throw new AwsError('InvalidNextToken', 'The specified token is not valid.');
    start = matching.findIndex((i) => i.instance.instanceId > after);
    if (start === -1) start = matching.length;
  }
  const page = matching.slice(start, start + maxResults);
  const last = page.at(-1);
  const more = start + maxResults < matching.length && last !== undefined;
  const now = Date.now() / 1000;
  return {
    InstanceInformationList: page.map(({ instance, platformName, platformVersion }) => ({
      InstanceId: instance.instanceId,
      PingStatus: 'Online',
      LastPingDateTime: now,
      AgentVersion: AGENT_VERSION,
      IsLatestVersion: true,
      PlatformType: 'Linux',
      PlatformName: platformName,
      PlatformVersion: platformVersion,
      ResourceType: 'EC2Instance',
      IPAddress: instance.privateIpAddress,
      ComputerName: `ip-${instance.privateIpAddress.replaceAll('.', '-')}.${ctx.regionName}.compute.internal`,
      AssociationStatus: 'Success',
      SourceId: instance.instanceId,
      SourceType: 'AWS::EC2::Instance',
      ...(instance.runningSince !== undefined ? { RegistrationDate: instance.runningSince / 1000 } : {}),
    })),
    ...(more && last ? { NextToken: Buffer.from(last.instance.instanceId).toString('base64url') } : {}),
  };
};
