/** Reading JSON-protocol request members, with `ValidationException` for wrong types. */
import { ValidationException } from './errors/common';
import type { JsonInput } from './services';

function invalid(key: string, expected: string): ValidationException {
  return ValidationException.constraint(lower(key), undefined, expected);
}

const lower = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

export function optionalString(input: JsonInput, key: string): string | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalid(key, 'Member must be a string');
  return value;
}

export function requiredString(input: JsonInput, key: string): string {
  const value = optionalString(input, key);
  if (value === undefined) {
    throw ValidationException.constraint(lower(key), null, 'Member must not be null');
  }
  return value;
}

export function optionalBoolean(input: JsonInput, key: string): boolean | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw invalid(key, 'Member must be a boolean');
  return value;
}

export function optionalInteger(input: JsonInput, key: string, min: number, max: number): number | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalid(key, 'Member must be an integer');
  if (value < min) throw invalid(key, `Member must have value greater than or equal to ${min}`);
  if (value > max) throw invalid(key, `Member must have value less than or equal to ${max}`);
  return value;
}

export function optionalStringList(input: JsonInput, key: string): string[] | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string'))
    throw invalid(key, 'Member must be a list of strings');
  return value as string[];
}
