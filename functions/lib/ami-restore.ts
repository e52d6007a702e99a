/**
 * Restoring a retired AMI: re-enables a disabled AMI (EnableImage) and cancels its deprecation
 * (DisableImageDeprecation). Only this tool's images (AmiNotManagedError otherwise); an AMI that
 * is neither disabled nor deprecated is a no-op reported as such.
 */
import {
  DescribeImagesCommand,
  DisableImageDeprecationCommand,
  EnableImageCommand,
} from '@aws-sdk/client-ec2';
import type { Ami } from './ami';
import { type Ec2, getAmi } from './ami-catalogue';
import { awsCall } from './errors';

export async function restoreAmi(
  clients: { ec2: Ec2 },
  imageId: string,
  region: string,
): Promise<{ ami: Ami; enabled: boolean; deprecationCancelled: boolean }> {
  const before = await getAmi(clients.ec2, imageId, region);
  const described = await awsCall(
    'EC2',
    clients.ec2.send(
      new DescribeImagesCommand({ ImageIds: [imageId], Owners: ['self'], IncludeDisabled: true }),
    ),
  );
  const deprecated = Boolean(described.Images?.[0]?.DeprecationTime);
  const enabled = before.state === 'disabled';
  if (enabled) await awsCall('EC2', clients.ec2.send(new EnableImageCommand({ ImageId: imageId })));
  if (deprecated) {
    await awsCall('EC2', clients.ec2.send(new DisableImageDeprecationCommand({ ImageId: imageId })));
  }
  const ami = enabled || deprecated ? await getAmi(clients.ec2, imageId, region) : before;
  return { ami, enabled, deprecationCancelled: deprecated };
}
