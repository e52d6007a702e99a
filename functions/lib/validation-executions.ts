/**
 * Validations are ValidateAmi executions: the validation id is the execution name, so a
 * validation is found again from its id alone. Ids, execution ARNs and locations; no client.
 */
import { randomUUID } from 'node:crypto';
import type { Config } from './config';
import { ValidationNotConfiguredError } from './errors';
import { uuidV5 as uuidV5In } from './uuid';

export { executionArnFor, type Sfn } from './executions';

/** Validation ids are UUIDs: v4 when random, v5 when derived from an Idempotency-Key. */
export const VALIDATION_ID_PATTERN =
  /^[0-9a-f]{8}-[0-9a-f]{4}-[45][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** UUID v5 namespace of validation ids derived from an Idempotency-Key. */
const IDEMPOTENCY_NAMESPACE = '7d1f3a52-5b0e-4f0a-9a43-2c5e8f1b6d90';

/** A UUID v5 of `name` in the validation ids' namespace (or `namespace`). */
export function uuidV5(name: string, namespace: string = IDEMPOTENCY_NAMESPACE): string {
  return uuidV5In(name, namespace);
}

/**
 * The validation id, which is the execution name (36 characters: within the 80 of an
 * execution name and the 64 of the RunInstances ClientToken the machine derives from it).
 * The same key for the same AMI always gives the same id.
 */
export function validationIdFor(imageId: string, idempotencyKey?: string): string {
  return idempotencyKey === undefined ? randomUUID() : uuidV5(`${imageId}\n${idempotencyKey}`);
}

export function validationLocation(validationId: string): string {
  return `/validations/${validationId}`;
}

export function machineArn(config: Pick<Config, 'validateAmiStateMachineArn'>): string {
  if (!config.validateAmiStateMachineArn) throw new ValidationNotConfiguredError();
  return config.validateAmiStateMachineArn;
}
