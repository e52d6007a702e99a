/**
 * The sandbox's API Gateway: routes from a serverless.yml, SigV4 with `execute-api`, the
 * proxy event and context the handler receives, and API Gateway's own refusals.
 */
import { resolve } from 'node:path';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_CALLER_ARN, sandboxCredentials } from '../../sandbox/credentials';
import { type Sandbox, startSandbox } from '../../sandbox/server';
import { signedGet } from '../support/sandbox-clients';

let sandbox: Sandbox;

interface Echo {
  event: APIGatewayProxyEvent;
  context: { awsRequestId: string; functionName: string; remaining: number };
  env: Record<string, string | null>;
}

async function call(
  method: string,
  pathAndQuery: string,
  options: { region?: string; service?: string; secret?: string; sign?: boolean; body?: string } = {},
): Promise<Response> {
  const url = new URL(pathAndQuery, sandbox.url);
  const query: Record<string, string[]> = {};
  for (const [k, v] of url.searchParams) query[k] = [...(query[k] ?? []), v];
  const headers: Record<string, string> = { host: url.host };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let signedHeaders = headers;
  if (options.sign !== false) {
    const signer = new SignatureV4({
      credentials: {
        ...sandboxCredentials,
        secretAccessKey: options.secret ?? sandboxCredentials.secretAccessKey,
      },
      region: options.region ?? 'us-west-2',
      service: options.service ?? 'execute-api',
      sha256: Sha256,
    });
    const signed = await signer.sign({
      method,
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query,
      headers,
      body: options.body,
    });
    signedHeaders = signed.headers;
  }
  const { host: _host, ...sendable } = signedHeaders;
  return fetch(url, {
    method,
    headers: sendable,
    ...(options.body === undefined ? {} : { body: options.body }),
  });
}

beforeAll(async () => {
  sandbox = await startSandbox({
    port: 0,
    serverlessYml: resolve(import.meta.dirname, 'fixtures/sandbox-api.yml'),
  });
});
afterAll(async () => {
  await sandbox.close();
});

describe('routing', () => {
  it('invokes the route’s handler with an API Gateway proxy event and a Lambda context', async () => {
    const response = await call('GET', '/items/ami-0123?nextToken=abc&tag=a&tag=b');
    expect(response.status).toBe(200);
    expect(response.headers.get('x-fixture')).toBe('echo');
    expect(response.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    const { event, context, env } = (await response.json()) as Echo;
    expect(event).toMatchObject({
      httpMethod: 'GET',
      path: '/items/ami-0123',
      resource: '/items/{id}',
      pathParameters: { id: 'ami-0123' },
      queryStringParameters: { nextToken: 'abc', tag: 'b' },
      multiValueQueryStringParameters: { nextToken: ['abc'], tag: ['a', 'b'] },
      body: null,
      isBase64Encoded: false,
    });
    expect(event.requestContext).toMatchObject({
      stage: 'dev',
      resourcePath: '/items/{id}',
      identity: { userArn: SANDBOX_CALLER_ARN, accessKey: sandboxCredentials.accessKeyId },
    });
    expect(event.requestContext.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(context.functionName).toBe('sandbox-fixture-dev-echo');
    expect(context.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(context.remaining).toBeGreaterThan(0);
    expect(context.remaining).toBeLessThanOrEqual(2000);
    expect(env).toEqual({
      AWS_ENDPOINT_URL: sandbox.url,
      AWS_REGION: 'us-west-2',
      STAGE: 'dev',
      FIXTURE_STAGE: 'dev',
      FIXTURE_NAME: 'sandbox-fixture-dev',
      FIXTURE_TABLE: null,
    });
  });

  it('prefers literal segments: /items/latest is its own route, not /items/{id}', async () => {
    const response = await call('GET', '/items/latest');
    expect(await response.json()).toEqual({ route: 'latest' });
  });

  it('accepts the stage in front of the path, as API Gateway URLs have it', async () => {
    const response = await call('DELETE', '/dev/items/ami-1');
    expect(response.status).toBe(200);
    expect(((await response.json()) as Echo).event.resource).toBe('/items/{id}');
  });

  it('answers 403 Missing Authentication Token for unknown routes and for a known path with another method', async () => {
    for (const [method, path] of [
      ['GET', '/nothing'],
      ['POST', '/items/ami-1'],
      ['GET', '/items'],
    ] as const) {
      const response = await call(method, path);
      expect(response.status, `${method} ${path}`).toBe(403);
      expect(await response.json()).toEqual({ message: 'Missing Authentication Token' });
    }
  });

  it('does not ask for a signature on a route without aws_iam', async () => {
    const response = await call('POST', '/open', { sign: false, body: '{"a":1}' });
    expect(response.status).toBe(200);
    const { event } = (await response.json()) as Echo;
    expect(event.body).toBe('{"a":1}');
    expect(event.requestContext.identity.userArn).toBeNull();
  });

  it('answers 502 Internal server error when the handler throws', async () => {
    const response = await call('GET', '/broken');
    expect(response.status).toBe(502);
    expect(await response.json()).toEqual({ message: 'Internal server error' });
  });

  it('logs API requests as execute-api calls', async () => {
    sandbox.calls.clear();
    await call('GET', '/items/latest');
    expect(sandbox.calls.list()).toEqual([
      expect.objectContaining({ service: 'execute-api', action: 'GET /items/latest', status: 200 }),
    ]);
  });
});

describe('SigV4 on aws_iam routes', () => {
  it('refuses a missing signature', async () => {
    const response = await call('GET', '/items/ami-1', { sign: false });
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ message: 'Missing Authentication Token' });
  });

  it('refuses a wrong secret with InvalidSignatureException, and runs no handler', async () => {
    sandbox.calls.clear();
    const response = await call('DELETE', '/items/ami-1', { secret: 'wrong' });
    expect(response.status).toBe(403);
    expect(response.headers.get('x-amzn-errortype')).toBe('InvalidSignatureException');
    expect(((await response.json()) as { message: string }).message).toMatch(
      /^The request signature we calculated does not match/,
    );
    expect(sandbox.calls.list()).toEqual([]);
  });

  it('refuses a signature scoped to another region or service', async () => {
    const region = await call('GET', '/items/ami-1', { region: 'eu-west-1' });
    expect(region.status).toBe(403);
    expect(((await region.json()) as { message: string }).message).toMatch(
      /Credential should be scoped to a valid region/,
    );
    const service = await call('GET', '/items/ami-1', { service: 'ec2' });
    expect(service.status).toBe(403);
  });

  it('refuses an unknown access key with UnrecognizedClientException', async () => {
    const response = await signedGet(sandbox.url, '/items/ami-1', {
      accessKeyId: 'AKIAUNKNOWNUNKNOWN00',
      secretAccessKey: 'x',
    });
    expect(response.status).toBe(403);
    expect(response.headers.get('x-amzn-errortype')).toBe('UnrecognizedClientException');
    expect(await response.json()).toEqual({
      message: 'The security token included in the request is invalid.',
    });
  });
});
