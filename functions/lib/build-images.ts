/**
 * The images of a build: the one a build may skip to (already built). (The BuildAmi machine's
 * helper C adds the rest of this file: the images a failed build left, and their deletion.)
 */
import { type Ami, chooseLatest } from './ami';
import { type Ec2, scanAmis } from './ami-catalogue';

export interface ImageQuery {
  version: string;
  architecture: string;
}

/**
 * The newest available, validated AMI of this tool for the version and architecture (the
 * latest rule's order within one version: creation time), or null.
 */
export async function findExistingAmi(ec2: Ec2, pageSize: number, query: ImageQuery): Promise<Ami | null> {
  const amis = await scanAmis(ec2, pageSize, [
    { Name: 'state', Values: ['available'] },
    { Name: 'architecture', Values: [query.architecture] },
  ]);
  return chooseLatest(amis, { version: query.version }) ?? null;
}
