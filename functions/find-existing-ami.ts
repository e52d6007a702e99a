/**
 * BuildAmi's Find Existing AMI: the newest available, validated AMI of this tool for the
 * version and architecture. Answers the machine's already-built output too, so AMI Already
 * Built? can end the execution with it as it is.
 */

import { TAG } from './lib/ami';
import { findExistingAmi } from './lib/build-images';
import { buildAmiInputSchema, buildRequestSchema } from './lib/builds';
import { ec2 } from './lib/clients/ec2';
import { config } from './lib/config';
import { InvalidInputError } from './lib/errors';
import { fieldProblems } from './lib/validation';

/**
 * The machine's first state, so it checks the whole execution input, as POST /builds checks a
 * request: whoever may call StartExecution directly gets no further with an input the API
 * would refuse (a home region to copy to, a build id or instance type of another form).
 */
function parseExecutionInput(event: unknown) {
  const parsed = buildAmiInputSchema.safeParse(event);
  if (!parsed.success) throw new InvalidInputError(fieldProblems(parsed.error));
  const { buildId: _id, ...request } = parsed.data;
  const rules = buildRequestSchema(config.region).safeParse(request);
  if (!rules.success) throw new InvalidInputError(fieldProblems(rules.error));
  return parsed.data;
}

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
  const request = parseExecutionInput(event);
  const ami = await findExistingAmi(ec2, config.listPageSize, request);
  if (!ami) return { found: false, region: config.region, result: null };
  const validationArn = ami.tags[TAG.validationExecution];
  return {
    found: true,
    region: config.region,
    result: {
      amiId: ami.imageId,
      name: ami.name,
      version: request.version,
      region: config.region,
      regions: [{ region: config.region, amiId: ami.imageId }],
      alreadyBuilt: true,
      build: { codeBuildId: null },
      validation: { validationId: validationArn?.split(':').at(-1) ?? null, passed: true },
    },
  };
}
