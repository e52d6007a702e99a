/**
 * ValidateAmi's Republish Latest If Published task, after an AMI failed its checks: when that AMI
 * is the published latest, publish by the latest rule without it (the highest validated version
 * left, or none). Any other AMI's failure leaves the published latest as it is.
 */

import { ec2 } from './lib/clients/ec2';
import { ssm } from './lib/clients/ssm';
import { config } from './lib/config';
import { InvalidInputError } from './lib/errors';
import { publishLatest } from './lib/latest-ami';
import { logger } from './lib/logger';
import { amiIdSchema, fieldProblems } from './lib/validation';
import * as z from './lib/zod';

const input = z.object({ imageId: amiIdSchema });

export interface RepublishResult {
  /** Whether the failed AMI was the published latest. */
  wasPublished: boolean;
  /** What the latest parameter holds now (null: nothing published). */
  published: string | null;
}

export async function handler(event: unknown): Promise<RepublishResult> {
  const parsed = input.safeParse(event);
  if (!parsed.success) throw new InvalidInputError(fieldProblems(parsed.error));
  const { imageId } = parsed.data;
  const outcome = await publishLatest({ ec2, ssm }, config, { exclude: [imageId], onlyIfPublished: imageId });
  if (outcome.previous !== imageId) return { wasPublished: false, published: outcome.previous };
  logger.info('Latest AMI republished after a failed validation', {
    imageId,
    published: outcome.imageId,
  });
  return { wasPublished: true, published: outcome.imageId };
}
