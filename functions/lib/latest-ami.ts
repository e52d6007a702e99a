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
import { type Ami, chooseLatest, type LatestCriteria, qualifiesAsLatest } from './ami';
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

export async function readPublishedLatest(ssm: Ssm, parameter: string): Promise<string | null> {
  try {
    const result = await ssm.send(new GetParameterCommand({ Name: parameter }));
    const value = result.Parameter?.Value;
    return value && AMI_ID_PATTERN.test(value) ? value : null;
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
  if (changed && !options.dryRun) {
    try {
      if (next) {
        await clients.ssm.send(
          new PutParameterCommand({
            Name: settings.latestAmiParameter,
            Value: next,
            Type: 'String',
            DataType: 'aws:ec2:image',
            Overwrite: true,
          }),
        );
      } else if (previous !== null) {
        await clients.ssm.send(new DeleteParameterCommand({ Name: settings.latestAmiParameter }));
      }
    } catch (error) {
      throw fromAwsError('SSM', error);
    }
  }
  return { imageId: next, previous, changed };
}
