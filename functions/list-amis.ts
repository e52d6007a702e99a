/** GET /amis — this tool's AMIs, newest first, paginated (`limit`, `nextToken`). */
import { z } from 'zod';
import { decodeCursor, pageOf, scanAmis } from './lib/ami-catalogue';
import { ec2 } from './lib/clients';
import { config } from './lib/config';
import { InvalidInputError } from './lib/errors';
import { apiHandler, json, parseInput } from './lib/http';

const query = z.object({
  limit: z.coerce
    .number({ error: 'must be a whole number from 1 to 1000' })
    .int({ error: 'must be a whole number from 1 to 1000' })
    .min(1, { error: 'must be a whole number from 1 to 1000' })
    .max(1000, { error: 'must be a whole number from 1 to 1000' })
    .default(100),
  nextToken: z.string().max(2048, { error: 'is not a token this API issued' }).optional(),
});

export const handler = apiHandler(async (event) => {
  const input = parseInput(query, event.queryStringParameters ?? {});
  const cursor = input.nextToken === undefined ? null : decodeCursor(input.nextToken);
  if (input.nextToken !== undefined && cursor === null) {
    throw new InvalidInputError([
      { field: 'nextToken', message: 'nextToken is not a token this API issued' },
    ]);
  }
  const amis = await scanAmis(ec2, config.listPageSize);
  return json(200, pageOf(amis, input.limit, cursor));
});
