/**
 * Starting a validation: checks the AMI before anything runs, then starts ValidateAmi. An
 * Idempotency-Key makes the execution name deterministic, so a retried request finds the
 * execution it started instead of starting a second one.
 */
import { DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { adoptLegacyAmi, type Ec2, getAmi } from './ami-catalogue';
import type { StartValidationResponse, ValidationStatus } from './api-types';
import type { Config } from './config';
import { AmiNotAvailableError, awsCall, fromAwsError, IdempotencyKeyReusedError } from './errors';
import { checkInstanceType } from './instance-types';
import { parseJsonObject } from './json';
import { buildValidateAmiInput } from './validate-ami-input';
import {
  executionArnFor,
  machineArn,
  type Sfn,
  validationIdFor,
  validationLocation,
} from './validation-executions';
import { validationProgress } from './validation-progress';

export interface StartValidationRequest {
  imageId: string;
  instanceType: string;
  idempotencyKey?: string;
}

export interface ValidationClients {
  ec2: Ec2;
  sfn: Sfn;
}

const errorName = (error: unknown) => (error as { name?: string }).name;

/**
 * Checks the AMI (exists, is this tool's, is available), then starts ValidateAmi. A request
 * repeated with the same Idempotency-Key answers with the execution the first one started,
 * running or ended; the same key for a different instance type is refused.
 */
export async function startValidation(
  clients: ValidationClients,
  config: Pick<Config, 'region' | 'validation' | 'validateAmiStateMachineArn'>,
  request: StartValidationRequest,
  readScript: () => string,
): Promise<StartValidationResponse> {
  const stateMachineArn = machineArn(config);
  const ami = await getAmi(clients.ec2, request.imageId, config.region);
  if (ami.state !== 'available') throw new AmiNotAvailableError(ami.imageId, ami.state);
  await checkInstanceType(clients.ec2, request.instanceType, ami, config.region);
  await adoptLegacyAmi(clients.ec2, ami);

  const validationId = validationIdFor(ami.imageId, request.idempotencyKey);
  const input = buildValidateAmiInput(
    { imageId: ami.imageId, instanceType: request.instanceType, expectedVersion: ami.version },
    config.validation,
    readScript(),
  );
  const answer = (executionArn: string, status: ValidationStatus): StartValidationResponse => ({
    validationId,
    executionArn,
    imageId: ami.imageId,
    instanceType: request.instanceType,
    status,
    location: validationLocation(validationId),
  });
  try {
    const started = await clients.sfn.send(
      new StartExecutionCommand({ stateMachineArn, name: validationId, input: JSON.stringify(input) }),
    );
    return answer(started.executionArn ?? executionArnFor(stateMachineArn, validationId), 'RUNNING');
  } catch (error) {
    if (errorName(error) !== 'ExecutionAlreadyExists') throw fromAwsError('Step Functions', error);
  }
  // The name is taken: by this same request earlier (an ended execution, or an input that
  // changed with a redeploy), or by the same key for another request.
  const executionArn = executionArnFor(stateMachineArn, validationId);
  const existing = await awsCall(
    'Step Functions',
    clients.sfn.send(new DescribeExecutionCommand({ executionArn })),
  );
  const previous = parseJsonObject(existing.input);
  if (previous?.imageId !== ami.imageId || previous?.instanceType !== request.instanceType) {
    throw new IdempotencyKeyReusedError(validationId, executionArn);
  }
  return answer(executionArn, validationProgress(existing, []).status);
}
