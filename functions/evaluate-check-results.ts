/** ValidateAmi's Evaluate Check Results task: the check script's SSM output → a verdict. */

import { type CheckEvaluation, evaluateCheckOutput } from './lib/check-results';
import { CHECK_NAMES } from './lib/checks';
import { InvalidInputError } from './lib/errors';
import { logger } from './lib/logger';
import { countMetric } from './lib/metrics';
import { fieldProblems } from './lib/validation';
import * as z from './lib/zod';

const input = z.object({
  /** The GetCommandInvocation response, as the state machine received it. */
  invocation: z.object({
    Status: z.nullish(z.string()),
    StatusDetails: z.nullish(z.string()),
    ResponseCode: z.nullish(z.number().check(z.int())),
    StandardOutputContent: z.nullish(z.string()),
    StandardErrorContent: z.nullish(z.string()),
  }),
  expectedChecks: z._default(z.array(z.string().check(z.minLength(1))).check(z.minLength(1)), [
    ...CHECK_NAMES,
  ]),
});

export async function handler(event: unknown): Promise<CheckEvaluation> {
  const parsed = input.safeParse(event);
  if (!parsed.success) throw new InvalidInputError(fieldProblems(parsed.error));
  const evaluation = evaluateCheckOutput(parsed.data.invocation, parsed.data.expectedChecks);
  logger.info('Check results evaluated', {
    passed: evaluation.passed,
    failedChecks: evaluation.failedChecks,
    truncated: evaluation.truncated,
    status: parsed.data.invocation.Status,
  });
  countMetric(evaluation.passed ? 'ValidationsPassed' : 'ValidationsFailed', 1);
  return evaluation;
}
