/**
 * Validations are ValidateAmi executions: the validation id is the execution name, so a
 * validation is found again from its id alone. Starting checks the AMI before anything
 * runs; an Idempotency-Key makes the name deterministic, so a retried request finds the
 * execution it started instead of starting a second one.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { adoptLegacyAmi, type Ec2, getAmi } from './ami-catalogue';
import type { StartValidationResponse, ValidationResponse, ValidationStatus } from './api-types';
import type { Config } from './config';
import {
  AmiNotAvailableError,
  awsCall,
  fromAwsError,
  IdempotencyKeyReusedError,
  ValidationNotConfiguredError,
  ValidationNotFoundError,
} from './errors';
import { parseJsonObject } from './json';
import { buildValidateAmiInput } from './validate-ami-input';
import { validationProgress } from './validation-progress';

export type Sfn = Pick<SFNClient, 'send'>;

/** Validation ids are UUIDs: v4 when random, v5 when derived from an Idempotency-Key. */
export const VALIDATION_ID_PATTERN =
  /^[0-9a-f]{8}-[0-9a-f]{4}-[45][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** UUID v5 namespace of validation ids derived from an Idempotency-Key. */
const IDEMPOTENCY_NAMESPACE = '7d1f3a52-5b0e-4f0a-9a43-2c5e8f1b6d90';

/** A UUID v5 (RFC 9562): SHA-1 of the namespace and the name, version and variant bits set. */
export function uuidV5(name: string, namespace: string = IDEMPOTENCY_NAMESPACE): string {
  const hash = createHash('sha1')
    .update(Buffer.from(namespace.replaceAll('-', ''), 'hex'))
    .update(name, 'utf8')
    .digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The validation id, which is the execution name (36 characters: within the 80 of an
 * execution name and the 64 of the RunInstances ClientToken the machine derives from it).
 * The same key for the same AMI always gives the same id.
 */
export function validationIdFor(imageId: string, idempotencyKey?: string): string {
  return idempotencyKey === undefined ? randomUUID() : uuidV5(`${imageId}\n${idempotencyKey}`);
}

/** `…:stateMachine:NAME` → `…:execution:NAME:ID`. */
export function executionArnFor(stateMachineArn: string, validationId: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${validationId}`;
}

export function validationLocation(validationId: string): string {
  return `/validations/${validationId}`;
}

function machineArn(config: Pick<Config, 'validateAmiStateMachineArn'>): string {
  if (!config.validateAmiStateMachineArn) throw new ValidationNotConfiguredError();
  return config.validateAmiStateMachineArn;
}

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

/** History pages read from the start; past them, the newest page is read too and the middle skipped. */
export const HISTORY_PAGES_FROM_START = 5;
export const HISTORY_PAGE_SIZE = 1000;

/** The execution's history, bounded: at most HISTORY_PAGES_FROM_START pages, plus the newest page. */
export async function readHistory(
  sfn: Sfn,
  executionArn: string,
): Promise<{ events: HistoryEvent[]; truncated: boolean }> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  for (let page = 0; page < HISTORY_PAGES_FROM_START; page++) {
    const answer = await awsCall(
      'Step Functions',
      sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: HISTORY_PAGE_SIZE, nextToken })),
    );
    events.push(...(answer.events ?? []));
    nextToken = answer.nextToken;
    if (!nextToken) return { events, truncated: false };
  }
  const newest = await awsCall(
    'Step Functions',
    sfn.send(
      new GetExecutionHistoryCommand({ executionArn, maxResults: HISTORY_PAGE_SIZE, reverseOrder: true }),
    ),
  );
  const seen = new Set(events.map((e) => e.id));
  for (const event of newest.events ?? []) if (!seen.has(event.id)) events.push(event);
  events.sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
  return { events, truncated: true };
}

/** Where validation `validationId` is: status, stages, instance, checks, error. */
export async function getValidation(
  sfn: Sfn,
  config: Pick<Config, 'validateAmiStateMachineArn'>,
  validationId: string,
): Promise<ValidationResponse> {
  const executionArn = executionArnFor(machineArn(config), validationId);
  let execution: DescribeExecutionCommandOutput;
  try {
    execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  } catch (error) {
    if (errorName(error) === 'ExecutionDoesNotExist') throw new ValidationNotFoundError(validationId);
    throw fromAwsError('Step Functions', error);
  }
  const { events, truncated } = await readHistory(sfn, executionArn);
  return {
    validationId,
    executionArn: execution.executionArn ?? executionArn,
    ...validationProgress(execution, events, truncated),
  };
}
