/**
 * Carrying out a cleanup plan, one item at a time (the CleanupAmis machine's Map items): an AMI
 * deprecated (EnableImageDeprecation), disabled (DisableImage) or deleted (ami-deletion.ts
 * deleteAmi, which checks protection and use again at that moment and republishes what named
 * it), and an orphaned snapshot deleted. Each item is checked again first, whatever the plan
 * said: never a published AMI (the account's latest or its version's), a protected one, one in
 * use, one launched within D days or younger than the minimum age (EC2's LastLaunchedTime and
 * creation date, from a fresh DescribeImages, by the plan's settings), or one that is not this tool's; never a snapshot the orphan rule does not find orphaned
 * (orphaned-snapshots.ts: the OrphanedFrom tag alone is not enough).
 *
 * Throttling (AwsThrottledError) and a snapshot still in use (SnapshotInUseError) are thrown by
 * name, so the machine's Retry tries the item again; a delete is safe to try again: an image
 * already deregistered by an earlier attempt has its snapshots that the attempt tagged
 * OrphanedFrom deleted now.
 */
import {
  DeleteSnapshotCommand,
  DescribeSnapshotsCommand,
  DisableImageCommand,
  EnableImageDeprecationCommand,
  type Image,
} from '@aws-sdk/client-ec2';
import { type Ami, tagsToRecord } from './ami';
import { adoptLegacyAmi, type Ec2, getToolImage } from './ami-catalogue';
import { type DeletionSettings, deleteAmi, ORPHANED_FROM_TAG, type SnapshotRetry } from './ami-deletion';
import { type CleanupPlan, type CleanupSettings, cleanupImageOf, recentReasons } from './cleanup-plan';
import {
  AmiInUseError,
  AmiNotFoundError,
  AmiNotManagedError,
  AmiNotReadyError,
  AmiProtectedError,
  AwsThrottledError,
  awsCall,
  fromAwsError,
  ProblemError,
} from './errors';
import { findImageReferences, ownParameters } from './image-references';
import { readPublishedLatest, type Ssm, versionParameterName } from './latest-ami';
import { type AutoScaling, launchConfigurationLookup } from './launch-configurations';
import { judgeOrphans } from './orphaned-snapshots';

/** 409: EC2 still holds the snapshot for an image (a deregistration finishing, or another image). */
export class SnapshotInUseError extends ProblemError {
  override name = 'SnapshotInUseError';
  readonly status = 409;
  readonly title = 'Snapshot in use';
  constructor(
    readonly snapshotIds: string[],
    detail: string,
  ) {
    super(`Snapshot(s) ${snapshotIds.join(', ')} still in use: ${detail}`);
    this.extensions.snapshotIds = snapshotIds;
  }
}

export type RetireAction = 'deprecate' | 'disable' | 'delete';

/** One Map item of the machine: an AMI and what the plan does to it. */
export interface RetireItem {
  imageId: string;
  action: RetireAction;
  /** The image's snapshots, as planned (a retried delete finds them by these). */
  snapshotIds?: string[];
  /** Their size, as planned: what deleting them reclaims. */
  sizeGiB?: number;
}

export interface RetireResult {
  imageId: string;
  action: RetireAction;
  outcome: 'done' | 'skipped' | 'failed';
  detail: string;
  snapshots: { deleted: string[]; kept: string[] };
  /** The GiB of snapshots this item deleted. */
  reclaimedGiB: number;
}

/** One orphaned snapshot to delete. */
export interface SnapshotItem {
  snapshotId: string;
  /** The OrphanedFrom tag's value, as planned. */
  orphanedFrom?: string;
  sizeGiB?: number;
}

export interface SnapshotResult {
  snapshotId: string;
  outcome: 'done' | 'skipped' | 'failed';
  detail: string;
  reclaimedGiB: number;
}

export interface RetireSettings
  extends DeletionSettings,
    Pick<CleanupSettings, 'minAgeDays' | 'lastLaunchedWithinDays'> {
  versionParameterPrefix: string;
}

/**
 * DeleteSnapshot's own retries inside one item, short (the machine's Retry waits longer): what
 * is left is tagged OrphanedFrom and the item fails by name for the machine to retry.
 */
export const RETIRE_SNAPSHOT_RETRY: SnapshotRetry = {
  attempts: 3,
  baseDelayMs: 250,
  maxDelayMs: 1_000,
  budgetMs: 3_000,
};

const ec2Call = <T>(call: Promise<T>): Promise<T> => awsCall('EC2', call);

/** EC2 takes whole minutes and no time in the past: the next whole minute. */
export function deprecateAtFor(now: Date): Date {
  return new Date(Math.ceil((now.getTime() + 1) / 60_000) * 60_000);
}

/** The parameter that publishes the AMI (the account's latest, its version's), or null. */
export async function publishedAs(
  ssm: Ssm,
  settings: Pick<RetireSettings, 'latestAmiParameter' | 'versionParameterPrefix'>,
  ami: Pick<Ami, 'imageId' | 'version' | 'architecture'>,
): Promise<string | null> {
  const names = [settings.latestAmiParameter];
  if (ami.version !== null) {
    names.push(versionParameterName(settings.versionParameterPrefix, ami.version, ami.architecture));
  }
  for (const name of names) if ((await readPublishedLatest(ssm, name)) === ami.imageId) return name;
  return null;
}

const result = (
  item: RetireItem,
  outcome: RetireResult['outcome'],
  detail: string,
  snapshots: RetireResult['snapshots'] = { deleted: [], kept: [] },
  reclaimedGiB = 0,
): RetireResult => ({ imageId: item.imageId, action: item.action, outcome, detail, snapshots, reclaimedGiB });

/** The snapshots among `ids` that exist, with their tags (snapshot-id filter: no NotFound for a gone one). */
async function describeSnapshots(ec2: Ec2, ids: readonly string[]) {
  if (ids.length === 0) return [];
  const page = await ec2Call(
    ec2.send(
      new DescribeSnapshotsCommand({
        OwnerIds: ['self'],
        Filters: [{ Name: 'snapshot-id', Values: [...ids] }],
      }),
    ),
  );
  return page.Snapshots ?? [];
}

/** DeleteSnapshot: gone already is fine; in use is SnapshotInUseError; throttling AwsThrottledError. */
async function deleteSnapshotNow(ec2: Ec2, snapshotId: string): Promise<'deleted' | 'gone'> {
  try {
    await ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }));
    return 'deleted';
  } catch (error) {
    const e = error as { name?: string; message?: string };
    if (e.name === 'InvalidSnapshot.NotFound') return 'gone';
    if (e.name === 'InvalidSnapshot.InUse') throw new SnapshotInUseError([snapshotId], e.message ?? '');
    throw fromAwsError('EC2', error);
  }
}

/**
 * Deletes one orphaned snapshot, judged again just before DeleteSnapshot by the orphan rule
 * (orphaned-snapshots.ts: ManagedBy=pulsar-ami, EC2's description naming the AMI its
 * OrphanedFrom tag names, that AMI gone, no image using it), and tagged OrphanedFrom with the
 * planned value when `orphanedFrom` is given.
 */
export async function deleteOrphanedSnapshot(ec2: Ec2, item: SnapshotItem): Promise<SnapshotResult> {
  const { snapshotId } = item;
  const done = (outcome: SnapshotResult['outcome'], detail: string, reclaimedGiB = 0): SnapshotResult => ({
    snapshotId,
    outcome,
    detail,
    reclaimedGiB,
  });
  const [snapshot] = await describeSnapshots(ec2, [snapshotId]);
  if (!snapshot) return done('skipped', 'already gone');
  const from = tagsToRecord(snapshot.Tags)[ORPHANED_FROM_TAG];
  if (item.orphanedFrom !== undefined && from !== item.orphanedFrom) {
    return done('skipped', `not tagged ${ORPHANED_FROM_TAG}=${item.orphanedFrom} any more; kept`);
  }
  const [verdict] = await judgeOrphans(ec2, [snapshot]);
  if (!verdict?.orphaned) return done('skipped', `${verdict?.reason ?? 'not orphaned'}; kept`);
  const outcome = await deleteSnapshotNow(ec2, snapshotId);
  return outcome === 'gone'
    ? done('skipped', 'already gone')
    : done('done', `deleted (${verdict.reason})`, snapshot.VolumeSize ?? item.sizeGiB ?? 0);
}

/**
 * A delete tried again after an earlier attempt deregistered the image: its snapshots that the
 * attempt tagged OrphanedFrom=<image> are deleted now.
 */
async function finishDeletedImage(ec2: Ec2, item: RetireItem): Promise<RetireResult> {
  const planned = item.snapshotIds ?? [];
  const existing = await describeSnapshots(ec2, planned);
  const deleted: string[] = planned.filter((id) => !existing.some((s) => s.SnapshotId === id));
  const kept: string[] = [];
  const told: { snapshotId: string; status: string; reason?: string }[] = deleted.map((snapshotId) => ({
    snapshotId,
    status: 'deleted',
  }));
  for (const snapshot of existing) {
    const id = snapshot.SnapshotId ?? '';
    const outcome = await deleteOrphanedSnapshot(ec2, { snapshotId: id, orphanedFrom: item.imageId });
    if (outcome.outcome === 'done') {
      deleted.push(id);
      told.push({ snapshotId: id, status: 'deleted' });
    } else {
      kept.push(id);
      told.push({ snapshotId: id, status: 'kept', reason: outcome.detail.replace(/; kept$/, '') });
    }
  }
  const share = planned.length === 0 ? 0 : deleted.length / planned.length;
  return result(
    item,
    'done',
    `deregistered by an earlier attempt; ${snapshotsPhrase(told)}`,
    { deleted, kept },
    (item.sizeGiB ?? 0) * share,
  );
}

async function deprecateOrDisable(
  clients: { ec2: Ec2; autoScaling?: AutoScaling },
  settings: RetireSettings,
  item: RetireItem,
  image: Image,
  ami: Ami,
  now: Date,
): Promise<RetireResult> {
  if (ami.protected) return result(item, 'skipped', `protected by ${ami.protection}; kept`);
  const refs = (
    await findImageReferences(clients.ec2, [ami.imageId], {
      isOwnParameter: ownParameters(settings),
      ...(clients.autoScaling
        ? { launchConfigurations: launchConfigurationLookup(clients.autoScaling) }
        : {}),
    })
  ).get(ami.imageId);
  if (refs && refs.length > 0) {
    return result(item, 'skipped', `in use: ${refs.map((r) => r.detail).join('; ')}; kept`);
  }
  if (ami.state !== 'available') return result(item, 'skipped', `${ami.state} already`);
  if (
    item.action === 'deprecate' &&
    image.DeprecationTime &&
    Date.parse(image.DeprecationTime) <= now.getTime()
  ) {
    return result(item, 'skipped', `deprecated already (since ${image.DeprecationTime})`);
  }
  await adoptLegacyAmi(clients.ec2, ami);
  if (item.action === 'deprecate') {
    const at = deprecateAtFor(now);
    await ec2Call(
      clients.ec2.send(new EnableImageDeprecationCommand({ ImageId: ami.imageId, DeprecateAt: at })),
    );
    return result(item, 'done', `deprecated from ${at.toISOString()}`);
  }
  await ec2Call(clients.ec2.send(new DisableImageCommand({ ImageId: ami.imageId })));
  return result(item, 'done', 'disabled (restore enables it again)');
}

const leftoverError = (snapshots: { snapshotId: string; error?: string }[]): Error | null => {
  const inUse = snapshots.filter((s) => s.error?.startsWith('InvalidSnapshot.InUse'));
  if (inUse.length > 0) {
    return new SnapshotInUseError(
      inUse.map((s) => s.snapshotId),
      'tagged OrphanedFrom; the retry deletes them',
    );
  }
  const throttled = snapshots.find((s) => /RequestLimitExceeded|Throttl/.test(s.error ?? ''));
  return throttled ? new AwsThrottledError('EC2', 'RequestLimitExceeded') : null;
};

/**
 * What became of a deleted image's snapshots, exactly: `its 2 snapshots deleted`, `1 snapshot
 * deleted; 1 kept: snap-… (not tagged ManagedBy=pulsar-ami: …)`, `no snapshots`.
 */
export function snapshotsPhrase(
  snapshots: readonly {
    snapshotId: string;
    status: string;
    heldBy?: string;
    reason?: string;
    error?: string;
  }[],
): string {
  if (snapshots.length === 0) return 'no snapshots';
  const deleted = snapshots.filter((s) => s.status === 'deleted');
  const kept = snapshots.filter((s) => s.status !== 'deleted');
  const count = (n: number) => `${n} snapshot${n === 1 ? '' : 's'}`;
  if (kept.length === 0) return `its ${count(deleted.length)} deleted`;
  const why = (s: (typeof kept)[number]) =>
    s.heldBy ? `used by ${s.heldBy}` : s.reason ? s.reason : s.error ? `${s.status}: ${s.error}` : s.status;
  const keptPhrase = kept.map((s) => `${s.snapshotId} (${why(s)})`).join('; ');
  return `${count(deleted.length)} deleted; ${kept.length} kept: ${keptPhrase}`;
}

async function deleteNow(
  clients: { ec2: Ec2; ssm: Ssm; autoScaling?: AutoScaling },
  settings: RetireSettings,
  item: RetireItem,
): Promise<RetireResult> {
  let deleted: Awaited<ReturnType<typeof deleteAmi>>;
  try {
    deleted = await deleteAmi(
      {
        ec2: clients.ec2,
        ssm: clients.ssm,
        ...(clients.autoScaling
          ? { launchConfigurations: launchConfigurationLookup(clients.autoScaling) }
          : {}),
      },
      { ...settings, snapshotRetry: settings.snapshotRetry ?? RETIRE_SNAPSHOT_RETRY },
      item.imageId,
      { keepSnapshots: false, dryRun: false },
    );
  } catch (error) {
    if (error instanceof AmiInUseError) {
      return result(item, 'skipped', `in use: ${error.references.map((r) => r.detail).join('; ')}; kept`);
    }
    if (error instanceof AmiProtectedError) {
      return result(item, 'skipped', `protected by ${String(error.extensions.protection)}; kept`);
    }
    if (error instanceof AmiNotReadyError)
      return result(item, 'skipped', 'still being created (pending); kept');
    throw error;
  }
  const left = deleted.snapshots.filter((s) => s.status === 'orphaned' || s.status === 'failed');
  const error = leftoverError(left);
  if (error) throw error;
  const gone = deleted.snapshots.filter((s) => s.status === 'deleted').map((s) => s.snapshotId);
  const kept = deleted.snapshots.filter((s) => s.status !== 'deleted').map((s) => s.snapshotId);
  const total = deleted.snapshots.length;
  const detail = `deregistered; ${snapshotsPhrase(deleted.snapshots)}`;
  return result(
    item,
    'done',
    detail,
    { deleted: gone, kept },
    total === 0 ? 0 : ((item.sizeGiB ?? 0) * gone.length) / total,
  );
}

/** Carries out one Map item (see the file's comment). */
export async function retireAmi(
  clients: { ec2: Ec2; ssm: Ssm; autoScaling?: AutoScaling },
  settings: RetireSettings,
  item: RetireItem,
  now: Date = new Date(),
): Promise<RetireResult> {
  let found: { image: Image; ami: Ami };
  try {
    found = await getToolImage(clients.ec2, item.imageId, settings.region);
  } catch (error) {
    if (error instanceof AmiNotFoundError) {
      return item.action === 'delete' && (item.snapshotIds?.length ?? 0) > 0
        ? finishDeletedImage(clients.ec2, item)
        : result(item, 'skipped', 'already gone');
    }
    if (error instanceof AmiNotManagedError)
      return result(item, 'skipped', 'not a pulsar-ami image; left as it is');
    throw error;
  }
  const published = await publishedAs(clients.ssm, settings, found.ami);
  if (published) return result(item, 'skipped', `published as ${published}; kept`);
  // Launched (or made) since the plan: the fresh DescribeImages says so, with the plan's settings.
  const recent = recentReasons(cleanupImageOf(found.image, found.ami), settings, now);
  if (recent.length > 0) return result(item, 'skipped', `${recent.join('; ')}; kept`);
  if (item.action === 'delete') return deleteNow(clients, settings, item);
  return deprecateOrDisable(clients, settings, item, found.image, found.ami, now);
}

/** What a run did, from its results: the report the machine ends with. */
export interface CleanupReport {
  retired: number;
  failed: number;
  skipped: number;
  orphanedSnapshotsDeleted: number;
  orphanedSnapshotsFailed: number;
  /** Images planned for retirement that this run left for the next (the per-run limit). */
  deferred: number;
  reclaimedGiB: number;
  monthlySavingUsd: number;
  /** Only when the run planned nothing because another cleanup was running: which, in words. */
  skippedBecause?: string;
}

export function reportCleanup(input: {
  results: readonly Pick<RetireResult, 'outcome' | 'reclaimedGiB'>[];
  orphanedSnapshotResults: readonly Pick<SnapshotResult, 'outcome' | 'reclaimedGiB'>[];
  pricePerGbMonth: number;
  deferred?: number;
  skippedBecause?: string | null;
}): CleanupReport {
  const count = (outcome: RetireResult['outcome']) =>
    input.results.filter((r) => r.outcome === outcome).length;
  const reclaimed =
    input.results.reduce((sum, r) => sum + (r.outcome === 'done' ? r.reclaimedGiB : 0), 0) +
    input.orphanedSnapshotResults.reduce((sum, r) => sum + (r.outcome === 'done' ? r.reclaimedGiB : 0), 0);
  const reclaimedGiB = Math.round(reclaimed * 100) / 100;
  return {
    retired: count('done'),
    failed: count('failed'),
    skipped: count('skipped'),
    orphanedSnapshotsDeleted: input.orphanedSnapshotResults.filter((r) => r.outcome === 'done').length,
    orphanedSnapshotsFailed: input.orphanedSnapshotResults.filter((r) => r.outcome === 'failed').length,
    deferred: input.deferred ?? 0,
    reclaimedGiB,
    monthlySavingUsd: Math.round(reclaimedGiB * input.pricePerGbMonth * 100) / 100,
    ...(input.skippedBecause ? { skippedBecause: input.skippedBecause } : {}),
  };
}

/**
 * Step Functions carries at most 256 KiB from state to state: a run retires at most this many
 * AMIs and deletes at most this many orphaned snapshots (the oldest first); the next run goes on.
 */
export const MAX_ITEMS_PER_RUN = 200;

/** The plan's own size in the machine at most (its results need the rest). */
export const MACHINE_PLAN_BUDGET_BYTES = 120_000;

export interface MachinePlan {
  plan: CleanupPlan;
  retirements: RetireItem[];
  snapshotDeletions: SnapshotItem[];
  /** AMIs and snapshots planned but left for the next run (MAX_ITEMS_PER_RUN). */
  deferred: number;
  pricePerGbMonth: number;
  /** Why this run plans nothing (another cleanup is running), or null. */
  skippedBecause: string | null;
}

/**
 * The plan as the machine carries it: the items of this run (at most MAX_ITEMS_PER_RUN of each,
 * oldest first), and the plan itself, without its kept decisions when it would not fit.
 */
export function machinePlan(plan: CleanupPlan, skippedBecause: string | null = null): MachinePlan {
  const toRetire = plan.decisions.filter((d) => d.action !== 'keep').reverse();
  const orphans = plan.orphanedSnapshots.filter((s) => s.action === 'delete');
  const retirements: RetireItem[] = toRetire.slice(0, MAX_ITEMS_PER_RUN).map((d) => ({
    imageId: d.imageId,
    action: d.action as RetireAction,
    snapshotIds: d.snapshotIds,
    sizeGiB: d.sizeGiB,
  }));
  const snapshotDeletions: SnapshotItem[] = orphans.slice(0, MAX_ITEMS_PER_RUN).map((s) => ({
    snapshotId: s.snapshotId,
    orphanedFrom: s.orphanedFrom,
    sizeGiB: s.sizeGiB,
  }));
  const deferred =
    Math.max(0, toRetire.length - MAX_ITEMS_PER_RUN) + Math.max(0, orphans.length - MAX_ITEMS_PER_RUN);
  let carried = plan;
  if (JSON.stringify(plan).length > MACHINE_PLAN_BUDGET_BYTES) {
    const kept = plan.decisions.filter((d) => d.action === 'keep');
    carried = {
      ...plan,
      decisions: plan.decisions.filter((d) => d.action !== 'keep').slice(-MAX_ITEMS_PER_RUN),
      keptDecisionsOmitted: kept.length,
    };
  }
  return {
    plan: carried,
    retirements,
    snapshotDeletions,
    deferred,
    pricePerGbMonth: plan.settings.pricePerGbMonth,
    skippedBecause,
  };
}
