/**
 * POST /cleanups `{"keep"?: 3, "apply"?: false}` — retire old AMIs. Without `apply`: 200 with the
 * plan (what each AMI would get and why, the totals), and nothing changes. With `apply`: 202 with
 * the cleanup id and a Location to follow it, CleanupAmis started; 409 while another cleanup runs.
 * An `Idempotency-Key` header makes a retried request start nothing new.
 */

import { CLEANUP_BODY_FIELDS, cleanupLocation, cleanupRequestSchema, postCleanup } from './lib/cleanups';
import { autoScaling } from './lib/clients/auto-scaling';
import { ec2 } from './lib/clients/ec2';
import { sfn } from './lib/clients/sfn';
import { ssm } from './lib/clients/ssm';
import { config } from './lib/config';
import { apiHandler, basePath, header, idempotencyKeySchema, json, jsonBody, parseInput } from './lib/http';
import * as z from './lib/zod';

const headers = z.object({ 'Idempotency-Key': z.optional(idempotencyKeySchema) });

export const handler = apiHandler(async (event) => {
  const { 'Idempotency-Key': idempotencyKey } = parseInput(headers, {
    'Idempotency-Key': header(event, 'Idempotency-Key'),
  });
  const request = parseInput(
    cleanupRequestSchema,
    jsonBody(event, CLEANUP_BODY_FIELDS, '{"keep":3,"apply":false}'),
  );
  const result = await postCleanup({ ec2, ssm, sfn, autoScaling }, config, {
    ...request,
    ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
  });
  if (result.dryRun) return json(200, result);
  return json(202, result, { location: `${basePath(event)}${cleanupLocation(result.cleanupId)}` });
});
