/**
 * What other services may ask about an instance (a small interface, so SSM need not import
 * the lifecycle that schedules its changes): whether its SSM agent is online, whether its
 * status checks have passed.
 */
import type { InstanceRecord } from '../../state';
import { AWS_SECONDS } from '../../timeline';
import type { World } from '../../world';

/** Whether the instance's SSM agent is registered and online now. */
export function agentOnline(world: World, instance: InstanceRecord): boolean {
  return (
    instance.state === 'running' &&
    instance.ssmAgent &&
    instance.runningSince !== undefined &&
    Date.now() - instance.runningSince >= world.timeline.ms(AWS_SECONDS.agentRegistration) &&
    !world.faults.ssmOffline(instance.imageId)
  );
}

/** Whether the instance's status checks have passed (`ok`) or are still `initializing`. */
export function statusChecksPassed(world: World, instance: InstanceRecord): boolean {
  return (
    instance.state === 'running' &&
    instance.runningSince !== undefined &&
    Date.now() - instance.runningSince >= world.timeline.ms(AWS_SECONDS.statusChecks)
  );
}
