/**
 * The query protocol (EC2, STS, CloudFormation): requests are a form-encoded body of flattened
 * parameters, e.g. `Owner.1=self&Filter.1.Name=name&Filter.1.Value.1=pulsar-base-*`; errors of
 * STS, CloudFormation and other awsQuery services are an `<ErrorResponse>` (EC2 has its own).
 */
import type { AwsError } from './errors/aws-error';
import { InvalidParameterValue } from './errors/ec2';
import type { ServiceResponse } from './services';
import { xmlDocument } from './xml';

export interface QueryFilter {
  name: string;
  values: string[];
}

export class QueryParams {
  readonly values: ReadonlyMap<string, string>;

  constructor(body: string) {
    const values = new Map<string, string>();
    for (const [key, value] of new URLSearchParams(body)) values.set(key, value);
    this.values = values;
  }

  get action(): string | undefined {
    return this.values.get('Action');
  }

  get(key: string): string | undefined {
    return this.values.get(key);
  }

  /** `Prefix.1`, `Prefix.2`, … in index order (indices need not be contiguous). */
  list(prefix: string): string[] {
    return this.indexed(prefix)
      .map((index) => this.values.get(`${prefix}.${index}`))
      .filter((v): v is string => v !== undefined);
  }

  /** `Prefix.N.Member` groups, e.g. `Tag.1.Key`/`Tag.1.Value`, as one record per N. */
  structs(prefix: string): Record<string, string>[] {
    return this.indexed(prefix).map((index) => {
      const head = `${prefix}.${index}.`;
      const struct: Record<string, string> = {};
      for (const [key, value] of this.values)
        if (key.startsWith(head)) struct[key.slice(head.length)] = value;
      return struct;
    });
  }

  /** `Filter.N.Name` with `Filter.N.Value.M`. */
  filters(prefix = 'Filter'): QueryFilter[] {
    return this.indexed(prefix).flatMap((index) => {
      const name = this.values.get(`${prefix}.${index}.Name`);
      if (name === undefined) return [];
      return [{ name, values: this.list(`${prefix}.${index}.Value`) }];
    });
  }

  bool(key: string): boolean {
    return this.values.get(key)?.toLowerCase() === 'true';
  }

  int(key: string): number | undefined {
    const raw = this.values.get(key);
    if (raw === undefined) return undefined;
    if (!/^-?\d+$/.test(raw)) {
      throw InvalidParameterValue.forParameter(lowerFirst(key), raw);
    }
    return Number(raw);
  }

  private indexed(prefix: string): number[] {
    const head = `${prefix}.`;
    const indices = new Set<number>();
    for (const key of this.values.keys()) {
      if (!key.startsWith(head)) continue;
      const match = /^(\d+)(?:\.|$)/.exec(key.slice(head.length));
      if (match?.[1] !== undefined) indices.add(Number(match[1]));
    }
    return [...indices].sort((a, b) => a - b);
  }
}

export const lowerFirst = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1);

/** `<ErrorResponse>` as STS, CloudFormation and other awsQuery services write it. */
export function renderQueryError(xmlns: string) {
  return (error: AwsError, requestId: string): ServiceResponse => ({
    status: error.status,
    contentType: 'text/xml',
    body: xmlDocument(
      'ErrorResponse',
      {
        Error: {
          Type: error.status >= 500 ? 'Receiver' : 'Sender',
          Code: error.code,
          Message: error.message,
        },
        RequestId: requestId,
      },
      xmlns,
    ),
  });
}
