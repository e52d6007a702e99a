/**
 * Instances: RunInstances' rules (image, type, architecture, subnet, profile, user data,
 * tags, ClientToken idempotency, the `noCapacity` fault), the instances DescribeInstances and
 * DescribeInstanceStatus select, and TerminateInstances (with the `terminateFails` fault),
 * over the lifecycle in lifecycle.ts. `neverRunning` and `imageMissing` apply at launch
 * (factory.ts).
 */
import { createHash } from 'node:crypto';
import { INSTANCE_ID_PATTERN, INSTANCE_TYPE_PATTERN } from '../../../functions/lib/validation';
import { InternalError, RequestLimitExceeded } from '../../errors/common';
import {
  IdempotentParameterMismatch,
  InstanceLimitExceeded,
  InsufficientInstanceCapacity,
  InvalidAmiIdUnavailable,
  InvalidInstanceIdMalformed,
  InvalidInstanceIdNotFound,
  InvalidParameterCombination,
  InvalidParameterValue,
  InvalidSubnetIdNotFound,
  TagLimitExceeded,
} from '../../errors/ec2';
import { launchInstance } from '../../factory';
import { INSTANCE_STATE_CODES, type InstanceRecord, type InstanceStateName, type Tags } from '../../state';
import { type Ec2Scope, idFinder } from './context';
import { compileFilters, type Filter, type FilterFields } from './filters';
import { findImage } from './images';
import { statusChecksPassed } from './instance-status';
import { architectureOf, instanceTypeExists } from './instance-types';
import { beginTermination } from './lifecycle';
import { checkLaunchGroups, defaultGroupId } from './security-groups';

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

export const findInstances = idFinder(
  (scope) => scope.region.instances,
  INSTANCE_ID_PATTERN,
  (id) => new InvalidInstanceIdMalformed(id),
  (missing) => new InvalidInstanceIdNotFound(missing),
);

const selected = (scope: Ec2Scope, instanceIds: readonly string[]): InstanceRecord[] =>
  instanceIds.length > 0 ? findInstances(scope, instanceIds) : [...scope.region.instances.values()];

/** The instances a DescribeInstances selects (unordered; the protocol pages them). */
export function describeInstances(
  scope: Ec2Scope,
  input: { instanceIds: string[]; filters: Filter[] },
): InstanceRecord[] {
  const filter = compileFilters(input.filters, INSTANCE_FILTERS, (i) => i.tags);
  const candidates = selected(scope, input.instanceIds);
  scope.checkpoint();
  // Eventual consistency (the hideNewInstances fault): a new instance is not seen yet.
  const hidden = candidates.filter((i) =>
    scope.world.faults.takeHiddenRead(i.instanceId, Date.parse(i.launchTime)),
  );
  if (hidden.length > 0 && input.instanceIds.length > 0) {
    throw new InvalidInstanceIdNotFound(hidden.map((i) => i.instanceId));
  }
  return candidates.filter((i) => !hidden.includes(i)).filter(filter);
}

const TAGGABLE_AT_LAUNCH = new Set([
  'instance',
  'volume',
  'network-interface',
  'spot-instances-request',
  'elastic-gpu',
]);

/** A `TagSpecification.N` as given: its resource type and its tags in index order. */
export interface TagSpecificationInput {
  resourceType: string;
  tags: { key: string; value: string }[];
}

/** Tags by resource type; each type taggable at launch, each key valid, at most 50 per type. */
function tagsByType(specs: readonly TagSpecificationInput[]): Record<string, Tags> {
  const byType: Record<string, Tags> = {};
  for (const spec of specs) {
    const type = spec.resourceType;
    if (!TAGGABLE_AT_LAUNCH.has(type)) {
      throw new InvalidParameterValue(`'${type}' is not a valid taggable resource type for this operation.`);
    }
    const tags: Tags = byType[type] ?? {};
    byType[type] = tags;
    for (const { key, value } of spec.tags) {
      if (key === '' || key.length > 128 || key.toLowerCase().startsWith('aws:')) {
        throw new InvalidParameterValue(`Tag key '${key}' is not valid`);
      }
      tags[key] = value;
    }
    if (Object.keys(tags).length > 50) throw new TagLimitExceeded();
  }
  return byType;
}

const PROFILE_NAME = /^[\w+=,.@-]{1,128}$/;
const PROFILE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):instance-profile\/(?:[\w+=,.@/-]*\/)?([\w+=,.@-]{1,128})$/;

function instanceProfile(
  scope: Ec2Scope,
  name: string | undefined,
  arn: string | undefined,
): { arn: string; id: string } | undefined {
  if (name === undefined && arn === undefined) return undefined;
  if (name !== undefined && arn !== undefined) {
    throw new InvalidParameterCombination(
      'The parameter iamInstanceProfile.name may not be used in combination with iamInstanceProfile.arn',
    );
  }
  let profileArn: string;
  if (arn !== undefined) {
    if (!PROFILE_ARN.test(arn)) {
      throw InvalidParameterValue.forParameter(
        'iamInstanceProfile.arn',
        arn,
        'Invalid IAM Instance Profile ARN',
      );
    }
    profileArn = arn;
  } else {
    if (!PROFILE_NAME.test(name ?? '')) {
      throw InvalidParameterValue.forParameter(
        'iamInstanceProfile.name',
        name,
        'Invalid IAM Instance Profile name',
      );
    }
    profileArn = `arn:aws:iam::${scope.world.accountId}:instance-profile/${name}`;
  }
  const id = `AIPA${createHash('sha256').update(profileArn).digest('hex').slice(0, 17).toUpperCase()}`;
  return { arn: profileArn, id };
}

function userData(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) {
    throw new InvalidParameterValue('Invalid BASE64 encoding of user data.');
  }
  if (Buffer.from(value, 'base64').length > 16 * 1024) {
    throw new InvalidParameterValue('User data is limited to 16384 bytes');
  }
  return value;
}

export interface RunInstancesInput {
  imageId: string;
  minCount: number;
  maxCount: number;
  instanceType: string;
  subnetId?: string;
  profileName?: string;
  profileArn?: string;
  /** Base64, as given. */
  userData?: string;
  shutdownBehavior: string;
  tagSpecifications: TagSpecificationInput[];
  clientToken?: string;
  metadataOptions: { httpTokens: string; httpEndpoint: string };
  /** SecurityGroupId.N; none: the VPC's default group. */
  securityGroupIds?: string[];
}

/** Launches the instances (or answers the earlier launch of the same ClientToken). */
export function runInstances(scope: Ec2Scope, input: RunInstancesInput): InstanceRecord[] {
  const { imageId, minCount, maxCount, instanceType, subnetId, clientToken } = input;
  if (minCount < 1 || maxCount < minCount) {
    throw new InvalidParameterValue(
      `Invalid value '${minCount}' for minCount. Must be between 1 and maxCount (${maxCount}).`,
    );
  }
  if (!INSTANCE_TYPE_PATTERN.test(instanceType) || !instanceTypeExists(instanceType)) {
    throw new InvalidParameterValue(`Invalid value '${instanceType}' for InstanceType.`);
  }
  const image = findImage(scope, imageId);
  if (image.state !== 'available') throw new InvalidAmiIdUnavailable(imageId, image.state);
  const typeArchitecture = architectureOf(instanceType);
  if (typeArchitecture !== image.architecture) {
    throw new InvalidParameterValue(
      `The architecture '${typeArchitecture}' of the specified instance type does not match the architecture '${image.architecture}' of the specified AMI. Specify an instance type and an AMI that have matching architectures, and try again. You can use 'describe-instance-types' or 'describe-images' to discover the architecture of the instance type or AMI.`,
    );
  }
  if (subnetId !== undefined && !scope.region.subnets.has(subnetId)) {
    throw new InvalidSubnetIdNotFound([subnetId]);
  }
  const launchSubnet =
    subnetId !== undefined ? scope.region.subnets.get(subnetId) : scope.region.defaultSubnet();
  checkLaunchGroups(scope, input.securityGroupIds ?? [], launchSubnet);
  const profile = instanceProfile(scope, input.profileName, input.profileArn);
  const data = userData(input.userData);
  const behaviour = input.shutdownBehavior;
  if (behaviour !== 'stop' && behaviour !== 'terminate') {
    throw InvalidParameterValue.forParameter(
      'instanceInitiatedShutdownBehavior',
      behaviour,
      "Expecting 'stop' or 'terminate'.",
    );
  }
  const tags = tagsByType(input.tagSpecifications);
  if (clientToken !== undefined && (clientToken.length > 64 || !/^[\x20-\x7e]*$/.test(clientToken))) {
    throw new InvalidParameterValue('ClientToken must be at most 64 ASCII characters');
  }
  if (minCount > INSTANCE_LIMIT) throw new InstanceLimitExceeded(minCount, INSTANCE_LIMIT);
  scope.checkpoint();

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
    input.securityGroupIds ?? [],
  ]);
  if (clientToken !== undefined && clientToken !== '') {
    const earlier = scope.region.launchesByToken.get(clientToken);
    if (earlier) {
      if (earlier.fingerprint !== fingerprint) throw new IdempotentParameterMismatch();
      const instances = earlier.instanceIds.flatMap((id) => {
        const instance = scope.region.instances.get(id);
        return instance ? [instance] : [];
      });
      if (instances.length > 0) {
        if (scope.world.faults.takeLaunchAnswerLost()) throw new InternalError();
        return instances;
      }
    }
  }
  if (scope.world.faults.takeNoCapacity()) {
    throw new InsufficientInstanceCapacity(
      instanceType,
      scope.region.defaultSubnet()?.availabilityZone ?? `${scope.regionName}a`,
    );
  }
  const reservationId = scope.world.ids.next('r');
  const launched = Array.from({ length: Math.min(maxCount, INSTANCE_LIMIT) }, () =>
    launchInstance(scope.world, scope.regionName, {
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
      metadataOptions: input.metadataOptions,
    }),
  );
  if (clientToken !== undefined && clientToken !== '') {
    scope.region.launchesByToken.set(clientToken, {
      fingerprint,
      instanceIds: launched.map((i) => i.instanceId),
    });
  }
  if (launchSubnet) {
    const groups = input.securityGroupIds?.length
      ? input.securityGroupIds
      : [defaultGroupId(launchSubnet.vpcId)];
    for (const instance of launched) instance.securityGroupIds = groups;
  }
  // The launch happened, but its answer is lost (a timeout, a dropped connection).
  if (scope.world.faults.takeLaunchAnswerLost()) throw new InternalError();
  return launched;
}

export interface StateChange {
  instance: InstanceRecord;
  previous: InstanceStateName;
}

/** Begins terminating the instances, unless the `terminateFails` fault refuses this call. */
export function terminateInstances(scope: Ec2Scope, instanceIds: readonly string[]): StateChange[] {
  const instances = findInstances(scope, instanceIds);
  scope.checkpoint();
  const failure = scope.world.faults.takeTerminateFailure();
  if (failure === 'RequestLimitExceeded') throw new RequestLimitExceeded();
  if (failure === 'InternalError') throw new InternalError();
  return instances.map((instance) => ({
    instance,
    previous: beginTermination(scope.world, scope.region, instance),
  }));
}

export type Health = 'ok' | 'initializing' | 'not-applicable';

export interface InstanceStatus {
  instance: InstanceRecord;
  health: Health;
}

function health(scope: Ec2Scope, instance: InstanceRecord): Health {
  if (instance.state !== 'running') return 'not-applicable';
  return statusChecksPassed(scope.world, instance) ? 'ok' : 'initializing';
}

export const reachability = (h: Health) =>
  h === 'ok' ? 'passed' : h === 'initializing' ? 'initializing' : 'not-applicable';

const STATUS_FILTERS: FilterFields<InstanceStatus> = {
  'availability-zone': (s) => s.instance.availabilityZone,
  'instance-state-name': (s) => s.instance.state,
  'instance-state-code': (s) => String(INSTANCE_STATE_CODES[s.instance.state]),
  'instance-status.status': (s) => s.health,
  'instance-status.reachability': (s) => reachability(s.health),
  'system-status.status': (s) => s.health,
  'system-status.reachability': (s) => reachability(s.health),
};

/** The statuses a DescribeInstanceStatus selects (running instances unless `includeAll`). */
export function describeInstanceStatus(
  scope: Ec2Scope,
  input: { instanceIds: string[]; includeAll: boolean; filters: Filter[] },
): InstanceStatus[] {
  const filter = compileFilters(input.filters, STATUS_FILTERS, (s) => s.instance.tags);
  const candidates = selected(scope, input.instanceIds);
  scope.checkpoint();
  return candidates
    .filter((i) => input.includeAll || i.state === 'running')
    .map((instance) => ({ instance, health: health(scope, instance) }))
    .filter(filter);
}
