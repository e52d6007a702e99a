/**
 * POST /amis/{id}/validations `{"instanceType"?: "t3.micro"}` — validate an AMI: checks it
 * is this tool's and available, then starts ValidateAmi. 202 with the validation id and a
 * Location to follow it. An `Idempotency-Key` header makes a retried request start nothing new.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { z } from 'zod';
import { readCheckScript } from './lib/checks';
import { ec2 } from './lib/clients/ec2';
import { sfn } from './lib/clients/sfn';
import { config } from './lib/config';
import { InvalidInputError } from './lib/errors';
import { apiHandler, json, parseInput } from './lib/http';
import { amiIdSchema, instanceTypeSchema } from './lib/validation';
import { validationLocation } from './lib/validation-executions';
import { startValidation } from './lib/validation-runs';

export const DEFAULT_INSTANCE_TYPE = 't3.micro';
const BODY_FIELDS = ['instanceType'];

const input = z.object({
  id: amiIdSchema,
  instanceType: instanceTypeSchema.default(DEFAULT_INSTANCE_TYPE),
  'Idempotency-Key': z
    .string()
    .regex(/^[\x21-\x7e]{1,255}$/, { error: 'must be 1-255 visible ASCII characters' })
    .optional(),
});

/** The JSON body, or {} when there is none. Anything but a JSON object is a 400 on `body`. */
function parseBody(event: APIGatewayProxyEvent): Record<string, unknown> {
  const raw =
    event.isBase64Encoded && event.body ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (raw === null || raw === undefined || raw.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    value = undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidInputError([
      { field: 'body', message: 'body must be a JSON object such as {"instanceType":"t3.micro"}' },
    ]);
  }
  const unknown = Object.keys(value).filter((key) => !BODY_FIELDS.includes(key));
  if (unknown.length > 0) {
    throw new InvalidInputError(
      unknown.map((field) => ({
        field,
        message: `${field} is not a known field (expected: ${BODY_FIELDS.join(', ')})`,
      })),
    );
  }
  return value as Record<string, unknown>;
}

function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted && value !== undefined) return value;
  }
  return undefined;
}

/** The stage (or custom-domain base path) in front of the API's own paths, e.g. `/dev`. */
function basePath(event: APIGatewayProxyEvent): string {
  const full = event.requestContext?.path;
  return full && event.path && full.endsWith(event.path)
    ? full.slice(0, full.length - event.path.length)
    : '';
}

export const handler = apiHandler(async (event) => {
  const {
    id,
    instanceType,
    'Idempotency-Key': idempotencyKey,
  } = parseInput(input, {
    ...parseBody(event),
    id: event.pathParameters?.id,
    'Idempotency-Key': header(event, 'Idempotency-Key'),
  });
  const started = await startValidation(
    { ec2, sfn },
    config,
    { imageId: id, instanceType, ...(idempotencyKey !== undefined ? { idempotencyKey } : {}) },
    () => readCheckScript(config.taskRoot),
  );
  return json(202, started, { location: `${basePath(event)}${validationLocation(started.validationId)}` });
});
