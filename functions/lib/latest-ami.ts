/**
 * The latest AMI, by the rule in ami.ts (`chooseLatest`): only a validated, available AMI of this
 * tool unless unvalidated ones are asked for; the published one (the SSM parameter) while it
 * still qualifies, else the highest Pulsar version, creation time breaking ties.
 *
 * Reading it costs one parameter read and one DescribeImages of that id when the published AMI
 * qualifies (O(1) whatever the number of images); only otherwise is the catalogue scanned.
 * Publishing (after a delete, a failed re-validation, a build) goes through `publishLatest`, so
 * the parameter only ever moves by the same rule.
 */
import {
  DeleteParameterCommand,
  GetParameterCommand,
  PutParameterCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import {
  type Ami,
  chooseLatest,
  DEFAULT_ARCHITECTURE,
  type LatestCriteria,
  qualifiesAsLatest,
  TAG,
} from './ami';
import { type Ec2, getAmi, scanAmis } from './ami-catalogue';
import type { LatestAmiResponse } from './api-types';
import { AmiNotFoundError, AmiNotManagedError, fromAwsError, NoAmiFoundError } from './errors';
import { AMI_ID_PATTERN } from './validation';

export type Ssm = Pick<SSMClient, 'send'>;
export type { LatestCriteria };

export interface LatestSettings {
  region: string;
  latestAmiParameter: string;
  listPageSize: number;
}

/** A parameter value's AMI id: trimmed, and only when it is one (the one reader for every parameter). */
export function amiIdOfParameterValue(value: string | undefined): string | null {
  const trimmed = value?.trim() ?? '';
  return AMI_ID_PATTERN.test(trimmed) ? trimmed : null;
}

export async function readPublishedLatest(ssm: Ssm, parameter: string): Promise<string | null> {
  try {
    const result = await ssm.send(new GetParameterCommand({ Name: parameter }));
    return amiIdOfParameterValue(result.Parameter?.Value);
  } catch (error) {
    if ((error as { name?: string }).name === 'ParameterNotFound') return null;
    throw fromAwsError('SSM', error);
  }
}

/** The published image, or null when nothing is published or it is gone or not this tool's. */
async function publishedAmi(clients: { ec2: Ec2; ssm: Ssm }, settings: LatestSettings): Promise<Ami | null> {
  const published = await readPublishedLatest(clients.ssm, settings.latestAmiParameter);
  if (!published) return null;
  try {
    return await getAmi(clients.ec2, published, settings.region);
  } catch (error) {
    if (error instanceof AmiNotFoundError || error instanceof AmiNotManagedError) return null;
    throw error;
  }
}

const availableAmis = (ec2: Ec2, settings: LatestSettings) =>
  scanAmis(ec2, settings.listPageSize, [{ Name: 'state', Values: ['available'] }]);

export async function latestAmi(
  clients: { ec2: Ec2; ssm: Ssm },
  settings: LatestSettings,
  criteria: LatestCriteria,
): Promise<LatestAmiResponse> {
  // Whoever asks for unvalidated images too wants the highest of all, published or not.
  if (!criteria.includeUnvalidated) {
    const published = await publishedAmi(clients, settings);
    if (published && qualifiesAsLatest(published, criteria)) {
      return { imageId: published.imageId, source: 'parameter', ami: published };
    }
  }
  const match = chooseLatest(await availableAmis(clients.ec2, settings), criteria);
  if (!match) throw new NoAmiFoundError(settings.region, criteria);
  return { imageId: match.imageId, source: 'search', ami: match };
}

export interface PublishOutcome {
  /** What the parameter holds afterwards (or would, in a dry run); null when nothing qualifies. */
  imageId: string | null;
  /** What it held before. */
  previous: string | null;
  changed: boolean;
}

/**
 * Publishes the latest by the rule: the highest validated available version (creation time
 * breaking ties), leaving out `exclude` (an AMI being deleted or that just failed validation).
 * No qualifying AMI unpublishes (deletes the parameter). A dry run only says what it would do.
 * With `onlyIfPublished`, nothing moves unless that AMI is the one published now (one read of
 * the parameter serves both the question and the publishing).
 */
export async function publishLatest(
  clients: { ec2: Ec2; ssm: Ssm },
  settings: LatestSettings,
  options: { exclude?: readonly string[]; dryRun?: boolean; onlyIfPublished?: string } = {},
): Promise<PublishOutcome> {
  const exclude = new Set(options.exclude ?? []);
  const previous = await readPublishedLatest(clients.ssm, settings.latestAmiParameter);
  if (options.onlyIfPublished !== undefined && previous !== options.onlyIfPublished) {
    return { imageId: previous, previous, changed: false };
  }
  const candidates = (await availableAmis(clients.ec2, settings)).filter((ami) => !exclude.has(ami.imageId));
  const next = chooseLatest(candidates)?.imageId ?? null;
  const changed = next !== previous;
  if (changed && !options.dryRun)
    await writeParameter(clients.ssm, settings.latestAmiParameter, next, previous);
  return { imageId: next, previous, changed };
}

/**
 * `{prefix}/{version}/latest-ami-id`: the newest validated x86_64 build of that version;
 * `{prefix}/{version}/{architecture}/latest-ami-id` for another architecture (arm64), so an
 * arm64 build never replaces the x86_64 image a version's parameter names.
 */
export function versionParameterName(prefix: string, version: string, architecture?: string): string {
  return architecture === undefined || architecture === DEFAULT_ARCHITECTURE
    ? `${prefix}/${version}/latest-ami-id`
    : `${prefix}/${version}/${architecture}/latest-ami-id`;
}

/** The parts of a version parameter's name, `{prefix}/{V}/latest-ami-id` or `{prefix}/{V}/arm64/latest-ami-id`, or null. */
export function versionParameterParts(
  prefix: string,
  name: string,
): { version: string; architecture: string } | null {
  const head = `${prefix.replace(/\/+$/, '')}/`;
  if (!name.startsWith(head)) return null;
  const match = /^([^/]+)(?:\/(arm64))?\/latest-ami-id$/.exec(name.slice(head.length));
  if (!match?.[1]) return null;
  return { version: match[1], architecture: match[2] ?? DEFAULT_ARCHITECTURE };
}

export const isVersionParameter = (prefix: string, name: string): boolean =>
  versionParameterParts(prefix, name) !== null;

export interface VersionPublishOutcome extends PublishOutcome {
  /** The version's parameter (`{prefix}/{version}[/{architecture}]/latest-ami-id`). */
  parameter: string;
}

/**
 * A version's own parameter, by the same rule as the account's latest within that version and
 * architecture: the newest validated available AMI of them, leaving out `exclude` (an AMI being
 * deleted). None left deletes the parameter. With `onlyIfPublished`, nothing moves unless that
 * AMI is the one the parameter names now (so deleting any other AMI costs one parameter read).
 * EC2 filters on the version, architecture and Validated tags, so only that version's validated
 * images are read.
 */
export async function publishVersionLatest(
  clients: { ec2: Ec2; ssm: Ssm },
  settings: LatestSettings & { versionParameterPrefix: string },
  options: {
    version: string;
    architecture?: string;
    exclude?: readonly string[];
    dryRun?: boolean;
    onlyIfPublished?: string;
  },
): Promise<VersionPublishOutcome> {
  const architecture = options.architecture ?? DEFAULT_ARCHITECTURE;
  const parameter = versionParameterName(settings.versionParameterPrefix, options.version, architecture);
  const previous = await readPublishedLatest(clients.ssm, parameter);
  if (options.onlyIfPublished !== undefined && previous !== options.onlyIfPublished) {
    return { parameter, imageId: previous, previous, changed: false };
  }
  const exclude = new Set(options.exclude ?? []);
  const amis = await scanAmis(clients.ec2, settings.listPageSize, [
    { Name: 'state', Values: ['available'] },
    { Name: 'architecture', Values: [architecture] },
    { Name: `tag:${TAG.version}`, Values: [options.version] },
    { Name: `tag:${TAG.validated}`, Values: ['true'] },
  ]);
  const criteria = { version: options.version, architecture };
  const next =
    chooseLatest(
      amis.filter((ami) => !exclude.has(ami.imageId)),
      criteria,
    )?.imageId ?? null;
  const changed = next !== previous;
  if (changed && !options.dryRun) await writeParameter(clients.ssm, parameter, next, previous);
  return { parameter, imageId: next, previous, changed };
}

/** Puts `next` as the parameter's AMI id, or deletes the parameter when `next` is null. */
async function writeParameter(ssm: Ssm, name: string, next: string | null, previous: string | null) {
  try {
    if (next) {
      await ssm.send(
        new PutParameterCommand({
          Name: name,
          Value: next,
          Type: 'String',
          DataType: 'aws:ec2:image',
          Overwrite: true,
        }),
      );
    } else if (previous !== null) {
      await ssm.send(new DeleteParameterCommand({ Name: name }));
    }
  } catch (error) {
    throw fromAwsError('SSM', error);
  }
}
