/**
 * CleanupAmis' Retire AMI, one Map item: deprecate, disable or delete one AMI, each checked
 * again first (functions/lib/cleanup-retire.ts). Throttling and a snapshot still in use are
 * thrown by name (AwsThrottledError, SnapshotInUseError) for the machine's Retry.
 */

import { type RetireResult, retireAmi } from './lib/cleanup-retire';
import { autoScaling } from './lib/clients/auto-scaling';
import { ec2 } from './lib/clients/ec2';
import { ssm } from './lib/clients/ssm';
import { config } from './lib/config';
import { InvalidInputError } from './lib/errors';
import { logger } from './lib/logger';
import { countMetric } from './lib/metrics';
import { amiIdSchema, fieldProblems, SNAPSHOT_ID_PATTERN } from './lib/validation';
import * as z from './lib/zod';

const input = z.object({
  imageId: amiIdSchema,
  action: z.enum(['deprecate', 'disable', 'delete']),
  snapshotIds: z.optional(z.array(z.string().check(z.regex(SNAPSHOT_ID_PATTERN))).check(z.maxLength(64))),
  sizeGiB: z.optional(z.number().check(z.gte(0))),
});

export async function handler(event: unknown): Promise<RetireResult> {
  const parsed = input.safeParse(event);
  if (!parsed.success) throw new InvalidInputError(fieldProblems(parsed.error));
  const settings = {
    ...config,
    versionParameterPrefix: config.build.versionParameterPrefix,
    minAgeDays: config.cleanup.minAgeDays,
    lastLaunchedWithinDays: config.cleanup.lastLaunchedWithinDays,
  };
  const retired = await retireAmi({ ec2, ssm, autoScaling }, settings, parsed.data);
  if (retired.outcome === 'done') {
    countMetric('AmisRetired', 1, { Action: retired.action });
    if (retired.action === 'delete') countMetric('AmisDeleted', 1, { Path: 'cleanup' });
  }
  logger.info('AMI retired', { ...retired });
  return retired;
}
