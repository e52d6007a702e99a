/**
 * Planning the retirement of old AMIs (the guide's "Cost Management" and "Disaster Recovery"):
 * which of this tool's AMIs are kept, and why; which are deprecated, disabled or deleted; which
 * orphaned snapshots go; what that saves. Planning only reads (no call that changes anything).
 *
 * The rules, in one pure function (`decideCleanup`), so that they are tested without AWS:
 * - The newest N (default 3) available AMIs of each architecture are kept: an arm64 build never
 *   pushes an x86_64 image out of the newest N, nor the other way round, and neither does a
 *   pending build, a failed image or a disabled one (which cannot be launched). A disabled AMI
 *   newer than the Nth is kept too (someone disabled it on purpose; restoring it is theirs to do).
 * - At least `minValidated` (2) validated, available AMIs of each architecture are kept,
 *   whatever else happens: when fewer are kept for other reasons, the newest validated ones are
 *   kept too. A disabled one does not count: it could not be launched in a disaster.
 * - A failed image (EC2 could not create it) is deleted, whatever its age or rank.
 * - Every published AMI is kept: the account's latest parameter, and each version's own
 *   (`{prefix}/{V}/latest-ami-id`, `{prefix}/{V}/arm64/latest-ami-id`), and every other stage's
 *   (any `…/latest-ami-id` under `/pulsar-ami/`).
 * - Stages that share an account and region share one catalogue. An image another stage built
 *   (its BuildExecutionArn names another stage's BuildAmi machine, `pulsar-ami-{stage}-build-ami`)
 *   is kept, and takes none of this stage's newest N or validated places.
 * - Younger than the minimum age, protected (Protected=true, EC2 deregistration protection),
 *   launched within the last D days (EC2's LastLaunchedTime), still pending: kept.
 * - In use (image-references.ts: instances, launch templates, other applications' parameters,
 *   Image Builder recipes, Auto Scaling launch configurations): kept. Asked only for the images
 *   the other rules would retire, ten a call.
 * - The rest: deleted when no stage is set (the guide's default); with stages set (EC2 Image
 *   Builder lifecycle style), deprecated, then disabled, then deleted as each age is reached.
 *
 * At 10,000 images: DescribeImages in pages of `listPageSize` (1,000), each image kept as a
 * compact summary (`CleanupImage`); LastLaunchedTime and DeprecationTime come with DescribeImages,
 * so no call per image; DescribeImageReferences only for the images that would go.
 */
import type { Image } from '@aws-sdk/client-ec2';
import { DescribeSnapshotsCommand, type Snapshot } from '@aws-sdk/client-ec2';
import { GetParametersByPathCommand } from '@aws-sdk/client-ssm';
import { type Ami, DEFAULT_ARCHITECTURE, MANAGED_BY, newestFirst, TAG } from './ami';
import { type Ec2, scanToolImages } from './ami-catalogue';
import { ORPHANED_FROM_TAG } from './ami-deletion';
import type { Config } from './config';
import { awsCall } from './errors';
import { findImageReferences, type ImageReference, ownParameters } from './image-references';
import { amiIdOfParameterValue, readPublishedLatest, type Ssm, versionParameterParts } from './latest-ami';
import { type AutoScaling, launchConfigurationLookup } from './launch-configurations';
import { judgeOrphans } from './orphaned-snapshots';

export type CleanupAction = 'keep' | 'deprecate' | 'disable' | 'delete';

export interface CleanupSettings {
  region: string;
  /** Newest N kept, per architecture (default 3). */
  keep: number;
  /** Never fewer than this many validated AMIs kept, per architecture (2). */
  minValidated: number;
  /** Younger than this: kept (default 1). */
  minAgeDays: number;
  /** Launched (EC2 LastLaunchedTime) within this many days: kept (default 30). */
  lastLaunchedWithinDays: number;
  /** Stages; all null = the guide's default: delete beyond N. */
  deprecateAfterDays: number | null;
  disableAfterDays: number | null;
  deleteAfterDays: number | null;
  /** Snapshot storage price, USD per GiB-month (default 0.05). */
  pricePerGbMonth: number;
  latestAmiParameter: string;
  versionParameterPrefix: string;
  listPageSize: number;
  /** This stage's BuildAmi machine (config.build.stateMachineName): other stages' are told apart by it. */
  buildStateMachineName: string;
}

/** What the plan says of every image: the catalogue's view of it (ami.ts `Ami`), these fields. */
type ImageFacts = Pick<
  Ami,
  'imageId' | 'name' | 'version' | 'architecture' | 'createdAt' | 'state' | 'validated'
>;

export interface CleanupDecision extends ImageFacts {
  deprecationTime?: string | null;
  action: CleanupAction;
  /**
   * The reason for the action, one short phrase: 'newest 3', 'published latest',
   * 'in use: launch template web (lt-…) version 3 (default)', 'beyond the newest 3', …
   */
  reason: string;
  /** Every reason that applies (the first is `reason`). */
  reasons: string[];
  snapshotIds: string[];
  /** Sum of its EBS snapshot volume sizes. */
  sizeGiB: number;
  /**
   * What deleting it frees (delete only): its snapshots a delete removes — tagged
   * ManagedBy=pulsar-ami and used by no image that stays. A legacy image's untagged snapshots
   * are kept by the delete, so they are not counted.
   */
  reclaimGiB?: number;
}

export interface OrphanedSnapshot {
  snapshotId: string;
  /** The OrphanedFrom tag's value. */
  orphanedFrom: string;
  sizeGiB: number;
  action: 'delete' | 'keep';
  reason: string;
}

export interface CleanupPlan {
  region: string;
  /** ISO 8601. */
  generatedAt: string;
  settings: Omit<
    CleanupSettings,
    'latestAmiParameter' | 'versionParameterPrefix' | 'listPageSize' | 'buildStateMachineName'
  >;
  /** Every AMI of this tool in the region, newest first, each with its action. */
  decisions: CleanupDecision[];
  orphanedSnapshots: OrphanedSnapshot[];
  totals: {
    images: number;
    keep: number;
    deprecate: number;
    disable: number;
    delete: number;
    /** Orphaned snapshots to delete. */
    orphanedSnapshots: number;
    /** Deleted images' snapshots + orphaned snapshots deleted. */
    reclaimedGiB: number;
    /** reclaimedGiB × pricePerGbMonth, rounded to cents. */
    monthlySavingUsd: number;
  };
  /**
   * Only in a plan made smaller to travel through the CleanupAmis machine (Step Functions carries
   * at most 256 KiB): how many kept decisions were left out (`decisions` then holds the others).
   */
  keptDecisionsOmitted?: number;
}

/** What the rules need of an image: a compact summary, so 10,000 of them stay small. */
export interface CleanupImage extends ImageFacts {
  /** What protects it, in words (ami.ts protectionOf), or null. */
  protection: string | null;
  snapshotIds: string[];
  sizeGiB: number;
  /** EC2's LastLaunchedTime (ISO 8601), null when never launched (or not reported). */
  lastLaunchedTime: string | null;
  /** EC2's DeprecationTime (ISO 8601), null when not deprecated. */
  deprecationTime: string | null;
  /** The Step Functions machine its BuildExecutionArn tag names, when it has one. */
  buildMachine?: string;
}

/** The machine an execution ARN names (`arn:…:states:{region}:{account}:execution:{machine}:{name}`). */
export function machineOfExecution(executionArn: string): string | null {
  const parts = executionArn.split(':');
  return parts[5] === 'execution' && parts[6] ? parts[6] : null;
}

const STAGE_BUILD_MACHINE = /^pulsar-ami-(.+)-build-ami$/;

/**
 * The other stage's BuildAmi machine that built `image`, or null when this stage built it or
 * nothing says (no BuildExecutionArn, or a machine that is no stage's).
 */
export function otherStageBuilder(
  image: Pick<CleanupImage, 'buildMachine'>,
  ownMachine: string,
): string | null {
  const machine = image.buildMachine;
  return machine !== undefined && machine !== ownMachine && STAGE_BUILD_MACHINE.test(machine)
    ? machine
    : null;
}

/** The plan's summary of one of this tool's images (the EC2 image and its Ami view). */
export function cleanupImageOf(image: Image, ami: Ami): CleanupImage {
  return {
    imageId: ami.imageId,
    name: ami.name,
    version: ami.version,
    ...(ami.architecture !== undefined ? { architecture: ami.architecture } : {}),
    createdAt: ami.createdAt,
    state: ami.state,
    validated: ami.validated,
    protection: ami.protection ?? null,
    snapshotIds: ami.snapshotIds,
    sizeGiB: (image.BlockDeviceMappings ?? []).reduce((sum, m) => sum + (m.Ebs?.VolumeSize ?? 0), 0),
    lastLaunchedTime: image.LastLaunchedTime ?? null,
    deprecationTime: image.DeprecationTime ?? null,
    ...buildMachineOf(ami),
  };
}

function buildMachineOf(ami: Ami): { buildMachine?: string } {
  const arn = ami.tags[TAG.buildExecution];
  const machine = arn === undefined ? null : machineOfExecution(arn);
  return machine === null ? {} : { buildMachine: machine };
}

/** What the plan found out about the images besides themselves. */
export interface CleanupFacts {
  /** Image id → why it is published, one phrase each ('published latest', 'published latest of 3.0.0'). */
  published: ReadonlyMap<string, readonly string[]>;
  /** Image id → what references it; an image not in the map was not asked about (not in use). */
  references: ReadonlyMap<string, readonly ImageReference[]>;
}

const DAY_MS = 86_400_000;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

const timeOf = (iso: string | null): number => {
  const t = iso === null ? Number.NaN : Date.parse(iso);
  return Number.isNaN(t) ? Number.NaN : t;
};

/** Counted toward "at least two validated": validated, and available (it can be launched). */
const countsAsValidated = (image: CleanupImage) => image.validated === true && image.state === 'available';

/** Which stage an image beyond N has reached by its age, and the phrase saying so. */
function stageOf(
  image: CleanupImage,
  settings: CleanupSettings,
  beyond: string,
  now: Date,
): { action: CleanupAction; reason: string } {
  const { deprecateAfterDays, disableAfterDays, deleteAfterDays } = settings;
  if (deprecateAfterDays === null && disableAfterDays === null && deleteAfterDays === null) {
    return { action: 'delete', reason: beyond };
  }
  const created = timeOf(image.createdAt);
  // An image whose age is unknown counts as old: it is beyond N all the same.
  const ageDays = Number.isNaN(created) ? Number.POSITIVE_INFINITY : (now.getTime() - created) / DAY_MS;
  const stages: [CleanupAction, number | null][] = [
    ['deprecate', deprecateAfterDays],
    ['disable', disableAfterDays],
    ['delete', deleteAfterDays],
  ];
  const reached = stages.filter(([, d]) => d !== null && ageDays >= d).at(-1);
  const next = stages.find(([, d]) => d !== null && ageDays < d);
  const nextPhrase = next ? `${next[0]}d at ${plural(next[1] ?? 0, 'day')} old` : 'no later stage';
  if (!reached) return { action: 'keep', reason: `${beyond}; ${nextPhrase}` };
  const [target, after] = reached;
  const stage = `${beyond}: ${target} after ${plural(after ?? 0, 'day')}`;
  if (target === 'delete') return { action: 'delete', reason: stage };
  const deprecated =
    image.deprecationTime !== null && timeOf(image.deprecationTime) <= now.getTime() + 60_000;
  if (image.state === 'disabled') return { action: 'keep', reason: `${beyond}; disabled, ${nextPhrase}` };
  if (image.state !== 'available')
    return { action: 'keep', reason: `${beyond}; ${image.state}, ${nextPhrase}` };
  if (target === 'deprecate' && deprecated) {
    return { action: 'keep', reason: `${beyond}; deprecated, ${nextPhrase}` };
  }
  return { action: target, reason: stage };
}

/**
 * What keeps an image for being recent, by its age and EC2's LastLaunchedTime: `younger than
 * 1 day`, `launched within 30 days (last …)`. The plan and the retire-time re-check both ask.
 */
export function recentReasons(
  image: Pick<CleanupImage, 'createdAt' | 'lastLaunchedTime'>,
  settings: Pick<CleanupSettings, 'minAgeDays' | 'lastLaunchedWithinDays'>,
  now: Date,
): string[] {
  const why: string[] = [];
  const created = timeOf(image.createdAt);
  if (!Number.isNaN(created) && now.getTime() - created < settings.minAgeDays * DAY_MS) {
    why.push(`younger than ${plural(settings.minAgeDays, 'day')}`);
  }
  const launched = timeOf(image.lastLaunchedTime);
  if (!Number.isNaN(launched) && now.getTime() - launched < settings.lastLaunchedWithinDays * DAY_MS) {
    why.push(
      `launched within ${plural(settings.lastLaunchedWithinDays, 'day')} (last ${image.lastLaunchedTime})`,
    );
  }
  return why;
}

/**
 * The rules (see the file's comment), pure: each image of this tool, newest first, with its
 * action and every reason that applies. Images not in `facts.references` count as not in use.
 */
export function decideCleanup(
  images: readonly CleanupImage[],
  facts: CleanupFacts,
  settings: CleanupSettings,
  now: Date,
): CleanupDecision[] {
  const sorted = [...images].sort(newestFirst);
  const rankInArchitecture = new Map<string, number>();
  const reasons = new Map<string, string[]>();
  for (const image of sorted) {
    const architecture = image.architecture ?? DEFAULT_ARCHITECTURE;
    // Another stage's image is that stage's to retire: kept, and it takes none of this stage's places.
    const otherStage = otherStageBuilder(image, settings.buildStateMachineName);
    // Only available images take one of the newest N: a pending build, a failed image or a
    // disabled one does not push a launchable one out.
    const usable = otherStage === null && image.state === 'available';
    const newer = rankInArchitecture.get(architecture) ?? 0;
    const rank = usable ? newer : Number.POSITIVE_INFINITY;
    if (usable) rankInArchitecture.set(architecture, newer + 1);
    const suffix = architecture === DEFAULT_ARCHITECTURE ? '' : ` ${architecture}`;
    const why: string[] = [];
    if (otherStage !== null) why.push(`built by another stage (${otherStage})`);
    if (image.state === 'pending') why.push('still being created (pending)');
    if (rank < settings.keep) why.push(`newest ${settings.keep}${suffix}`);
    if (otherStage === null && image.state === 'disabled' && newer < settings.keep) {
      why.push(`disabled, newer than the newest ${settings.keep}${suffix} available`);
    }
    why.push(...(facts.published.get(image.imageId) ?? []));
    if (image.protection !== null) why.push(`protected by ${image.protection}`);
    for (const ref of facts.references.get(image.imageId) ?? []) why.push(`in use: ${ref.detail}`);
    why.push(...recentReasons(image, settings, now));
    reasons.set(image.imageId, why);
  }
  // Disaster recovery: at least minValidated validated AMIs of each architecture stay.
  const architectures = new Set(sorted.map((i) => i.architecture ?? DEFAULT_ARCHITECTURE));
  for (const architecture of architectures) {
    const validated = sorted.filter(
      (i) =>
        (i.architecture ?? DEFAULT_ARCHITECTURE) === architecture &&
        countsAsValidated(i) &&
        otherStageBuilder(i, settings.buildStateMachineName) === null,
    );
    let kept = validated.filter((i) => (reasons.get(i.imageId) ?? []).length > 0).length;
    for (const image of validated) {
      if (kept >= settings.minValidated) break;
      const why = reasons.get(image.imageId) ?? [];
      if (why.length > 0) continue;
      why.push(`one of the ${settings.minValidated} newest validated`);
      kept++;
    }
  }
  return sorted.map((image) => {
    const why = reasons.get(image.imageId) ?? [];
    const architecture = image.architecture ?? DEFAULT_ARCHITECTURE;
    const suffix = architecture === DEFAULT_ARCHITECTURE ? '' : ` ${architecture}`;
    const { action, reason } =
      why.length > 0
        ? { action: 'keep' as const, reason: why[0] ?? '' }
        : image.state === 'failed'
          ? { action: 'delete' as const, reason: 'failed (EC2 could not create it)' }
          : stageOf(image, settings, `beyond the newest ${settings.keep}${suffix}`, now);
    return {
      imageId: image.imageId,
      name: image.name,
      version: image.version,
      ...(image.architecture !== undefined ? { architecture: image.architecture } : {}),
      createdAt: image.createdAt,
      state: image.state,
      validated: image.validated,
      deprecationTime: image.deprecationTime,
      action,
      reason,
      reasons: why.length > 0 ? why : [reason],
      snapshotIds: image.snapshotIds,
      sizeGiB: image.sizeGiB,
    };
  });
}

/** The plan's totals: counts by action, and what the deletions reclaim at the price. */
export function cleanupTotals(
  decisions: readonly CleanupDecision[],
  orphaned: readonly OrphanedSnapshot[],
  pricePerGbMonth: number,
): CleanupPlan['totals'] {
  const count = (action: CleanupAction) => decisions.filter((d) => d.action === action).length;
  const deletedOrphans = orphaned.filter((s) => s.action === 'delete');
  const reclaimedGiB =
    decisions.filter((d) => d.action === 'delete').reduce((sum, d) => sum + (d.reclaimGiB ?? d.sizeGiB), 0) +
    deletedOrphans.reduce((sum, s) => sum + s.sizeGiB, 0);
  return {
    images: decisions.length,
    keep: count('keep'),
    deprecate: count('deprecate'),
    disable: count('disable'),
    delete: count('delete'),
    orphanedSnapshots: deletedOrphans.length,
    reclaimedGiB,
    monthlySavingUsd: Math.round(reclaimedGiB * pricePerGbMonth * 100) / 100,
  };
}

const ssmCall = <T>(call: Promise<T>): Promise<T> => awsCall('SSM', call);
const ec2Call = <T>(call: Promise<T>): Promise<T> => awsCall('EC2', call);

/** Where a version parameter's name says: `{prefix}/{V}/latest-ami-id` or `{prefix}/{V}/arm64/latest-ami-id`. */
export function versionParameterPhrase(prefix: string, name: string): string | null {
  const parts = versionParameterParts(prefix, name);
  if (!parts) return null;
  return `published latest of ${parts.version}${parts.architecture !== DEFAULT_ARCHITECTURE ? ` ${parts.architecture}` : ''}`;
}

/** Where every stage's parameters live (`/pulsar-ami/{stage}/…`). */
export const STAGES_PARAMETER_ROOT = '/pulsar-ami';

/** Every parameter under `path`, recursive (GetParametersByPath, every page of 10). */
async function* parametersUnder(ssm: Ssm, path: string) {
  let NextToken: string | undefined;
  do {
    const page = await ssmCall(
      ssm.send(new GetParametersByPathCommand({ Path: path, Recursive: true, MaxResults: 10, NextToken })),
    );
    yield* page.Parameters ?? [];
    NextToken = page.NextToken;
  } while (NextToken);
}

/**
 * Every published AMI: the account's latest (one GetParameter), each version's own parameters
 * (under the prefix), and every other stage's (each `…/latest-ami-id` under `/pulsar-ami/`:
 * stages in one account and region share the images).
 */
export async function publishedAmis(
  ssm: Ssm,
  settings: Pick<CleanupSettings, 'latestAmiParameter' | 'versionParameterPrefix'>,
): Promise<Map<string, string[]>> {
  const published = new Map<string, string[]>();
  const add = (imageId: string, phrase: string) =>
    published.set(imageId, [...(published.get(imageId) ?? []), phrase]);
  const latest = await readPublishedLatest(ssm, settings.latestAmiParameter);
  if (latest) add(latest, 'published latest');
  for await (const parameter of parametersUnder(ssm, settings.versionParameterPrefix)) {
    const value = amiIdOfParameterValue(parameter.Value);
    const phrase = versionParameterPhrase(settings.versionParameterPrefix, parameter.Name ?? '');
    if (phrase && value) add(value, phrase);
  }
  const ownPrefix = `${settings.versionParameterPrefix.replace(/\/+$/, '')}/`;
  for await (const parameter of parametersUnder(ssm, STAGES_PARAMETER_ROOT)) {
    const name = parameter.Name ?? '';
    const value = amiIdOfParameterValue(parameter.Value);
    if (name === settings.latestAmiParameter || name.startsWith(ownPrefix)) continue;
    if (name.endsWith('/latest-ami-id') && value) {
      add(value, `published by another stage (${name})`);
    }
  }
  return published;
}

/** This tool's snapshots (tagged ManagedBy=pulsar-ami: the only ones a delete removes), by id, with their size. */
async function ownSnapshotSizes(ec2: Ec2): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  let NextToken: string | undefined;
  do {
    const page = await ec2Call(
      ec2.send(
        new DescribeSnapshotsCommand({
          OwnerIds: ['self'],
          Filters: [{ Name: `tag:${TAG.managedBy}`, Values: [MANAGED_BY] }],
          MaxResults: 1000,
          NextToken,
        }),
      ),
    );
    for (const snapshot of page.Snapshots ?? []) {
      if (snapshot.SnapshotId) sizes.set(snapshot.SnapshotId, snapshot.VolumeSize ?? 0);
    }
    NextToken = page.NextToken;
  } while (NextToken);
  return sizes;
}

/**
 * Each deletion with what it frees (`reclaimGiB`): the snapshots of it that are this tool's
 * (`own`) and that no image staying in the plan uses too. Other decisions are left as they are.
 */
export function withReclaim(
  decisions: readonly CleanupDecision[],
  own: ReadonlyMap<string, number>,
): CleanupDecision[] {
  const staying = new Set(decisions.filter((d) => d.action !== 'delete').flatMap((d) => d.snapshotIds));
  return decisions.map((d) =>
    d.action !== 'delete'
      ? d
      : {
          ...d,
          reclaimGiB: d.snapshotIds
            .filter((id) => !staying.has(id))
            .reduce((sum, id) => sum + (own.get(id) ?? 0), 0),
        },
  );
}

/**
 * The snapshots tagged OrphanedFrom, each judged by the orphan rule (orphaned-snapshots.ts):
 * deleted only when tagged ManagedBy=pulsar-ami, EC2's own description names the same AMI as the
 * tag, that AMI is gone and no image uses it; kept otherwise, saying which check failed.
 */
export async function planOrphanedSnapshots(ec2: Ec2): Promise<OrphanedSnapshot[]> {
  const found: Snapshot[] = [];
  let NextToken: string | undefined;
  do {
    const page = await ec2Call(
      ec2.send(
        new DescribeSnapshotsCommand({
          OwnerIds: ['self'],
          Filters: [{ Name: 'tag-key', Values: [ORPHANED_FROM_TAG] }],
          MaxResults: 1000,
          NextToken,
        }),
      ),
    );
    found.push(...(page.Snapshots ?? []).filter((s) => s.SnapshotId));
    NextToken = page.NextToken;
  } while (NextToken);
  const verdicts = await judgeOrphans(ec2, found);
  return found.map((snapshot, index): OrphanedSnapshot => {
    const verdict = verdicts[index];
    return {
      snapshotId: snapshot.SnapshotId ?? '',
      orphanedFrom: verdict?.orphanedFrom ?? '',
      sizeGiB: snapshot.VolumeSize ?? 0,
      action: verdict?.orphaned ? 'delete' : 'keep',
      reason: verdict?.reason ?? '',
    };
  });
}

/**
 * The plan (reads only). The in-use question is asked only of the images the other rules would
 * retire; when answering it keeps some, the validated minimum may retire others instead, which
 * are then asked too, until every image to retire has been asked.
 */
export async function planCleanup(
  clients: { ec2: Ec2; ssm: Ssm; autoScaling?: AutoScaling },
  settings: CleanupSettings,
  now: Date = new Date(),
): Promise<CleanupPlan> {
  const images = await scanToolImages(clients.ec2, settings.listPageSize, cleanupImageOf);
  const published = await publishedAmis(clients.ssm, settings);
  const references = new Map<string, readonly ImageReference[]>();
  const options = {
    isOwnParameter: ownParameters(settings),
    ...(clients.autoScaling ? { launchConfigurations: launchConfigurationLookup(clients.autoScaling) } : {}),
  };
  let decisions = decideCleanup(images, { published, references }, settings, now);
  for (;;) {
    const unasked = decisions.filter((d) => d.action !== 'keep' && !references.has(d.imageId));
    if (unasked.length === 0) break;
    const found = await findImageReferences(
      clients.ec2,
      unasked.map((d) => d.imageId),
      options,
    );
    for (const [imageId, refs] of found) references.set(imageId, refs);
    decisions = decideCleanup(images, { published, references }, settings, now);
  }
  if (decisions.some((d) => d.action === 'delete')) {
    decisions = withReclaim(decisions, await ownSnapshotSizes(clients.ec2));
  }
  const orphanedSnapshots = await planOrphanedSnapshots(clients.ec2);
  return planOf(settings, now, decisions, orphanedSnapshots);
}

function planOf(
  settings: CleanupSettings,
  now: Date,
  decisions: CleanupDecision[],
  orphanedSnapshots: OrphanedSnapshot[],
): CleanupPlan {
  const {
    latestAmiParameter: _latest,
    versionParameterPrefix: _prefix,
    listPageSize: _pageSize,
    buildStateMachineName: _machine,
    ...shown
  } = settings;
  return {
    region: settings.region,
    generatedAt: now.toISOString(),
    settings: shown,
    decisions,
    orphanedSnapshots,
    totals: cleanupTotals(decisions, orphanedSnapshots, settings.pricePerGbMonth),
  };
}

/** A plan that retires nothing (a run that does not plan: another cleanup is running). */
export function emptyPlan(settings: CleanupSettings, now: Date = new Date()): CleanupPlan {
  return planOf(settings, now, [], []);
}

/** The settings from config with the request's overrides (keep). */
export function cleanupSettings(config: Config, overrides: { keep?: number } = {}): CleanupSettings {
  return {
    region: config.region,
    ...config.cleanup,
    ...(overrides.keep !== undefined ? { keep: overrides.keep } : {}),
    latestAmiParameter: config.latestAmiParameter,
    versionParameterPrefix: config.build.versionParameterPrefix,
    listPageSize: config.listPageSize,
    buildStateMachineName: config.build.stateMachineName,
  };
}
