/**
 * The latest AMI. With no criteria it is the published one: one SSM parameter read, O(1).
 * With criteria (a version, validated only), or before anything is published, it is the
 * newest available image that matches.
 */
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { type Ec2, scanAmis } from './ami-catalogue';
import type { LatestAmiResponse } from './api-types';
import { fromAwsError, NoAmiFoundError } from './errors';
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
    if (published) return { imageId: published, source: 'parameter' };
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
