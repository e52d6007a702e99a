/**
 * The middy stack every API Lambda shares: logger context, then the handler, with errors
 * mapped last to application/problem+json.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { z } from 'zod';
import type { Problem } from './api-types';
import { InvalidInputError, ProblemError } from './errors';
import { logger } from './logger';
import { fieldProblems } from './validation';

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
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new InvalidInputError(fieldProblems(parsed.error));
  return parsed.data;
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

const problemResponses = (): middy.MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> => ({
  onError: async (request) => {
    const requestId = request.context.awsRequestId;
    const problem = problemFor(request.error, request.event, requestId);
    if (problem.status >= 500) logger.error('Request failed', { error: request.error as Error, problem });
    else logger.info('Request refused', { problem });
    request.response = {
      statusCode: problem.status,
      headers: { 'content-type': 'application/problem+json', 'x-amzn-requestid': requestId },
      body: JSON.stringify(problem),
    };
  },
});

export function apiHandler(fn: (event: APIGatewayProxyEvent) => Promise<ApiResult>) {
  return middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context>()
    .use(injectLambdaContext(logger))
    .use(problemResponses())
    .handler(async (event, context) => {
      const result = await fn(event);
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
