/**
 * Step Functions executions as the API's long-running jobs (validations, builds): the job id
 * is the execution name, so a job is found again from its id alone. Ids, execution ARNs, the
 * status, a bounded read of the history, and starting one idempotently. One place for what a
 * build and a validation share; what differs (inputs, stories) lives in their own modules.
 */
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { awsCall, fromAwsError, IdempotencyKeyReusedError, type JobKind } from './errors';
import { type ExecutionStatus, executionStatus } from './execution-progress';
import { parseJsonObject } from './json';

export { uuidV5 } from './uuid';

export type Sfn = Pick<SFNClient, 'send'>;
export type { ExecutionStatus };

/** `…:stateMachine:NAME` → `…:execution:NAME:ID`. */
export function executionArnFor(stateMachineArn: string, executionName: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${executionName}`;
}

/** The execution name at the end of an execution ARN. */
export function executionNameOf(executionArn: string): string {
  return executionArn.slice(executionArn.lastIndexOf(':') + 1);
}

/** History pages read from the start; past them, the newest page is read too and the middle skipped. */
export const HISTORY_PAGES_FROM_START = 5;
export const HISTORY_PAGE_SIZE = 1000;

/** The execution's history, bounded: at most HISTORY_PAGES_FROM_START pages, plus the newest page. */
export async function readHistory(
  sfn: Sfn,
  executionArn: string,
): Promise<{ events: HistoryEvent[]; truncated: boolean }> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  for (let page = 0; page < HISTORY_PAGES_FROM_START; page++) {
    const answer = await awsCall(
      'Step Functions',
      sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: HISTORY_PAGE_SIZE, nextToken })),
    );
    events.push(...(answer.events ?? []));
    nextToken = answer.nextToken;
    if (!nextToken) return { events, truncated: false };
  }
  const newest = await awsCall(
    'Step Functions',
    sfn.send(
      new GetExecutionHistoryCommand({ executionArn, maxResults: HISTORY_PAGE_SIZE, reverseOrder: true }),
    ),
  );
  const seen = new Set(events.map((e) => e.id));
  for (const event of newest.events ?? []) if (!seen.has(event.id)) events.push(event);
  events.sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
  return { events, truncated: true };
}

const errorName = (error: unknown) => (error as { name?: string }).name;

/** DescribeExecution, or `notFound()` thrown when the execution does not exist. */
export async function describeExecution(
  sfn: Sfn,
  executionArn: string,
  notFound: () => Error,
): Promise<DescribeExecutionCommandOutput> {
  try {
    return await sfn.send(new DescribeExecutionCommand({ executionArn }));
  } catch (error) {
    if (errorName(error) === 'ExecutionDoesNotExist') throw notFound();
    throw fromAwsError('Step Functions', error);
  }
}

export interface StartedExecution {
  executionArn: string;
  status: ExecutionStatus;
  /** True when the name was taken by this same request earlier: nothing new started. */
  existing: boolean;
  startDate?: Date;
}

/**
 * Starts `name` with `input`. When the name is taken (an Idempotency-Key used before), the
 * execution that has it answers, running or ended, as long as `sameRequest` says its input
 * is this request's; otherwise the key was reused for another request: 409.
 */
export async function startExecutionOnce(
  sfn: Sfn,
  job: { kind: JobKind; stateMachineArn: string; name: string; input: unknown },
  sameRequest: (previousInput: Record<string, unknown> | undefined) => boolean,
): Promise<StartedExecution> {
  const { stateMachineArn, name } = job;
  try {
    const started = await sfn.send(
      new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(job.input) }),
    );
    return {
      executionArn: started.executionArn ?? executionArnFor(stateMachineArn, name),
      status: 'RUNNING',
      existing: false,
      ...(started.startDate ? { startDate: started.startDate } : {}),
    };
  } catch (error) {
    if (errorName(error) !== 'ExecutionAlreadyExists') throw fromAwsError('Step Functions', error);
  }
  // The name is taken: by this same request earlier (an ended execution, or an input that
  // changed with a redeploy), or by the same key for another request.
  const executionArn = executionArnFor(stateMachineArn, name);
  const existing = await awsCall('Step Functions', sfn.send(new DescribeExecutionCommand({ executionArn })));
  if (!sameRequest(parseJsonObject(existing.input))) {
    throw new IdempotencyKeyReusedError(job.kind, name, executionArn);
  }
  return {
    executionArn,
    status: executionStatus(existing.status),
    existing: true,
    ...(existing.startDate ? { startDate: existing.startDate } : {}),
  };
}
