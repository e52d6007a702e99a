/**
 * Whether an instance type can run an AMI (a validation) or build one (a build): it must be
 * one of the configured allowed types (checked first, with no AWS call: a cost limit), and EC2
 * must offer it in the region, with the architecture wanted. Asked before anything starts, so
 * a typo or an arm64 type for an x86_64 image is a 400 naming the field, not a launch that fails.
 */
import { type _InstanceType, DescribeInstanceTypesCommand } from '@aws-sdk/client-ec2';
import type { Ec2 } from './ami-catalogue';
import { fromAwsError, InvalidInputError } from './errors';

const refuse = (message: string) => new InvalidInputError([{ field: 'instanceType', message }]);

/** A type outside the allowlist is a 400 that names the allowed types; no AWS call is made. */
export function checkAllowedInstanceType(instanceType: string, allowed: readonly string[]): void {
  if (!allowed.includes(instanceType)) {
    throw refuse(`instanceType ${instanceType} is not allowed here; allowed types: ${allowed.join(', ')}`);
  }
}

export async function checkInstanceType(
  ec2: Ec2,
  instanceType: string,
  /**
   * The architecture wanted (none: any), what wants it in words (`AMI ami-…`, `the build`), and
   * the allowed types (config.validation.allowedInstanceTypes).
   */
  target: { architecture?: string | undefined; what: string; allowed: readonly string[] },
  region: string,
): Promise<void> {
  checkAllowedInstanceType(instanceType, target.allowed);
  let architectures: string[];
  try {
    const answer = await ec2.send(
      new DescribeInstanceTypesCommand({ InstanceTypes: [instanceType as _InstanceType] }),
    );
    architectures = answer.InstanceTypes?.[0]?.ProcessorInfo?.SupportedArchitectures ?? [];
  } catch (error) {
    if ((error as { name?: string }).name === 'InvalidInstanceType') {
      throw refuse(`instanceType ${instanceType} is not an instance type EC2 offers in ${region}`);
    }
    throw fromAwsError('EC2', error);
  }
  if (target.architecture && architectures.length > 0 && !architectures.includes(target.architecture)) {
    throw refuse(
      `instanceType ${instanceType} runs ${architectures.join(' or ')}, but ${target.what} is ${target.architecture}`,
    );
  }
}
