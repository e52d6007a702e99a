/**
 * DescribeInstanceInformation on the wire: Filters (Key/Values) and
 * InstanceInformationFilterList (key/valueSet), MaxResults 5–50 with NextToken.
 */
import { ValidationException } from '../../errors/common';
import { InvalidFilter, InvalidNextToken } from '../../errors/ssm';
import { optionalInteger, optionalString } from '../../json-input';
import { pageAfterKey } from '../../pagination';
import type { JsonOperation } from '../../services';
import {
  AGENT_VERSION,
  compileInformationFilter,
  type InformationFilter,
  registeredInstances,
} from '../models/instance-information';

function readFilters(value: unknown, keyName: string, valuesName: string): InformationFilter[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new ValidationException(`${keyName} filters must be a list`);
  return value.map((f) => {
    const record = (typeof f === 'object' && f !== null ? f : {}) as Record<string, unknown>;
    const key = record[keyName];
    const values = record[valuesName];
    if (typeof key !== 'string' || !Array.isArray(values) || !values.every((v) => typeof v === 'string')) {
      throw new InvalidFilter(keyName, valuesName);
    }
    return { key, values: values as string[] };
  });
}

export const describeInstanceInformation: JsonOperation = (input, ctx) => {
  const tests = [
    ...readFilters(input.Filters, 'Key', 'Values'),
    ...readFilters(input.InstanceInformationFilterList, 'key', 'valueSet'),
  ].map(compileInformationFilter);
  const maxResults = optionalInteger(input, 'MaxResults', 5, 50) ?? 50;
  const token = optionalString(input, 'NextToken');
  const matching = registeredInstances(ctx.world, ctx.regionName, tests);
  const page = pageAfterKey(
    matching,
    (i) => i.instance.instanceId,
    maxResults,
    token,
    'ssm:DescribeInstanceInformation',
    () => new InvalidNextToken(),
  );
  const now = Date.now() / 1000;
  return {
    InstanceInformationList: page.items.map(({ instance, platformName, platformVersion }) => ({
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
    ...(page.nextToken !== undefined ? { NextToken: page.nextToken } : {}),
  };
};
