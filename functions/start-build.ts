/**
 * POST /builds `{"version": "3.0.0", "instanceType"?, "architecture"?, "force"?, "copyToRegions"?, "dryRun"?}`
 * — build a Pulsar AMI: checks everything first (functions/lib/builds-start.ts), then starts
 * BuildAmi. 202 with the build id and a Location to follow it; 200 with the existing AMI when
 * it is already built (and not `force`); 200 with the plan for `dryRun`. An `Idempotency-Key`
 * header makes a retried request start nothing new.
 */

import { BUILD_BODY_FIELDS, buildRequestSchema } from './lib/builds';
import { startBuild } from './lib/builds-start';
import { ec2 } from './lib/clients/ec2';
import { sfn } from './lib/clients/sfn';
import { config } from './lib/config';
import { apiHandler, basePath, header, idempotencyKeySchema, json, jsonBody, parseInput } from './lib/http';
import { validationLimitSettings, withValidationLimit } from './lib/validation-limits';
import * as z from './lib/zod';

const headers = z.object({ 'Idempotency-Key': z.optional(idempotencyKeySchema) });
const body = buildRequestSchema(config.region);
/** A build validates its image: it starts only while the validation limit allows (429 otherwise). */
const limitedSfn = withValidationLimit(sfn, validationLimitSettings(config));

export const handler = apiHandler(async (event) => {
  const { 'Idempotency-Key': idempotencyKey } = parseInput(headers, {
    'Idempotency-Key': header(event, 'Idempotency-Key'),
  });
  const request = parseInput(body, jsonBody(event, BUILD_BODY_FIELDS, '{"version":"3.0.0"}'));
  const result = await startBuild({ ec2, sfn: limitedSfn, fetch }, config, {
    ...request,
    ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
  });
  if (result.outcome === 'started' || result.outcome === 'running') {
    return json(202, result, { location: `${basePath(event)}${result.location}` });
  }
  return json(200, result);
});
