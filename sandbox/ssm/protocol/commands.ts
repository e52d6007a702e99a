/**
 * Run Command on the wire: SendCommand (AWS-RunShellScript, or a Command document of the
 * deployed template: models/documents.ts), GetCommandInvocation,
 * ListCommandInvocations, ListCommands, CancelCommand. Reads the JSON members into the
 * model's inputs (models/commands.ts) and renders commands and invocations as SSM does
 * (epoch-second dates in lists, ISO strings in GetCommandInvocation, output cut at 24,000 and
 * 8,000 characters).
 */
import { INSTANCE_ID_PATTERN } from '../../../functions/lib/validation';
import { ValidationException } from '../../errors/common';
import {
  InvalidInstanceId,
  InvalidNextToken,
  InvalidParameters,
  InvalidPluginName,
  InvalidTarget,
  InvocationDoesNotExist,
} from '../../errors/ssm';
import { optionalBoolean, optionalInteger, optionalString, requiredString } from '../../json-input';
import { pageAtOffset } from '../../pagination';
import type { AwsCallContext, JsonInput, JsonOperation } from '../../services';
import type { CommandRecord, InvocationRecord } from '../../state';
import {
  cancelCommand,
  checkInstancesOnline,
  commandStatus,
  listCommands,
  listInvocations,
  PLUGIN,
  RUN_SHELL_SCRIPT,
  sendCommand,
  visibleInvocation,
} from '../models/commands';
import { commandDocument } from '../models/documents';

export const STDOUT_LIMIT = 24_000;
export const STDERR_LIMIT = 8_000;
const DEFAULT_EXECUTION_TIMEOUT = 3600;
const DEFAULT_DELIVERY_TIMEOUT = 3600;

const epoch = (ms: number) => ms / 1000;
const iso = (ms: number | undefined) => (ms === undefined ? '' : new Date(ms).toISOString());
const region = (ctx: AwsCallContext) => ctx.world.region(ctx.regionName);

/** Parameters as given: a map of names to lists of strings. */
function rawParameters(input: JsonInput): Record<string, string[]> {
  const raw = input.Parameters ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new InvalidParameters('Parameters must be a map of parameter names to lists of strings');
  }
  const parameters: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
      throw new InvalidParameters(`Parameter ${key} must be a list of strings`);
    }
    parameters[key] = value as string[];
  }
  return parameters;
}

function parseParameters(input: JsonInput): {
  executionTimeout: number;
  parameters: Record<string, string[]>;
} {
  const parameters = rawParameters(input);
  for (const key of Object.keys(parameters)) {
    if (!['commands', 'executionTimeout', 'workingDirectory'].includes(key)) {
      throw new InvalidParameters(`Parameter "${key}" is not defined in document ${RUN_SHELL_SCRIPT}.`);
    }
  }
  const commands = parameters.commands;
  if (!commands || commands.length === 0) {
    throw new InvalidParameters(`Parameter "commands" is required by document ${RUN_SHELL_SCRIPT}.`);
  }
  const timeoutText = parameters.executionTimeout?.[0] ?? String(DEFAULT_EXECUTION_TIMEOUT);
  const executionTimeout = /^\d+$/.test(timeoutText) ? Number(timeoutText) : Number.NaN;
  if (!(executionTimeout >= 1 && executionTimeout <= 172_800)) {
    throw new InvalidParameters(
      `Parameter "executionTimeout" must be an integer between 1 and 172800, got "${timeoutText}".`,
    );
  }
  return { executionTimeout, parameters };
}

function instanceIdsOf(input: JsonInput): string[] {
  const ids = input.InstanceIds;
  if (ids !== undefined && ids !== null) {
    if (!Array.isArray(ids) || !ids.every((v) => typeof v === 'string')) {
      throw new ValidationException('InstanceIds must be a list of strings');
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
    throw new InvalidTarget();
  }
  throw new ValidationException('Either InstanceIds or Targets must be specified');
}

function renderCommand(command: CommandRecord) {
  const { status, completed, errors, deliveryTimedOut } = commandStatus(command);
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
    DeliveryTimedOutCount: deliveryTimedOut,
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

/** ListCommandInvocations' plugin Output: the first 2,500 characters of stdout then stderr, as the agent reports it. */
function truncatedOutput(invocation: InvocationRecord): string {
  const combined = invocation.stderr
    ? `${invocation.stdout}\n----------ERROR-------\n${invocation.stderr}`
    : invocation.stdout;
  return combined.length > 2500 ? `${combined.slice(0, 2478)}\n---Output truncated---` : combined;
}

/** MaxResults (at most `max`) and NextToken over a list, in the sandbox's token format. */
function page<T>(list: T[], input: JsonInput, max: number, scope: string) {
  const maxResults = optionalInteger(input, 'MaxResults', 1, max) ?? max;
  const token = optionalString(input, 'NextToken');
  return pageAtOffset(
    list,
    maxResults,
    token === '' ? undefined : token,
    scope,
    () => new InvalidNextToken(),
  );
}

export const sendCommandOperation: JsonOperation = (input, ctx) => {
  const documentName = requiredString(input, 'DocumentName');
  const docName = documentName.replace(/^arn:aws:ssm:[a-z0-9-]*::document\//, '');
  // AWS-RunShellScript, or a Command document of the deployed template (its parameters checked).
  const deployed =
    docName === RUN_SHELL_SCRIPT
      ? undefined
      : commandDocument(ctx.world, ctx.regionName, documentName, rawParameters(input));
  const instanceIds = [...new Set(instanceIdsOf(input))];
  if (instanceIds.length === 0 || instanceIds.length > 50) {
    throw new ValidationException('InstanceIds must contain between 1 and 50 instance ids');
  }
  const timeoutSeconds = optionalInteger(input, 'TimeoutSeconds', 30, 2_592_000) ?? DEFAULT_DELIVERY_TIMEOUT;
  const comment = optionalString(input, 'Comment') ?? '';
  if (comment.length > 100) {
    throw new ValidationException(
      "Value at 'comment' failed to satisfy constraint: Member must have length less than or equal to 100",
    );
  }
  const { executionTimeout, parameters, commands } = deployed
    ? {
        executionTimeout: deployed.executionTimeoutSeconds,
        parameters: rawParameters(input),
        commands: deployed.commands,
      }
    : { ...parseParameters(input), commands: undefined };
  checkInstancesOnline(ctx.world, region(ctx), instanceIds);
  const command = sendCommand(ctx.world, ctx.regionName, {
    documentName: deployed?.name ?? docName,
    instanceIds,
    comment,
    parameters,
    ...(commands ? { commands } : {}),
    timeoutSeconds,
    executionTimeout,
    maxConcurrency: optionalString(input, 'MaxConcurrency') ?? '50',
    maxErrors: optionalString(input, 'MaxErrors') ?? '0',
  });
  return { Command: renderCommand(command) };
};

export const getCommandInvocation: JsonOperation = (input, ctx) => {
  const commandId = requiredString(input, 'CommandId');
  const instanceId = requiredString(input, 'InstanceId');
  const pluginName = optionalString(input, 'PluginName');
  if (!INSTANCE_ID_PATTERN.test(instanceId)) throw new InvalidInstanceId([instanceId], ctx.world.accountId);
  if (pluginName !== undefined && pluginName !== PLUGIN) {
    throw new InvalidPluginName(pluginName, RUN_SHELL_SCRIPT);
  }
  const found = visibleInvocation(region(ctx), commandId, instanceId);
  if (!found) throw new InvocationDoesNotExist();
  const { command, invocation } = found;
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

export const listCommandInvocations: JsonOperation = (input, ctx) => {
  const commandId = optionalString(input, 'CommandId');
  const instanceId = optionalString(input, 'InstanceId');
  const details = optionalBoolean(input, 'Details') ?? false;
  if (instanceId !== undefined && !INSTANCE_ID_PATTERN.test(instanceId)) {
    throw new InvalidInstanceId([instanceId], ctx.world.accountId);
  }
  const invocations = listInvocations(region(ctx), commandId, instanceId);
  const { items, nextToken } = page(invocations, input, 50, 'ssm:ListCommandInvocations');
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
    ...(nextToken ? { NextToken: nextToken } : {}),
  };
};

export const listCommandsOperation: JsonOperation = (input, ctx) => {
  const commandId = optionalString(input, 'CommandId');
  const instanceId = optionalString(input, 'InstanceId');
  const { items, nextToken } = page(
    listCommands(region(ctx), commandId, instanceId),
    input,
    50,
    'ssm:ListCommands',
  );
  return { Commands: items.map(renderCommand), ...(nextToken ? { NextToken: nextToken } : {}) };
};

export const cancelCommandOperation: JsonOperation = (input, ctx) => {
  const commandId = requiredString(input, 'CommandId');
  const only = input.InstanceIds;
  cancelCommand(ctx.world, region(ctx), commandId, Array.isArray(only) ? (only as string[]) : undefined);
  return {};
};
