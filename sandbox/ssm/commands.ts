/**
 * SSM Run Command: SendCommand (AWS-RunShellScript only), GetCommandInvocation,
 * ListCommandInvocations, ListCommands, CancelCommand. An invocation is unknown
 * (InvocationDoesNotExist) for AWS_SECONDS.invocationVisible after SendCommand, Pending until
 * the agent picks it up, then InProgress while its script really runs against the instance's
 * files (executor.ts), and ends Success, Failed (non-zero exit, or the instance went away),
 * TimedOut (executionTimeout, real seconds) or Cancelled.
 */
import { randomUUID } from 'node:crypto';
import { INSTANCE_ID_PATTERN } from '../../functions/lib/validation';
import { AwsError } from '../aws-error';
import { agentOnline } from '../ec2/lifecycle';
import { optionalBoolean, optionalInteger, optionalString, requiredString } from '../json-input';
import type { AwsCallContext, JsonInput, JsonOperation } from '../services';
import {
  type CommandRecord,
  FINAL_INVOCATION_STATUSES,
  type InvocationRecord,
  type InvocationStatus,
  type RegionState,
  type Stoppable,
  type World,
} from '../state';
import { AWS_SECONDS } from '../timeline';
import { AGENT_PATH, isolationProblem, runIsolated } from './executor';

export const RUN_SHELL_SCRIPT = 'AWS-RunShellScript';
const PLUGIN = 'aws:runShellScript';
export const STDOUT_LIMIT = 24_000;
export const STDERR_LIMIT = 8_000;
const DEFAULT_EXECUTION_TIMEOUT = 3600;
const DEFAULT_DELIVERY_TIMEOUT = 3600;
const COMMAND_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** What runs for an invocation now (a process or a hang timer), to stop it early. */
const active = new WeakMap<InvocationRecord, Stoppable>();

const epoch = (ms: number) => ms / 1000;
const iso = (ms: number | undefined) => (ms === undefined ? '' : new Date(ms).toISOString());

function region(ctx: AwsCallContext): RegionState {
  return ctx.world.region(ctx.regionName);
}

function invalidInstance(ids: string[], account: string): AwsError {
  return new AwsError(
    'InvalidInstanceId',
    `Instances [[${ids.join(', ')}]] not in a valid state for account ${account}`,
  );
}

function finish(
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
  active.get(invocation)?.stop();
  active.delete(invocation);
}

function track(world: World, invocation: InvocationRecord, stoppable: Stoppable): void {
  const entry: Stoppable = {
    stop: () => {
      world.running.delete(entry);
      stoppable.stop();
    },
  };
  world.running.add(entry);
  active.set(invocation, entry);
}

function parseParameters(input: JsonInput): {
  commands: string[];
  executionTimeout: number;
  workingDirectory?: string;
  parameters: Record<string, string[]>;
} {
  const raw = input.Parameters ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new AwsError(
      'InvalidParameters',
      'Parameters must be a map of parameter names to lists of strings',
    );
  }
  const parameters: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
      throw new AwsError('InvalidParameters', `Parameter ${key} must be a list of strings`);
    }
    if (!['commands', 'executionTimeout', 'workingDirectory'].includes(key)) {
      throw new AwsError(
        'InvalidParameters',
        `Parameter "${key}" is not defined in document ${RUN_SHELL_SCRIPT}.`,
      );
    }
    parameters[key] = value as string[];
  }
  const commands = parameters.commands;
  if (!commands || commands.length === 0) {
    throw new AwsError(
      'InvalidParameters',
      `Parameter "commands" is required by document ${RUN_SHELL_SCRIPT}.`,
    );
  }
  const timeoutText = parameters.executionTimeout?.[0] ?? String(DEFAULT_EXECUTION_TIMEOUT);
  const executionTimeout = /^\d+$/.test(timeoutText) ? Number(timeoutText) : Number.NaN;
  if (!(executionTimeout >= 1 && executionTimeout <= 172_800)) {
    throw new AwsError(
      'InvalidParameters',
      `Parameter "executionTimeout" must be an integer between 1 and 172800, got "${timeoutText}".`,
    );
  }
  return { commands, executionTimeout, workingDirectory: parameters.workingDirectory?.[0], parameters };
}

function instanceIdsOf(input: JsonInput): string[] {
  const ids = input.InstanceIds;
  if (ids !== undefined && ids !== null) {
    if (!Array.isArray(ids) || !ids.every((v) => typeof v === 'string')) {
      throw new AwsError('ValidationException', 'InstanceIds must be a list of strings');
    }
    return ids as string[];
  }
  const targets = input.Targets;
  if (Array.isArray(targets)) {
    const byId = targets.find(
      (t): t is { Key: string; Values: string[] } =>
        typeof t === 'object' && t !== null && (t as { Key?: unknown }).Key === 'InstanceIds',
    );
    if (byId && Array.isArray(byId.Values)) return byId.Values;
    throw new AwsError('InvalidTarget', 'The sandbox accepts only InstanceIds and Targets Key=InstanceIds');
  }
  throw new AwsError('ValidationException', 'Either InstanceIds or Targets must be specified');
}

export const sendCommand: JsonOperation = (input, ctx) => {
  const documentName = requiredString(input, 'DocumentName');
  const docName = documentName.replace(/^arn:aws:ssm:[a-z0-9-]*::document\//, '');
  if (docName !== RUN_SHELL_SCRIPT) {
    throw new AwsError(
      'InvalidDocument',
      `Document ${documentName} does not exist or is not supported by the sandbox (only ${RUN_SHELL_SCRIPT}).`,
    );
  }
  const instanceIds = [...new Set(instanceIdsOf(input))];
  if (instanceIds.length === 0 || instanceIds.length > 50) {
    throw new AwsError('ValidationException', 'InstanceIds must contain between 1 and 50 instance ids');
  }
  const timeoutSeconds = optionalInteger(input, 'TimeoutSeconds', 30, 2_592_000) ?? DEFAULT_DELIVERY_TIMEOUT;
  const comment = optionalString(input, 'Comment') ?? '';
  if (comment.length > 100) {
    throw new AwsError(
      'ValidationException',
      "Value at 'comment' failed to satisfy constraint: Member must have length less than or equal to 100",
    );
  }
  const { executionTimeout, parameters } = parseParameters(input);
  const r = region(ctx);
  const invalid = instanceIds.filter((id) => {
    const instance = INSTANCE_ID_PATTERN.test(id) ? r.instances.get(id) : undefined;
    return !instance || !agentOnline(ctx.world, instance);
  });
  if (invalid.length > 0) throw invalidInstance(invalid, ctx.world.accountId);

  const now = Date.now();
  const command: CommandRecord = {
    commandId: randomUUID(),
    documentName: docName,
    comment,
    parameters,
    instanceIds,
    requestedAt: now,
    timeoutSeconds,
    executionTimeoutSeconds: executionTimeout,
    maxConcurrency: optionalString(input, 'MaxConcurrency') ?? '50',
    maxErrors: optionalString(input, 'MaxErrors') ?? '0',
    invocations: new Map(),
  };
  const visibleAt = now + ctx.world.timeline.ms(AWS_SECONDS.invocationVisible);
  for (const instanceId of instanceIds) {
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
    ctx.world.timeline.after(AWS_SECONDS.invocationVisible + AWS_SECONDS.delivery, () =>
      deliver(ctx.world, r, ctx.regionName, command, invocation),
    );
  }
  r.commands.set(command.commandId, command);
  return { Command: renderCommand(command) };
};

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
    finish(invocation, 'Failed', 'Undeliverable', -1);
    return;
  }
  if (!agentOnline(world, instance)) {
    const deadline = command.requestedAt + world.timeline.ms(command.timeoutSeconds);
    if (Date.now() >= deadline) finish(invocation, 'TimedOut', 'DeliveryTimedOut', -1);
    else world.timeline.after(AWS_SECONDS.delivery, () => deliver(world, r, regionName, command, invocation));
    return;
  }
  invocation.status = 'InProgress';
  invocation.statusDetails = 'InProgress';
  invocation.startedAt = Date.now();
  const timeoutMs = command.executionTimeoutSeconds * 1000;
  const timedOut = () => finish(invocation, 'TimedOut', 'ExecutionTimedOut', -1);

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
  const script = `${(command.parameters.commands ?? []).join('\n')}\n`;
  const rootDir = instance.rootDir;
  const mountPoint = world.roots.mountPoint();

  void isolationProblem().then((problem) => {
    if (invocation.status !== 'InProgress') return;
    if (problem) {
      finish(invocation, 'Failed', 'Failed', -1, {
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
        finish(invocation, 'TimedOut', 'ExecutionTimedOut', -1, output);
        return;
      }
      if (invocation.status !== 'InProgress') {
        // Stopped (timeout, termination, cancel): keep what it printed until then.
        invocation.stdout ||= outcome.stdout;
        invocation.stderr ||= outcome.stderr;
        return;
      }
      if (outcome.error !== undefined) {
        finish(invocation, 'Failed', 'Failed', -1, {
          stdout: '',
          stderr: `pulsar-ami sandbox: ${outcome.error}`,
        });
      } else if (outcome.exitCode === 0) {
        finish(invocation, 'Success', 'Success', 0, output);
      } else {
        finish(invocation, 'Failed', 'Failed', outcome.exitCode ?? -1, output);
      }
    });
  });
}

/** The instance went away (terminated or stopped): its pending and running invocations fail. */
export function abortInvocationsOn(_world: World, r: RegionState, instanceId: string): void {
  for (const command of r.commands.values()) {
    const invocation = command.invocations.get(instanceId);
    if (!invocation || FINAL_INVOCATION_STATUSES.has(invocation.status)) continue;
    finish(invocation, 'Failed', invocation.status === 'Pending' ? 'Undeliverable' : 'Failed', -1);
  }
}

function commandStatus(command: CommandRecord): { status: string; completed: number; errors: number } {
  const statuses = [...command.invocations.values()].map((i) => i.status);
  const completed = statuses.filter((s) => FINAL_INVOCATION_STATUSES.has(s)).length;
  const errors = statuses.filter((s) => s === 'Failed' || s === 'TimedOut').length;
  let status: string;
  if (statuses.every((s) => s === 'Pending')) status = 'Pending';
  else if (completed < statuses.length) status = 'InProgress';
  else if (statuses.every((s) => s === 'Success')) status = 'Success';
  else if (statuses.some((s) => s === 'Cancelled')) status = 'Cancelled';
  else if (statuses.some((s) => s === 'TimedOut')) status = 'TimedOut';
  else status = 'Failed';
  return { status, completed, errors };
}

function renderCommand(command: CommandRecord) {
  const { status, completed, errors } = commandStatus(command);
  return {
    CommandId: command.commandId,
    DocumentName: command.documentName,
    DocumentVersion: '$DEFAULT',
    Comment: command.comment,
    ExpiresAfter: epoch(
      command.requestedAt + (command.timeoutSeconds + command.executionTimeoutSeconds) * 1000,
    ),
    Parameters: command.parameters,
    InstanceIds: command.instanceIds,
    Targets: [],
    RequestedDateTime: epoch(command.requestedAt),
    Status: status,
    StatusDetails: status,
    OutputS3Region: '',
    OutputS3BucketName: '',
    OutputS3KeyPrefix: '',
    MaxConcurrency: command.maxConcurrency,
    MaxErrors: command.maxErrors,
    TargetCount: command.instanceIds.length,
    CompletedCount: completed,
    ErrorCount: errors,
    DeliveryTimedOutCount: [...command.invocations.values()].filter(
      (i) => i.statusDetails === 'DeliveryTimedOut',
    ).length,
    ServiceRole: '',
    NotificationConfig: { NotificationArn: '', NotificationEvents: [], NotificationType: '' },
    CloudWatchOutputConfig: { CloudWatchLogGroupName: '', CloudWatchOutputEnabled: false },
    TimeoutSeconds: command.timeoutSeconds,
  };
}

function elapsed(invocation: InvocationRecord): string {
  if (invocation.startedAt === undefined) return '';
  const ms = (invocation.endedAt ?? Date.now()) - invocation.startedAt;
  return `PT${(ms / 1000).toFixed(3)}S`;
}

function findCommand(ctx: AwsCallContext, commandId: string): CommandRecord | undefined {
  if (!COMMAND_ID.test(commandId)) throw new AwsError('InvalidCommandId', `Invalid command id ${commandId}`);
  return region(ctx).commands.get(commandId);
}

export const getCommandInvocation: JsonOperation = (input, ctx) => {
  const commandId = requiredString(input, 'CommandId');
  const instanceId = requiredString(input, 'InstanceId');
  const pluginName = optionalString(input, 'PluginName');
  if (!INSTANCE_ID_PATTERN.test(instanceId)) throw invalidInstance([instanceId], ctx.world.accountId);
  if (pluginName !== undefined && pluginName !== PLUGIN) {
    throw new AwsError(
      'InvalidPluginName',
      `Plugin ${pluginName} is not part of document ${RUN_SHELL_SCRIPT}`,
    );
  }
  const command = findCommand(ctx, commandId);
  const invocation = command?.invocations.get(instanceId);
  if (!command || !invocation || Date.now() < invocation.visibleAt) {
    throw new AwsError('InvocationDoesNotExist', '');
  }
  return {
    CommandId: command.commandId,
    InstanceId: instanceId,
    Comment: command.comment,
    DocumentName: command.documentName,
    DocumentVersion: '$DEFAULT',
    PluginName: PLUGIN,
    ResponseCode: invocation.responseCode,
    ExecutionStartDateTime: iso(invocation.startedAt),
    ExecutionElapsedTime: elapsed(invocation),
    ExecutionEndDateTime: iso(invocation.endedAt),
    Status: invocation.status,
    StatusDetails: invocation.statusDetails,
    StandardOutputContent: invocation.stdout.slice(0, STDOUT_LIMIT),
    StandardOutputUrl: '',
    StandardErrorContent: invocation.stderr.slice(0, STDERR_LIMIT),
    StandardErrorUrl: '',
    CloudWatchOutputConfig: { CloudWatchLogGroupName: '', CloudWatchOutputEnabled: false },
  };
};

function page<T>(list: T[], input: JsonInput, max: number): { items: T[]; NextToken?: string } {
  const maxResults = optionalInteger(input, 'MaxResults', 1, max) ?? max;
  const token = optionalString(input, 'NextToken');
  const start = token === undefined ? 0 : Number(Buffer.from(token, 'base64url').toString('utf8'));
  if (!Number.isInteger(start) || start < 0)
    throw new AwsError('InvalidNextToken', 'The specified token is not valid.');
  const items = list.slice(start, start + maxResults);
  const next = start + maxResults;
  return next < list.length
    ? { items, NextToken: Buffer.from(String(next)).toString('base64url') }
    : { items };
}

export const listCommandInvocations: JsonOperation = (input, ctx) => {
  const commandId = optionalString(input, 'CommandId');
  const instanceId = optionalString(input, 'InstanceId');
  const details = optionalBoolean(input, 'Details') ?? false;
  if (instanceId !== undefined && !INSTANCE_ID_PATTERN.test(instanceId)) {
    throw invalidInstance([instanceId], ctx.world.accountId);
  }
  const commands =
    commandId !== undefined
      ? [findCommand(ctx, commandId)].flatMap((c) => (c ? [c] : []))
      : [...region(ctx).commands.values()];
  const now = Date.now();
  const invocations = commands
    .sort((a, b) => b.requestedAt - a.requestedAt)
    .flatMap((command) =>
      [...command.invocations.values()]
        .filter((i) => i.visibleAt <= now && (instanceId === undefined || i.instanceId === instanceId))
        .map((i) => ({ command, invocation: i })),
    );
  const { items, NextToken } = page(invocations, input, 50);
  return {
    CommandInvocations: items.map(({ command, invocation }) => ({
      CommandId: command.commandId,
      InstanceId: invocation.instanceId,
      InstanceName: '',
      Comment: command.comment,
      DocumentName: command.documentName,
      DocumentVersion: '$DEFAULT',
      RequestedDateTime: epoch(invocation.requestedAt),
      Status: invocation.status,
      StatusDetails: invocation.statusDetails,
      StandardOutputUrl: '',
      StandardErrorUrl: '',
      CommandPlugins: details
        ? [
            {
              Name: PLUGIN,
              Status: invocation.status,
              StatusDetails: invocation.statusDetails,
              ResponseCode: invocation.responseCode,
              ...(invocation.startedAt !== undefined
                ? { ResponseStartDateTime: epoch(invocation.startedAt) }
                : {}),
              ...(invocation.endedAt !== undefined
                ? { ResponseFinishDateTime: epoch(invocation.endedAt) }
                : {}),
              Output: truncatedOutput(invocation),
              StandardOutputUrl: '',
              StandardErrorUrl: '',
              OutputS3Region: '',
              OutputS3BucketName: '',
              OutputS3KeyPrefix: '',
            },
          ]
        : [],
      ServiceRole: '',
      NotificationConfig: { NotificationArn: '', NotificationEvents: [], NotificationType: '' },
      CloudWatchOutputConfig: { CloudWatchLogGroupName: '', CloudWatchOutputEnabled: false },
    })),
    ...(NextToken ? { NextToken } : {}),
  };
};

/** ListCommandInvocations' plugin Output: the first 2,500 characters of stdout then stderr, as the agent reports it. */
function truncatedOutput(invocation: InvocationRecord): string {
  const combined = invocation.stderr
    ? `${invocation.stdout}\n----------ERROR-------\n${invocation.stderr}`
    : invocation.stdout;
  return combined.length > 2500 ? `${combined.slice(0, 2478)}\n---Output truncated---` : combined;
}

export const listCommands: JsonOperation = (input, ctx) => {
  const commandId = optionalString(input, 'CommandId');
  const instanceId = optionalString(input, 'InstanceId');
  const commands = (
    commandId !== undefined
      ? [findCommand(ctx, commandId)].flatMap((c) => (c ? [c] : []))
      : [...region(ctx).commands.values()]
  )
    .filter((c) => instanceId === undefined || c.instanceIds.includes(instanceId))
    .sort((a, b) => b.requestedAt - a.requestedAt);
  const { items, NextToken } = page(commands, input, 50);
  return { Commands: items.map(renderCommand), ...(NextToken ? { NextToken } : {}) };
};

export const cancelCommand: JsonOperation = (input, ctx) => {
  const commandId = requiredString(input, 'CommandId');
  const command = findCommand(ctx, commandId);
  if (!command) throw new AwsError('InvalidCommandId', `Command ${commandId} does not exist`);
  const only = input.InstanceIds;
  const ids = Array.isArray(only) ? (only as string[]) : command.instanceIds;
  for (const id of ids) {
    const invocation = command.invocations.get(id);
    if (invocation && !FINAL_INVOCATION_STATUSES.has(invocation.status)) {
      finish(invocation, 'Cancelled', 'Cancelled', -1);
    }
  }
  return {};
};
