/**
 * Where a validation is: its ValidateAmi execution and a bounded read of its history, told
 * as progress. Step Functions only, so the GET handler's bundle carries no EC2 client.
 */
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';
import type { ValidationResponse } from './api-types';
import type { Config } from './config';
import { awsCall, fromAwsError, ValidationNotFoundError } from './errors';
import { executionArnFor, machineArn, type Sfn } from './validation-executions';
import { validationProgress } from './validation-progress';

const errorName = (error: unknown) => (error as { name?: string }).name;

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

/** Where validation `validationId` is: status, stages, instance, checks, error. */
export async function getValidation(
  sfn: Sfn,
  config: Pick<Config, 'validateAmiStateMachineArn'>,
  validationId: string,
): Promise<ValidationResponse> {
  const executionArn = executionArnFor(machineArn(config), validationId);
  let execution: DescribeExecutionCommandOutput;
  try {
    execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  } catch (error) {
    if (errorName(error) === 'ExecutionDoesNotExist') throw new ValidationNotFoundError(validationId);
    throw fromAwsError('Step Functions', error);
  }
  const { events, truncated } = await readHistory(sfn, executionArn);
  return {
    validationId,
    executionArn: execution.executionArn ?? executionArn,
    ...validationProgress(execution, events, truncated),
  };
}
