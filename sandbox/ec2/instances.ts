/** DescribeInstances: one reservation per launch, filters, pagination by instance. */
import { INSTANCE_ID_PATTERN } from '../../functions/lib/validation';
import { AwsError } from '../aws-error';
import { INSTANCE_STATE_CODES, type InstanceRecord } from '../state';
import { items, type XmlObject } from '../xml';
import { type Ec2Action, type Ec2Context, malformed } from './context';
import { compileFilters, type FilterFields } from './filters';
import { checkMaxResults, paginate } from './pagination';
import { renderInstance } from './render';

const INSTANCE_FILTERS: FilterFields<InstanceRecord> = {
  'instance-id': (i) => i.instanceId,
  'image-id': (i) => i.imageId,
  'instance-state-name': (i) => i.state,
  'instance-state-code': (i) => String(INSTANCE_STATE_CODES[i.state]),
  'instance-type': (i) => i.instanceType,
  'availability-zone': (i) => i.availabilityZone,
  'subnet-id': (i) => i.subnetId,
  'vpc-id': (i) => i.vpcId,
  'reservation-id': (i) => i.reservationId,
  'client-token': (i) => i.clientToken,
  architecture: (i) => i.architecture,
  'private-ip-address': (i) => i.privateIpAddress,
};

export function findInstances(ctx: Ec2Context, instanceIds: readonly string[]): InstanceRecord[] {
  for (const id of instanceIds) {
    if (!INSTANCE_ID_PATTERN.test(id)) throw malformed('InvalidInstanceID.Malformed', id, 'i');
  }
  const missing = instanceIds.filter((id) => !ctx.region.instances.has(id));
  if (missing.length === 1) {
    throw new AwsError('InvalidInstanceID.NotFound', `The instance ID '${missing[0]}' does not exist`);
  }
  if (missing.length > 1) {
    throw new AwsError('InvalidInstanceID.NotFound', `The instance IDs '${missing.join(', ')}' do not exist`);
  }
  return [...new Set(instanceIds)].flatMap((id) => {
    const instance = ctx.region.instances.get(id);
    return instance ? [instance] : [];
  });
}

export const describeInstances: Ec2Action = (ctx) => {
  const instanceIds = ctx.params.list('InstanceId');
  const maxResults = ctx.params.int('MaxResults');
  checkMaxResults(maxResults, 5, 1000);
  if (maxResults !== undefined && instanceIds.length > 0) {
    throw new AwsError(
      'InvalidParameterCombination',
      'The parameter instancesSet cannot be used with the parameter maxResults',
    );
  }
  const filter = compileFilters(ctx.params.filters(), INSTANCE_FILTERS, (i) => i.tags);
  const candidates =
    instanceIds.length > 0 ? findInstances(ctx, instanceIds) : [...ctx.region.instances.values()];
  ctx.dryRunCheckpoint();
  const matching = candidates.filter(filter);
  const { page, nextToken } = paginate(
    'instances',
    matching,
    (i) => i.instanceId,
    maxResults,
    ctx.params.get('NextToken'),
  );
  const reservations = new Map<string, InstanceRecord[]>();
  for (const instance of page) {
    const list = reservations.get(instance.reservationId) ?? [];
    list.push(instance);
    reservations.set(instance.reservationId, list);
  }
  const reservationSet: XmlObject[] = [...reservations].map(([reservationId, instances]) => ({
    reservationId,
    ownerId: ctx.world.accountId,
    groupSet: items([]),
    instancesSet: items(instances.map((i) => renderInstance(i, ctx.regionName))),
  }));
  return { reservationSet: items(reservationSet), nextToken };
};
