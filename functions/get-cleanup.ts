/** GET /cleanups/{id} — where a cleanup is: status, progress, plan, each AMI's result, the report, error. */

import { getCleanup } from './lib/cleanups-status';
import { sfn } from './lib/clients/sfn';
import { config } from './lib/config';
import { apiHandler, json, parseInput } from './lib/http';
import { cleanupIdSchema } from './lib/validation';
import * as z from './lib/zod';

const path = z.object({ id: cleanupIdSchema });

export const handler = apiHandler(async (event) => {
  const { id } = parseInput(path, event.pathParameters ?? {});
  return json(200, await getCleanup(sfn, config, id));
});
