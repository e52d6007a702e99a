/**
 * Where a validation is: its ValidateAmi execution and a bounded read of its history, told
 * as progress. Step Functions only, so the GET handler's bundle carries no EC2 client.
 */
import type { ValidationResponse } from './api-types';
import type { Config } from './config';
import { ValidationNotFoundError } from './errors';
import { describeExecution, executionArnFor, executionNameOf, readHistory, type Sfn } from './executions';
import { machineArn } from './validation-executions';
import { validationProgress } from './validation-progress';

export { HISTORY_PAGE_SIZE, HISTORY_PAGES_FROM_START, readHistory } from './executions';

/** The validation that execution `executionArn` is (a ValidateAmi execution, nested in a build or not). */
export async function describeValidation(sfn: Sfn, executionArn: string): Promise<ValidationResponse> {
  const validationId = executionNameOf(executionArn);
  const execution = await describeExecution(
    sfn,
    executionArn,
    () => new ValidationNotFoundError(validationId),
  );
  const { events, truncated } = await readHistory(sfn, executionArn);
  return {
    validationId,
    executionArn: execution.executionArn ?? executionArn,
    ...validationProgress(execution, events, truncated),
  };
}

/** Where validation `validationId` is: status, stages, instance, checks, error. */
export async function getValidation(
  sfn: Sfn,
  config: Pick<Config, 'validateAmiStateMachineArn'>,
  validationId: string,
): Promise<ValidationResponse> {
  return describeValidation(sfn, executionArnFor(machineArn(config), validationId));
}
