/**
 * The cost limit on validations: at most `maxConcurrentValidations` ValidateAmi executions
 * RUNNING at once (a build's own validation counts too, it is one of them). A start past it is a
 * 429 with `Retry-After` and starts nothing.
 *
 * The check sits just before StartExecution (`withValidationLimit` wraps the Step Functions
 * client the start path is given), so every other answer comes first and is unchanged: a
 * malformed request is still a 400, an unknown AMI a 404, a dry run or an already-built version
 * a 200, and none of them is refused for capacity. A request retried with its Idempotency-Key
 * while its execution still runs is answered as before (its execution is one of those
 * counted), not refused.
 *
 * ListExecutions is not a lock: two starts in the same instant can both see N-1 running. The
 * start functions' reserved concurrency bounds how many can pass together.
 */
import { ListExecutionsCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { Config } from './config';
import { awsCall, TooManyValidationsError } from './errors';
import type { Sfn } from './executions';
import { countMetric } from './metrics';

export interface ValidationLimitSettings {
  /** The ValidateAmi machine whose RUNNING executions are counted. */
  validateAmiStateMachineArn: string;
  maxConcurrentValidations: number;
}

/** Seconds a refused client is told to wait: a validation takes minutes, a retry sooner is wasted. */
export const RETRY_AFTER_SECONDS = 60;
/** ListExecutions pages read at most; past them the count is taken as reached (the limit fails closed). */
export const MAX_PAGES = 10;

export interface RunningCount {
  /** RUNNING executions seen, stopping at the limit. */
  running: number;
  /** Their names (the validation ids), to let a retried request through. */
  names: Set<string>;
  /** True when the limit is reached, or could not be ruled out within MAX_PAGES pages. */
  atLimit: boolean;
}

/** Counts RUNNING ValidateAmi executions, reading no further than the limit needs. */
export async function countRunningValidations(
  sfn: Sfn,
  settings: ValidationLimitSettings,
): Promise<RunningCount> {
  const max = settings.maxConcurrentValidations;
  const names = new Set<string>();
  let running = 0;
  let nextToken: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const answer = await awsCall(
      'Step Functions',
      sfn.send(
        new ListExecutionsCommand({
          stateMachineArn: settings.validateAmiStateMachineArn,
          statusFilter: 'RUNNING',
          maxResults: Math.min(Math.max(max, 1), 1000),
          nextToken,
        }),
      ),
    );
    const { executions = [], nextToken: next } = answer ?? {};
    for (const execution of executions) {
      running++;
      if (execution.name) names.add(execution.name);
    }
    nextToken = next;
    if (running >= max || !nextToken) return { running, names, atLimit: running >= max };
  }
  return { running, names, atLimit: true };
}

/**
 * Refuses (429) when the limit is reached, unless `executionName` is one of the running
 * executions (the same request again: it starts nothing new).
 */
export async function checkValidationCapacity(
  sfn: Sfn,
  settings: ValidationLimitSettings,
  executionName?: string,
): Promise<void> {
  const count = await countRunningValidations(sfn, settings);
  if (!count.atLimit) return;
  if (executionName !== undefined && count.names.has(executionName)) return;
  throw new TooManyValidationsError(count.running, settings.maxConcurrentValidations, RETRY_AFTER_SECONDS);
}

/**
 * The Step Functions client for a start path: every StartExecution first checks the
 * validation limit (ValidateAmi's, or BuildAmi's whose build validates its image); every other
 * command goes through untouched. A ValidateAmi execution it starts is counted
 * (ValidationsStarted, Source=api); a name already taken (ExecutionAlreadyExists) is not.
 */
export function withValidationLimit(sfn: Sfn, settings: ValidationLimitSettings | null): Sfn {
  if (!settings) return sfn;
  return {
    send: (async (command: unknown, ...rest: unknown[]) => {
      if (!(command instanceof StartExecutionCommand)) {
        return (sfn.send as (...args: unknown[]) => Promise<unknown>)(command, ...rest);
      }
      await checkValidationCapacity(sfn, settings, command.input.name);
      const started = await (sfn.send as (...args: unknown[]) => Promise<unknown>)(command, ...rest);
      if (command.input.stateMachineArn === settings.validateAmiStateMachineArn) {
        countMetric('ValidationsStarted', 1, { Source: 'api' });
      }
      return started;
    }) as Sfn['send'],
  };
}

/** The limit's settings from the configuration; null where the ValidateAmi machine is not known. */
export function validationLimitSettings(
  config: Pick<Config, 'validateAmiStateMachineArn' | 'limits'>,
): ValidationLimitSettings | null {
  return config.validateAmiStateMachineArn
    ? {
        validateAmiStateMachineArn: config.validateAmiStateMachineArn,
        maxConcurrentValidations: config.limits.maxConcurrentValidations,
      }
    : null;
}
