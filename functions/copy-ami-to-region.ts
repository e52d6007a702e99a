/** BuildAmi's Copy AMI To Region: CopyImage of the validated AMI into the item's region. */

import { type CopyStarted, copyAmiToRegion } from './lib/build-copies';
import { ec2In } from './lib/clients/ec2';
import { InvalidInputError } from './lib/errors';
import { logger } from './lib/logger';
import { amiIdSchema, buildIdSchema, fieldProblems, regionSchema } from './lib/validation';
import * as z from './lib/zod';

const input = z.object({
  region: regionSchema,
  sourceRegion: regionSchema,
  sourceImageId: amiIdSchema,
  name: z.string().check(z.maxLength(128)),
  buildId: buildIdSchema,
});

export async function handler(event: unknown): Promise<CopyStarted> {
  const parsed = input.safeParse(event);
  if (!parsed.success) throw new InvalidInputError(fieldProblems(parsed.error));
  const request = parsed.data;
  const result = await copyAmiToRegion(
    { source: ec2In(request.sourceRegion), target: ec2In(request.region) },
    request,
  );
  logger.info('AMI copy started', { ...request, imageId: result.imageId, copied: result.copied });
  return result;
}
