/** Parameter Store on the wire: GetParameter(s), PutParameter, GetParametersByPath, DeleteParameter. */
import { ValidationException } from '../../errors/common';
import {
  optionalBoolean,
  optionalInteger,
  optionalString,
  optionalStringList,
  requiredString,
} from '../../json-input';
import { pageAfterKey } from '../../pagination';
import type { AwsCallContext, JsonOperation } from '../../services';
import type { ParameterRecord } from '../../state';
import {
  checkPut,
  deleteParameter as deleteOne,
  getParameter as getOne,
  getParameters as getSome,
  namesByPath,
  putParameter as putOne,
} from '../models/parameters';

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

const store = (ctx: AwsCallContext) => ctx.world.region(ctx.regionName).parameters;

export const getParameter: JsonOperation = (input, ctx) => ({
  Parameter: render(ctx, getOne(store(ctx), requiredString(input, 'Name'))),
});

export const getParameters: JsonOperation = (input, ctx) => {
  const { found, invalid } = getSome(store(ctx), optionalStringList(input, 'Names') ?? []);
  return { Parameters: found.map((p) => render(ctx, p)), InvalidParameters: invalid };
};

export const putParameter: JsonOperation = (input, ctx) => {
  const put = {
    name: requiredString(input, 'Name'),
    value: requiredString(input, 'Value'),
    type: optionalString(input, 'Type'),
    dataType: optionalString(input, 'DataType'),
    overwrite: optionalBoolean(input, 'Overwrite') ?? false,
  };
  const existing = checkPut(store(ctx), put);
  const next = putOne(store(ctx), put, existing, optionalString(input, 'Description'));
  return { Version: next.version, Tier: 'Standard' };
};

export const deleteParameter: JsonOperation = (input, ctx) => {
  deleteOne(store(ctx), requiredString(input, 'Name'));
  return {};
};

export const getParametersByPath: JsonOperation = (input, ctx) => {
  const rawPath = requiredString(input, 'Path');
  const recursive = optionalBoolean(input, 'Recursive') ?? false;
  const maxResults = optionalInteger(input, 'MaxResults', 1, 10) ?? 10;
  const nextToken = optionalString(input, 'NextToken');
  const names = namesByPath(store(ctx), rawPath, recursive);
  const page = pageAfterKey(
    names,
    (name) => name,
    maxResults,
    nextToken,
    'ssm:GetParametersByPath',
    () => new ValidationException('The specified token is invalid.'),
  );
  return {
    Parameters: page.items.flatMap((name) => {
      const p = store(ctx).get(name);
      return p ? [render(ctx, p)] : [];
    }),
    ...(page.nextToken !== undefined ? { NextToken: page.nextToken } : {}),
  };
};
