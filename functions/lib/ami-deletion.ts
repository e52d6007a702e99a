/**
 * Retiring an AMI: refuse what is not ours, protected or in use; then deregister and delete
 * each snapshot, reporting each one. A dry run checks the same rules and EC2's own DryRun
 * answer, and changes nothing.
 */
import {
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
} from '@aws-sdk/client-ec2';
import type { Ami } from './ami';
import { adoptLegacyAmi, checkDeletionAllowed, type Ec2, getAmi } from './ami-catalogue';
import type { DeleteAmiResponse, SnapshotResult } from './api-types';
import { AmiInUseError, AmiNotReadyError, AmiProtectedError, awsCall } from './errors';
import { publishLatest, readPublishedLatest, type Ssm } from './latest-ami';

/** Every state in which an instance still holds on to its AMI. */
export const LIVE_INSTANCE_STATES = ['pending', 'running', 'shutting-down', 'stopping', 'stopped'];

export interface DeleteOptions {
  keepSnapshots: boolean;
  dryRun: boolean;
}

export interface DeletionSettings {
  region: string;
  latestAmiParameter: string;
  listPageSize: number;
  /** DeleteSnapshot's retries while a deregistration finishes (default SNAPSHOT_RETRY). */
  snapshotRetry?: SnapshotRetry;
}

const ec2Call = <T>(call: Promise<T>): Promise<T> => awsCall('EC2', call);

export async function instancesUsing(ec2: Ec2, imageId: string): Promise<string[]> {
  const ids: string[] = [];
  let NextToken: string | undefined;
  do {
    const page = await ec2Call(
      ec2.send(
        new DescribeInstancesCommand({
          Filters: [
            { Name: 'image-id', Values: [imageId] },
            { Name: 'instance-state-name', Values: LIVE_INSTANCE_STATES },
          ],
          MaxResults: 1000,
          NextToken,
        }),
      ),
    );
    for (const reservation of page.Reservations ?? []) {
      for (const instance of reservation.Instances ?? []) {
        if (instance.InstanceId) ids.push(instance.InstanceId);
      }
    }
    NextToken = page.NextToken;
  } while (NextToken);
  return ids;
}

/** The tag a snapshot that could not be deleted carries, naming the AMI it came from. */
export const ORPHANED_FROM_TAG = 'OrphanedFrom';

/**
 * EC2 finishes a deregistration asynchronously: for a while DeleteSnapshot answers
 * InvalidSnapshot.InUse naming the image just deregistered. Retried with exponential backoff
 * and full jitter, for at most `attempts` tries.
 */
export interface SnapshotRetry {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  sleep?: (ms: number) => Promise<void>;
}

export const SNAPSHOT_RETRY: SnapshotRetry = { attempts: 7, baseDelayMs: 250, maxDelayMs: 4_000 };

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

/** What becomes of each snapshot: kept (asked, or held by another image), or to delete. */
async function planSnapshots(ec2: Ec2, ami: Ami, keep: boolean): Promise<SnapshotResult[]> {
  const plan: SnapshotResult[] = [];
  for (const snapshotId of ami.snapshotIds) {
    if (keep) {
      plan.push({ snapshotId, status: 'kept' });
      continue;
    }
    const [heldBy] = await otherHolders(ec2, snapshotId, ami.imageId);
    plan.push(heldBy ? { snapshotId, status: 'kept', heldBy } : { snapshotId, status: 'would-delete' });
  }
  return plan;
}

const describeError = (error: unknown) => {
  const e = error as { name?: string; message?: string };
  return `${e.name ?? 'Error'}: ${e.message ?? ''}`;
};

async function deleteSnapshot(ec2: Ec2, snapshotId: string, retry: SnapshotRetry): Promise<void> {
  const sleep = retry.sleep ?? sleepMs;
  for (let attempt = 1; ; attempt++) {
    try {
      await ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }));
      return;
    } catch (error) {
      const inUse = (error as { name?: string }).name === 'InvalidSnapshot.InUse';
      if (!inUse || attempt >= retry.attempts) throw error;
      const cap = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
      await sleep(Math.round(Math.random() * cap));
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
  for (const item of plan) {
    if (item.status !== 'would-delete') {
      results.push(item);
      continue;
    }
    const { snapshotId } = item;
    try {
      await deleteSnapshot(ec2, snapshotId, retry);
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
  const published = await readPublishedLatest(clients.ssm, settings.latestAmiParameter);
  if (published !== deleted) return undefined;
  const outcome = await publishLatest(clients, settings, { exclude: [deleted], dryRun });
  return outcome.imageId;
}

export async function deleteAmi(
  clients: { ec2: Ec2; ssm: Ssm },
  settings: DeletionSettings,
  imageId: string,
  options: DeleteOptions,
): Promise<DeleteAmiResponse> {
  const ami = await getAmi(clients.ec2, imageId, settings.region);
  if (ami.state === 'pending') throw new AmiNotReadyError(imageId);
  if (ami.protected) throw new AmiProtectedError(imageId, ami.protection);
  const users = await instancesUsing(clients.ec2, imageId);
  if (users.length > 0) throw new AmiInUseError(imageId, users);

  const summary = { imageId, name: ami.name, state: ami.state };
  if (options.dryRun) {
    await checkDeletionAllowed(clients.ec2, ami);
    const snapshots = await planSnapshots(clients.ec2, ami, options.keepSnapshots);
    const latestRepublished = await republishLatest(clients, settings, imageId, true);
    return {
      ...summary,
      dryRun: true,
      deregistered: false,
      snapshots,
      ...(latestRepublished !== undefined ? { latestRepublished } : {}),
    };
  }

  const plan = await planSnapshots(clients.ec2, ami, options.keepSnapshots);
  await adoptLegacyAmi(clients.ec2, ami);
  await ec2Call(clients.ec2.send(new DeregisterImageCommand({ ImageId: imageId })));
  const retry = settings.snapshotRetry ?? SNAPSHOT_RETRY;
  const snapshots = await deleteSnapshots(clients.ec2, imageId, plan, retry);
  const latestRepublished = await republishLatest(clients, settings, imageId, false);
  return {
    ...summary,
    dryRun: false,
    deregistered: true,
    snapshots,
    ...(latestRepublished !== undefined ? { latestRepublished } : {}),
  };
}
