/**
 * BuildAmi's Delete Failed AMI: deregisters the images a failed build or validation left, and
 * deletes their snapshots. Only this tool's images tagged with that execution, never the
 * published latest; an image in use or still pending fails by name so the machine retries (a
 * pending copy is the exception: deregistering it stops the copy). In the home region, or in
 * a copy's region for Copy To Regions' Delete Failed Copy.
 */
import { deleteFailedAmis, type FailedAmiDeletion } from './lib/build-images';
import { ec2In } from './lib/clients/ec2';
import { ssmIn } from './lib/clients/ssm';
import { config } from './lib/config';
import { InvalidInputError } from './lib/errors';
import { logger } from './lib/logger';
import { countMetric } from './lib/metrics';

import { amiIdSchema, executionArnSchema, fieldProblems, regionSchema } from './lib/validation';
import * as z from './lib/zod';

const input = z.object({
  imageIds: z.array(amiIdSchema).check(z.maxLength(100)),
  executionArn: executionArnSchema,
  /** Where the images are: the home region by default; a copy's region for a failed copy. */
  region: z.optional(regionSchema),
  /** A failed copy: one still pending is deregistered, which stops the copy. */
  copy: z.optional(z.boolean()),
});

export async function handler(event: unknown): Promise<FailedAmiDeletion> {
  const parsed = input.safeParse(event);
  if (!parsed.success) throw new InvalidInputError(fieldProblems(parsed.error));
  const { region = config.region, copy = false, ...request } = parsed.data;
  const result = await deleteFailedAmis(
    { ec2: ec2In(region), ssm: ssmIn(region) },
    { ...config, region, versionParameterPrefix: config.build.versionParameterPrefix },
    { ...request, copies: copy, versionParameterPrefix: config.build.versionParameterPrefix },
  );
  countMetric('AmisDeleted', result.deleted.length, { Path: 'failed-build' });
  logger.info('Failed build AMIs deleted', {
    executionArn: request.executionArn,
    region,
    deleted: result.deleted.map((d) => d.imageId),
    kept: result.kept,
  });
  return result;
}
