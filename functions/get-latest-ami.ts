/** GET /amis/latest — the published latest AMI, or the newest matching `version` / `validated=true`. */
import { z } from 'zod';
import { clients } from './lib/clients';
import { config } from './lib/config';
import { apiHandler, json, parseInput } from './lib/http';
import { latestAmi } from './lib/latest-ami';
import { booleanFlagSchema, versionSchema } from './lib/validation';

const query = z.object({
  version: versionSchema.optional(),
  validated: booleanFlagSchema.optional(),
});

export const handler = apiHandler(async (event) => {
  const input = parseInput(query, event.queryStringParameters ?? {});
  const criteria = {
    ...(input.version ? { version: input.version } : {}),
    validated: input.validated === 'true',
  };
  return json(200, await latestAmi(clients, config, criteria));
});
