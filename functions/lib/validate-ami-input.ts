/**
 * The ValidateAmi execution input: one definition for whoever starts the machine (the API's
 * start-validation Lambda, the BuildAmi machine's starter, the sandbox) and for the tests.
 * Deployment settings travel in the input rather than as serverless substitutions, so
 * statemachines/validate-ami.asl.yml runs unchanged in AWS, in the sandbox and in tests.
 */

import { CHECK_NAMES, checkCommands } from './checks';
import type { Config } from './config';
import { amiIdSchema, instanceTypeSchema, versionSchema } from './validation';
import * as z from './zod';

/** The machine's own TimeoutSeconds; the polling budgets below stay inside it. */
export const VALIDATE_AMI_TIMEOUT_SECONDS = 3600;

/** How long each wait may last in total, whatever the poll interval. */
export const POLL_BUDGET_SECONDS = { instance: 300, agent: 600, command: 900 } as const;

/** How long the check command may run on the instance, and wait to be delivered. */
export const CHECK_EXECUTION_TIMEOUT_SECONDS = 600;
export const CHECK_DELIVERY_TIMEOUT_SECONDS = 120;

export const validateAmiInputSchema = z.object({
  imageId: amiIdSchema,
  instanceType: instanceTypeSchema,
  instanceProfileName: z.string().check(z.regex(/^[\w+=,.@-]{1,128}$/)),
  subnetId: z.nullable(z.string().check(z.regex(/^subnet-[0-9a-f]{8,17}$/))),
  maxLifetimeMinutes: z.number().check(z.int(), z.gte(5), z.lte(1440)),
  /** Base64 user data: the instance powers itself off (and so terminates) after its lifetime. */
  userData: z.base64(),
  expectedVersion: z.nullable(versionSchema),
  checks: z.object({
    commands: z.array(z.string()).check(z.minLength(1)),
    names: z.array(z.string().check(z.minLength(1))).check(z.minLength(1)),
    executionTimeoutSeconds: z.number().check(z.int(), z.gte(1), z.lte(172_800)),
    deliveryTimeoutSeconds: z.number().check(z.int(), z.gte(30), z.lte(2_592_000)),
  }),
  polling: z.object({
    intervalSeconds: z.number().check(z.int(), z.gte(5), z.lte(60)),
    maxInstanceChecks: z.number().check(z.int(), z.gte(1)),
    maxAgentChecks: z.number().check(z.int(), z.gte(1)),
    maxCommandChecks: z.number().check(z.int(), z.gte(1)),
  }),
  evaluateFunction: z.string().check(z.minLength(1)),
  republishFunction: z.string().check(z.minLength(1)),
});

export type ValidateAmiInput = z.infer<typeof validateAmiInputSchema>;

export interface ValidationRequest {
  imageId: string;
  instanceType: string;
  /** The AMI's PulsarVersion (tag, or from its name); null when unknown, which fails that check. */
  expectedVersion: string | null;
}

/** The test instance's user data: a shutdown scheduled at boot, after `minutes`. */
export function lifetimeUserData(minutes: number): string {
  return Buffer.from(`#!/bin/bash\nshutdown -h +${minutes}\n`).toString('base64');
}

function checksWithin(budgetSeconds: number, intervalSeconds: number): number {
  return Math.max(1, Math.ceil(budgetSeconds / Math.max(1, intervalSeconds)));
}

export function buildValidateAmiInput(
  request: ValidationRequest,
  settings: Config['validation'],
  checkScript: string,
): ValidateAmiInput {
  const interval = settings.pollIntervalSeconds;
  return validateAmiInputSchema.parse({
    imageId: request.imageId,
    instanceType: request.instanceType,
    instanceProfileName: settings.instanceProfileName,
    subnetId: settings.subnetId,
    maxLifetimeMinutes: settings.maxLifetimeMinutes,
    userData: lifetimeUserData(settings.maxLifetimeMinutes),
    expectedVersion: request.expectedVersion,
    checks: {
      commands: checkCommands(checkScript, request.expectedVersion),
      names: [...CHECK_NAMES],
      executionTimeoutSeconds: CHECK_EXECUTION_TIMEOUT_SECONDS,
      deliveryTimeoutSeconds: CHECK_DELIVERY_TIMEOUT_SECONDS,
    },
    polling: {
      intervalSeconds: interval,
      maxInstanceChecks: checksWithin(POLL_BUDGET_SECONDS.instance, interval),
      maxAgentChecks: checksWithin(POLL_BUDGET_SECONDS.agent, interval),
      maxCommandChecks: checksWithin(POLL_BUDGET_SECONDS.command, interval),
    },
    evaluateFunction: settings.evaluateFunction,
    republishFunction: settings.republishFunction,
  });
}
