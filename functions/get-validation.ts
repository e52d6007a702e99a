/** GET /validations/{id} — where a validation is: status, current step, instance, checks, error. */
import { z } from 'zod';
import { sfn } from './lib/clients';
import { config } from './lib/config';
import { apiHandler, json, parseInput } from './lib/http';
import { getValidation, VALIDATION_ID_PATTERN } from './lib/validation-runs';

const path = z.object({
  id: z.string({ error: 'is required' }).regex(VALIDATION_ID_PATTERN, {
    error: (issue) =>
      `must be a validation id such as 3f2b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d, got '${String(issue.input).slice(0, 40)}'`,
  }),
});

export const handler = apiHandler(async (event) => {
  const { id } = parseInput(path, event.pathParameters ?? {});
  return json(200, await getValidation(sfn, config, id));
});
