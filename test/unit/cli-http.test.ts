import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { credentialsFromEnv, NO_CREDENTIALS } from '../../cli/api/credentials';
import { discoverFromStack } from '../../cli/api/discovery';
import type { AwsCredentials } from '../../cli/deps';
import { API, Harness, json, TEST_CREDENTIALS } from './cli-harness';

const ID = 'ami-0a1b2c3d4e5f67890';
const realFetch = (input: string, init: RequestInit) => fetch(input, init);

interface Captured {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
}

const servers: Server[] = [];
afterEach(async () => {
  vi.unstubAllEnvs();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

/** A tiny local HTTP server; `answer` null means never answer. */
async function serve(
  answer: ((req: Captured) => { status: number; body: string; headers?: Record<string, string> }) | null,
): Promise<{ url: string; seen: Captured[] }> {
  const seen: Captured[] = [];
  const server = createServer((req, res) => {
    const captured = { method: req.method ?? '', url: req.url ?? '', headers: req.headers };
    seen.push(captured);
    if (answer === null) return;
    const { status, body, headers } = answer(captured);
    res.writeHead(status, { 'x-amzn-RequestId': 'local-1', ...headers }).end(body);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

function only<T>(items: T[]): T {
  expect(items).toHaveLength(1);
  return items[0] as T;
}

function parseAmzDate(value: string): Date {
  const iso = value.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z');
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) throw new Error(`bad x-amz-date ${value}`);
  return date;
}

/** Signs the captured request again, as API Gateway would verify it, and returns the expected authorization. */
async function expectedAuthorization(
  req: Captured,
  credentials: AwsCredentials,
  region: string,
): Promise<string> {
  const auth = String(req.headers.authorization);
  const signedHeaders = /SignedHeaders=([^,]+)/.exec(auth)?.[1]?.split(';') ?? [];
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) headers[name] = String(req.headers[name]);
  const url = new URL(req.url, `http://${req.headers.host}`);
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  const signer = new SignatureV4({ service: 'execute-api', region, credentials, sha256: Sha256 });
  const signed = await signer.sign(
    {
      method: req.method,
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query,
      headers,
    },
    { signingDate: parseAmzDate(String(req.headers['x-amz-date'])) },
  );
  return String(signed.headers.authorization);
}

describe('SigV4', () => {
  it('signs GET with a stage path: execute-api scope, region, host, date and session token', async () => {
    const server = await serve(() => ({
      status: 200,
      body: JSON.stringify({ imageId: ID, source: 'parameter' }),
    }));
    const credentials = { ...TEST_CREDENTIALS, sessionToken: 'session-token-1' };
    const h = new Harness({
      env: { PULSAR_AMI_API_URL: `${server.url}/dev` },
      fetch: realFetch,
      credentials: async () => credentials,
    });
    h.now = Date.now();
    const r = await h.run('--region', 'eu-central-1', 'latest');
    expect(r).toEqual({ code: 0, stdout: `Latest AMI: ${ID}\n`, stderr: '' });
    const req = only(server.seen);
    expect(req.url).toBe('/dev/amis/latest');
    const auth = String(req.headers.authorization);
    expect(auth).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-central-1\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
    );
    expect(auth).toContain('x-amz-date');
    expect(auth).toContain('x-amz-security-token');
    expect(req.headers['x-amz-security-token']).toBe('session-token-1');
    expect(auth).toBe(await expectedAuthorization(req, credentials, 'eu-central-1'));
    // The check can fail: a different secret gives a different signature.
    expect(auth).not.toBe(
      await expectedAuthorization(req, { ...credentials, secretAccessKey: 'other' }, 'eu-central-1'),
    );
  });

  it('signs DELETE with its query string (no stage path)', async () => {
    const server = await serve(() => ({
      status: 200,
      body: JSON.stringify({
        imageId: ID,
        name: 'n',
        state: 'available',
        dryRun: true,
        deregistered: false,
        snapshots: [],
      }),
    }));
    const h = new Harness({ env: { PULSAR_AMI_API_URL: server.url }, fetch: realFetch });
    const r = await h.run('delete', '--ami-id', ID, '--keep-snapshots', '--dry-run');
    expect(r.code).toBe(0);
    const req = only(server.seen);
    expect(req.method).toBe('DELETE');
    expect(req.url).toBe(`/amis/${ID}?keepSnapshots=true&dryRun=true`);
    expect(req.headers['x-amz-security-token']).toBeUndefined();
    expect(String(req.headers.authorization)).toBe(
      await expectedAuthorization(req, TEST_CREDENTIALS, 'us-west-2'),
    );
  });
});

describe('an API deployed in another region', () => {
  it('its 403 (credential scoped to another region) becomes one clear line, exit 1', async () => {
    // API Gateway in us-west-2: a signature scoped to another region is refused.
    const server = await serve((req) => {
      const region = /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(String(req.headers.authorization))?.[1];
      return region === 'us-west-2'
        ? { status: 200, body: JSON.stringify({ items: [] }) }
        : {
            status: 403,
            headers: { 'content-type': 'application/json', 'x-amzn-ErrorType': 'InvalidSignatureException' },
            body: JSON.stringify({
              message: `Credential should be scoped to a valid region, not '${region}'. `,
            }),
          };
    });
    const h = new Harness({ env: { PULSAR_AMI_API_URL: server.url }, fetch: realFetch });
    const r = await h.run('--region', 'us-east-1', 'list', '--no-cache');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `Error: The API at ${server.url} serves another region than us-east-1: give the --api-url of the API deployed in us-east-1 (or unset PULSAR_AMI_API_URL to use the stack output of us-east-1), or use --region <its region>\n`,
    );
    const json = await h.run('--json', '--region', 'us-east-1', 'list', '--no-cache');
    expect(JSON.parse(json.stderr)).toMatchObject({
      title: 'API in another region',
      status: 403,
      awsError: 'InvalidSignatureException',
      region: 'us-east-1',
    });
    expect((await h.run('list', '--no-cache')).code).toBe(0);
  });

  it('an execute-api URL of another region is refused before sending, exit 2', async () => {
    const h = new Harness({ env: { PULSAR_AMI_API_URL: API } });
    const r = await h.run('--region', 'us-east-1', 'list', '--no-cache');
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(
      `pulsar-ami: The API at ${API} serves another region than us-east-1: give the --api-url of the API deployed in us-east-1 (or unset PULSAR_AMI_API_URL to use the stack output of us-east-1), or use --region us-west-2`,
    );
    const flag = await h.run('--region', 'eu-west-1', '--api-url', API, 'latest');
    expect(flag.code).toBe(2);
    expect(flag.stderr.split('\n')[0]).toBe(
      `pulsar-ami: The API at ${API} serves another region than eu-west-1: give the --api-url of the API deployed in eu-west-1 (or leave out --api-url and unset PULSAR_AMI_API_URL to use the stack output of eu-west-1), or use --region us-west-2`,
    );
    expect(h.calls).toHaveLength(0);
    // The API's own region goes through.
    const same = new Harness({
      env: { PULSAR_AMI_API_URL: API },
      routes: { 'GET /amis': () => json(200, { items: [] }) },
    });
    expect((await same.run('--region', 'us-west-2', 'list')).code).toBe(0);
  });
});

describe('unreachable API', () => {
  it('a closed port: exit 1, "Cannot reach the pulsar-ami API at URL: connection refused"', async () => {
    const server = await serve(null);
    const url = server.url;
    const s = only(servers.splice(0));
    await new Promise((resolve) => s.close(resolve));
    const h = new Harness({ env: { PULSAR_AMI_API_URL: url }, fetch: realFetch });
    const r = await h.run('latest');
    expect(r).toEqual({
      code: 1,
      stdout: '',
      stderr: `Error: Cannot reach the pulsar-ami API at ${url}: connection refused (ECONNREFUSED)\n`,
    });
  });

  it('no answer within PULSAR_AMI_HTTP_TIMEOUT_MS: exit 1, timed out', async () => {
    const server = await serve(null);
    const h = new Harness({
      env: { PULSAR_AMI_API_URL: server.url, PULSAR_AMI_HTTP_TIMEOUT_MS: '100' },
      fetch: realFetch,
    });
    const r = await h.run('list');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `Error: Cannot reach the pulsar-ami API at ${server.url}: no answer within 100 ms (timed out)\n`,
    );
    expect(server.seen).toHaveLength(1);
  });

  it('a port fetch blocks (9): says Node refuses it, exit 1', async () => {
    const h = new Harness({ env: { PULSAR_AMI_API_URL: 'http://127.0.0.1:9' }, fetch: realFetch });
    const r = await h.run('latest');
    expect(r).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'Error: Cannot reach the pulsar-ami API at http://127.0.0.1:9: Node refuses to connect to port 9 (a port browsers and fetch block)\n',
    });
  });

  it('a DNS failure names it', async () => {
    const h = new Harness({
      fetch: async () => {
        throw new TypeError('fetch failed', {
          cause: Object.assign(new Error('getaddrinfo ENOTFOUND x'), { code: 'ENOTFOUND' }),
        });
      },
    });
    const r = await h.run('latest');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `Error: Cannot reach the pulsar-ami API at ${API}: host not found (DNS) (ENOTFOUND)\n`,
    );
  });

  it('--debug adds the failure detail and the stack, otherwise no stack trace', async () => {
    const h = new Harness({
      fetch: async () => {
        throw new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }) });
      },
    });
    const quiet = await h.run('latest');
    expect(quiet.stderr).not.toMatch(/\n\s+at /);
    const loud = await h.run('latest', '--debug');
    expect(loud.stderr).toMatch(/\[debug\] GET .* failed after \d+ ms: connection reset \(ECONNRESET\)/);
    expect(loud.stderr).toMatch(/\n\s+at /);
  });
});

describe('credentials', () => {
  it('none found: exit 1 with the one-line hint, and no HTTP call at all', async () => {
    const h = new Harness({
      env: {},
      credentials: async () => {
        throw Object.assign(new Error('Could not load credentials from any providers'), {
          name: 'CredentialsProviderError',
        });
      },
      discoverApiUrl: async () => {
        throw new Error('discovery must not run without credentials');
      },
    });
    const r = await h.run('latest');
    expect(r).toEqual({ code: 1, stdout: '', stderr: `Error: ${NO_CREDENTIALS}\n` });
    expect(h.calls).toHaveLength(0);
  });

  it('other credential failures are shown as they are', async () => {
    const h = new Harness({
      credentials: async () => {
        throw Object.assign(new Error('The SSO session has expired'), { name: 'CredentialsProviderError' });
      },
    });
    const r = await h.run('list');
    expect(r.stderr).toBe('Error: Could not load AWS credentials: The SSO session has expired\n');
    expect(h.calls).toHaveLength(0);
  });

  it('reads static keys from the environment like the chain’s first link (not when AWS_PROFILE is set)', () => {
    expect(credentialsFromEnv({ AWS_ACCESS_KEY_ID: 'A', AWS_SECRET_ACCESS_KEY: 'S' })).toEqual({
      accessKeyId: 'A',
      secretAccessKey: 'S',
    });
    expect(
      credentialsFromEnv({ AWS_ACCESS_KEY_ID: 'A', AWS_SECRET_ACCESS_KEY: 'S', AWS_SESSION_TOKEN: 'T' }),
    ).toEqual({
      accessKeyId: 'A',
      secretAccessKey: 'S',
      sessionToken: 'T',
    });
    expect(
      credentialsFromEnv({ AWS_ACCESS_KEY_ID: 'A', AWS_SECRET_ACCESS_KEY: 'S', AWS_PROFILE: 'p' }),
    ).toBeUndefined();
    expect(credentialsFromEnv({ AWS_ACCESS_KEY_ID: 'A' })).toBeUndefined();
  });
});

describe('API discovery', () => {
  it('without --api-url or PULSAR_AMI_API_URL: the stack pulsar-ami-$PULSAR_AMI_STAGE output', async () => {
    const asked: unknown[] = [];
    const h = new Harness({
      env: { PULSAR_AMI_STAGE: 'prod' },
      routes: { 'GET /amis/latest': () => json(200, { imageId: ID, source: 'parameter' }) },
      discoverApiUrl: async (input) => {
        asked.push(input);
        return `${API}/`;
      },
    });
    const r = await h.run('--region', 'us-east-1', 'latest');
    expect(r.code).toBe(0);
    expect(asked).toEqual([
      { stackName: 'pulsar-ami-prod', region: 'us-east-1', credentials: TEST_CREDENTIALS },
    ]);
    expect(h.calls[0]?.url.toString()).toBe(`${API}/amis/latest`);
  });

  it('not found: exit 1 telling how to set the URL, no API call', async () => {
    const h = new Harness({ env: {}, discoverApiUrl: async () => undefined });
    const r = await h.run('list');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'Error: Cannot find the pulsar-ami API in us-west-2: stack pulsar-ami-dev does not exist or has no ServiceEndpoint output. Pass --api-url URL or set PULSAR_AMI_API_URL\n',
    );
    expect(h.calls).toHaveLength(0);
  });

  it('credentials refused by CloudFormation (wrong secret): says so, not "cannot find the API", exit 1', async () => {
    // CloudFormation's answer to a wrong secret, from the real SDK through AWS_ENDPOINT_URL.
    const server = await serve(() => ({
      status: 403,
      headers: { 'content-type': 'text/xml' },
      body: '<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.</Message></Error><RequestId>r3</RequestId></ErrorResponse>',
    }));
    vi.stubEnv('AWS_ENDPOINT_URL', server.url);
    const h = new Harness({ env: {} });
    const r = await h.run('list', '--no-cache');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'Error: AWS refused the credentials while looking up the stack pulsar-ami-dev in us-west-2: SignatureDoesNotMatch (The request signature we calculated does not match the signature you provided.); check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or your profile\n',
    );
    expect(server.seen.length).toBeGreaterThan(0);
    expect(h.calls).toHaveLength(0);
  });

  it.each(['InvalidClientTokenId', 'UnrecognizedClientException', 'ExpiredToken', 'AccessDenied'])(
    '%s from DescribeStacks: the credentials were refused',
    async (code) => {
      const h = new Harness({
        env: {},
        discoverApiUrl: async () => {
          throw Object.assign(new Error(`${code} says no. More detail.`), { name: code });
        },
      });
      const r = await h.run('latest');
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        `Error: AWS refused the credentials while looking up the stack pulsar-ami-dev in us-west-2: ${code} (${code} says no.); check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or your profile\n`,
      );
    },
  );

  it('another DescribeStacks failure still says the API was not found', async () => {
    const h = new Harness({
      env: {},
      discoverApiUrl: async () => {
        throw Object.assign(new Error('Rate exceeded'), { name: 'Throttling' });
      },
    });
    const r = await h.run('latest');
    expect(r.stderr).toBe(
      'Error: Cannot find the pulsar-ami API in us-west-2: CloudFormation DescribeStacks failed (Rate exceeded). Pass --api-url URL or set PULSAR_AMI_API_URL\n',
    );
  });

  it('a bad PULSAR_AMI_STAGE is a usage error', async () => {
    const h = new Harness({ env: { PULSAR_AMI_STAGE: 'Prod!' } });
    const r = await h.run('list');
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(
      "pulsar-ami: PULSAR_AMI_STAGE must be 1-16 lowercase letters, digits or dashes, got 'Prod!'",
    );
  });

  it('discoverFromStack reads the ServiceEndpoint output with the real SDK (AWS_ENDPOINT_URL honoured)', async () => {
    const outputs = `<Outputs><member><OutputKey>ServiceEndpoint</OutputKey><OutputValue>${API}</OutputValue></member></Outputs>`;
    const server = await serve((req) =>
      req.method === 'POST'
        ? {
            status: 200,
            headers: { 'content-type': 'text/xml' },
            body: `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member><StackName>pulsar-ami-dev</StackName><StackStatus>CREATE_COMPLETE</StackStatus><CreationTime>2026-01-01T00:00:00Z</CreationTime>${outputs}</member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></DescribeStacksResponse>`,
          }
        : { status: 405, body: '' },
    );
    vi.stubEnv('AWS_ENDPOINT_URL', server.url);
    const found = await discoverFromStack({
      stackName: 'pulsar-ami-dev',
      region: 'us-west-2',
      credentials: TEST_CREDENTIALS,
    });
    expect(found).toBe(API);
    expect(String(server.seen[0]?.headers.authorization)).toContain('/us-west-2/cloudformation/aws4_request');
  });

  it('the region’s own CloudFormation endpoint unreachable: names it, and the network, not the API URL', async () => {
    // The SDK resolves the endpoint as it would (no AWS_ENDPOINT_URL: the region's); the
    // network fails as DNS does without one.
    const offline = {
      handle: async () => {
        throw Object.assign(new Error('getaddrinfo ENOTFOUND cloudformation.eu-west-1.amazonaws.com'), {
          code: 'ENOTFOUND',
        });
      },
    };
    const h = new Harness({
      env: {},
      discoverApiUrl: (input) => discoverFromStack({ ...input, requestHandler: offline }),
    });
    const r = await h.run('--region', 'eu-west-1', 'latest');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "Error: Cannot reach the CloudFormation endpoint https://cloudformation.eu-west-1.amazonaws.com (AWS's endpoint for eu-west-1) to look up the API's URL (stack pulsar-ami-dev in eu-west-1): host not found (DNS) (ENOTFOUND). Either check the network, or pass --api-url URL or set PULSAR_AMI_API_URL\n",
    );
    expect(h.calls).toHaveLength(0);
    const json = await h.run('--json', '--region', 'eu-west-1', 'latest');
    expect(JSON.parse(json.stderr)).toMatchObject({
      title: 'Endpoint unreachable',
      service: 'CloudFormation',
      endpoint: 'https://cloudformation.eu-west-1.amazonaws.com',
      region: 'eu-west-1',
      exitCode: 1,
    });
  });

  it('AWS_ENDPOINT_URL unreachable (in process): names that endpoint and the variable', async () => {
    const probe = createServer();
    await new Promise<void>((ready) => probe.listen(0, '127.0.0.1', ready));
    const url = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
    await new Promise((closed) => probe.close(closed));
    vi.stubEnv('AWS_ENDPOINT_URL', url);
    const h = new Harness({ env: { AWS_ENDPOINT_URL: url } });
    const r = await h.run('list', '--no-cache');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `Error: Cannot reach the CloudFormation endpoint ${url} (set by AWS_ENDPOINT_URL) to look up the API's URL (stack pulsar-ami-dev in us-west-2): connection refused (ECONNREFUSED). Either start what serves it or unset AWS_ENDPOINT_URL`,
    );
    expect(r.stderr).not.toContain('DescribeStacks failed');
  });

  it('discoverFromStack: a stack that does not exist resolves undefined', async () => {
    const server = await serve(() => ({
      status: 400,
      headers: { 'content-type': 'text/xml' },
      body: '<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id pulsar-ami-dev does not exist</Message></Error><RequestId>r2</RequestId></ErrorResponse>',
    }));
    vi.stubEnv('AWS_ENDPOINT_URL', server.url);
    await expect(
      discoverFromStack({ stackName: 'pulsar-ami-dev', region: 'us-west-2', credentials: TEST_CREDENTIALS }),
    ).resolves.toBeUndefined();
  });
});

describe('429: too many validations, or API Gateway throttling', () => {
  it('the API’s 429 problem: exit 1, its detail with the retry time; --json carries retryAfterSeconds; nothing else sent', async () => {
    const detail =
      '3 validation(s) are running, the most allowed at once (MAX_CONCURRENT_VALIDATIONS=3); nothing was started, try again in 60 s';
    const server = await serve(() => ({
      status: 429,
      headers: { 'content-type': 'application/problem+json', 'retry-after': '60' },
      body: JSON.stringify({
        type: 'urn:pulsar-ami:problem:too-many-validations',
        title: 'Too many validations running',
        status: 429,
        detail,
        requestId: 'local-1',
      }),
    }));
    const h = new Harness({ env: { PULSAR_AMI_API_URL: server.url }, fetch: realFetch });
    const r = await h.run('validate', '--ami-id', ID);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Error: ${detail}`);
    expect(server.seen.filter((s) => s.method === 'POST')).toHaveLength(1);
    const json = await h.run('--json', 'validate', '--ami-id', ID);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stderr)).toMatchObject({ status: 429, retryAfterSeconds: 60 });
  });

  it('API Gateway’s own 429 (stage throttling): one clear line with the retry time', async () => {
    const server = await serve(() => ({
      status: 429,
      headers: { 'content-type': 'application/json', 'retry-after': '5' },
      body: JSON.stringify({ message: 'Too Many Requests' }),
    }));
    const h = new Harness({ env: { PULSAR_AMI_API_URL: server.url }, fetch: realFetch });
    const r = await h.run('list', '--no-cache');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'Error: The API is throttling requests (429 Too Many Requests); try again in 5 s\n',
    );
  });
});
