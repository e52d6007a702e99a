/**
 * Security groups, as far as a launch needs them: each VPC's `default` group, and the
 * `AWS::EC2::SecurityGroup` resources of the deployed template (created with the stack, in
 * its region, in their VpcId or the default VPC, as CloudFormation does). RunInstances checks
 * SecurityGroupIds against them: a malformed id, one that does not exist, or one of another
 * VPC than the launch's subnet is refused with EC2's codes.
 */
import { createHash } from 'node:crypto';
import { AwsError } from '../../errors/aws-error';
import type { Ec2Scope } from './context';

export interface SecurityGroup {
  groupId: string;
  groupName: string;
  vpcId: string;
}

const GROUP_ID = /^sg-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;

export class InvalidGroupIdMalformed extends AwsError {
  constructor(groupId: string) {
    super('InvalidGroupId.Malformed', `Invalid id: "${groupId}" (expecting "sg-...")`);
  }
}

export class InvalidGroupNotFound extends AwsError {
  constructor(groupId: string, vpcId: string) {
    super('InvalidGroup.NotFound', `The security group '${groupId}' does not exist in VPC '${vpcId}'`);
  }
}

export class InvalidParameterNetworks extends AwsError {
  constructor(groupId: string, subnetId: string) {
    super(
      'InvalidParameter',
      `Security group ${groupId} and subnet ${subnetId} belong to different networks.`,
    );
  }
}

/** A VPC's default group: a stable id per VPC. */
export function defaultGroupId(vpcId: string): string {
  return `sg-${createHash('sha256').update(`default/${vpcId}`).digest('hex').slice(0, 17)}`;
}

/** Every security group of the region: the VPCs' default groups and the template's. */
export function securityGroups(scope: Ec2Scope): SecurityGroup[] {
  const vpcs = [...scope.region.vpcs.values()];
  const defaultVpc = vpcs.find((v) => v.isDefault)?.vpcId;
  const groups: SecurityGroup[] = vpcs.map((v) => ({
    groupId: defaultGroupId(v.vpcId),
    groupName: 'default',
    vpcId: v.vpcId,
  }));
  const app = scope.world.deployment();
  if (app && app.region === scope.regionName) {
    for (const group of app.securityGroups) {
      const vpcId = group.vpcId ?? defaultVpc;
      if (vpcId)
        groups.push({ groupId: group.groupId, groupName: `${app.serviceName}-${group.logicalId}`, vpcId });
    }
  }
  return groups;
}

/** RunInstances' SecurityGroupIds: each must exist, in the VPC of the launch's subnet. */
export function checkLaunchGroups(
  scope: Ec2Scope,
  groupIds: readonly string[],
  subnet: { subnetId: string; vpcId: string } | undefined,
): void {
  const known = securityGroups(scope);
  for (const groupId of groupIds) {
    if (!GROUP_ID.test(groupId)) throw new InvalidGroupIdMalformed(groupId);
    const group = known.find((g) => g.groupId === groupId);
    if (!group) throw new InvalidGroupNotFound(groupId, subnet?.vpcId ?? 'default');
    if (subnet && group.vpcId !== subnet.vpcId) throw new InvalidParameterNetworks(groupId, subnet.subnetId);
  }
}
