/**
 * Retiring an AMI: refuse what is not ours, protected or in use (image-references.ts, launch
 * configurations too when their lookup is given); then deregister and delete each
 * snapshot, reporting each one, and republish what named it: the account's latest and the
 * version's own parameter, each by the latest rule without it. A dry run checks the same rules
 * and EC2's own DryRun answer, and changes nothing.
 */
import {
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
} from '@aws-sdk/client-ec2';
import { type Ami, MANAGED_BY, TAG, tagsToRecord } from './ami';
import { adoptLegacyAmi, checkDeletionAllowed, type Ec2, getAmi } from './ami-catalogue';
import type { DeleteAmiResponse, SnapshotResult } from './api-types';
import { AmiInUseError, AmiNotReadyError, AmiProtectedError, awsCall } from './errors';
import { findImageReferences, type LaunchConfigurationLookup, ownParameters } from './image-references';
import { publishLatest, publishVersionLatest, type Ssm } from './latest-ami';

export interface DeleteOptions {
  keepSnapshots: boolean;
  dryRun: boolean;
  /**
   * A copy still pending (tagged with its SourceAmiId) may be deregistered: that is how EC2
   * stops a copy. Any other pending image is refused (AmiNotReadyError) until it is available.
   */
  cancelPendingCopy?: boolean;
}

export interface DeletionSettings {
  region: string;
  latestAmiParameter: string;
  /** Where the version parameters are, when not beside the latest: the stack's own, not a use. */
  versionParameterPrefix?: string;
  listPageSize: number;
  /** DeleteSnapshot's retries while a deregistration finishes (default SNAPSHOT_RETRY). */
  snapshotRetry?: SnapshotRetry;
}

const ec2Call = <T>(call: Promise<T>): Promise<T> => awsCall('EC2', call);

/** The tag a snapshot that could not be deleted carries, naming the AMI it came from. */
export const ORPHANED_FROM_TAG = 'OrphanedFrom';

/**
 * EC2 finishes a deregistration asynchronously: for a while DeleteSnapshot answers
 * InvalidSnapshot.InUse naming the image just deregistered. Retried with exponential backoff
 * and full jitter, for at most `attempts` tries per snapshot and `budgetMs` for the whole
 * request (all its snapshots): whatever is left then is tagged, well inside the function's
 * 29-second timeout, so no snapshot is ever left neither deleted nor tagged.
 */
export interface SnapshotRetry {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  budgetMs: number;
  sleep?: (ms: number) => Promise<void>;
}

export const SNAPSHOT_RETRY: SnapshotRetry = {
  attempts: 7,
  baseDelayMs: 250,
  maxDelayMs: 4_000,
  budgetMs: 15_000,
};

const sleepMs = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Other images (registered, disabled included) made from `snapshotId`: each keeps it alive. */
async function otherHolders(ec2: Ec2, snapshotId: string, imageId: string): Promise<string[]> {
  const page = await ec2Call(
    ec2.send(
      new DescribeImagesCommand({
        Owners: ['self'],
        IncludeDisabled: true,
        Filters: [{ Name: 'block-device-mapping.snapshot-id', Values: [snapshotId] }],
      }),
    ),
  );
  return (page.Images ?? []).flatMap((i) => (i.ImageId && i.ImageId !== imageId ? [i.ImageId] : []));
}

/** Each snapshot's ManagedBy tag, or undefined when it has none (one DescribeSnapshots). */
async function snapshotManagers(
  ec2: Ec2,
  snapshotIds: readonly string[],
): Promise<Map<string, string | undefined>> {
  const managers = new Map<string, string | undefined>();
  if (snapshotIds.length === 0) return managers;
  const page = await ec2Call(ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [...snapshotIds] })));
  for (const snapshot of page?.Snapshots ?? []) {
    if (!snapshot.SnapshotId) continue;
    managers.set(snapshot.SnapshotId, tagsToRecord(snapshot.Tags)[TAG.managedBy]);
  }
  return managers;
}

/**
 * What becomes of each snapshot: kept (asked; held by another image; not tagged as this tool's),
 * or to delete. Only snapshots tagged ManagedBy=pulsar-ami are ever deleted. An untagged one
 * (a legacy image's, or any snapshot someone registered an image over) is kept and said so:
 * nothing here may tag a snapshot as ours, since the deletion rights are checked against
 * that very tag.
 */
async function planSnapshots(ec2: Ec2, ami: Ami, keep: boolean): Promise<SnapshotResult[]> {
  if (keep) return ami.snapshotIds.map((snapshotId) => ({ snapshotId, status: 'kept' }));
  const plan: SnapshotResult[] = [];
  const managers = await snapshotManagers(ec2, ami.snapshotIds);
  for (const snapshotId of ami.snapshotIds) {
    const [heldBy] = await otherHolders(ec2, snapshotId, ami.imageId);
    const manager = managers.get(snapshotId);
    if (heldBy) plan.push({ snapshotId, status: 'kept', heldBy });
    else if (manager === undefined) {
      plan.push({
        snapshotId,
        status: 'kept',
        reason: `not tagged ManagedBy=${MANAGED_BY}: not deleted (check it and delete it by hand)`,
      });
    } else if (manager !== MANAGED_BY) {
      plan.push({
        snapshotId,
        status: 'kept',
        reason: `managed by ${manager || 'another tool'} (ManagedBy tag)`,
      });
    } else {
      plan.push({ snapshotId, status: 'would-delete' });
    }
  }
  return plan;
}

const describeError = (error: unknown) => {
  const e = error as { name?: string; message?: string };
  return `${e.name ?? 'Error'}: ${e.message ?? ''}`;
};

async function deleteSnapshot(
  ec2: Ec2,
  snapshotId: string,
  retry: SnapshotRetry,
  deadline: number,
): Promise<void> {
  const sleep = retry.sleep ?? sleepMs;
  for (let attempt = 1; ; attempt++) {
    try {
      await ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }));
      return;
    } catch (error) {
      const inUse = (error as { name?: string }).name === 'InvalidSnapshot.InUse';
      const cap = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
      const delay = Math.round(Math.random() * cap);
      if (!inUse || attempt >= retry.attempts || Date.now() + delay >= deadline) throw error;
      await sleep(delay);
    }
  }
}

/** Deletes what the plan says; a snapshot that will not go is tagged for a later cleanup. */
async function deleteSnapshots(
  ec2: Ec2,
  imageId: string,
  plan: SnapshotResult[],
  retry: SnapshotRetry,
): Promise<SnapshotResult[]> {
  const results: SnapshotResult[] = [];
  const deadline = Date.now() + retry.budgetMs;
  for (const item of plan) {
    if (item.status !== 'would-delete') {
      results.push(item);
      continue;
    }
    const { snapshotId } = item;
    try {
      await deleteSnapshot(ec2, snapshotId, retry, deadline);
      results.push({ snapshotId, status: 'deleted' });
    } catch (error) {
      const reason = describeError(error);
      try {
        await ec2.send(
          new CreateTagsCommand({
            Resources: [snapshotId],
            Tags: [{ Key: ORPHANED_FROM_TAG, Value: imageId }],
          }),
        );
        results.push({ snapshotId, status: 'orphaned', error: reason });
      } catch (tagError) {
        results.push({
          snapshotId,
          status: 'failed',
          error: `${reason}; not tagged (${describeError(tagError)})`,
        });
      }
    }
  }
  return results;
}

/**
 * When the deleted AMI is the published latest, publish by the latest rule without it (or say
 * what would be published, in a dry run): the highest validated version left, or none.
 */
async function republishLatest(
  clients: { ec2: Ec2; ssm: Ssm },
  settings: DeletionSettings,
  deleted: string,
  dryRun: boolean,
): Promise<string | null | undefined> {
  const outcome = await publishLatest(clients, settings, {
    exclude: [deleted],
    onlyIfPublished: deleted,
    dryRun,
  });
  return outcome.previous === deleted ? outcome.imageId : undefined;
}

/**
 * When the deleted AMI is the one its version's parameter names (`…/versions/V/latest-ami-id`,
 * or `…/V/arm64/latest-ami-id`), point that parameter at the newest validated available AMI of
 * the same version and architecture left, or delete it when none is (or say so, in a dry run).
 */
async function republishVersion(
  clients: { ec2: Ec2; ssm: Ssm },
  settings: DeletionSettings,
  ami: Ami,
  dryRun: boolean,
): Promise<{ parameter: string; imageId: string | null } | undefined> {
  if (settings.versionParameterPrefix === undefined || ami.version === null) return undefined;
  const outcome = await publishVersionLatest(
    clients,
    { ...settings, versionParameterPrefix: settings.versionParameterPrefix },
    {
      version: ami.version,
      ...(ami.architecture !== undefined ? { architecture: ami.architecture } : {}),
      exclude: [ami.imageId],
      onlyIfPublished: ami.imageId,
      dryRun,
    },
  );
  return outcome.previous === ami.imageId
    ? { parameter: outcome.parameter, imageId: outcome.imageId }
    : undefined;
}

export async function deleteAmi(
  clients: { ec2: Ec2; ssm: Ssm; launchConfigurations?: LaunchConfigurationLookup },
  settings: DeletionSettings,
  imageId: string,
  options: DeleteOptions,
): Promise<DeleteAmiResponse> {
  const ami = await getAmi(clients.ec2, imageId, settings.region);
  const stoppableCopy = options.cancelPendingCopy === true && ami.tags[TAG.sourceAmi] !== undefined;
  if (ami.state === 'pending' && !stoppableCopy) throw new AmiNotReadyError(imageId);
  if (ami.protected) throw new AmiProtectedError(imageId, ami.protection);
  const references = await findImageReferences(clients.ec2, [imageId], {
    isOwnParameter: ownParameters(settings),
    ...(clients.launchConfigurations ? { launchConfigurations: clients.launchConfigurations } : {}),
  });
  const using = references.get(imageId) ?? [];
  if (using.length > 0) throw new AmiInUseError(imageId, using);

  const summary = { imageId, name: ami.name, state: ami.state };
  if (options.dryRun) {
    const snapshots = await planSnapshots(clients.ec2, ami, options.keepSnapshots);
    await checkDeletionAllowed(clients.ec2, ami);
    const latestRepublished = await republishLatest(clients, settings, imageId, true);
    const versionRepublished = await republishVersion(clients, settings, ami, true);
    return {
      ...summary,
      dryRun: true,
      deregistered: false,
      snapshots,
      ...(latestRepublished !== undefined ? { latestRepublished } : {}),
      ...(versionRepublished !== undefined ? { versionRepublished } : {}),
    };
  }

  const plan = await planSnapshots(clients.ec2, ami, options.keepSnapshots);
  await adoptLegacyAmi(clients.ec2, ami);
  await ec2Call(clients.ec2.send(new DeregisterImageCommand({ ImageId: imageId })));
  const retry = settings.snapshotRetry ?? SNAPSHOT_RETRY;
  const snapshots = await deleteSnapshots(clients.ec2, imageId, plan, retry);
  const latestRepublished = await republishLatest(clients, settings, imageId, false);
  const versionRepublished = await republishVersion(clients, settings, ami, false);
  return {
    ...summary,
    dryRun: false,
    deregistered: true,
    snapshots,
    ...(latestRepublished !== undefined ? { latestRepublished } : {}),
    ...(versionRepublished !== undefined ? { versionRepublished } : {}),
  };
}
