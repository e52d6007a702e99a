/**
 * The middy stack every API Lambda shares: logger context, then the handler, with errors
 * mapped last to application/problem+json.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { Problem } from './api-types';
import { AwsProblemError, InvalidInputError, ProblemError } from './errors';
import { logger } from './logger';
import { fieldProblems } from './validation';
import * as z from './zod';

export interface ApiResult {
  status: number;
  body: unknown;
  /** Extra response headers (e.g. `location`). */
  headers?: Record<string, string>;
}

export function json(status: number, body: unknown, headers?: Record<string, string>): ApiResult {
  return headers ? { status, body, headers } : { status, body };
}

/** Validates before any AWS call: a bad value is a 400 that names the field. */
export function parseInput<S extends z.ZodMiniType>(schema: S, input: unknown): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new InvalidInputError(fieldProblems(parsed.error));
  return parsed.data;
}

/** An `Idempotency-Key` header: a retried request with the same key starts nothing new. */
export const idempotencyKeySchema = z
  .string()
  .check(z.regex(/^[\x21-\x7e]{1,255}$/, { error: 'must be 1-255 visible ASCII characters' }));

/**
 * The JSON body, or {} when there is none. Anything but a JSON object is a 400 on `body`; a
 * field not in `fields` is a 400 naming it (a typo never passes as a default).
 */
export function jsonBody(
  event: APIGatewayProxyEvent,
  fields: readonly string[],
  example: string,
): Record<string, unknown> {
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
      { field: 'body', message: `body must be a JSON object such as ${example}` },
    ]);
  }
  const unknown = Object.keys(value).filter((key) => !fields.includes(key));
  if (unknown.length > 0) {
    throw new InvalidInputError(
      unknown.map((field) => ({
        field,
        message: `${field} is not a known field (expected: ${fields.join(', ')})`,
      })),
    );
  }
  return value as Record<string, unknown>;
}

/** A request header, whatever its case. */
export function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted && value !== undefined) return value;
  }
  return undefined;
}

/** The stage (or custom-domain base path) in front of the API's own paths, e.g. `/dev`. */
export function basePath(event: APIGatewayProxyEvent): string {
  const full = event.requestContext?.path;
  return full && event.path && full.endsWith(event.path)
    ? full.slice(0, full.length - event.path.length)
    : '';
}

function problemFor(error: unknown, event: APIGatewayProxyEvent, requestId: string): Problem {
  if (error instanceof ProblemError) {
    return {
      type: error.type,
      title: error.title,
      status: error.status,
      detail: error.message,
      instance: event.path,
      requestId,
      ...error.extensions,
    };
  }
  return {
    type: 'urn:pulsar-ami:problem:internal',
    title: 'Internal error',
    status: 500,
    detail: 'The request failed unexpectedly; the request id identifies it in the logs',
    instance: event.path,
    requestId,
  };
}

/**
 * What the logs keep of a failed request: the error (Powertools logs its `cause` too) and, for
 * an AWS error mapped to a problem, the SDK error's name, message, request id and status.
 */
function failureFields(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { error: String(error) };
  return error instanceof AwsProblemError ? { error, awsError: error.aws } : { error };
}

const problemResponses = (): middy.MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> => ({
  onError: async (request) => {
    const requestId = request.context.awsRequestId;
    const problem = problemFor(request.error, request.event, requestId);
    if (problem.status >= 500) logger.error('Request failed', { ...failureFields(request.error), problem });
    else logger.info('Request refused', { problem });
    request.response = {
      statusCode: problem.status,
      headers: {
        ...(request.error instanceof ProblemError ? request.error.headers : {}),
        'content-type': 'application/problem+json',
        'x-amzn-requestid': requestId,
      },
      body: JSON.stringify(problem),
    };
  },
});

/** The ids a route's path names, as log keys: `/amis/{id}` → imageId, `/validations/{id}` → validationId. */
const PATH_KEYS: Record<string, string> = {
  amis: 'imageId',
  validations: 'validationId',
  builds: 'buildId',
  cleanups: 'cleanupId',
};

export function requestKeys(event: Pick<APIGatewayProxyEvent, 'resource' | 'pathParameters'>) {
  const id = event.pathParameters?.id;
  const collection = event.resource?.split('/')[1];
  const key = collection ? PATH_KEYS[collection] : undefined;
  return id && key ? { [key]: id } : {};
}

/** The ids an answer names (a started validation or build), as log keys. */
function answerKeys(body: unknown): Record<string, string> {
  if (typeof body !== 'object' || body === null) return {};
  const keys: Record<string, string> = {};
  for (const key of ['imageId', 'validationId', 'buildId', 'cleanupId', 'executionArn']) {
    const value = (body as Record<string, unknown>)[key];
    if (typeof value === 'string') keys[key] = value;
  }
  return keys;
}

export function apiHandler(fn: (event: APIGatewayProxyEvent) => Promise<ApiResult>) {
  return middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(problemResponses())
    .handler(async (event, context) => {
      logger.appendKeys(requestKeys(event));
      const result = await fn(event);
      const keys = answerKeys(result.body);
      if (Object.keys(keys).length > 0) {
        logger.appendKeys(keys);
        logger.info('Request answered', { status: result.status });
      }
      return {
        statusCode: result.status,
        headers: {
          ...result.headers,
          'content-type': 'application/json',
          'x-amzn-requestid': context.awsRequestId,
        },
        body: JSON.stringify(result.body),
      };
    });
}
