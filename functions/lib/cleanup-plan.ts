/**
 * The cleanup plan: which of this tool's AMIs to keep, deprecate, disable or delete, and why.
 * Reads only (zero mutating calls).
 *
 * This is the plan's contract (types and functions) with a simple planner: the newest N and
 * the published latest are kept, protected images are kept, the rest is deleted. The full
 * rules (validated, minimum age, launched within D days, in use, stages, orphaned snapshots)
 * are the planning core's.
 */
import { DescribeImagesCommand, type Filter, type Image } from '@aws-sdk/client-ec2';
import { MANAGED_BY, NAME_PREFIX, newestFirst, TAG, toAmi } from './ami';
import type { Ec2 } from './ami-catalogue';
import type { Config } from './config';
import { awsCall } from './errors';
import { readPublishedLatest, type Ssm } from './latest-ami';

export type CleanupAction = 'keep' | 'deprecate' | 'disable' | 'delete';

/** Auto Scaling (launch configurations); optional for the planner. */
export type AutoScaling = { send(command: never): Promise<unknown> };

export interface CleanupSettings {
  region: string;
  keep: number;
  minValidated: number;
  minAgeDays: number;
  lastLaunchedWithinDays: number;
  deprecateAfterDays: number | null;
  disableAfterDays: number | null;
  deleteAfterDays: number | null;
  pricePerGbMonth: number;
  latestAmiParameter: string;
  versionParameterPrefix: string;
  listPageSize: number;
}

export interface CleanupDecision {
  imageId: string;
  name: string;
  version: string | null;
  architecture?: string;
  createdAt: string | null;
  state: string;
  validated: boolean | null;
  deprecationTime?: string | null;
  action: CleanupAction;
  reason: string;
  reasons: string[];
  snapshotIds: string[];
  sizeGiB: number;
}

export interface OrphanedSnapshot {
  snapshotId: string;
  orphanedFrom: string;
  sizeGiB: number;
  action: 'delete' | 'keep';
  reason: string;
}

export interface CleanupPlan {
  region: string;
  generatedAt: string;
  settings: Omit<CleanupSettings, 'latestAmiParameter' | 'versionParameterPrefix' | 'listPageSize'>;
  decisions: CleanupDecision[];
  orphanedSnapshots: OrphanedSnapshot[];
  totals: {
    images: number;
    keep: number;
    deprecate: number;
    disable: number;
    delete: number;
    orphanedSnapshots: number;
    reclaimedGiB: number;
    monthlySavingUsd: number;
  };
}

export function cleanupSettings(config: Config, overrides: { keep?: number } = {}): CleanupSettings {
  return {
    region: config.region,
    keep: overrides.keep ?? 3,
    minValidated: 2,
    minAgeDays: 1,
    lastLaunchedWithinDays: 30,
    deprecateAfterDays: null,
    disableAfterDays: null,
    deleteAfterDays: null,
    pricePerGbMonth: 0.05,
    latestAmiParameter: config.latestAmiParameter,
    versionParameterPrefix: config.build.versionParameterPrefix,
    listPageSize: config.listPageSize,
  };
}

const OWNERSHIP_QUERIES: Filter[][] = [
  [{ Name: `tag:${TAG.managedBy}`, Values: [MANAGED_BY] }],
  [{ Name: 'name', Values: [`${NAME_PREFIX}*`] }],
];

async function scan(ec2: Ec2, pageSize: number): Promise<Image[]> {
  const found = new Map<string, Image>();
  for (const Filters of OWNERSHIP_QUERIES) {
    let NextToken: string | undefined;
    do {
      const page = await awsCall(
        'EC2',
        ec2.send(
          new DescribeImagesCommand({
            Owners: ['self'],
            Filters,
            MaxResults: pageSize,
            IncludeDisabled: true,
            NextToken,
          }),
        ),
      );
      for (const image of page.Images ?? []) if (image.ImageId) found.set(image.ImageId, image);
      NextToken = page.NextToken;
    } while (NextToken);
  }
  return [...found.values()];
}

export async function planCleanup(
  clients: { ec2: Ec2; ssm: Ssm; autoScaling?: AutoScaling },
  settings: CleanupSettings,
  now: Date = new Date(),
): Promise<CleanupPlan> {
  const images = await scan(clients.ec2, settings.listPageSize);
  const published = await readPublishedLatest(clients.ssm, settings.latestAmiParameter);
  const amis = images
    .map((image) => ({ image, ami: toAmi(image) }))
    .filter((x): x is { image: Image; ami: NonNullable<ReturnType<typeof toAmi>> } => x.ami !== null)
    .sort((a, b) => newestFirst(a.ami, b.ami));
  const decisions = amis.map(({ image, ami }, index): CleanupDecision => {
    const reasons: string[] = [];
    if (index < settings.keep) reasons.push(`newest ${settings.keep}`);
    if (ami.imageId === published) reasons.push('published latest');
    if (ami.protected) reasons.push(`protected (${ami.protection ?? 'Protected=true'})`);
    const action: CleanupAction = reasons.length > 0 ? 'keep' : 'delete';
    if (action === 'delete') reasons.push(`beyond the newest ${settings.keep}`);
    const sizeGiB = (image.BlockDeviceMappings ?? []).reduce((sum, m) => sum + (m.Ebs?.VolumeSize ?? 0), 0);
    return {
      imageId: ami.imageId,
      name: ami.name,
      version: ami.version,
      ...(ami.architecture ? { architecture: ami.architecture } : {}),
      createdAt: ami.createdAt,
      state: ami.state,
      validated: ami.validated,
      deprecationTime: image.DeprecationTime ?? null,
      action,
      reason: reasons[0] ?? '',
      reasons,
      snapshotIds: ami.snapshotIds,
      sizeGiB,
    };
  });
  const count = (action: CleanupAction) => decisions.filter((d) => d.action === action).length;
  const reclaimedGiB = decisions.filter((d) => d.action === 'delete').reduce((s, d) => s + d.sizeGiB, 0);
  const { latestAmiParameter: _l, versionParameterPrefix: _v, listPageSize: _p, ...shown } = settings;
  return {
    region: settings.region,
    generatedAt: now.toISOString(),
    settings: shown,
    decisions,
    orphanedSnapshots: [],
    totals: {
      images: decisions.length,
      keep: count('keep'),
      deprecate: count('deprecate'),
      disable: count('disable'),
      delete: count('delete'),
      orphanedSnapshots: 0,
      reclaimedGiB,
      monthlySavingUsd: Math.round(reclaimedGiB * settings.pricePerGbMonth * 100) / 100,
    },
  };
}
