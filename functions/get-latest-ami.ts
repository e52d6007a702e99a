/**
 * GET /amis/latest — the latest validated AMI by the latest rule (functions/lib/ami.ts): the
 * published one while it qualifies, else the highest version; `version` narrows it,
 * `validated=false` lets unvalidated AMIs in, `architecture` (x86_64 by default) picks the
 * architecture (the published parameter stands for x86_64).
 */

import { ec2 } from './lib/clients/ec2';
import { ssm } from './lib/clients/ssm';
import { config } from './lib/config';
import { apiHandler, json, parseInput } from './lib/http';
import { latestAmi } from './lib/latest-ami';
import { booleanFlagSchema, versionSchema } from './lib/validation';
import * as z from './lib/zod';

const query = z.object({
  version: z.optional(versionSchema),
  validated: z.optional(booleanFlagSchema),
  architecture: z.optional(z.enum(['x86_64', 'arm64'])),
});

export const handler = apiHandler(async (event) => {
  const input = parseInput(query, event.queryStringParameters ?? {});
  const criteria = {
    ...(input.version ? { version: input.version } : {}),
    ...(input.architecture ? { architecture: input.architecture } : {}),
    includeUnvalidated: input.validated === 'false',
  };
  return json(200, await latestAmi({ ec2, ssm }, config, criteria));
});
