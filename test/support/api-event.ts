/** Minimal API Gateway (REST, v1) proxy events and Lambda contexts for handler tests. */
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';

export function apiEvent(input: {
  method: string;
  path: string;
  pathParameters?: Record<string, string>;
  query?: Record<string, string>;
}): APIGatewayProxyEvent {
  return {
    httpMethod: input.method,
    path: input.path,
    resource: input.path,
    pathParameters: input.pathParameters ?? null,
    queryStringParameters: input.query ?? null,
    multiValueQueryStringParameters: null,
    headers: {},
    multiValueHeaders: {},
    body: null,
    isBase64Encoded: false,
    stageVariables: null,
    requestContext: {} as APIGatewayProxyEvent['requestContext'],
  };
}

export function lambdaContext(functionName = 'test'): Context {
  return {
    awsRequestId: '11111111-2222-3333-4444-555555555555',
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-west-2:123456789012:function:${functionName}`,
    memoryLimitInMB: '256',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'test',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 29_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
