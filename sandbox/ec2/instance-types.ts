/**
 * DescribeInstanceTypes, for the families a Pulsar lab uses: each type's processor
 * architecture; a type EC2 does not have is `InvalidInstanceType`.
 */
import { AwsError } from '../aws-error';
import { items } from '../xml';
import type { Ec2Action } from './context';
import { architectureOf } from './instances';

/** Families the sandbox knows; sizes follow the instance-type pattern RunInstances checks. */
const FAMILIES = new Set([
  't2',
  't3',
  't3a',
  't4g',
  'm5',
  'm5a',
  'm6i',
  'm6g',
  'm7i',
  'm7i-flex',
  'm7g',
  'm7gd',
  'm8g',
  'c5',
  'c5n',
  'c6i',
  'c6in',
  'c6g',
  'c6gn',
  'c7i',
  'c7g',
  'c7gn',
  'r5',
  'r6i',
  'r6g',
  'r7i',
  'r7g',
  'i3',
  'i4i',
  'i4g',
  'im4gn',
  'is4gen',
  'x2gd',
  'a1',
  'g4dn',
  'g5',
  'g5g',
  'p4d',
  'inf2',
  'trn1',
  'mac1',
  'mac2',
  'hpc7g',
  'u-6tb1',
]);

export function instanceTypeExists(instanceType: string): boolean {
  return FAMILIES.has(instanceType.split('.')[0] ?? '');
}

export const describeInstanceTypes: Ec2Action = (ctx) => {
  const requested = ctx.params.list('InstanceType');
  const unknown = requested.filter((t) => !instanceTypeExists(t));
  if (unknown.length > 0) {
    throw new AwsError(
      'InvalidInstanceType',
      `The following supplied instance types do not exist: [${unknown.join(', ')}]`,
    );
  }
  ctx.dryRunCheckpoint();
  return {
    instanceTypeSet: items(
      requested.map((instanceType) => ({
        instanceType,
        currentGeneration: true,
        processorInfo: { supportedArchitectures: items([architectureOf(instanceType)]) },
      })),
    ),
  };
};
