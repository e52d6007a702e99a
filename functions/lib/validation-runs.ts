/**
 * Starting a validation: checks the AMI before anything runs, then starts ValidateAmi. An
 * Idempotency-Key makes the execution name deterministic, so a retried request finds the
 * execution it started instead of starting a second one.
 */
import { adoptLegacyAmi, type Ec2, getAmi } from './ami-catalogue';
import type { StartValidationResponse } from './api-types';
import type { Config } from './config';
import { AmiNotAvailableError } from './errors';
import { startExecutionOnce } from './executions';
import { checkAllowedInstanceType, checkInstanceType } from './instance-types';
import { buildValidateAmiInput } from './validate-ami-input';
import { machineArn, type Sfn, validationIdFor, validationLocation } from './validation-executions';

export interface StartValidationRequest {
  imageId: string;
  instanceType: string;
  idempotencyKey?: string;
}

export interface ValidationClients {
  ec2: Ec2;
  sfn: Sfn;
}

/**
 * Checks the instance type against the allowlist (before any AWS call), the AMI (exists, is
 * this tool's, is available) and the type against EC2, then starts ValidateAmi. A request
 * repeated with the same Idempotency-Key answers with the execution the first one started,
 * running or ended; the same key for a different instance type is refused.
 */
export async function startValidation(
  clients: ValidationClients,
  config: Pick<Config, 'region' | 'validation' | 'validateAmiStateMachineArn'>,
  request: StartValidationRequest,
): Promise<StartValidationResponse> {
  checkAllowedInstanceType(request.instanceType, config.validation.allowedInstanceTypes);
  const stateMachineArn = machineArn(config);
  const ami = await getAmi(clients.ec2, request.imageId, config.region);
  if (ami.state !== 'available') throw new AmiNotAvailableError(ami.imageId, ami.state);
  await checkInstanceType(
    clients.ec2,
    request.instanceType,
    {
      architecture: ami.architecture,
      what: `AMI ${ami.imageId}`,
      allowed: config.validation.allowedInstanceTypes,
    },
    config.region,
  );
  await adoptLegacyAmi(clients.ec2, ami);

  const validationId = validationIdFor(ami.imageId, request.idempotencyKey);
  // Only what to validate: the machine reads the version and ownership from the image's tags.
  const input = buildValidateAmiInput(
    { imageId: ami.imageId, instanceType: request.instanceType },
    config.validation,
  );
  const started = await startExecutionOnce(
    clients.sfn,
    { kind: 'validation', stateMachineArn, name: validationId, input },
    (previous) => previous?.imageId === ami.imageId && previous?.instanceType === request.instanceType,
  );
  return {
    validationId,
    executionArn: started.executionArn,
    imageId: ami.imageId,
    instanceType: request.instanceType,
    status: started.status,
    location: validationLocation(validationId),
  };
}
