/** BuildAmi's Check Copy: the state of an AMI copy in its region (`unknown` while EC2 does not list it yet). */

import { type CopyState, getCopyState } from './lib/build-copies';
import { ec2In } from './lib/clients/ec2';
import { InvalidInputError } from './lib/errors';
import { amiIdSchema, fieldProblems, regionSchema } from './lib/validation';
import * as z from './lib/zod';

const input = z.object({ region: regionSchema, imageId: amiIdSchema });

export async function handler(event: unknown): Promise<CopyState> {
  const parsed = input.safeParse(event);
  if (!parsed.success) throw new InvalidInputError(fieldProblems(parsed.error));
  return getCopyState(ec2In(parsed.data.region), parsed.data.imageId);
}
