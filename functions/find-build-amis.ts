/** BuildAmi's Find AMIs From Failed Build: this tool's images tagged with the failed execution. */

import { findBuildAmis } from './lib/build-images';
import { ec2 } from './lib/clients/ec2';
import { config } from './lib/config';
import { InvalidInputError } from './lib/errors';
import { executionArnSchema, fieldProblems } from './lib/validation';
import * as z from './lib/zod';

const input = z.object({
  executionArn: executionArnSchema,
});

export async function handler(event: unknown): Promise<{ imageIds: string[] }> {
  const parsed = input.safeParse(event);
  if (!parsed.success) throw new InvalidInputError(fieldProblems(parsed.error));
  return { imageIds: await findBuildAmis(ec2, config.listPageSize, parsed.data.executionArn) };
}
