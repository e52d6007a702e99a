/** ValidateAmi's Evaluate Check Results task: the check script's SSM output → a verdict. */
import { z } from 'zod';
import { type CheckEvaluation, evaluateCheckOutput } from './lib/check-results';
import { CHECK_NAMES } from './lib/checks';
import { InvalidInputError } from './lib/errors';
import { logger } from './lib/logger';
import { fieldProblems } from './lib/validation';

const input = z.object({
  /** The GetCommandInvocation response, as the state machine received it. */
  invocation: z.object({
    Status: z.string().nullish(),
    StatusDetails: z.string().nullish(),
    ResponseCode: z.number().int().nullish(),
    StandardOutputContent: z.string().nullish(),
    StandardErrorContent: z.string().nullish(),
  }),
  expectedChecks: z
    .array(z.string().min(1))
    .min(1)
    .default([...CHECK_NAMES]),
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
  return evaluation;
}
