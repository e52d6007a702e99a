/**
 * Whether an instance type can run an AMI: EC2 must offer it in the region, with the AMI's
 * architecture. Asked before a validation starts, so a typo or an arm64 type for an x86_64
 * image is a 400 naming the field, not a test launch that fails.
 */
import { type _InstanceType, DescribeInstanceTypesCommand } from '@aws-sdk/client-ec2';
import type { Ami } from './ami';
import type { Ec2 } from './ami-catalogue';
import { fromAwsError, InvalidInputError } from './errors';

const refuse = (message: string) => new InvalidInputError([{ field: 'instanceType', message }]);

export async function checkInstanceType(
  ec2: Ec2,
  instanceType: string,
  ami: Pick<Ami, 'imageId' | 'architecture'>,
  region: string,
): Promise<void> {
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
  if (ami.architecture && architectures.length > 0 && !architectures.includes(ami.architecture)) {
    throw refuse(
      `instanceType ${instanceType} runs ${architectures.join(' or ')}, but AMI ${ami.imageId} is ${ami.architecture}`,
    );
  }
}
