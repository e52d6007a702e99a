/**
 * EC2 list pagination: items in id order, `MaxResults` per page, and an opaque `NextToken`
 * that names the last id returned, so a page is stable even when items are added or removed
 * between calls.
 */
import { AwsError } from '../aws-error';

interface TokenBody {
  kind: string;
  after: string;
}

export function encodeToken(kind: string, after: string): string {
  return Buffer.from(JSON.stringify({ kind, after } satisfies TokenBody)).toString('base64url');
}

function decodeToken(kind: string, token: string): string {
  try {
    const body = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<TokenBody>;
    if (body.kind === kind && typeof body.after === 'string') return body.after;
  } catch {
    // fall through to the error below
  }
  throw new AwsError('InvalidParameterValue', `Invalid value '${token}' for nextToken`);
}

export function checkMaxResults(maxResults: number | undefined, min: number, max: number): void {
  if (maxResults === undefined) return;
  if (maxResults < min || maxResults > max) {
    throw new AwsError(
      'InvalidParameterValue',
      `Value ( ${maxResults} ) for parameter maxResults is invalid. Expecting a value between ${min} and ${max}.`,
    );
  }
}

/**
 * MaxResults as EC2's Describe calls take it (5 to 1000), and never with an explicit id list:
 * `ids` are those ids, `idsSet` their name in EC2's message (`instancesSet`, …).
 */
export function checkPageOrIds(maxResults: number | undefined, ids: string[], idsSet: string): void {
  checkMaxResults(maxResults, 5, 1000);
  if (maxResults !== undefined && ids.length > 0) {
    throw new AwsError(
      'InvalidParameterCombination',
      `The parameter ${idsSet} cannot be used with the parameter maxResults`,
    );
  }
}

/** `items` must already be filtered; they are ordered by `idOf` here. */
export function paginate<T>(
  kind: string,
  items: T[],
  idOf: (item: T) => string,
  maxResults: number | undefined,
  nextToken: string | undefined,
): { page: T[]; nextToken?: string } {
  const sorted = items.sort((a, b) => {
    const x = idOf(a);
    const y = idOf(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
  let start = 0;
  if (nextToken !== undefined && nextToken !== '') {
    const after = decodeToken(kind, nextToken);
    start = sorted.findIndex((item) => idOf(item) > after);
    if (start === -1) start = sorted.length;
  }
  if (maxResults === undefined) return { page: sorted.slice(start) };
  const page = sorted.slice(start, start + maxResults);
  const last = page.at(-1);
  const more = start + maxResults < sorted.length;
  return more && last !== undefined ? { page, nextToken: encodeToken(kind, idOf(last)) } : { page };
}
