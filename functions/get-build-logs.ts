/** GET /builds/{id}/logs?nextToken= — the build's Packer and CodeBuild output, oldest first, from CloudWatch Logs. */

import { getBuildLogs } from './lib/builds-logs';
import { logs } from './lib/clients/logs';
import { sfn } from './lib/clients/sfn';
import { config } from './lib/config';
import { apiHandler, json, parseInput } from './lib/http';
import { buildIdSchema } from './lib/validation';
import * as z from './lib/zod';

const input = z.object({
  id: buildIdSchema,
  nextToken: z.optional(z.string().check(z.maxLength(4096, { error: 'is not a token this API issued' }))),
});

export const handler = apiHandler(async (event) => {
  const { id, nextToken } = parseInput(input, {
    ...(event.queryStringParameters ?? {}),
    id: event.pathParameters?.id,
  });
  return json(200, await getBuildLogs({ sfn, logs }, config, id, nextToken));
});
