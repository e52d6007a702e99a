/**
 * SSM Run Command's state and rules: a command and its invocations, delivered by the agent
 * (`deliver`) once the invocation is visible (AWS_SECONDS.invocationVisible after SendCommand):
 * Pending until the agent picks it up, then InProgress while its script really runs against
 * the instance's files (executor.ts), ending Success, Failed (non-zero exit, or the instance
 * went away), TimedOut (executionTimeout, real seconds) or Cancelled.
 */
import { randomUUID } from 'node:crypto';
import { INSTANCE_ID_PATTERN } from '../../../functions/lib/validation';
import { agentOnline } from '../../ec2/models/instance-status';
import { InvalidCommandId, InvalidInstanceId } from '../../errors/ssm';
import { type CommandRecord, FINAL_INVOCATION_STATUSES, type InvocationRecord } from '../../state';
import { AWS_SECONDS } from '../../timeline';
import type { RegionState, World } from '../../world';
import { AGENT_PATH, isolationProblem, runIsolated } from '../executor';
import { finish, track } from './invocations';

export const RUN_SHELL_SCRIPT = 'AWS-RunShellScript';
export const PLUGIN = 'aws:runShellScript';
const COMMAND_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** SendCommand's instances must each be known and have their agent online. */
export function checkInstancesOnline(world: World, r: RegionState, instanceIds: readonly string[]): void {
  const invalid = instanceIds.filter((id) => {
    const instance = INSTANCE_ID_PATTERN.test(id) ? r.instances.get(id) : undefined;
    return !instance || !agentOnline(world, instance);
  });
  if (invalid.length > 0) throw new InvalidInstanceId(invalid, world.accountId);
}

export interface SendCommandInput {
  documentName: string;
  instanceIds: string[];
  comment: string;
  parameters: Record<string, string[]>;
  /** What runs, when not `parameters.commands` (a document's commands, parameters substituted). */
  commands?: string[];
  /** Delivery timeout (TimeoutSeconds). */
  timeoutSeconds: number;
  /** Parameters.executionTimeout, real seconds. */
  executionTimeout: number;
  maxConcurrency: string;
  maxErrors: string;
}

/** Records the command and schedules each invocation's delivery (instances checked first). */
export function sendCommand(world: World, regionName: string, input: SendCommandInput): CommandRecord {
  const r = world.region(regionName);
  const now = Date.now();
  const command: CommandRecord = {
    commandId: randomUUID(),
    documentName: input.documentName,
    comment: input.comment,
    parameters: input.parameters,
    ...(input.commands ? { commands: input.commands } : {}),
    instanceIds: input.instanceIds,
    requestedAt: now,
    timeoutSeconds: input.timeoutSeconds,
    executionTimeoutSeconds: input.executionTimeout,
    maxConcurrency: input.maxConcurrency,
    maxErrors: input.maxErrors,
    invocations: new Map(),
  };
  const visibleAt = now + world.timeline.ms(AWS_SECONDS.invocationVisible);
  for (const instanceId of input.instanceIds) {
    const invocation: InvocationRecord = {
      commandId: command.commandId,
      instanceId,
      status: 'Pending',
      statusDetails: 'Pending',
      requestedAt: now,
      visibleAt,
      responseCode: -1,
      stdout: '',
      stderr: '',
    };
    command.invocations.set(instanceId, invocation);
    world.timeline.after(AWS_SECONDS.invocationVisible + AWS_SECONDS.delivery, () =>
      deliver(world, r, regionName, command, invocation),
    );
  }
  r.commands.set(command.commandId, command);
  return command;
}

/** The agent picks the invocation up: run it, or wait for the agent until the delivery timeout. */
function deliver(
  world: World,
  r: RegionState,
  regionName: string,
  command: CommandRecord,
  invocation: InvocationRecord,
): void {
  if (invocation.status !== 'Pending') return;
  const instance = r.instances.get(invocation.instanceId);
  if (instance?.state !== 'running' || !instance.rootDir) {
    finish(world, invocation, 'Failed', 'Undeliverable', -1);
    return;
  }
  if (!agentOnline(world, instance)) {
    const deadline = command.requestedAt + world.timeline.ms(command.timeoutSeconds);
    if (Date.now() >= deadline) finish(world, invocation, 'TimedOut', 'DeliveryTimedOut', -1);
    else world.timeline.after(AWS_SECONDS.delivery, () => deliver(world, r, regionName, command, invocation));
    return;
  }
  invocation.status = 'InProgress';
  invocation.statusDetails = 'InProgress';
  invocation.startedAt = Date.now();
  const timeoutMs = command.executionTimeoutSeconds * 1000;
  const timedOut = () => finish(world, invocation, 'TimedOut', 'ExecutionTimedOut', -1);

  if (world.faults.commandHangs(instance.imageId)) {
    const timer = world.timeline.afterMs(timeoutMs, timedOut);
    track(world, invocation, { stop: () => timer.cancel() });
    return;
  }

  // The agent's folder for this command, as a path inside the instance: the executor makes it
  // (and writes _script.sh) inside the instance's own root, never through the host's view of it.
  const workDir = [
    '/var/lib/amazon/ssm',
    instance.instanceId,
    'document/orchestration',
    command.commandId,
    'awsrunShellScript/0.awsrunShellScript',
  ].join('/');
  const script = `${(command.commands ?? command.parameters.commands ?? []).join('\n')}\n`;
  const rootDir = instance.rootDir;
  const mountPoint = world.roots.mountPoint();

  void isolationProblem().then((problem) => {
    if (invocation.status !== 'InProgress') return;
    if (problem) {
      finish(world, invocation, 'Failed', 'Failed', -1, {
        stdout: '',
        stderr: `pulsar-ami sandbox: cannot run the command in the instance's filesystem: ${problem}. The sandbox never runs commands against the host's own files.`,
      });
      return;
    }
    const run = runIsolated({
      root: rootDir,
      mountPoint,
      script,
      workDir,
      workingDirectory: command.parameters.workingDirectory?.[0],
      env: {
        PATH: AGENT_PATH,
        AWS_SSM_INSTANCE_ID: instance.instanceId,
        AWS_SSM_REGION_NAME: regionName,
        LANG: 'C.UTF-8',
      },
    });
    // On the execution timeout the script is killed first and the invocation ends once its
    // output is read, so TimedOut is never seen without what the script printed until then.
    let expired = false;
    const timer = world.timeline.afterMs(timeoutMs, () => {
      expired = true;
      run.stop();
    });
    track(world, invocation, {
      stop: () => {
        timer.cancel();
        run.stop();
      },
    });
    void run.done.then((outcome) => {
      const output = { stdout: outcome.stdout, stderr: outcome.stderr };
      if (expired && invocation.status === 'InProgress') {
        finish(world, invocation, 'TimedOut', 'ExecutionTimedOut', -1, output);
        return;
      }
      if (invocation.status !== 'InProgress') {
        // Stopped (timeout, termination, cancel): keep what it printed until then.
        invocation.stdout ||= outcome.stdout;
        invocation.stderr ||= outcome.stderr;
        return;
      }
      if (outcome.error !== undefined) {
        finish(world, invocation, 'Failed', 'Failed', -1, {
          stdout: '',
          stderr: `pulsar-ami sandbox: ${outcome.error}`,
        });
      } else if (outcome.exitCode === 0) {
        finish(world, invocation, 'Success', 'Success', 0, output);
      } else {
        finish(world, invocation, 'Failed', 'Failed', outcome.exitCode ?? -1, output);
      }
    });
  });
}

export interface CommandSummary {
  status: string;
  completed: number;
  errors: number;
  deliveryTimedOut: number;
}

/** The command's status from its invocations', with the counts ListCommands reports. */
export function commandStatus(command: CommandRecord): CommandSummary {
  const invocations = [...command.invocations.values()];
  const statuses = invocations.map((i) => i.status);
  const completed = statuses.filter((s) => FINAL_INVOCATION_STATUSES.has(s)).length;
  const errors = statuses.filter((s) => s === 'Failed' || s === 'TimedOut').length;
  let status: string;
  if (statuses.every((s) => s === 'Pending')) status = 'Pending';
  else if (completed < statuses.length) status = 'InProgress';
  else if (statuses.every((s) => s === 'Success')) status = 'Success';
  else if (statuses.some((s) => s === 'Cancelled')) status = 'Cancelled';
  else if (statuses.some((s) => s === 'TimedOut')) status = 'TimedOut';
  else status = 'Failed';
  const deliveryTimedOut = invocations.filter((i) => i.statusDetails === 'DeliveryTimedOut').length;
  return { status, completed, errors, deliveryTimedOut };
}

/** A command by id (InvalidCommandId when malformed), or undefined. */
export function findCommand(r: RegionState, commandId: string): CommandRecord | undefined {
  if (!COMMAND_ID.test(commandId)) throw InvalidCommandId.malformed(commandId);
  return r.commands.get(commandId);
}

/** The command named, or every command of the region. */
function commandsOf(r: RegionState, commandId: string | undefined): CommandRecord[] {
  return commandId !== undefined
    ? [findCommand(r, commandId)].flatMap((c) => (c ? [c] : []))
    : [...r.commands.values()];
}

/** An invocation GetCommandInvocation may show (known and visible), or undefined. */
export function visibleInvocation(
  r: RegionState,
  commandId: string,
  instanceId: string,
): { command: CommandRecord; invocation: InvocationRecord } | undefined {
  const command = findCommand(r, commandId);
  const invocation = command?.invocations.get(instanceId);
  if (!command || !invocation || Date.now() < invocation.visibleAt) return undefined;
  return { command, invocation };
}

/** ListCommandInvocations: visible invocations, newest command first. */
export function listInvocations(
  r: RegionState,
  commandId: string | undefined,
  instanceId: string | undefined,
): { command: CommandRecord; invocation: InvocationRecord }[] {
  const now = Date.now();
  return commandsOf(r, commandId)
    .sort((a, b) => b.requestedAt - a.requestedAt)
    .flatMap((command) =>
      [...command.invocations.values()]
        .filter((i) => i.visibleAt <= now && (instanceId === undefined || i.instanceId === instanceId))
        .map((i) => ({ command, invocation: i })),
    );
}

/** ListCommands: the commands (on the instance, when given), newest first. */
export function listCommands(
  r: RegionState,
  commandId: string | undefined,
  instanceId: string | undefined,
): CommandRecord[] {
  return commandsOf(r, commandId)
    .filter((c) => instanceId === undefined || c.instanceIds.includes(instanceId))
    .sort((a, b) => b.requestedAt - a.requestedAt);
}

/** CancelCommand: the unfinished invocations (of `only`, else all) end Cancelled. */
export function cancelCommand(world: World, r: RegionState, commandId: string, only?: string[]): void {
  const command = findCommand(r, commandId);
  if (!command) throw InvalidCommandId.unknown(commandId);
  for (const id of only ?? command.instanceIds) {
    const invocation = command.invocations.get(id);
    if (invocation && !FINAL_INVOCATION_STATUSES.has(invocation.status)) {
      finish(world, invocation, 'Cancelled', 'Cancelled', -1);
    }
  }
}
