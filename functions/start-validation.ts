/**
 * POST /amis/{id}/validations `{"instanceType"?: "t3.micro"}` — validate an AMI: checks it
 * is this tool's and available, then starts ValidateAmi. 202 with the validation id and a
 * Location to follow it. An `Idempotency-Key` header makes a retried request start nothing new.
 */

import { ec2 } from './lib/clients/ec2';
import { sfn } from './lib/clients/sfn';
import { config } from './lib/config';
import { apiHandler, basePath, header, idempotencyKeySchema, json, jsonBody, parseInput } from './lib/http';
import { amiIdSchema, instanceTypeSchema } from './lib/validation';
import { validationLocation } from './lib/validation-executions';
import { validationLimitSettings, withValidationLimit } from './lib/validation-limits';
import { startValidation } from './lib/validation-runs';
import * as z from './lib/zod';

export const DEFAULT_INSTANCE_TYPE = 't3.micro';
const BODY_FIELDS = ['instanceType'];
/** StartExecution only while fewer than MAX_CONCURRENT_VALIDATIONS run (429 otherwise). */
const limitedSfn = withValidationLimit(sfn, validationLimitSettings(config));

const input = z.object({
  id: amiIdSchema,
  instanceType: z._default(instanceTypeSchema, DEFAULT_INSTANCE_TYPE),
  'Idempotency-Key': z.optional(idempotencyKeySchema),
});

export const handler = apiHandler(async (event) => {
  const {
    id,
    instanceType,
    'Idempotency-Key': idempotencyKey,
  } = parseInput(input, {
    ...jsonBody(event, BODY_FIELDS, '{"instanceType":"t3.micro"}'),
    id: event.pathParameters?.id,
    'Idempotency-Key': header(event, 'Idempotency-Key'),
  });
  const started = await startValidation({ ec2, sfn: limitedSfn }, config, {
    imageId: id,
    instanceType,
    ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
  });
  return json(202, started, { location: `${basePath(event)}${validationLocation(started.validationId)}` });
});
