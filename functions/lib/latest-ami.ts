/**
 * The latest AMI. With no criteria it is the published one: one SSM parameter read and one
 * DescribeImages of that id, O(1) whatever the number of images. The read of the image makes
 * sure it still exists, is this tool's and is available (an AMI deregistered outside the tool
 * leaves a stale parameter behind). With criteria (a version, validated only), or when nothing
 * usable is published, it is the newest available image that matches.
 */
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { type Ec2, getAmi, scanAmis } from './ami-catalogue';
import type { LatestAmiResponse } from './api-types';
import { AmiNotFoundError, AmiNotManagedError, fromAwsError, NoAmiFoundError } from './errors';
import { AMI_ID_PATTERN } from './validation';

export type Ssm = Pick<SSMClient, 'send'>;

export interface LatestCriteria {
  version?: string;
  validated?: boolean;
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

/** The published image, or null when it is gone, not this tool's, or not available. */
async function usableAmi(ec2: Ec2, imageId: string, region: string) {
  try {
    const ami = await getAmi(ec2, imageId, region);
    return ami.state === 'available' ? ami : null;
  } catch (error) {
    if (error instanceof AmiNotFoundError || error instanceof AmiNotManagedError) return null;
    throw error;
  }
}

function describe(criteria: LatestCriteria): string {
  const parts = [
    criteria.version ? `for version ${criteria.version}` : '',
    criteria.validated ? 'that is validated' : '',
  ];
  return parts.filter(Boolean).join(' ');
}

export async function latestAmi(
  clients: { ec2: Ec2; ssm: Ssm },
  settings: { region: string; latestAmiParameter: string; listPageSize: number },
  criteria: LatestCriteria,
): Promise<LatestAmiResponse> {
  if (!criteria.version && !criteria.validated) {
    const published = await readPublishedLatest(clients.ssm, settings.latestAmiParameter);
    const ami = published ? await usableAmi(clients.ec2, published, settings.region) : null;
    if (ami) return { imageId: ami.imageId, source: 'parameter', ami };
  }
  const available = await scanAmis(clients.ec2, settings.listPageSize, [
    { Name: 'state', Values: ['available'] },
  ]);
  const match = available.find(
    (ami) =>
      (!criteria.version || ami.version === criteria.version) &&
      (!criteria.validated || ami.validated === true),
  );
  if (!match) throw new NoAmiFoundError(settings.region, describe(criteria));
  return { imageId: match.imageId, source: 'search', ami: match };
}
