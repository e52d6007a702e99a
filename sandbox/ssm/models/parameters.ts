/** SSM Parameter Store's state and rules: names, types, data types, versions, paths. */
import { AMI_ID_PATTERN } from '../../../functions/lib/validation';
import { ValidationException } from '../../errors/common';
import { ParameterAlreadyExists, ParameterNotFound } from '../../errors/ssm';
import type { ParameterRecord } from '../../state';

type Store = Map<string, ParameterRecord>;

const TYPES = new Set(['String', 'StringList', 'SecureString']);
const DATA_TYPES = new Set(['text', 'aws:ec2:image', 'aws:ssm:integration']);
const NAME_PATTERN = /^[a-zA-Z0-9_.\-/]{1,2048}$/;

export function getParameter(store: Store, name: string): ParameterRecord {
  const parameter = store.get(name);
  if (!parameter) throw new ParameterNotFound(name);
  return parameter;
}

export function getParameters(
  store: Store,
  names: string[],
): { found: ParameterRecord[]; invalid: string[] } {
  if (names.length === 0 || names.length > 10) {
    throw new ValidationException('Names must contain between 1 and 10 parameter names');
  }
  return {
    found: names.flatMap((name) => {
      const p = store.get(name);
      return p ? [p] : [];
    }),
    invalid: names.filter((n) => !store.has(n)),
  };
}

export interface PutParameterInput {
  name: string;
  value: string;
  type?: string;
  dataType?: string;
  overwrite: boolean;
}

/**
 * PutParameter's checks, up to the point where the new version can be written: the name, the
 * value, its type and data type, and an existing parameter (only with Overwrite). Answers the
 * parameter it replaces, if any.
 */
export function checkPut(store: Store, input: PutParameterInput): ParameterRecord | undefined {
  const { name, value, type, dataType } = input;
  if (!NAME_PATTERN.test(name) || /^\/?(aws|ssm)/i.test(name)) {
    throw new ValidationException(
      `Parameter name: can't be prefixed with "aws" or "ssm" (case-insensitive), and may only contain a-zA-Z0-9_.-/`,
    );
  }
  if (value === '') {
    throw ValidationException.constraint('value', '', 'Member must have length greater than or equal to 1');
  }
  if (type !== undefined && !TYPES.has(type)) {
    throw ValidationException.constraint(
      'type',
      type,
      'Member must satisfy enum value set: [SecureString, StringList, String]',
    );
  }
  if (dataType !== undefined && !DATA_TYPES.has(dataType)) {
    throw new ValidationException(
      `The following data type is not supported: ${dataType} (Data type names are all lowercase.)`,
    );
  }
  if (dataType === 'aws:ec2:image' && !AMI_ID_PATTERN.test(value)) {
    throw new ValidationException(`Parameter value, ${value}, is not a valid AMI ID.`);
  }
  const existing = store.get(name);
  if (existing && !input.overwrite) throw new ParameterAlreadyExists();
  if (!existing && type === undefined) {
    throw new ValidationException('A parameter type is required when you create a parameter.');
  }
  return existing;
}

/** Writes the next version (after `checkPut`). */
export function putParameter(
  store: Store,
  input: PutParameterInput,
  existing: ParameterRecord | undefined,
  description: string | undefined,
): ParameterRecord {
  const next: ParameterRecord = {
    name: input.name,
    type: (input.type ?? existing?.type ?? 'String') as ParameterRecord['type'],
    value: input.value,
    version: (existing?.version ?? 0) + 1,
    lastModifiedDate: new Date(),
    dataType: input.dataType ?? existing?.dataType ?? 'text',
    description: description ?? existing?.description,
  };
  store.set(input.name, next);
  return next;
}

export function deleteParameter(store: Store, name: string): void {
  if (!store.delete(name)) throw new ParameterNotFound(name);
}

/** The names under a path (directly, or at any depth when recursive), sorted. */
export function namesByPath(store: Store, rawPath: string, recursive: boolean): string[] {
  if (!rawPath.startsWith('/')) {
    throw new ValidationException(
      'The parameter doesn\'t meet the parameter name requirements. The parameter name must begin with a forward slash "/".',
    );
  }
  const prefix = rawPath.endsWith('/') ? rawPath : `${rawPath}/`;
  return [...store.keys()]
    .filter((name) => name.startsWith(prefix) && (recursive || !name.slice(prefix.length).includes('/')))
    .sort();
}
