/**
 * CloudFormation over the query protocol (version 2010-05-15): DescribeStacks for the
 * project's own stack `{service}-{stage}` in the API region, whose `ServiceEndpoint` output
 * is the sandbox itself. This is how the CLI finds the API without `--api-url`.
 */
import { createHash } from 'node:crypto';
import { ValidationError } from './errors/cloudformation';
import { InvalidAction } from './errors/common';
import type { QueryService, SandboxInfo } from './services';
import { renderQueryError } from './sts';
import { members, xmlDocument } from './xml';

export const CLOUDFORMATION_XMLNS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';
const STACK_CREATED = '2025-01-01T00:00:00.000Z';

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

export const cloudFormationService: QueryService = {
  signingName: 'cloudformation',
  renderError: renderQueryError(CLOUDFORMATION_XMLNS),
  async handle(params, ctx) {
    if (params.action !== 'DescribeStacks') {
      throw InvalidAction.noOperation(params.action, '2010-05-15');
    }
    const id = stackId(ctx.sandbox, ctx.world.accountId);
    const here = ctx.regionName === ctx.sandbox.apiRegion;
    const requested = params.get('StackName');
    const matches = requested === undefined || requested === stackName(ctx.sandbox) || requested === id;
    if (requested !== undefined && (!here || !matches)) {
      throw ValidationError.noStack(requested);
    }
    const stacks = here
      ? [
          {
            StackId: id,
            StackName: stackName(ctx.sandbox),
            Description: `The ${ctx.sandbox.serviceName} API (local sandbox)`,
            CreationTime: STACK_CREATED,
            LastUpdatedTime: STACK_CREATED,
            StackStatus: 'UPDATE_COMPLETE',
            DisableRollback: false,
            NotificationARNs: members([]),
            Capabilities: members(['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM']),
            Outputs: members(stackOutputs(ctx.sandbox)),
            Tags: members([{ Key: 'STAGE', Value: ctx.sandbox.stage }]),
            EnableTerminationProtection: false,
            DriftInformation: { StackDriftStatus: 'NOT_CHECKED' },
          },
        ]
      : [];
    return {
      status: 200,
      contentType: 'text/xml',
      body: xmlDocument(
        'DescribeStacksResponse',
        { DescribeStacksResult: { Stacks: members(stacks) }, ResponseMetadata: { RequestId: ctx.requestId } },
        CLOUDFORMATION_XMLNS,
      ),
    };
  },
};
