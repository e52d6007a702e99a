/**
 * EventBridge "Step Functions Execution Status Change" for ValidateAmi executions that end
 * FAILED, TIMED_OUT or ABORTED (a timeout or an abort runs no Catch): terminates the test
 * instances tagged with that execution's ARN. Idempotent; nothing found means no call.
 */
import { z } from 'zod';
import { ec2 } from './lib/clients/ec2';
import { InvalidInputError } from './lib/errors';
import { logger } from './lib/logger';
import { fieldProblems } from './lib/validation';
import { type ExecutionCleanup, terminateExecutionInstances } from './lib/validation-instances';

export const ENDED_BADLY = ['FAILED', 'TIMED_OUT', 'ABORTED'] as const;

const event = z.object({
  'detail-type': z.literal('Step Functions Execution Status Change'),
  detail: z.object({
    executionArn: z.string().regex(/^arn:aws[\w-]*:states:[\w-]+:\d{12}:execution:[^:\s]+:[^:\s]+$/),
    status: z.string(),
  }),
});

export async function handler(raw: unknown): Promise<ExecutionCleanup | { skipped: string }> {
  const parsed = event.safeParse(raw);
  if (!parsed.success) throw new InvalidInputError(fieldProblems(parsed.error));
  const { executionArn, status } = parsed.data.detail;
  if (!(ENDED_BADLY as readonly string[]).includes(status)) {
    logger.info('Execution status ignored', { executionArn, status });
    return { skipped: status };
  }
  const result = await terminateExecutionInstances(ec2, executionArn);
  logger.info('Execution instances cleaned up', { executionArn, status, terminated: result.terminated });
  return result;
}
