/** GET /builds — the BuildAmi executions, newest first, paginated (`limit`, `nextToken`). */
import { z } from 'zod';
import { listBuilds, MAX_TOKEN_LENGTH } from './lib/builds-status';
import { sfn } from './lib/clients/sfn';
import { config } from './lib/config';
import { apiHandler, json, parseInput } from './lib/http';

const LIMIT_MESSAGE = { error: 'must be a whole number from 1 to 100' };

const query = z.object({
  limit: z.coerce
    .number(LIMIT_MESSAGE)
    .int(LIMIT_MESSAGE)
    .min(1, LIMIT_MESSAGE)
    .max(100, LIMIT_MESSAGE)
    .default(20),
  nextToken: z.string().max(MAX_TOKEN_LENGTH, { error: 'is not a token this API issued' }).optional(),
});

export const handler = apiHandler(async (event) => {
  const input = parseInput(query, event.queryStringParameters ?? {});
  return json(
    200,
    await listBuilds(sfn, config, {
      limit: input.limit,
      ...(input.nextToken !== undefined ? { nextToken: input.nextToken } : {}),
    }),
  );
});
