/**
 * CleanupAmis' Plan Cleanup, the machine's first state. Its payload is `{input, executionArn}`:
 * the execution input (`{keep?: 1..100, source: "schedule"|"api"}`, nothing else) and the
 * execution's own ARN (`$$.Execution.Id`). One at a time: when another execution of the same
 * machine that started earlier is RUNNING (the schedule starts it without POST /cleanups'
 * check), this run plans nothing and says why (`skippedBecause`), ending as an empty run;
 * otherwise it plans the cleanup (reads only, functions/lib/cleanup-plan.ts) and hands the
 * machine the items of this run.
 */

import { cleanupSettings, emptyPlan, planCleanup } from './lib/cleanup-plan';
import { type MachinePlan, machinePlan } from './lib/cleanup-retire';
import { earlierRunningCleanup } from './lib/cleanups';
import { autoScaling } from './lib/clients/auto-scaling';
import { ec2 } from './lib/clients/ec2';
import { sfn } from './lib/clients/sfn';
import { ssm } from './lib/clients/ssm';
import { config } from './lib/config';
import { InvalidInputError } from './lib/errors';
import { logger } from './lib/logger';
import { fieldProblems, keepSchema } from './lib/validation';
import * as z from './lib/zod';

export const cleanupExecutionInputSchema = z.strictObject({
  keep: z.optional(keepSchema),
  source: z.enum(['schedule', 'api']),
});

const EXECUTION_ARN = /^arn:[a-z-]+:states:[a-z0-9-]+:\d{12}:execution:[^:]+:[^:]+$/;

const payloadSchema = z.strictObject({
  input: z.unknown(),
  executionArn: z.string().check(z.regex(EXECUTION_ARN, 'must be the execution ARN ($$.Execution.Id)')),
});

export async function handler(event: unknown): Promise<MachinePlan> {
  const payload = payloadSchema.safeParse(event);
  if (!payload.success) throw new InvalidInputError(fieldProblems(payload.error));
  const parsed = cleanupExecutionInputSchema.safeParse(payload.data.input);
  if (!parsed.success) throw new InvalidInputError(fieldProblems(parsed.error));
  const { keep, source } = parsed.data;
  const settings = cleanupSettings(config, keep !== undefined ? { keep } : {});
  const other = await earlierRunningCleanup(sfn, payload.data.executionArn);
  if (other) {
    const skippedBecause = `cleanup ${other.cleanupId} is running${other.startedAt ? ` (started ${other.startedAt})` : ''}; this run planned nothing`;
    logger.info('Cleanup skipped', { source, running: other.executionArn });
    return machinePlan(emptyPlan(settings), skippedBecause);
  }
  const plan = await planCleanup({ ec2, ssm, autoScaling }, settings);
  const planned = machinePlan(plan);
  logger.info('Cleanup planned', {
    source,
    totals: plan.totals,
    retirements: planned.retirements.length,
    snapshotDeletions: planned.snapshotDeletions.length,
    deferred: planned.deferred,
  });
  return planned;
}
