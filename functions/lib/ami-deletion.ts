/**
 * Retiring an AMI: refuse what is not ours, protected or in use; then deregister and delete
 * each snapshot, reporting each one. A dry run checks the same rules and EC2's own DryRun
 * answer, and changes nothing.
 */
import { DeleteSnapshotCommand, DeregisterImageCommand, DescribeInstancesCommand } from '@aws-sdk/client-ec2';
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

async function deleteSnapshots(ec2: Ec2, ami: Ami, keep: boolean): Promise<SnapshotResult[]> {
  const results: SnapshotResult[] = [];
  for (const snapshotId of ami.snapshotIds) {
    if (keep) {
      results.push({ snapshotId, status: 'kept' });
      continue;
    }
    try {
      await ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }));
      results.push({ snapshotId, status: 'deleted' });
    } catch (error) {
      const e = error as { name?: string; message?: string };
      results.push({ snapshotId, status: 'failed', error: `${e.name ?? 'Error'}: ${e.message ?? ''}` });
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
    const status = options.keepSnapshots ? 'kept' : 'would-delete';
    const latestRepublished = await republishLatest(clients, settings, imageId, true);
    return {
      ...summary,
      dryRun: true,
      deregistered: false,
      snapshots: ami.snapshotIds.map((snapshotId) => ({ snapshotId, status })),
      ...(latestRepublished !== undefined ? { latestRepublished } : {}),
    };
  }

  await adoptLegacyAmi(clients.ec2, ami);
  await ec2Call(clients.ec2.send(new DeregisterImageCommand({ ImageId: imageId })));
  const snapshots = await deleteSnapshots(clients.ec2, ami, options.keepSnapshots);
  const latestRepublished = await republishLatest(clients, settings, imageId, false);
  return {
    ...summary,
    dryRun: false,
    deregistered: true,
    snapshots,
    ...(latestRepublished !== undefined ? { latestRepublished } : {}),
  };
}
