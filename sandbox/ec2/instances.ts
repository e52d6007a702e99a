/**
 * Instances: RunInstances, DescribeInstances (one reservation per launch), DescribeInstanceStatus
 * and TerminateInstances, over the lifecycle in lifecycle.ts and the faults `noCapacity`,
 * `terminateFails`, `neverRunning`, `imageMissing` (faults.ts).
 */
import { createHash } from 'node:crypto';
import { INSTANCE_ID_PATTERN, INSTANCE_TYPE_PATTERN } from '../../functions/lib/validation';
import { AwsError } from '../aws-error';
import { launchInstance } from '../factory';
import { INSTANCE_STATE_CODES, type InstanceRecord, type Tags } from '../state';
import { items, type XmlObject } from '../xml';
import { type Ec2Action, type Ec2Context, malformed, requireParam } from './context';
import { compileFilters, type FilterFields } from './filters';
import { findImages } from './images';
import { instanceTypeExists } from './instance-types';
import { beginTermination, statusChecksPassed } from './lifecycle';
import { checkPageOrIds, paginate } from './pagination';
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
  'iam-instance-profile.arn': (i) => i.iamInstanceProfile?.arn,
  'launch-time': (i) => i.launchTime,
  'root-device-type': () => 'ebs',
  'instance-initiated-shutdown-behavior': (i) => i.shutdownBehavior,
  'block-device-mapping.volume-id': (i) => i.volumeIds,
};

/** Most instances one RunInstances may start (the sandbox account's vCPU limit, in effect). */
export const INSTANCE_LIMIT = 20;

/**
 * The processor architecture of an instance type, as DescribeInstanceTypes would say it: the
 * Graviton families carry a `g` after their generation (t4g, m7g, c6gn, r8gd…), a1 is arm64,
 * mac2 is arm64_mac and mac1 x86_64_mac; everything else here is x86_64.
 */
export function architectureOf(instanceType: string): string {
  const family = instanceType.split('.')[0] ?? '';
  if (family.startsWith('mac')) return family === 'mac1' ? 'x86_64_mac' : 'arm64_mac';
  if (family === 'a1' || /^[a-z]+\d+g[a-z]*$/.test(family)) return 'arm64';
  return 'x86_64';
}

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
  checkPageOrIds(maxResults, instanceIds, 'instancesSet');
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
  return { reservationSet: items(reservations(ctx, page)), nextToken };
};

function reservations(ctx: Ec2Context, instances: InstanceRecord[]): XmlObject[] {
  const byReservation = new Map<string, InstanceRecord[]>();
  for (const instance of instances) {
    const list = byReservation.get(instance.reservationId) ?? [];
    list.push(instance);
    byReservation.set(instance.reservationId, list);
  }
  return [...byReservation].map(([reservationId, list]) => ({
    reservationId,
    ownerId: ctx.world.accountId,
    groupSet: items([]),
    instancesSet: items(list.map((i) => renderInstance(i, ctx.regionName, ctx.region))),
  }));
}

const TAGGABLE_AT_LAUNCH = new Set([
  'instance',
  'volume',
  'network-interface',
  'spot-instances-request',
  'elastic-gpu',
]);

/** `TagSpecification.N.ResourceType` with `TagSpecification.N.Tag.M.Key/Value`, by resource type. */
function tagSpecifications(ctx: Ec2Context): Record<string, Tags> {
  const byType: Record<string, Tags> = {};
  for (const spec of ctx.params.structs('TagSpecification')) {
    const type = spec.ResourceType ?? '';
    if (!TAGGABLE_AT_LAUNCH.has(type)) {
      throw new AwsError(
        'InvalidParameterValue',
        `'${type}' is not a valid taggable resource type for this operation.`,
      );
    }
    const tags: Tags = byType[type] ?? {};
    byType[type] = tags;
    const indices = new Set<string>();
    for (const key of Object.keys(spec)) {
      const m = /^Tag\.(\d+)\.Key$/.exec(key);
      if (m?.[1] !== undefined) indices.add(m[1]);
    }
    for (const index of [...indices].sort((a, b) => Number(a) - Number(b))) {
      const key = spec[`Tag.${index}.Key`] ?? '';
      if (key === '' || key.length > 128 || key.toLowerCase().startsWith('aws:')) {
        throw new AwsError('InvalidParameterValue', `Tag key '${key}' is not valid`);
      }
      tags[key] = spec[`Tag.${index}.Value`] ?? '';
    }
    if (Object.keys(tags).length > 50) {
      throw new AwsError('TagLimitExceeded', 'The maximum number of Tags for a resource has been reached.');
    }
  }
  return byType;
}

const PROFILE_NAME = /^[\w+=,.@-]{1,128}$/;
const PROFILE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):instance-profile\/(?:[\w+=,.@/-]*\/)?([\w+=,.@-]{1,128})$/;

function instanceProfile(ctx: Ec2Context): { arn: string; id: string } | undefined {
  const name = ctx.params.get('IamInstanceProfile.Name');
  const arn = ctx.params.get('IamInstanceProfile.Arn');
  if (name === undefined && arn === undefined) return undefined;
  if (name !== undefined && arn !== undefined) {
    throw new AwsError(
      'InvalidParameterCombination',
      'The parameter iamInstanceProfile.name may not be used in combination with iamInstanceProfile.arn',
    );
  }
  let profileArn: string;
  if (arn !== undefined) {
    if (!PROFILE_ARN.test(arn)) {
      throw new AwsError(
        'InvalidParameterValue',
        `Value (${arn}) for parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile ARN`,
      );
    }
    profileArn = arn;
  } else {
    if (!PROFILE_NAME.test(name ?? '')) {
      throw new AwsError(
        'InvalidParameterValue',
        `Value (${name}) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name`,
      );
    }
    profileArn = `arn:aws:iam::${ctx.world.accountId}:instance-profile/${name}`;
  }
  const id = `AIPA${createHash('sha256').update(profileArn).digest('hex').slice(0, 17).toUpperCase()}`;
  return { arn: profileArn, id };
}

function userData(ctx: Ec2Context): string | undefined {
  const value = ctx.params.get('UserData');
  if (value === undefined || value === '') return undefined;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) {
    throw new AwsError('InvalidParameterValue', 'Invalid BASE64 encoding of user data.');
  }
  if (Buffer.from(value, 'base64').length > 16 * 1024) {
    throw new AwsError('InvalidParameterValue', 'User data is limited to 16384 bytes');
  }
  return value;
}

export const runInstances: Ec2Action = (ctx) => {
  const imageId = requireParam(ctx, 'ImageId');
  const minCount = ctx.params.int('MinCount');
  const maxCount = ctx.params.int('MaxCount');
  if (minCount === undefined)
    throw new AwsError('MissingParameter', 'The request must contain the parameter MinCount');
  if (maxCount === undefined)
    throw new AwsError('MissingParameter', 'The request must contain the parameter MaxCount');
  if (minCount < 1 || maxCount < minCount) {
    throw new AwsError(
      'InvalidParameterValue',
      `Invalid value '${minCount}' for minCount. Must be between 1 and maxCount (${maxCount}).`,
    );
  }
  const instanceType = ctx.params.get('InstanceType') ?? 'm1.small';
  if (!INSTANCE_TYPE_PATTERN.test(instanceType) || !instanceTypeExists(instanceType)) {
    throw new AwsError('InvalidParameterValue', `Invalid value '${instanceType}' for InstanceType.`);
  }
  const [image] = findImages(ctx, [imageId]);
  if (!image) throw new AwsError('InvalidAMIID.NotFound', `The image id '[${imageId}]' does not exist`);
  if (image.state !== 'available') {
    throw new AwsError(
      'InvalidAMIID.Unavailable',
      `The image ${imageId} is ${image.state}, and cannot be run.`,
    );
  }
  const typeArchitecture = architectureOf(instanceType);
  if (typeArchitecture !== image.architecture) {
    throw new AwsError(
      'InvalidParameterValue',
      `The architecture '${typeArchitecture}' of the specified instance type does not match the architecture '${image.architecture}' of the specified AMI. Specify an instance type and an AMI that have matching architectures, and try again. You can use 'describe-instance-types' or 'describe-images' to discover the architecture of the instance type or AMI.`,
    );
  }
  const subnetId = ctx.params.get('SubnetId');
  if (subnetId !== undefined && !ctx.region.subnets.has(subnetId)) {
    throw new AwsError('InvalidSubnetID.NotFound', `The subnet ID '${subnetId}' does not exist`);
  }
  const profile = instanceProfile(ctx);
  const data = userData(ctx);
  const behaviour = ctx.params.get('InstanceInitiatedShutdownBehavior') ?? 'stop';
  if (behaviour !== 'stop' && behaviour !== 'terminate') {
    throw new AwsError(
      'InvalidParameterValue',
      `Value (${behaviour}) for parameter instanceInitiatedShutdownBehavior is invalid. Expecting 'stop' or 'terminate'.`,
    );
  }
  const tags = tagSpecifications(ctx);
  const clientToken = ctx.params.get('ClientToken');
  if (clientToken !== undefined && (clientToken.length > 64 || !/^[\x20-\x7e]*$/.test(clientToken))) {
    throw new AwsError('InvalidParameterValue', 'ClientToken must be at most 64 ASCII characters');
  }
  if (minCount > INSTANCE_LIMIT) {
    throw new AwsError(
      'InstanceLimitExceeded',
      `You have requested more instances (${minCount}) than your current instance limit of ${INSTANCE_LIMIT} allows for the specified instance type.`,
    );
  }
  const metadataOptions = {
    httpTokens: ctx.params.get('MetadataOptions.HttpTokens') ?? 'optional',
    httpEndpoint: ctx.params.get('MetadataOptions.HttpEndpoint') ?? 'enabled',
  };
  ctx.dryRunCheckpoint();

  const fingerprint = JSON.stringify([
    imageId,
    instanceType,
    minCount,
    maxCount,
    subnetId,
    profile?.arn,
    data,
    behaviour,
    tags,
  ]);
  if (clientToken !== undefined && clientToken !== '') {
    const earlier = ctx.region.launchesByToken.get(clientToken);
    if (earlier) {
      if (earlier.fingerprint !== fingerprint) {
        throw new AwsError(
          'IdempotentParameterMismatch',
          'The client token you have provided is associated with a resource that is already deleted or has different parameters. Please use a different client token.',
        );
      }
      const instances = earlier.instanceIds.flatMap((id) => {
        const instance = ctx.region.instances.get(id);
        return instance ? [instance] : [];
      });
      const [reservation] = reservations(ctx, instances);
      if (reservation) return reservation;
    }
  }
  if (ctx.world.faults.takeNoCapacity()) {
    throw new AwsError(
      'InsufficientInstanceCapacity',
      `We currently do not have sufficient ${instanceType} capacity in the Availability Zone you requested (${ctx.region.defaultSubnet()?.availabilityZone ?? `${ctx.regionName}a`}). Our system will be working on provisioning additional capacity. You can currently get ${instanceType} capacity by not specifying an Availability Zone in your request or choosing a different Availability Zone.`,
      500,
    );
  }
  const reservationId = ctx.world.ids.next('r');
  const launched = Array.from({ length: Math.min(maxCount, INSTANCE_LIMIT) }, () =>
    launchInstance(ctx.world, ctx.regionName, {
      imageId,
      instanceType,
      reservationId,
      subnetId,
      clientToken,
      tags: tags.instance,
      volumeTags: tags.volume,
      iamInstanceProfile: profile,
      userData: data,
      shutdownBehavior: behaviour,
      metadataOptions,
    }),
  );
  if (clientToken !== undefined && clientToken !== '') {
    ctx.region.launchesByToken.set(clientToken, {
      fingerprint,
      instanceIds: launched.map((i) => i.instanceId),
    });
  }
  const [reservation] = reservations(ctx, launched);
  return reservation ?? {};
};

const stateOf = (state: InstanceRecord['state']) => ({ code: INSTANCE_STATE_CODES[state], name: state });

export const terminateInstances: Ec2Action = (ctx) => {
  const instanceIds = ctx.params.list('InstanceId');
  if (instanceIds.length === 0) {
    throw new AwsError('MissingParameter', 'The request must contain the parameter InstanceId');
  }
  const instances = findInstances(ctx, instanceIds);
  ctx.dryRunCheckpoint();
  const failure = ctx.world.faults.takeTerminateFailure();
  if (failure === 'RequestLimitExceeded') throw new AwsError(failure, 'Request limit exceeded.', 503);
  if (failure === 'InternalError') throw new AwsError(failure, 'An internal error has occurred', 500);
  const changes = instances.map((instance) => {
    const previous = beginTermination(ctx.world, ctx.region, instance);
    return {
      instanceId: instance.instanceId,
      currentState: stateOf(instance.state),
      previousState: stateOf(previous),
    };
  });
  return { instancesSet: items(changes) };
};

type Health = 'ok' | 'initializing' | 'not-applicable';

function health(ctx: Ec2Context, instance: InstanceRecord): Health {
  if (instance.state !== 'running') return 'not-applicable';
  return statusChecksPassed(ctx.world, instance) ? 'ok' : 'initializing';
}

const reachability = (h: Health) =>
  h === 'ok' ? 'passed' : h === 'initializing' ? 'initializing' : 'not-applicable';

const STATUS_FILTERS: FilterFields<{ instance: InstanceRecord; health: Health }> = {
  'availability-zone': (s) => s.instance.availabilityZone,
  'instance-state-name': (s) => s.instance.state,
  'instance-state-code': (s) => String(INSTANCE_STATE_CODES[s.instance.state]),
  'instance-status.status': (s) => s.health,
  'instance-status.reachability': (s) => reachability(s.health),
  'system-status.status': (s) => s.health,
  'system-status.reachability': (s) => reachability(s.health),
};

export const describeInstanceStatus: Ec2Action = (ctx) => {
  const instanceIds = ctx.params.list('InstanceId');
  const includeAll = ctx.params.bool('IncludeAllInstances');
  const maxResults = ctx.params.int('MaxResults');
  checkPageOrIds(maxResults, instanceIds, 'instancesSet');
  const filter = compileFilters(ctx.params.filters(), STATUS_FILTERS, (s) => s.instance.tags);
  const candidates =
    instanceIds.length > 0 ? findInstances(ctx, instanceIds) : [...ctx.region.instances.values()];
  ctx.dryRunCheckpoint();
  const matching = candidates
    .filter((i) => includeAll || i.state === 'running')
    .map((instance) => ({ instance, health: health(ctx, instance) }))
    .filter(filter);
  const { page, nextToken } = paginate(
    'instance-status',
    matching,
    (s) => s.instance.instanceId,
    maxResults,
    ctx.params.get('NextToken'),
  );
  const summary = (h: Health) => ({
    status: h,
    details: items([{ name: 'reachability', status: reachability(h) }]),
  });
  return {
    instanceStatusSet: items(
      page.map(({ instance, health: h }) => ({
        instanceId: instance.instanceId,
        availabilityZone: instance.availabilityZone,
        instanceState: stateOf(instance.state),
        systemStatus: summary(h),
        instanceStatus: summary(h),
        attachedEbsStatus: { status: h, details: items([{ name: 'reachability', status: reachability(h) }]) },
      })),
    ),
    nextToken,
  };
};
