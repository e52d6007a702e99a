/**
 * Instance types, for the families a Pulsar lab uses: each type's processor architecture; a
 * type EC2 does not have is `InvalidInstanceType`.
 */
import { InvalidInstanceType } from '../../errors/ec2';
import type { Ec2Scope } from './context';

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

export interface InstanceTypeInfo {
  instanceType: string;
  architecture: string;
}

/** DescribeInstanceTypes: the requested types, each known (else InvalidInstanceType). */
export function describeInstanceTypes(scope: Ec2Scope, requested: readonly string[]): InstanceTypeInfo[] {
  const unknown = requested.filter((t) => !instanceTypeExists(t));
  if (unknown.length > 0) throw new InvalidInstanceType(unknown);
  scope.checkpoint();
  return requested.map((instanceType) => ({ instanceType, architecture: architectureOf(instanceType) }));
}
