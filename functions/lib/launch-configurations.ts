/**
 * Auto Scaling launch configurations that name an AMI: an older way to give an Auto Scaling
 * group its image, which EC2's DescribeImageReferences does not report. The account's launch
 * configurations are read once for all the ids asked, every page of DescribeLaunchConfigurations
 * (one call where the account has none). Its own module, so only the functions that ask carry
 * the Auto Scaling client.
 */
import { type AutoScalingClient, DescribeLaunchConfigurationsCommand } from '@aws-sdk/client-auto-scaling';
import { awsCall } from './errors';
import type { ImageReference, LaunchConfigurationLookup } from './image-references';

export type AutoScaling = Pick<AutoScalingClient, 'send'>;

/** DescribeLaunchConfigurations' largest page. */
export const LAUNCH_CONFIGURATIONS_PER_PAGE = 100;

/** The launch configurations naming each of the images, by image id (only the ids that have some). */
export async function findLaunchConfigurationReferences(
  autoScaling: AutoScaling,
  imageIds: readonly string[],
): Promise<Map<string, ImageReference[]>> {
  const wanted = new Set(imageIds);
  const found = new Map<string, ImageReference[]>();
  if (wanted.size === 0) return found;
  let NextToken: string | undefined;
  do {
    const page = await awsCall(
      'AutoScaling',
      autoScaling.send(
        new DescribeLaunchConfigurationsCommand({ MaxRecords: LAUNCH_CONFIGURATIONS_PER_PAGE, NextToken }),
      ),
    );
    for (const lc of page.LaunchConfigurations ?? []) {
      const imageId = lc.ImageId ?? '';
      const name = lc.LaunchConfigurationName;
      if (!wanted.has(imageId) || !name) continue;
      found.set(imageId, [
        ...(found.get(imageId) ?? []),
        {
          kind: 'launch-configuration',
          arn: lc.LaunchConfigurationARN ?? name,
          id: name,
          detail: `Auto Scaling launch configuration ${name}`,
        },
      ]);
    }
    NextToken = page.NextToken;
  } while (NextToken);
  return found;
}

/** The lookup findImageReferences and deleteAmi take, reading with this client. */
export function launchConfigurationLookup(autoScaling: AutoScaling): LaunchConfigurationLookup {
  return (imageIds) => findLaunchConfigurationReferences(autoScaling, imageIds);
}
