/**
 * BuildAmi's Find Existing AMI: the newest available, validated AMI of this tool for the
 * version and architecture. Answers the machine's already-built output too, so AMI Already
 * Built? can end the execution with it as it is.
 */

import { TAG } from './lib/ami';
import { findExistingAmi } from './lib/build-images';
import { ec2 } from './lib/clients/ec2';
import { config } from './lib/config';
import { InvalidInputError } from './lib/errors';
import { fieldProblems, versionSchema } from './lib/validation';
import * as z from './lib/zod';

const input = z.object({ version: versionSchema, architecture: z.enum(['x86_64', 'arm64']) });

export interface AlreadyBuilt {
  amiId: string;
  name: string;
  version: string;
  region: string;
  regions: { region: string; amiId: string }[];
  alreadyBuilt: true;
  build: { codeBuildId: null };
  validation: { validationId: string | null; passed: true };
}

export interface ExistingAmi {
  found: boolean;
  /** The machine's home region (where it builds and publishes first). */
  region: string;
  /** The machine's output when the AMI is already built; null when it is not. */
  result: AlreadyBuilt | null;
}

export async function handler(event: unknown): Promise<ExistingAmi> {
  const parsed = input.safeParse(event);
  if (!parsed.success) throw new InvalidInputError(fieldProblems(parsed.error));
  const ami = await findExistingAmi(ec2, config.listPageSize, parsed.data);
  if (!ami) return { found: false, region: config.region, result: null };
  const validationArn = ami.tags[TAG.validationExecution];
  return {
    found: true,
    region: config.region,
    result: {
      amiId: ami.imageId,
      name: ami.name,
      version: parsed.data.version,
      region: config.region,
      regions: [{ region: config.region, amiId: ami.imageId }],
      alreadyBuilt: true,
      build: { codeBuildId: null },
      validation: { validationId: validationArn?.split(':').at(-1) ?? null, passed: true },
    },
  };
}
