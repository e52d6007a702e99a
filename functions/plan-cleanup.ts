/**
 * CleanupAmis' Plan Cleanup, the machine's first state: checks the execution input
 * (`{keep?: 1..100, source: "schedule"|"api"}`, nothing else), plans the cleanup (reads only,
 * functions/lib/cleanup-plan.ts) and hands the machine the items of this run.
 */

import { cleanupSettings, planCleanup } from './lib/cleanup-plan';
import { type MachinePlan, machinePlan } from './lib/cleanup-retire';
import { autoScaling } from './lib/clients/auto-scaling';
import { ec2 } from './lib/clients/ec2';
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

export async function handler(event: unknown): Promise<MachinePlan> {
  const parsed = cleanupExecutionInputSchema.safeParse(event);
  if (!parsed.success) throw new InvalidInputError(fieldProblems(parsed.error));
  const { keep, source } = parsed.data;
  const plan = await planCleanup(
    { ec2, ssm, autoScaling },
    cleanupSettings(config, keep !== undefined ? { keep } : {}),
  );
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
