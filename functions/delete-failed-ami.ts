/**
 * BuildAmi's Delete Failed AMI: deregisters the images a failed build or validation left, and
 * deletes their snapshots. Only this tool's images tagged with that execution, never the
 * published latest; an image in use or still pending fails by name so the machine retries.
 */

import { deleteFailedAmis, type FailedAmiDeletion } from './lib/build-images';
import { ec2 } from './lib/clients/ec2';
import { ssm } from './lib/clients/ssm';
import { config } from './lib/config';
import { InvalidInputError } from './lib/errors';
import { logger } from './lib/logger';
import { amiIdSchema, fieldProblems } from './lib/validation';
import * as z from './lib/zod';

const input = z.object({
  imageIds: z.array(amiIdSchema).check(z.maxLength(100)),
  executionArn: z.string().check(z.regex(/^arn:aws[\w-]*:states:[\w-]+:\d{12}:execution:[^:\s]+:[^:\s]+$/)),
});

export async function handler(event: unknown): Promise<FailedAmiDeletion> {
  const parsed = input.safeParse(event);
  if (!parsed.success) throw new InvalidInputError(fieldProblems(parsed.error));
  const result = await deleteFailedAmis({ ec2, ssm }, config, parsed.data);
  logger.info('Failed build AMIs deleted', {
    executionArn: parsed.data.executionArn,
    deleted: result.deleted.map((d) => d.imageId),
    kept: result.kept,
  });
  return result;
}
