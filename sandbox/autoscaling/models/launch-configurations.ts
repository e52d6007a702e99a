/**
 * Auto Scaling launch configurations (the older way to give an Auto Scaling group its AMI, which
 * EC2's DescribeImageReferences does not report): created with an existing image of the region,
 * listed by name in name order, deleted by name. The sandbox has no Auto Scaling groups, so a
 * launch configuration is never in use.
 */
import { randomUUID } from 'node:crypto';
import { AMI_ID_PATTERN, INSTANCE_TYPE_PATTERN } from '../../../functions/lib/validation';
import { AlreadyExistsFault, AutoScalingValidationError } from '../../errors/autoscaling';
import type { LaunchConfigurationRecord } from '../../state';
import type { RegionState, World } from '../../world';

export interface AutoScalingScope {
  world: World;
  region: RegionState;
  regionName: string;
}

/** 1 to 255 characters, no control characters but tab, CR and LF (Auto Scaling's XmlStringMaxLen255). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what it refuses.
const NAME = /^[^\u0000-\u0008\u000b\u000c\u000e-\u001f]{1,255}$/u;

export function createLaunchConfiguration(
  scope: AutoScalingScope,
  input: { name?: string; imageId?: string; instanceType?: string },
): LaunchConfigurationRecord {
  const { name, imageId, instanceType } = input;
  if (!name) throw AutoScalingValidationError.missing('launchConfigurationName');
  if (!NAME.test(name)) {
    throw new AutoScalingValidationError(
      `1 validation error detected: Value at 'launchConfigurationName' failed to satisfy constraint: Member must have length less than or equal to 255 and no control characters`,
    );
  }
  if (!imageId)
    throw new AutoScalingValidationError(
      'Valid requests must contain either the ImageId parameter or the InstanceID parameter.',
    );
  if (!instanceType)
    throw new AutoScalingValidationError('Valid requests must contain the InstanceType parameter.');
  if (!INSTANCE_TYPE_PATTERN.test(instanceType)) {
    throw new AutoScalingValidationError(`The instance type '${instanceType}' is not valid.`);
  }
  if (!AMI_ID_PATTERN.test(imageId) || !scope.region.images.has(imageId)) {
    throw AutoScalingValidationError.imageNotFound(imageId);
  }
  if (scope.region.launchConfigurations.has(name)) throw new AlreadyExistsFault(name);
  const id = randomUUID();
  const record: LaunchConfigurationRecord = {
    name,
    arn: `arn:aws:autoscaling:${scope.regionName}:${scope.world.accountId}:launchConfiguration:${id}:launchConfigurationName/${name}`,
    imageId,
    instanceType,
    createdTime: new Date().toISOString(),
  };
  scope.region.launchConfigurations.set(name, record);
  return record;
}

/** The launch configurations named (unknown names left out, as Auto Scaling does), or all; in name order. */
export function describeLaunchConfigurations(
  scope: AutoScalingScope,
  names: readonly string[],
): LaunchConfigurationRecord[] {
  const all = [...scope.region.launchConfigurations.values()];
  const wanted = names.length > 0 ? all.filter((lc) => names.includes(lc.name)) : all;
  return wanted.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function deleteLaunchConfiguration(scope: AutoScalingScope, name: string | undefined): void {
  if (!name) throw AutoScalingValidationError.missing('launchConfigurationName');
  if (!scope.region.launchConfigurations.delete(name)) {
    throw AutoScalingValidationError.launchConfigurationNotFound(name);
  }
}
