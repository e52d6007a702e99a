/**
 * The images of a build: the one a build may skip to (already built), the ones a failed build
 * left behind, and their deletion. Deletion goes through ami-deletion.ts (deregister, then each
 * snapshot) and only ever reaches this tool's images tagged with the failing execution, never
 * the published latest.
 */
import { type Ami, chooseLatest, TAG } from './ami';
import { type Ec2, getAmi, scanAmis } from './ami-catalogue';
import { type DeletionSettings, deleteAmi } from './ami-deletion';
import type { SnapshotResult } from './api-types';
import { AmiNotFoundError, AmiNotManagedError, AmiProtectedError } from './errors';
import { readPublishedLatest, type Ssm } from './latest-ami';

export interface ImageQuery {
  version: string;
  architecture: string;
}

/**
 * The newest available, validated AMI of this tool for the version and architecture (the
 * latest rule's order within one version: creation time), or null. EC2 filters on the version
 * and Validated tags, so only that version's validated images are read, however many the
 * account holds; the rule is still applied to what comes back.
 */
export async function findExistingAmi(ec2: Ec2, pageSize: number, query: ImageQuery): Promise<Ami | null> {
  const amis = await scanAmis(ec2, pageSize, [
    { Name: 'state', Values: ['available'] },
    { Name: 'architecture', Values: [query.architecture] },
    { Name: `tag:${TAG.version}`, Values: [query.version] },
    { Name: `tag:${TAG.validated}`, Values: ['true'] },
  ]);
  return chooseLatest(amis, { version: query.version, architecture: query.architecture }) ?? null;
}

/** This tool's images (any state) tagged with the build execution's ARN. */
export async function findBuildAmis(ec2: Ec2, pageSize: number, executionArn: string): Promise<string[]> {
  return (await buildAmis(ec2, pageSize, executionArn)).map((ami) => ami.imageId);
}

async function buildAmis(ec2: Ec2, pageSize: number, executionArn: string): Promise<Ami[]> {
  const amis = await scanAmis(ec2, pageSize, [{ Name: `tag:${TAG.buildExecution}`, Values: [executionArn] }]);
  return amis.filter((ami) => ami.tags[TAG.buildExecution] === executionArn);
}

export interface FailedAmiDeletion {
  deleted: { imageId: string; snapshots: SnapshotResult[] }[];
  /** Images left as they are, and why (not this build's, published, protected, gone). */
  kept: { imageId: string; reason: string }[];
}

/**
 * Deletes the images a failed build or validation left: each one only when it is this tool's,
 * tagged with `executionArn` and not the published latest. An image still in use (the test
 * instance is terminating) or still pending fails the call (AmiInUseError, AmiNotReadyError),
 * so the state machine retries it; images already deleted are then reported gone.
 */
export async function deleteFailedAmis(
  clients: { ec2: Ec2; ssm: Ssm },
  settings: DeletionSettings,
  request: { imageIds: readonly string[]; executionArn: string; cancelPendingCopies?: boolean },
): Promise<FailedAmiDeletion> {
  const result: FailedAmiDeletion = { deleted: [], kept: [] };
  const published = await readPublishedLatest(clients.ssm, settings.latestAmiParameter);
  for (const imageId of new Set(request.imageIds)) {
    let ami: Ami;
    try {
      ami = await getAmi(clients.ec2, imageId, settings.region);
    } catch (error) {
      if (error instanceof AmiNotFoundError) {
        result.kept.push({ imageId, reason: 'already gone' });
        continue;
      }
      if (error instanceof AmiNotManagedError) {
        result.kept.push({ imageId, reason: 'not a pulsar-ami image' });
        continue;
      }
      throw error;
    }
    if (ami.tags[TAG.buildExecution] !== request.executionArn) {
      result.kept.push({ imageId, reason: `not built by this execution (${TAG.buildExecution} differs)` });
    } else if (imageId === published) {
      result.kept.push({ imageId, reason: 'the published latest AMI' });
    } else {
      try {
        const deleted = await deleteAmi(clients, settings, imageId, {
          keepSnapshots: false,
          dryRun: false,
          cancelPendingCopy: request.cancelPendingCopies === true,
        });
        result.deleted.push({ imageId, snapshots: deleted.snapshots });
      } catch (error) {
        if (!(error instanceof AmiProtectedError)) throw error;
        result.kept.push({ imageId, reason: error.message });
      }
    }
  }
  return result;
}

/**
 * The safety net's part for images: a BuildAmi execution that failed, timed out or was aborted
 * ran no Catch (or its Catch failed), so the images it registered are found by its
 * BuildExecutionArn tag and deleted like a failed build's, except a validated one: an
 * execution stopped after Publish AMI (while copying) keeps the image it published.
 */
export async function deleteAbandonedBuildAmis(
  clients: { ec2: Ec2; ssm: Ssm },
  settings: DeletionSettings,
  executionArn: string,
): Promise<FailedAmiDeletion> {
  const ours = await buildAmis(clients.ec2, settings.listPageSize, executionArn);
  const validated = ours.filter((ami) => ami.validated === true);
  const result = await deleteFailedAmis(clients, settings, {
    imageIds: ours.filter((ami) => ami.validated !== true).map((ami) => ami.imageId),
    executionArn,
  });
  result.kept.push(...validated.map((ami) => ({ imageId: ami.imageId, reason: 'validated (published)' })));
  return result;
}
