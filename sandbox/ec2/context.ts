/** What each EC2 action receives, and the shape of an action. */
import { AwsError } from '../aws-error';
import type { QueryParams } from '../query';
import type { AwsCallContext } from '../services';
import type { RegionState } from '../state';
import type { XmlObject } from '../xml';

export interface Ec2Context extends AwsCallContext {
  params: QueryParams;
  region: RegionState;
  dryRun: boolean;
  /**
   * Call once the request is known to succeed and before anything changes: with `DryRun=true`
   * it answers `DryRunOperation` (HTTP 412) instead.
   */
  dryRunCheckpoint(): void;
}

/** Returns the response members (the dispatcher adds `requestId` and the root element). */
export type Ec2Action = (ctx: Ec2Context) => XmlObject | Promise<XmlObject>;

export function dryRunOperation(): AwsError {
  return new AwsError('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412);
}

/** `Invalid id: "ami-xyz" (expecting "ami-...")`, EC2's wording for malformed ids. */
export function malformed(code: string, id: string, prefix: string): AwsError {
  return new AwsError(code, `Invalid id: "${id}" (expecting "${prefix}-...")`);
}

export function requireParam(ctx: Ec2Context, name: string): string {
  const value = ctx.params.get(name);
  if (value === undefined || value === '') {
    throw new AwsError('MissingParameter', `The request must contain the parameter ${name}`);
  }
  return value;
}

/** `The image id '[ami-1, ami-2]' does not exist`: EC2 brackets image ids, even one. */
export function idList(ids: readonly string[]): string {
  return `[${ids.join(', ')}]`;
}
