/** SSM Parameter Store: GetParameter(s), PutParameter, GetParametersByPath, DeleteParameter. */
import { AMI_ID_PATTERN } from '../../functions/lib/validation';
import { AwsError } from '../aws-error';
import {
  optionalBoolean,
  optionalInteger,
  optionalString,
  optionalStringList,
  requiredString,
} from '../json-input';
import type { AwsCallContext, JsonOperation } from '../services';
import type { ParameterRecord } from '../state';

const TYPES = new Set(['String', 'StringList', 'SecureString']);
const DATA_TYPES = new Set(['text', 'aws:ec2:image', 'aws:ssm:integration']);
const NAME_PATTERN = /^[a-zA-Z0-9_.\-/]{1,2048}$/;

function parameterArn(ctx: AwsCallContext, name: string): string {
  return `arn:aws:ssm:${ctx.regionName}:${ctx.world.accountId}:parameter${name.startsWith('/') ? '' : '/'}${name}`;
}

function render(ctx: AwsCallContext, p: ParameterRecord) {
  return {
    Name: p.name,
    Type: p.type,
    Value: p.value,
    Version: p.version,
    LastModifiedDate: p.lastModifiedDate.getTime() / 1000,
    ARN: parameterArn(ctx, p.name),
    DataType: p.dataType,
  };
}

function parameters(ctx: AwsCallContext): Map<string, ParameterRecord> {
  return ctx.world.region(ctx.regionName).parameters;
}

function notFound(name: string): AwsError {
  return new AwsError('ParameterNotFound', `Parameter ${name} not found.`);
}

export const getParameter: JsonOperation = (input, ctx) => {
  const name = requiredString(input, 'Name');
  const parameter = parameters(ctx).get(name);
  if (!parameter) throw notFound(name);
  return { Parameter: render(ctx, parameter) };
};

export const getParameters: JsonOperation = (input, ctx) => {
  const names = optionalStringList(input, 'Names') ?? [];
  if (names.length === 0 || names.length > 10) {
    throw new AwsError('ValidationException', 'Names must contain between 1 and 10 parameter names');
  }
  const found = names.flatMap((name) => {
    const p = parameters(ctx).get(name);
    return p ? [render(ctx, p)] : [];
  });
  return { Parameters: found, InvalidParameters: names.filter((n) => !parameters(ctx).has(n)) };
};

export const putParameter: JsonOperation = (input, ctx) => {
  const name = requiredString(input, 'Name');
  const value = requiredString(input, 'Value');
  const type = optionalString(input, 'Type');
  const dataType = optionalString(input, 'DataType');
  const overwrite = optionalBoolean(input, 'Overwrite') ?? false;
  if (!NAME_PATTERN.test(name) || /^\/?(aws|ssm)/i.test(name)) {
    throw new AwsError(
      'ValidationException',
      `Parameter name: can't be prefixed with "aws" or "ssm" (case-insensitive), and may only contain a-zA-Z0-9_.-/`,
    );
  }
  if (value === '') {
    throw new AwsError(
      'ValidationException',
      "1 validation error detected: Value '' at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
  }
  if (type !== undefined && !TYPES.has(type)) {
    throw new AwsError(
      'ValidationException',
      `1 validation error detected: Value '${type}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [SecureString, StringList, String]`,
    );
  }
  if (dataType !== undefined && !DATA_TYPES.has(dataType)) {
    throw new AwsError(
      'ValidationException',
      `The following data type is not supported: ${dataType} (Data type names are all lowercase.)`,
    );
  }
  if (dataType === 'aws:ec2:image' && !AMI_ID_PATTERN.test(value)) {
    throw new AwsError('ValidationException', `Parameter value, ${value}, is not a valid AMI ID.`);
  }
  const store = parameters(ctx);
  const existing = store.get(name);
  if (existing && !overwrite) {
    throw new AwsError(
      'ParameterAlreadyExists',
      'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.',
    );
  }
  if (!existing && type === undefined) {
    throw new AwsError('ValidationException', 'A parameter type is required when you create a parameter.');
  }
  const next: ParameterRecord = {
    name,
    type: (type ?? existing?.type ?? 'String') as ParameterRecord['type'],
    value,
    version: (existing?.version ?? 0) + 1,
    lastModifiedDate: new Date(),
    dataType: dataType ?? existing?.dataType ?? 'text',
    description: optionalString(input, 'Description') ?? existing?.description,
  };
  store.set(name, next);
  return { Version: next.version, Tier: 'Standard' };
};

export const deleteParameter: JsonOperation = (input, ctx) => {
  const name = requiredString(input, 'Name');
  if (!parameters(ctx).delete(name)) throw notFound(name);
  return {};
};

export const getParametersByPath: JsonOperation = (input, ctx) => {
  const rawPath = requiredString(input, 'Path');
  const recursive = optionalBoolean(input, 'Recursive') ?? false;
  const maxResults = optionalInteger(input, 'MaxResults', 1, 10) ?? 10;
  const nextToken = optionalString(input, 'NextToken');
  if (!rawPath.startsWith('/')) {
    throw new AwsError(
      'ValidationException',
      'The parameter doesn\'t meet the parameter name requirements. The parameter name must begin with a forward slash "/".',
    );
  }
  const prefix = rawPath.endsWith('/') ? rawPath : `${rawPath}/`;
  const names = [...parameters(ctx).keys()]
    .filter((name) => name.startsWith(prefix) && (recursive || !name.slice(prefix.length).includes('/')))
    .sort();
  let start = 0;
  if (nextToken !== undefined) {
    let after: unknown;
    try {
      after = JSON.parse(Buffer.from(nextToken, 'base64url').toString('utf8'));
    } catch {
      after = undefined;
    }
    if (typeof after !== 'string')
      throw new AwsError('ValidationException', 'The specified token is invalid.');
    start = names.findIndex((name) => name > after);
    if (start === -1) start = names.length;
  }
  const page = names.slice(start, start + maxResults);
  const last = page.at(-1);
  const more = start + maxResults < names.length && last !== undefined;
  return {
    Parameters: page.flatMap((name) => {
      const p = parameters(ctx).get(name);
      return p ? [render(ctx, p)] : [];
    }),
    ...(more ? { NextToken: Buffer.from(JSON.stringify(last)).toString('base64url') } : {}),
  };
};
