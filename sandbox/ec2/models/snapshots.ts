/** Snapshots: which ones a DescribeSnapshots selects, and DeleteSnapshot's rules. */
import { SNAPSHOT_ID_PATTERN } from '../../../functions/lib/validation';
import {
  AuthFailure,
  InvalidSnapshotIdMalformed,
  InvalidSnapshotInUse,
  InvalidSnapshotNotFound,
} from '../../errors/ec2';
import type { SnapshotRecord } from '../../state';
import { type Ec2Scope, idFinder } from './context';
import { compileFilters, type Filter, type FilterFields } from './filters';

const SNAPSHOT_FILTERS: FilterFields<SnapshotRecord> = {
  'snapshot-id': (s) => s.snapshotId,
  'volume-id': (s) => s.volumeId,
  status: (s) => s.state,
  'owner-id': (s) => s.ownerId,
  'owner-alias': (s) => s.ownerAlias,
  description: (s) => s.description,
  encrypted: (s) => String(s.encrypted),
  'volume-size': (s) => String(s.volumeSize),
  'start-time': (s) => s.startTime,
};

export const findSnapshots = idFinder(
  (scope) => scope.region.snapshots,
  SNAPSHOT_ID_PATTERN,
  (id) => new InvalidSnapshotIdMalformed(id),
  (missing) => new InvalidSnapshotNotFound(missing),
);

export interface DescribeSnapshotsInput {
  snapshotIds: string[];
  owners: string[];
  filters: Filter[];
}

/** The snapshots a DescribeSnapshots selects (unordered; the protocol pages them). */
export function describeSnapshots(scope: Ec2Scope, input: DescribeSnapshotsInput): SnapshotRecord[] {
  const filter = compileFilters(input.filters, SNAPSHOT_FILTERS, (s) => s.tags);
  const ownerTests = input.owners.map((owner) =>
    owner === 'self'
      ? (s: SnapshotRecord) => s.ownerId === scope.world.accountId
      : (s: SnapshotRecord) => s.ownerId === owner || s.ownerAlias === owner,
  );
  const candidates =
    input.snapshotIds.length > 0
      ? findSnapshots(scope, input.snapshotIds)
      : [...scope.region.snapshots.values()];
  scope.checkpoint();
  return candidates.filter(
    (s) => (ownerTests.length === 0 || ownerTests.some((test) => test(s))) && filter(s),
  );
}

/** Deletes a snapshot of this account that no image uses. */
export function deleteSnapshot(scope: Ec2Scope, snapshotId: string): void {
  const [snapshot] = findSnapshots(scope, [snapshotId]);
  if (!snapshot) throw new InvalidSnapshotNotFound([snapshotId]);
  if (snapshot.ownerId !== scope.world.accountId) throw new AuthFailure(`snapshot:${snapshotId}`);
  const holders = scope.region.snapshotHolders(snapshotId);
  if (holders.length > 0) throw new InvalidSnapshotInUse(snapshotId, holders);
  scope.checkpoint();
  scope.region.snapshots.delete(snapshotId);
}
