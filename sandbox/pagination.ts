/**
 * One pagination-token format for every service (EC2 NextToken, SSM NextToken, Step Functions
 * nextToken): `base64url(JSON {s: scope, p: position}).base64url(HMAC)`. Opaque to clients and
 * tamper-checked (the HMAC key is made when the process starts, so a token is good for the
 * sandbox process that issued it); `scope` names the listing (and its parameters) the token
 * belongs to, so a token from another listing is refused. `position` is either the last key
 * returned (keyset pages: stable when items are added or removed between calls) or an offset.
 * Each service keeps its own error for a bad token: the caller passes it.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AwsError } from './errors/aws-error';

const KEY = randomBytes(32);

type Position = string | number;

function mac(body: string): Buffer {
  return createHmac('sha256', KEY).update(body).digest().subarray(0, 16);
}

export function encodePageToken(scope: string, position: Position): string {
  const body = Buffer.from(JSON.stringify({ s: scope, p: position })).toString('base64url');
  return `${body}.${mac(body).toString('base64url')}`;
}

/** The position a token holds for `scope`, or undefined when it is not one of ours for it. */
export function decodePageToken(scope: string, token: string): Position | undefined {
  const [body, signature, extra] = token.split('.');
  if (body === undefined || signature === undefined || extra !== undefined) return undefined;
  const given = Buffer.from(signature, 'base64url');
  const expected = mac(body);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    const decoded = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as {
      s?: unknown;
      p?: unknown;
    };
    if (decoded.s !== scope) return undefined;
    return typeof decoded.p === 'string' || typeof decoded.p === 'number' ? decoded.p : undefined;
  } catch {
    return undefined;
  }
}

/** The token's position when it is ours, for `scope`, and of the expected kind; else `invalid`. */
function position<P extends Position>(
  scope: string,
  token: string,
  invalid: (token: string) => AwsError,
  valid: (position: Position | undefined) => position is P,
): P {
  const decoded = decodePageToken(scope, token);
  if (!valid(decoded)) throw invalid(token);
  return decoded;
}

export interface Page<T> {
  items: T[];
  nextToken?: string;
}

/**
 * A keyset page of `sorted` (already in key order): the items after the token's key, at most
 * `max` (all when undefined), and a token naming the last key when more follow.
 */
export function pageAfterKey<T>(
  sorted: readonly T[],
  keyOf: (item: T) => string,
  max: number | undefined,
  token: string | undefined,
  scope: string,
  invalid: (token: string) => AwsError,
): Page<T> {
  let start = 0;
  if (token !== undefined) {
    const after = position(scope, token, invalid, (p): p is string => typeof p === 'string');
    start = sorted.findIndex((item) => keyOf(item) > after);
    if (start === -1) start = sorted.length;
  }
  if (max === undefined) return { items: sorted.slice(start) };
  const items = sorted.slice(start, start + max);
  const last = items.at(-1);
  const more = start + max < sorted.length && last !== undefined;
  return more ? { items, nextToken: encodePageToken(scope, keyOf(last)) } : { items };
}

/** An offset page of `list`: `max` items from the token's offset, and a token for the next offset. */
export function pageAtOffset<T>(
  list: readonly T[],
  max: number,
  token: string | undefined,
  scope: string,
  invalid: (token: string) => AwsError,
): Page<T> {
  const isOffset = (p: Position | undefined): p is number =>
    typeof p === 'number' && Number.isInteger(p) && p >= 0;
  const offset = token === undefined ? 0 : position(scope, token, invalid, isOffset);
  const items = list.slice(offset, offset + max);
  return offset + max < list.length ? { items, nextToken: encodePageToken(scope, offset + max) } : { items };
}
