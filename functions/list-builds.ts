/** GET /builds — the BuildAmi executions, newest first, paginated (`limit`, `nextToken`). */

import { listBuilds, MAX_TOKEN_LENGTH } from './lib/builds-status';
import { sfn } from './lib/clients/sfn';
import { config } from './lib/config';
import { apiHandler, json, parseInput } from './lib/http';
import * as z from './lib/zod';

const LIMIT_MESSAGE = { error: 'must be a whole number from 1 to 100' };

const query = z.object({
  limit: z._default(
    z.coerce
      .number(LIMIT_MESSAGE)
      .check(z.int(LIMIT_MESSAGE), z.gte(1, LIMIT_MESSAGE), z.lte(100, LIMIT_MESSAGE)),
    20,
  ),
  nextToken: z.optional(
    z.string().check(z.maxLength(MAX_TOKEN_LENGTH, { error: 'is not a token this API issued' })),
  ),
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
