/**
 * CloudFormation's model: the project's own stack `{service}-{stage}`, in the API region
 * only, whose `ServiceEndpoint` output is the sandbox itself (how the CLI finds the API
 * without `--api-url`).
 */
import { createHash } from 'node:crypto';
import { ValidationError } from '../errors/cloudformation';
import type { SandboxInfo } from '../services';

export const STACK_CREATED = '2025-01-01T00:00:00.000Z';

export function stackName(info: SandboxInfo): string {
  return `${info.serviceName}-${info.stage}`;
}

export function stackId(info: SandboxInfo, accountId: string): string {
  const hex = createHash('sha256').update(stackName(info)).digest('hex');
  const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
  return `arn:aws:cloudformation:${info.apiRegion}:${accountId}:stack/${stackName(info)}/${uuid}`;
}

/** The stack's outputs, as serverless deploys them. */
export function stackOutputs(
  info: SandboxInfo,
): { OutputKey: string; OutputValue: string; Description: string }[] {
  return [
    { OutputKey: 'ServiceEndpoint', OutputValue: info.url, Description: 'URL of the service endpoint' },
  ];
}

export interface Stack {
  id: string;
  name: string;
  info: SandboxInfo;
}

/**
 * DescribeStacks: the project's stack when asked in the API region (by name, id, or without
 * one); a named stack elsewhere or of another name does not exist.
 */
export function describeStacks(
  info: SandboxInfo,
  accountId: string,
  regionName: string,
  requested: string | undefined,
): Stack[] {
  const id = stackId(info, accountId);
  const here = regionName === info.apiRegion;
  const matches = requested === undefined || requested === stackName(info) || requested === id;
  if (requested !== undefined && (!here || !matches)) throw ValidationError.noStack(requested);
  return here ? [{ id, name: stackName(info), info }] : [];
}
