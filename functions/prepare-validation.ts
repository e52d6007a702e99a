/** BuildAmi's Prepare Validation: the built AMI (from the build's exported AMI_ID) and the ValidateAmi input for it. */

import { exportedVariablesSchema, type PreparedValidation, prepareValidation } from './lib/build-validation';
import { ec2 } from './lib/clients/ec2';
import { config } from './lib/config';
import { InvalidInputError } from './lib/errors';
import { countMetric } from './lib/metrics';
import {
  buildIdSchema,
  executionArnSchema,
  fieldProblems,
  instanceTypeSchema,
  versionSchema,
} from './lib/validation';
import * as z from './lib/zod';

const input = z.object({
  buildId: buildIdSchema,
  version: versionSchema,
  instanceType: instanceTypeSchema,
  architecture: z.enum(['x86_64', 'arm64']),
  executionArn: executionArnSchema,
  exportedVariables: exportedVariablesSchema,
});

export async function handler(event: unknown): Promise<PreparedValidation> {
  const parsed = input.safeParse(event);
  if (!parsed.success) throw new InvalidInputError(fieldProblems(parsed.error));
  const prepared = await prepareValidation(ec2, config, parsed.data);
  // The machine starts it next (Validate AMI); the API's starts count as Source=api.
  countMetric('ValidationsStarted', 1, { Source: 'build' });
  return prepared;
}
