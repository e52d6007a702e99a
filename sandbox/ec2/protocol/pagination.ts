/**
 * EC2 list pagination: items in id order, `MaxResults` per page, and a NextToken (the
 * sandbox's one token format, pagination.ts) that names the last id returned, so a page is
 * stable even when items are added or removed between calls.
 */
import { InvalidParameterCombination, InvalidParameterValue } from '../../errors/ec2';
import { pageAfterKey } from '../../pagination';

export function checkMaxResults(maxResults: number | undefined, min: number, max: number): void {
  if (maxResults === undefined) return;
  if (maxResults < min || maxResults > max) throw InvalidParameterValue.maxResults(maxResults, min, max);
}

/**
 * MaxResults as EC2's Describe calls take it (5 to 1000), and never with an explicit id list:
 * `ids` are those ids, `idsSet` their name in EC2's message (`instancesSet`, …).
 */
export function checkPageOrIds(maxResults: number | undefined, ids: string[], idsSet: string): void {
  checkMaxResults(maxResults, 5, 1000);
  if (maxResults !== undefined && ids.length > 0) throw InvalidParameterCombination.idsWithMaxResults(idsSet);
}

/** `items` must already be filtered; they are ordered by `idOf` here. `kind` names the listing. */
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
  const token = nextToken === '' ? undefined : nextToken;
  const { items: page, nextToken: next } = pageAfterKey(sorted, idOf, maxResults, token, `ec2:${kind}`, (t) =>
    InvalidParameterValue.nextToken(t),
  );
  return next === undefined ? { page } : { page, nextToken: next };
}
