/** GET /builds/{id}/logs?nextToken= — the build's Packer and CodeBuild output, oldest first, from CloudWatch Logs. */
import { z } from 'zod';
import { getBuildLogs } from './lib/builds-logs';
import { logs } from './lib/clients/logs';
import { sfn } from './lib/clients/sfn';
import { config } from './lib/config';
import { apiHandler, json, parseInput } from './lib/http';
import { buildIdSchema } from './lib/validation';

const input = z.object({
  id: buildIdSchema,
  nextToken: z.string().max(4096, { error: 'is not a token this API issued' }).optional(),
});

export const handler = apiHandler(async (event) => {
  const { id, nextToken } = parseInput(input, {
    ...(event.queryStringParameters ?? {}),
    id: event.pathParameters?.id,
  });
  return json(200, await getBuildLogs({ sfn, logs }, config, id, nextToken));
});
