/** The default VPC and its default subnets of each region: which ones DescribeVpcs/DescribeSubnets select. */
import { InvalidSubnetIdNotFound, InvalidVpcIdNotFound } from '../../errors/ec2';
import type { SubnetRecord, VpcRecord } from '../../state';
import type { Ec2Scope } from './context';
import { compileFilters, type Filter, type FilterFields } from './filters';

const VPC_FILTERS: FilterFields<VpcRecord> = {
  'vpc-id': (v) => v.vpcId,
  'is-default': (v) => String(v.isDefault),
  isDefault: (v) => String(v.isDefault),
  state: (v) => v.state,
  'cidr-block': (v) => v.cidrBlock,
  cidr: (v) => v.cidrBlock,
  'dhcp-options-id': (v) => v.dhcpOptionsId,
};

const SUBNET_FILTERS: FilterFields<SubnetRecord> = {
  'subnet-id': (s) => s.subnetId,
  'vpc-id': (s) => s.vpcId,
  'default-for-az': (s) => String(s.defaultForAz),
  defaultForAz: (s) => String(s.defaultForAz),
  'availability-zone': (s) => s.availabilityZone,
  availabilityZone: (s) => s.availabilityZone,
  'availability-zone-id': (s) => s.availabilityZoneId,
  'cidr-block': (s) => s.cidrBlock,
  state: (s) => s.state,
  'map-public-ip-on-launch': (s) => String(s.mapPublicIpOnLaunch),
};

export interface DescribeNetworkInput {
  ids: string[];
  filters: Filter[];
}

function select<T>(
  scope: Ec2Scope,
  input: DescribeNetworkInput,
  store: ReadonlyMap<string, T>,
  fields: FilterFields<T>,
  notFound: (missing: string[]) => Error,
): T[] {
  const filter = compileFilters(input.filters, fields, () => ({}));
  const missing = input.ids.filter((id) => !store.has(id));
  if (missing.length > 0) throw notFound(missing);
  scope.checkpoint();
  return [...store.entries()]
    .filter(([id, item]) => (input.ids.length === 0 || input.ids.includes(id)) && filter(item))
    .map(([, item]) => item);
}

export const describeVpcs = (scope: Ec2Scope, input: DescribeNetworkInput): VpcRecord[] =>
  select(scope, input, scope.region.vpcs, VPC_FILTERS, (missing) => new InvalidVpcIdNotFound(missing));

export const describeSubnets = (scope: Ec2Scope, input: DescribeNetworkInput): SubnetRecord[] =>
  select(
    scope,
    input,
    scope.region.subnets,
    SUBNET_FILTERS,
    (missing) => new InvalidSubnetIdNotFound(missing),
  );
