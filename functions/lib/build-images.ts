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
import { versionParameterName } from './build-publishing';
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

/** What Delete Failed AMI may delete. */
export interface FailedAmiRequest {
  imageIds: readonly string[];
  executionArn: string;
  /**
   * A failed copy in its region: only a copy (tagged SourceAmiId) is deleted, validated or not
   * (Publish In Region tags it first), and one still pending is deregistered, which stops it.
   * Otherwise (the build's own image) a validated image is never deleted.
   */
  copies?: boolean;
  /** Where the version parameters are (`{prefix}/{version}/…`): an image one names is kept. */
  versionParameterPrefix?: string;
}

/**
 * Deletes the images a failed build or validation left: each one only when it is this tool's,
 * tagged with `executionArn`, not validated (or, for copies, a copy), and not named by the
 * region's latest or its version's parameter. An image still in use (the test instance is
 * terminating) or still pending fails the call (AmiInUseError, AmiNotReadyError), so the state
 * machine retries it; images already deleted are then reported gone.
 */
export async function deleteFailedAmis(
  clients: { ec2: Ec2; ssm: Ssm },
  settings: DeletionSettings,
  request: FailedAmiRequest,
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
    const reason = await keepReason(clients.ssm, ami, published, request);
    if (reason) {
      result.kept.push({ imageId, reason });
      continue;
    }
    try {
      const deleted = await deleteAmi(clients, settings, imageId, {
        keepSnapshots: false,
        dryRun: false,
        cancelPendingCopy: request.copies === true,
      });
      result.deleted.push({ imageId, snapshots: deleted.snapshots });
    } catch (error) {
      if (!(error instanceof AmiProtectedError)) throw error;
      result.kept.push({ imageId, reason: error.message });
    }
  }
  return result;
}

/** Why a failed build's image must stay, or null when it may go. */
async function keepReason(
  ssm: Ssm,
  ami: Ami,
  published: string | null,
  request: FailedAmiRequest,
): Promise<string | null> {
  if (ami.tags[TAG.buildExecution] !== request.executionArn) {
    return `not built by this execution (${TAG.buildExecution} differs)`;
  }
  if (ami.imageId === published) return 'the published latest AMI';
  if (request.copies === true) {
    if (ami.tags[TAG.sourceAmi] === undefined) return `not a copy (no ${TAG.sourceAmi} tag)`;
  } else if (ami.validated === true) {
    return 'validated';
  }
  if (request.versionParameterPrefix !== undefined && ami.version !== null) {
    const name = versionParameterName(request.versionParameterPrefix, ami.version, ami.architecture);
    if ((await readPublishedLatest(ssm, name)) === ami.imageId) return `published as ${name}`;
  }
  return null;
}

/** One region's part of an abandoned build's clean-up. */
export interface RegionDeletion extends FailedAmiDeletion {
  region: string;
}

/**
 * The safety net's part for images: a BuildAmi execution that failed, timed out or was aborted
 * ran no Catch (or its Catch failed), so the images it registered are found by its
 * BuildExecutionArn tag, at home and in each region it was copying to, and deleted as Delete
 * Failed AMI and Delete Failed Copy delete them: never a validated home image (an execution
 * stopped while copying keeps what it published), never an image a parameter names.
 */
export async function deleteAbandonedBuildAmis(
  clientsIn: (region: string) => { ec2: Ec2; ssm: Ssm },
  settings: DeletionSettings & { versionParameterPrefix: string },
  request: { executionArn: string; copyRegions: readonly string[] },
): Promise<RegionDeletion[]> {
  const { executionArn, versionParameterPrefix } = { ...request, ...settings };
  const regions = [settings.region, ...new Set(request.copyRegions.filter((r) => r !== settings.region))];
  const results: RegionDeletion[] = [];
  for (const region of regions) {
    const clients = clientsIn(region);
    const ours = await buildAmis(clients.ec2, settings.listPageSize, executionArn);
    const deletion = await deleteFailedAmis(
      clients,
      { ...settings, region },
      {
        imageIds: ours.map((ami) => ami.imageId),
        executionArn,
        copies: region !== settings.region,
        versionParameterPrefix,
      },
    );
    results.push({ region, ...deletion });
  }
  return results;
}
