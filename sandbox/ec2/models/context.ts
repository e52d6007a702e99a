/** What every EC2 model operation works in: the world, the call's region, and the DryRun checkpoint. */
import type { RegionState, World } from '../../world';

export interface Ec2Scope {
  world: World;
  region: RegionState;
  regionName: string;
  /**
   * Called once the request is known to succeed and before anything changes: with `DryRun=true`
   * it throws `DryRunOperation` (HTTP 412) instead.
   */
  checkpoint(): void;
}

/**
 * Resolves an explicit id list as EC2's Describe and delete calls do: every id well formed
 * (else `malformed(id)`), every id known (else `notFound(missing)`); the resources in request
 * order, each once.
 */
export function findByIds<T>(
  ids: readonly string[],
  store: ReadonlyMap<string, T>,
  pattern: RegExp,
  malformed: (id: string) => Error,
  notFound: (missing: string[]) => Error,
): T[] {
  for (const id of ids) if (!pattern.test(id)) throw malformed(id);
  const missing = ids.filter((id) => !store.has(id));
  if (missing.length > 0) throw notFound(missing);
  return [...new Set(ids)].flatMap((id) => {
    const item = store.get(id);
    return item ? [item] : [];
  });
}

/** A finder by ids for one kind of resource (`findImages`, `findSnapshots`, `findInstances`). */
export function idFinder<T>(
  storeOf: (scope: Ec2Scope) => ReadonlyMap<string, T>,
  pattern: RegExp,
  malformed: (id: string) => Error,
  notFound: (missing: string[]) => Error,
): (scope: Ec2Scope, ids: readonly string[]) => T[] {
  return (scope, ids) => findByIds(ids, storeOf(scope), pattern, malformed, notFound);
}
