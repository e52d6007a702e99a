/** DescribeVpcs and DescribeSubnets over each region's default VPC and its default subnets. */
import { AwsError } from '../aws-error';
import type { SubnetRecord, VpcRecord } from '../state';
import { items } from '../xml';
import type { Ec2Action } from './context';
import { compileFilters, type FilterFields } from './filters';
import { checkMaxResults, paginate } from './pagination';
import { renderSubnet, renderVpc } from './render';

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

export const describeVpcs: Ec2Action = (ctx) => {
  const ids = ctx.params.list('VpcId');
  const maxResults = ctx.params.int('MaxResults');
  checkMaxResults(maxResults, 5, 1000);
  const filter = compileFilters(ctx.params.filters(), VPC_FILTERS, () => ({}));
  const missing = ids.filter((id) => !ctx.region.vpcs.has(id));
  if (missing.length > 0) {
    throw new AwsError('InvalidVpcID.NotFound', `The vpc ID '${missing.join(', ')}' does not exist`);
  }
  ctx.dryRunCheckpoint();
  const matching = [...ctx.region.vpcs.values()].filter(
    (v) => (ids.length === 0 || ids.includes(v.vpcId)) && filter(v),
  );
  const page = paginate('vpcs', matching, (v) => v.vpcId, maxResults, ctx.params.get('NextToken'));
  return {
    vpcSet: items(page.page.map((v) => renderVpc(v, ctx.world.accountId))),
    nextToken: page.nextToken,
  };
};

export const describeSubnets: Ec2Action = (ctx) => {
  const ids = ctx.params.list('SubnetId');
  const maxResults = ctx.params.int('MaxResults');
  checkMaxResults(maxResults, 5, 1000);
  const filter = compileFilters(ctx.params.filters(), SUBNET_FILTERS, () => ({}));
  const missing = ids.filter((id) => !ctx.region.subnets.has(id));
  if (missing.length > 0) {
    throw new AwsError('InvalidSubnetID.NotFound', `The subnet ID '${missing.join(', ')}' does not exist`);
  }
  ctx.dryRunCheckpoint();
  const matching = [...ctx.region.subnets.values()].filter(
    (s) => (ids.length === 0 || ids.includes(s.subnetId)) && filter(s),
  );
  const page = paginate('subnets', matching, (s) => s.subnetId, maxResults, ctx.params.get('NextToken'));
  return {
    subnetSet: items(page.page.map((s) => renderSubnet(s, ctx.world.accountId, ctx.regionName))),
    nextToken: page.nextToken,
  };
};
