/**
 * SDK v3 clients pointed at a sandbox, a short-interval poll for states that come with time,
 * the sandbox's control API, and SigV4-signed requests to its API Gateway.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { SignatureV4 } from '@smithy/signature-v4';
import { expect } from 'vitest';
import { sandboxCredentials } from '../../sandbox/credentials';

export function sandboxEc2(url: string, maxAttempts = 1): EC2Client {
  return new EC2Client({ region: 'us-west-2', endpoint: url, maxAttempts, credentials: sandboxCredentials });
}

export function sandboxSsm(url: string, maxAttempts = 1): SSMClient {
  return new SSMClient({ region: 'us-west-2', endpoint: url, maxAttempts, credentials: sandboxCredentials });
}

/** Calls `probe` every `intervalMs` until `done` holds for its value; fails after `timeoutMs`. */
export async function waitFor<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  { timeoutMs = 5_000, intervalMs = 20, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await probe();
    if (done(last)) return last;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A call to the sandbox's control API (`/_sandbox/…`), expected to answer 200 with JSON. */
export async function sandboxControl<T>(
  url: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const response = await fetch(`${url}/_sandbox/${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  expect(response.status, `${method} ${path}: ${await response.clone().text()}`).toBe(200);
  return (await response.json()) as T;
}

/** The id of the image named `name` in the sandbox's us-west-2, as its control API lists it. */
export async function sandboxImageId(url: string, name: string): Promise<string> {
  const state = await sandboxControl<{
    regions: Record<string, { images: { imageId: string; name: string }[] }>;
  }>(url, 'GET', 'state');
  const image = state.regions['us-west-2']?.images.find((i) => i.name === name);
  if (!image) throw new Error(`no image ${name}`);
  return image.imageId;
}

/** A GET of `path` on the sandbox at `url`, SigV4-signed for execute-api in us-west-2 with `credentials`. */
export async function signedGet(
  url: string,
  path: string,
  credentials: { accessKeyId: string; secretAccessKey: string } = sandboxCredentials,
): Promise<Response> {
  const target = new URL(path, url);
  const signer = new SignatureV4({
    credentials,
    region: 'us-west-2',
    service: 'execute-api',
    sha256: Sha256,
  });
  const signed = await signer.sign({
    method: 'GET',
    protocol: 'http:',
    hostname: target.hostname,
    port: Number(target.port),
    path: target.pathname,
    query: Object.fromEntries(target.searchParams),
    headers: { host: target.host },
  });
  const { host: _host, ...headers } = signed.headers;
  return fetch(target, { headers });
}

/** A `method` request of `path` with a JSON `body` on the sandbox at `url`, SigV4-signed for execute-api in us-west-2. */
export async function signedRequest(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  credentials: { accessKeyId: string; secretAccessKey: string } = sandboxCredentials,
): Promise<Response> {
  const target = new URL(path, url);
  const text = body === undefined ? undefined : JSON.stringify(body);
  const signer = new SignatureV4({
    credentials,
    region: 'us-west-2',
    service: 'execute-api',
    sha256: Sha256,
  });
  const signed = await signer.sign({
    method,
    protocol: 'http:',
    hostname: target.hostname,
    port: Number(target.port),
    path: target.pathname,
    query: Object.fromEntries(target.searchParams),
    headers: { host: target.host, ...(text !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(text !== undefined ? { body: text } : {}),
  });
  const { host: _host, ...headers } = signed.headers;
  return fetch(target, { method, headers, ...(text !== undefined ? { body: text } : {}) });
}
