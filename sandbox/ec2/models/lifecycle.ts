/**
 * Instance lifecycle in compressed time (timeline.ts): pending → running after a boot,
 * running → shutting-down → terminated (or stopping → stopped) on TerminateInstances or when
 * the user data's `shutdown -h +N` comes due. Terminating an instance ends the commands
 * running on it and removes its root directory. Each instance's pending timers are kept in
 * the world (`world.instanceTimers`), so a reset or close cancels them with the rest.
 */
import { abortInvocationsOn } from '../../ssm/models/invocations';
import type { InstanceRecord, InstanceStateName } from '../../state';
import { AWS_SECONDS, type TimerHandle } from '../../timeline';
import type { RegionState, World } from '../../world';

/** Keeps a lifecycle timer of the instance (in the world), to cancel on its next change. */
function remember(world: World, instance: InstanceRecord, handle: TimerHandle): void {
  const list = world.instanceTimers.get(instance) ?? [];
  list.push(handle);
  world.instanceTimers.set(instance, list);
}

function cancelTimers(world: World, instance: InstanceRecord): void {
  for (const handle of world.instanceTimers.get(instance) ?? []) handle.cancel();
  world.instanceTimers.delete(instance);
}

/** pending → running after AWS_SECONDS.boot; the `neverRunning` fault keeps it pending. */
export function scheduleBoot(world: World, region: RegionState, instance: InstanceRecord): void {
  remember(
    world,
    instance,
    world.timeline.after(AWS_SECONDS.boot, () => {
      if (instance.state !== 'pending') return;
      if (world.faults.neverRunning(instance.imageId)) {
        scheduleBoot(world, region, instance);
        return;
      }
      instance.state = 'running';
      instance.runningSince = Date.now();
      scheduleSelfShutdown(world, region, instance);
    }),
  );
}

/**
 * The delay in minutes of the lifetime guard's deadline, else of the first `shutdown` in the
 * (base64) user data: `shutdown -h +90`,
 * `shutdown -P 30`, `sudo shutdown now`, `/sbin/shutdown +5`; undefined when there is none
 * (or it is a reboot).
 */
export function shutdownMinutes(userData: string | undefined): number | undefined {
  if (!userData) return undefined;
  const text = Buffer.from(userData, 'base64').toString('utf8');
  // The ValidateAmi lifetime guard (cloud-init, a per-boot script): it records the deadline
  // max_minutes after the first boot and powers off at it. The sandbox never reboots an
  // instance, so the deadline is max_minutes after it came up.
  const guard = /^#cloud-config\n[\s\S]*\/scripts\/per-boot\/[\s\S]*^\s*max_minutes=(\d+)\s*$/m.exec(text);
  if (guard) return Number(guard[1]);
  const match = /(?:^|[\s;&|(])(?:sudo\s+)?(?:\/usr)?(?:\/s?bin\/)?shutdown((?:[ \t]+[^\s;&|#]+)*)/m.exec(
    text,
  );
  if (!match) return undefined;
  const args = (match[1] ?? '').trim().split(/\s+/).filter(Boolean);
  if (args.includes('-r') || args.includes('--reboot') || args.includes('-c')) return undefined;
  for (const arg of args) {
    if (arg === 'now') return 0;
    const delay = /^\+?(\d+)$/.exec(arg);
    if (delay) return Number(delay[1]);
  }
  return 1; // shutdown without a time: systemd's default is one minute
}

/** From running: after the user data's shutdown delay, shut down as InstanceInitiatedShutdownBehavior says. */
export function scheduleSelfShutdown(world: World, region: RegionState, instance: InstanceRecord): void {
  const minutes = shutdownMinutes(instance.userData);
  if (minutes === undefined) return;
  remember(
    world,
    instance,
    world.timeline.after(minutes * 60, () => {
      if (instance.state !== 'running') return;
      const reason = {
        code: 'Client.InstanceInitiatedShutdown',
        message: 'Client.InstanceInitiatedShutdown: Instance initiated shutdown',
      };
      if (instance.shutdownBehavior === 'terminate') beginTermination(world, region, instance, reason);
      else beginStop(world, region, instance, reason);
    }),
  );
}

const stamp = () =>
  new Date()
    .toISOString()
    .replace(/\.\d{3}Z$/, ' GMT')
    .replace('T', ' ');

type Reason = { code: string; message: string };

/**
 * Leaves `running` (or `pending`): timers cancelled, the transient state now, its commands
 * failed, and after AWS_SECONDS.shutdown the final state (then `done`).
 */
function shutDown(
  world: World,
  region: RegionState,
  instance: InstanceRecord,
  transient: 'shutting-down' | 'stopping',
  reason: Reason,
  initiator: string,
  done: () => void,
): void {
  cancelTimers(world, instance);
  instance.state = transient;
  instance.runningSince = undefined;
  instance.stateReason = reason;
  instance.stateTransitionReason = `${initiator} initiated (${stamp()})`;
  abortInvocationsOn(world, region, instance.instanceId);
  remember(
    world,
    instance,
    world.timeline.after(AWS_SECONDS.shutdown, () => {
      done();
      world.instanceTimers.delete(instance);
    }),
  );
}

/**
 * → shutting-down now, terminated after AWS_SECONDS.shutdown. Returns the previous state.
 * Already shutting down or terminated: nothing changes.
 */
export function beginTermination(
  world: World,
  region: RegionState,
  instance: InstanceRecord,
  reason: Reason = {
    code: 'Client.UserInitiatedShutdown',
    message: 'Client.UserInitiatedShutdown: User initiated shutdown',
  },
): InstanceStateName {
  const previous = instance.state;
  if (previous === 'shutting-down' || previous === 'terminated') return previous;
  const initiator = reason.code.includes('User') ? 'User' : 'Instance';
  shutDown(world, region, instance, 'shutting-down', reason, initiator, () => {
    instance.state = 'terminated';
    for (const volumeId of instance.volumeIds) region.volumes.delete(volumeId);
    if (instance.rootDir) world.roots.remove(instance.rootDir);
    instance.rootDir = undefined;
  });
  return previous;
}

/**
 * → stopping now, stopped after AWS_SECONDS.shutdown (StopInstances, or the instance's own
 * shutdown with behaviour `stop`). Returns the previous state; only a running or pending
 * instance stops.
 */
export function beginStop(
  world: World,
  region: RegionState,
  instance: InstanceRecord,
  reason: Reason = {
    code: 'Client.UserInitiatedShutdown',
    message: 'Client.UserInitiatedShutdown: User initiated shutdown',
  },
): InstanceStateName {
  const previous = instance.state;
  if (previous !== 'running' && previous !== 'pending') return previous;
  const initiator = reason.code.includes('User') ? 'User' : 'Instance';
  shutDown(world, region, instance, 'stopping', reason, initiator, () => {
    instance.state = 'stopped';
  });
  return previous;
}
