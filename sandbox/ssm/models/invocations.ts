/**
 * How a Run Command invocation ends, and what runs for it meanwhile. What runs (a process or
 * a hang timer) is kept in the world (`world.running`), so ending the invocation, a reset
 * or a close stops it. EC2's lifecycle calls `abortInvocationsOn` when an instance goes away.
 */
import { FINAL_INVOCATION_STATUSES, type InvocationRecord, type InvocationStatus } from '../../state';
import type { RegionState, Stoppable, World } from '../../world';

export function finish(
  world: World,
  invocation: InvocationRecord,
  status: InvocationStatus,
  details: string,
  responseCode: number,
  output?: { stdout: string; stderr: string },
): void {
  if (FINAL_INVOCATION_STATUSES.has(invocation.status)) return;
  invocation.status = status;
  invocation.statusDetails = details;
  invocation.responseCode = responseCode;
  invocation.endedAt = Date.now();
  if (output) {
    invocation.stdout = output.stdout;
    invocation.stderr = output.stderr;
  }
  world.running.get(invocation)?.stop();
  world.running.delete(invocation);
}

/** Keeps what runs for the invocation now, to stop it when the invocation ends early. */
export function track(world: World, invocation: InvocationRecord, stoppable: Stoppable): void {
  world.running.set(invocation, stoppable);
}

/** The instance went away (terminated or stopped): its pending and running invocations fail. */
export function abortInvocationsOn(world: World, r: RegionState, instanceId: string): void {
  for (const command of r.commands.values()) {
    const invocation = command.invocations.get(instanceId);
    if (!invocation || FINAL_INVOCATION_STATUSES.has(invocation.status)) continue;
    finish(world, invocation, 'Failed', invocation.status === 'Pending' ? 'Undeliverable' : 'Failed', -1);
  }
}
