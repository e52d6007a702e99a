/**
 * Restoring an AMI a cleanup retired part way: a disabled one is enabled again (EnableImage), a
 * deprecated one (or one with a deprecation time set) has it cancelled (DisableImageDeprecation).
 * Only this tool's images (AmiNotManagedError otherwise); one that is neither disabled nor
 * deprecated is left as it is, and said so. A legacy pulsar-base-* image is adopted first (the
 * ManagedBy tag the permissions to change images are scoped to).
 */
import { DisableImageDeprecationCommand, EnableImageCommand } from '@aws-sdk/client-ec2';
import type { Ami } from './ami';
import { adoptLegacyAmi, type Ec2, getToolImage } from './ami-catalogue';
import { awsCall } from './errors';

export interface RestoreResult {
  /** The image after the restore (state `available` once enabled). */
  ami: Ami;
  /** EnableImage was called: it was disabled. */
  enabled: boolean;
  /** DisableImageDeprecation was called: it had a deprecation time. */
  deprecationCancelled: boolean;
}

export async function restoreAmi(
  clients: { ec2: Ec2 },
  imageId: string,
  region: string,
): Promise<RestoreResult> {
  const { image, ami } = await getToolImage(clients.ec2, imageId, region);
  const enable = ami.state === 'disabled';
  const cancelDeprecation = typeof image.DeprecationTime === 'string' && image.DeprecationTime !== '';
  if (!enable && !cancelDeprecation) return { ami, enabled: false, deprecationCancelled: false };
  await adoptLegacyAmi(clients.ec2, ami);
  if (enable) await awsCall('EC2', clients.ec2.send(new EnableImageCommand({ ImageId: imageId })));
  if (cancelDeprecation) {
    await awsCall('EC2', clients.ec2.send(new DisableImageDeprecationCommand({ ImageId: imageId })));
  }
  return {
    ami: { ...ami, state: enable ? 'available' : ami.state },
    enabled: enable,
    deprecationCancelled: cancelDeprecation,
  };
}
