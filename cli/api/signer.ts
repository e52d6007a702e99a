/** SigV4 for API Gateway (`execute-api`), with the SDK's own signer. */
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentials } from '../deps';

export const SERVICE = 'execute-api';

/**
 * Headers to send with a request to `url` so that API Gateway accepts it: `authorization`,
 * `x-amz-date`, and `x-amz-security-token` for temporary credentials. `host` is signed but not
 * returned: fetch sets it from the URL, to the same value.
 */
export async function signHeaders(input: {
  method: string;
  url: URL;
  region: string;
  credentials: AwsCredentials;
  body?: string;
  headers?: Record<string, string>;
  signingDate?: Date;
}): Promise<Record<string, string>> {
  const { url } = input;
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of url.searchParams) {
    const prev = query[key];
    query[key] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  const signer = new SignatureV4({
    service: SERVICE,
    region: input.region,
    credentials: input.credentials,
    sha256: Sha256,
  });
  const signed = await signer.sign(
    {
      method: input.method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query,
      headers: { ...input.headers, host: url.host },
      ...(input.body !== undefined ? { body: input.body } : {}),
    },
    input.signingDate ? { signingDate: input.signingDate } : {},
  );
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(signed.headers)) {
    if (name.toLowerCase() !== 'host') headers[name] = value;
  }
  return headers;
}
