/** DescribeSnapshots and DeleteSnapshot. */
import { SNAPSHOT_ID_PATTERN } from '../../functions/lib/validation';
import { AwsError } from '../aws-error';
import type { SnapshotRecord } from '../state';
import { items } from '../xml';
import { type Ec2Action, type Ec2Context, malformed, requireParam } from './context';
import { compileFilters, type FilterFields } from './filters';
import { checkPageOrIds, paginate } from './pagination';
import { renderSnapshot } from './render';

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

export function findSnapshots(ctx: Ec2Context, snapshotIds: readonly string[]): SnapshotRecord[] {
  for (const id of snapshotIds) {
    if (!SNAPSHOT_ID_PATTERN.test(id)) throw malformed('InvalidSnapshotID.Malformed', id, 'snap');
  }
  const missing = snapshotIds.filter((id) => !ctx.region.snapshots.has(id));
  if (missing.length > 0) {
    throw new AwsError('InvalidSnapshot.NotFound', `The snapshot '${missing.join(', ')}' does not exist.`);
  }
  return [...new Set(snapshotIds)].flatMap((id) => {
    const snapshot = ctx.region.snapshots.get(id);
    return snapshot ? [snapshot] : [];
  });
}

export const describeSnapshots: Ec2Action = (ctx) => {
  const snapshotIds = ctx.params.list('SnapshotId');
  const owners = ctx.params.list('Owner');
  const maxResults = ctx.params.int('MaxResults');
  checkPageOrIds(maxResults, snapshotIds, 'snapshotIdsSet');
  const filter = compileFilters(ctx.params.filters(), SNAPSHOT_FILTERS, (s) => s.tags);
  const ownerTests = owners.map((owner) =>
    owner === 'self'
      ? (s: SnapshotRecord) => s.ownerId === ctx.world.accountId
      : (s: SnapshotRecord) => s.ownerId === owner || s.ownerAlias === owner,
  );
  const candidates =
    snapshotIds.length > 0 ? findSnapshots(ctx, snapshotIds) : [...ctx.region.snapshots.values()];
  ctx.dryRunCheckpoint();
  const matching = candidates.filter(
    (s) => (ownerTests.length === 0 || ownerTests.some((test) => test(s))) && filter(s),
  );
  const page = paginate('snapshots', matching, (s) => s.snapshotId, maxResults, ctx.params.get('NextToken'));
  return { snapshotSet: items(page.page.map(renderSnapshot)), nextToken: page.nextToken };
};

export const deleteSnapshot: Ec2Action = (ctx) => {
  const snapshotId = requireParam(ctx, 'SnapshotId');
  const [snapshot] = findSnapshots(ctx, [snapshotId]);
  if (!snapshot)
    throw new AwsError('InvalidSnapshot.NotFound', `The snapshot '${snapshotId}' does not exist.`);
  if (snapshot.ownerId !== ctx.world.accountId) {
    throw new AwsError('AuthFailure', `Not authorized for snapshot:${snapshotId}`);
  }
  const users = ctx.region.imagesUsingSnapshot(snapshotId);
  if (users.length > 0) {
    throw new AwsError(
      'InvalidSnapshot.InUse',
      `The snapshot ${snapshotId} is currently in use by ${users.map((i) => i.imageId).join(', ')}`,
    );
  }
  ctx.dryRunCheckpoint();
  ctx.region.snapshots.delete(snapshotId);
  return { return: true };
};
