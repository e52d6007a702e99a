/**
 * The ValidateAmi execution input: one definition for whoever starts the machine (the API's
 * start-validation Lambda, the BuildAmi machine's Prepare Validation, the sandbox) and for
 * the tests. It is only what to validate and how often to look: nothing executable and no
 * deployment setting travels in it. The checks document, the instance profile, the security
 * group, the subnet, the lifetime guard and the Lambdas are serverless variables of
 * statemachines/validate-ami.asl.yml, and the machine reads the expected version and the
 * image's ownership from the image's own tags. The schema is strict, so a starter can never
 * add anything else; the machine's first state drops anything else anyway.
 */

import type { Config } from './config';
import { amiIdSchema, instanceTypeSchema } from './validation';
import * as z from './zod';

/** The machine's own TimeoutSeconds; the polling budgets below stay inside it. */
export const VALIDATE_AMI_TIMEOUT_SECONDS = 3600;

/** How long each wait may last in total, whatever the poll interval. */
export const POLL_BUDGET_SECONDS = { instance: 300, agent: 600, command: 900 } as const;

export const validateAmiInputSchema = z.strictObject({
  imageId: amiIdSchema,
  instanceType: instanceTypeSchema,
  polling: z.strictObject({
    intervalSeconds: z.number().check(z.int(), z.gte(5), z.lte(60)),
    maxInstanceChecks: z.number().check(z.int(), z.gte(1), z.lte(720)),
    maxAgentChecks: z.number().check(z.int(), z.gte(1), z.lte(720)),
    maxCommandChecks: z.number().check(z.int(), z.gte(1), z.lte(720)),
  }),
});

export type ValidateAmiInput = z.infer<typeof validateAmiInputSchema>;

export interface ValidationRequest {
  imageId: string;
  instanceType: string;
}

function checksWithin(budgetSeconds: number, intervalSeconds: number): number {
  return Math.max(1, Math.ceil(budgetSeconds / Math.max(1, intervalSeconds)));
}

export function buildValidateAmiInput(
  request: ValidationRequest,
  settings: Pick<Config['validation'], 'pollIntervalSeconds'>,
): ValidateAmiInput {
  const interval = settings.pollIntervalSeconds;
  return validateAmiInputSchema.parse({
    imageId: request.imageId,
    instanceType: request.instanceType,
    polling: {
      intervalSeconds: interval,
      maxInstanceChecks: checksWithin(POLL_BUDGET_SECONDS.instance, interval),
      maxAgentChecks: checksWithin(POLL_BUDGET_SECONDS.agent, interval),
      maxCommandChecks: checksWithin(POLL_BUDGET_SECONDS.command, interval),
    },
  });
}
