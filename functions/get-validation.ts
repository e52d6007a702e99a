/** GET /validations/{id} — where a validation is: status, current step, instance, checks, error. */

import { sfn } from './lib/clients/sfn';
import { config } from './lib/config';
import { apiHandler, json, parseInput } from './lib/http';
import { validationIdSchema } from './lib/validation';
import { getValidation } from './lib/validation-status';
import * as z from './lib/zod';

const path = z.object({ id: validationIdSchema });

export const handler = apiHandler(async (event) => {
  const { id } = parseInput(path, event.pathParameters ?? {});
  return json(200, await getValidation(sfn, config, id));
});
