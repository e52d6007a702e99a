/**
 * zod/mini, tree-shakeable (zod's classic build and its locales weigh ~450 KiB in every bundle),
 * with zod's English messages for the issues a schema gives no message of its own: zod/mini
 * loads no locale and would say only "Invalid input". The messages are those of
 * zod/v4/locales/en, so a rejection reads as it did with classic zod.
 * Every schema imports zod from here: `import * as z from './zod'`.
 */
import * as z from 'zod/mini';

export * from 'zod/mini';

const SIZABLE: Record<string, { unit: string }> = {
  string: { unit: 'characters' },
  file: { unit: 'bytes' },
  array: { unit: 'items' },
  set: { unit: 'items' },
  map: { unit: 'entries' },
};

const FORMATS: Record<string, string> = {
  regex: 'input',
  email: 'email address',
  url: 'URL',
  emoji: 'emoji',
  uuid: 'UUID',
  uuidv4: 'UUIDv4',
  uuidv6: 'UUIDv6',
  nanoid: 'nanoid',
  guid: 'GUID',
  cuid: 'cuid',
  cuid2: 'cuid2',
  ulid: 'ULID',
  xid: 'XID',
  ksuid: 'KSUID',
  datetime: 'ISO datetime',
  date: 'ISO date',
  time: 'ISO time',
  duration: 'ISO duration',
  ipv4: 'IPv4 address',
  ipv6: 'IPv6 address',
  mac: 'MAC address',
  cidrv4: 'IPv4 range',
  cidrv6: 'IPv6 range',
  base64: 'base64-encoded string',
  base64url: 'base64url-encoded string',
  json_string: 'JSON string',
  e164: 'E.164 number',
  currency_code: 'currency code',
  credit_card: 'credit card number',
  iban: 'IBAN',
  jwt: 'JWT',
  template_literal: 'input',
};

/** zod's util.parsedType, stringifyPrimitive and joinValues (z.util would bundle all of util). */
function parsedType(data: unknown): string {
  const t = typeof data;
  if (t === 'number') return Number.isNaN(data) ? 'nan' : 'number';
  if (t === 'object') {
    if (data === null) return 'null';
    if (Array.isArray(data)) return 'array';
    const obj = data as { constructor?: { name: string } };
    if (Object.getPrototypeOf(obj) !== Object.prototype && 'constructor' in obj && obj.constructor) {
      return obj.constructor.name;
    }
  }
  return t;
}

const stringifyPrimitive = (value: unknown): string =>
  typeof value === 'bigint' ? `${value.toString()}n` : typeof value === 'string' ? `"${value}"` : `${value}`;

const joinValues = (values: readonly unknown[], separator: string): string =>
  values.map(stringifyPrimitive).join(separator);

const typeName = (type: string, input?: unknown): string => {
  if (type === 'number' && typeof input === 'number' && !Number.isFinite(input)) return String(input);
  return type === 'nan' ? 'NaN' : type;
};

/** zod/v4/locales/en's messages, issue by issue. */
export function englishMessage(issue: z.core.$ZodRawIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `Invalid input: expected ${typeName(issue.expected)}, received ${typeName(parsedType(issue.input), issue.input)}`;
    case 'invalid_value':
      if (issue.values.length === 1) return `Invalid input: expected ${stringifyPrimitive(issue.values[0])}`;
      return `Invalid option: expected one of ${joinValues(issue.values, '|')}`;
    case 'too_big': {
      const adj = issue.exact ? 'exactly ' : issue.inclusive ? '<=' : '<';
      const sizing = SIZABLE[issue.origin ?? ''];
      if (sizing)
        return `Too big: expected ${issue.origin ?? 'value'} to have ${adj}${issue.maximum.toString()} ${sizing.unit}`;
      return `Too big: expected ${issue.origin ?? 'value'} to be ${adj}${issue.maximum.toString()}`;
    }
    case 'too_small': {
      const adj = issue.exact ? 'exactly ' : issue.inclusive ? '>=' : '>';
      const sizing = SIZABLE[issue.origin ?? ''];
      if (sizing)
        return `Too small: expected ${issue.origin} to have ${adj}${issue.minimum.toString()} ${sizing.unit}`;
      return `Too small: expected ${issue.origin} to be ${adj}${issue.minimum.toString()}`;
    }
    case 'invalid_format': {
      const f = issue as z.core.$ZodIssueInvalidStringFormat & {
        prefix?: string;
        suffix?: string;
        includes?: string;
        pattern?: string;
      };
      if (f.format === 'starts_with') return `Invalid string: must start with "${f.prefix}"`;
      if (f.format === 'ends_with') return `Invalid string: must end with "${f.suffix}"`;
      if (f.format === 'includes') return `Invalid string: must include "${f.includes}"`;
      if (f.format === 'regex') return `Invalid string: must match pattern ${f.pattern}`;
      return `Invalid ${FORMATS[f.format] ?? f.format}`;
    }
    case 'not_multiple_of':
      return `Invalid number: must be a multiple of ${issue.divisor}`;
    case 'unrecognized_keys':
      return `Unrecognized key${issue.keys.length > 1 ? 's' : ''}: ${joinValues(issue.keys, ', ')}`;
    case 'invalid_key':
      return `Invalid key in ${issue.origin}`;
    case 'invalid_union': {
      const u = issue as { options?: unknown; inclusive?: boolean };
      if (u.options && Array.isArray(u.options) && u.options.length > 0) {
        return `Invalid discriminator value. Expected ${u.options.map((o) => `'${o}'`).join(' | ')}`;
      }
      if (u.inclusive === false) return 'Invalid input: more than one option matched';
      return 'Invalid input';
    }
    case 'invalid_element':
      return `Invalid value in ${issue.origin}`;
    default:
      return 'Invalid input';
  }
}

z.config({ localeError: englishMessage });
