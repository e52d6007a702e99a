/**
 * From a finished build to its validation: the AMI the build exported (checked against EC2:
 * this tool's, available, the version built), the ValidateAmi input for it (the one builder,
 * validate-ami-input.ts) and the validation id, derived from the build id so that a retried
 * step starts no second validation.
 */

import { TAG } from './ami';
import { type Ec2, getAmi } from './ami-catalogue';
import { AmiMismatchError, BuildOutputMissingError } from './build-errors';
import type { Config } from './config';
import { AmiNotReadyError } from './errors';
import { buildValidateAmiInput, type ValidateAmiInput } from './validate-ami-input';
import { AMI_ID_PATTERN } from './validation';
import { machineArn, uuidV5 } from './validation-executions';
import * as z from './zod';

/** UUID v5 namespace of the validation ids of builds (apart from the Idempotency-Key ones). */
const BUILD_VALIDATION_NAMESPACE = 'b6a4f0c2-8e1d-5c3a-9f47-1d2e3c4b5a69';

/** The validation id of a build: a UUID like every validation id, the same for the same build. */
export function buildValidationId(buildId: string): string {
  return uuidV5(buildId, BUILD_VALIDATION_NAMESPACE);
}

/** CodeBuild's exported variables, as Step Functions returns them (either casing accepted). */
export const exportedVariablesSchema = z.nullish(
  z.array(
    z.union([
      z.object({ Name: z.string(), Value: z.nullish(z.string()) }),
      z.object({ name: z.string(), value: z.nullish(z.string()) }),
    ]),
  ),
);

export type ExportedVariables = z.infer<typeof exportedVariablesSchema>;

export function exportedVariable(variables: ExportedVariables, name: string): string | undefined {
  for (const variable of variables ?? []) {
    const [key, value] =
      'Name' in variable ? [variable.Name, variable.Value] : [variable.name, variable.value];
    if (key === name) return value ?? undefined;
  }
  return undefined;
}

export interface BuiltImage {
  buildId: string;
  version: string;
  instanceType: string;
  architecture: string;
  /** The BuildAmi execution, so the child execution is linked to it in the console. */
  executionArn: string;
  exportedVariables?: ExportedVariables;
}

export interface PreparedValidation {
  imageId: string;
  name: string;
  validationId: string;
  stateMachineArn: string;
  input: ValidateAmiInput & { AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: string };
}

export async function prepareValidation(
  ec2: Ec2,
  config: Pick<Config, 'region' | 'validation' | 'validateAmiStateMachineArn'>,
  built: BuiltImage,
): Promise<PreparedValidation> {
  const imageId = exportedVariable(built.exportedVariables, 'AMI_ID')?.trim() ?? '';
  if (!AMI_ID_PATTERN.test(imageId)) {
    throw new BuildOutputMissingError(
      imageId === '' ? 'AMI_ID is missing or empty' : `AMI_ID is '${imageId.slice(0, 40)}', not an AMI id`,
    );
  }
  const ami = await getAmi(ec2, imageId, config.region);
  if (ami.state === 'pending') throw new AmiNotReadyError(imageId);
  if (ami.state !== 'available') throw new AmiMismatchError(imageId, `is ${ami.state}, not available`);
  if (ami.version !== built.version) {
    throw new AmiMismatchError(
      imageId,
      `is Pulsar ${ami.version ?? 'of no known version'}, not ${built.version}`,
    );
  }
  if (ami.tags[TAG.buildExecution] !== built.executionArn) {
    throw new AmiMismatchError(imageId, `is not tagged ${TAG.buildExecution} with this build's execution`);
  }
  // Only what to validate: the machine reads the version (checked above) from the image's tags.
  const input = buildValidateAmiInput({ imageId, instanceType: built.instanceType }, config.validation);
  return {
    imageId,
    name: ami.name,
    validationId: buildValidationId(built.buildId),
    stateMachineArn: machineArn(config),
    input: { ...input, AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: built.executionArn },
  };
}
