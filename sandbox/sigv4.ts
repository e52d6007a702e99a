/**
 * SigV4 verification: parse the Authorization header, sign the same request again with the
 * sandbox secret (same signed headers, same X-Amz-Date, same body) and compare signatures.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { SANDBOX_ACCESS_KEY_ID, SANDBOX_SECRET_ACCESS_KEY } from './credentials';

export interface CredentialScope {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
}

export interface ParsedAuthorization extends CredentialScope {
  signedHeaders: string[];
  signature: string;
}

export type AuthOutcome =
  | { ok: true; scope: CredentialScope }
  | { ok: false; reason: 'missing' | 'malformed' | 'unknown-key' | 'bad-signature'; scope?: CredentialScope };

export interface SignedRequest {
  method: string;
  /** The path as sent (still percent-encoded), without the query string. */
  path: string;
  /** Decoded query parameters. */
  query: Record<string, string | string[]>;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const AUTH_PATTERN =
  /^AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request\s*,\s*SignedHeaders=([^,\s]+)\s*,\s*Signature=([0-9a-f]{64})\s*$/;

export function parseAuthorization(value: string | undefined): ParsedAuthorization | null {
  if (value === undefined) return null;
  const m = AUTH_PATTERN.exec(value.trim());
  if (!m) return null;
  const [, accessKeyId = '', date = '', region = '', service = '', signedHeaders = '', signature = ''] = m;
  return { accessKeyId, date, region, service, signedHeaders: signedHeaders.split(';'), signature };
}

/** The credential scope, without checking the signature (to route query-protocol requests). */
export function credentialScope(headers: IncomingHttpHeaders): CredentialScope | null {
  const auth = parseAuthorization(headerValue(headers, 'authorization'));
  return auth
    ? { accessKeyId: auth.accessKeyId, date: auth.date, region: auth.region, service: auth.service }
    : null;
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function parseAmzDate(value: string | undefined): Date | null {
  const m = value === undefined ? null : /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return null;
  return new Date(
    Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])),
  );
}

type SignableRequest = Parameters<SignatureV4['sign']>[0];

export async function verifySigV4(request: SignedRequest): Promise<AuthOutcome> {
  const header = headerValue(request.headers, 'authorization');
  if (header === undefined || header === '') return { ok: false, reason: 'missing' };
  const auth = parseAuthorization(header);
  if (!auth) return { ok: false, reason: 'malformed' };
  const scope: CredentialScope = {
    accessKeyId: auth.accessKeyId,
    date: auth.date,
    region: auth.region,
    service: auth.service,
  };
  if (auth.accessKeyId !== SANDBOX_ACCESS_KEY_ID) return { ok: false, reason: 'unknown-key', scope };

  const amzDate = headerValue(request.headers, 'x-amz-date');
  const signingDate = parseAmzDate(amzDate);
  if (!signingDate || !amzDate?.startsWith(auth.date) || !auth.signedHeaders.includes('host')) {
    return { ok: false, reason: 'bad-signature', scope };
  }
  // The payload hash is always the body's: a client-sent x-amz-content-sha256 must agree with it.
  const payloadHash = createHash('sha256').update(request.body).digest('hex');
  const declared = headerValue(request.headers, 'x-amz-content-sha256');
  if (declared !== undefined && declared !== payloadHash)
    return { ok: false, reason: 'bad-signature', scope };
  const headers: Record<string, string> = {};
  for (const name of auth.signedHeaders) {
    const value = headerValue(request.headers, name);
    if (value === undefined) return { ok: false, reason: 'bad-signature', scope };
    headers[name] = value;
  }
  const signer = new SignatureV4({
    credentials: { accessKeyId: SANDBOX_ACCESS_KEY_ID, secretAccessKey: SANDBOX_SECRET_ACCESS_KEY },
    region: auth.region,
    service: auth.service,
    sha256: Sha256,
    applyChecksum: false,
  });
  const toSign: SignableRequest = {
    method: request.method,
    protocol: 'http:',
    hostname: 'sandbox',
    path: request.path,
    query: request.query,
    headers,
    body: request.body,
  };
  const signed = await signer.sign(toSign, { signingDate, signableHeaders: new Set(auth.signedHeaders) });
  const expected = parseAuthorization(signed.headers.authorization)?.signature ?? '';
  const same =
    expected.length === auth.signature.length &&
    timingSafeEqual(Buffer.from(expected), Buffer.from(auth.signature));
  return same ? { ok: true, scope } : { ok: false, reason: 'bad-signature', scope };
}
