/** CloudFormation over the query protocol (version 2010-05-15): DescribeStacks, rendered as CloudFormation's XML. */
import { InvalidAction } from '../errors/common';
import { renderQueryError } from '../query';
import type { QueryService } from '../services';
import { members, xmlDocument } from '../xml';
import { describeStacks, STACK_CREATED, type Stack, stackOutputs } from './model';

export const CLOUDFORMATION_XMLNS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';

function renderStack(stack: Stack) {
  return {
    StackId: stack.id,
    StackName: stack.name,
    Description: `The ${stack.info.serviceName} API (local sandbox)`,
    CreationTime: STACK_CREATED,
    LastUpdatedTime: STACK_CREATED,
    StackStatus: 'UPDATE_COMPLETE',
    DisableRollback: false,
    NotificationARNs: members([]),
    Capabilities: members(['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM']),
    Outputs: members(stackOutputs(stack.info)),
    Tags: members([{ Key: 'STAGE', Value: stack.info.stage }]),
    EnableTerminationProtection: false,
    DriftInformation: { StackDriftStatus: 'NOT_CHECKED' },
  };
}

export const cloudFormationService: QueryService = {
  signingName: 'cloudformation',
  renderError: renderQueryError(CLOUDFORMATION_XMLNS),
  async handle(params, ctx) {
    if (params.action !== 'DescribeStacks') throw InvalidAction.noOperation(params.action, '2010-05-15');
    const stacks = describeStacks(ctx.sandbox, ctx.world.accountId, ctx.regionName, params.get('StackName'));
    return {
      status: 200,
      contentType: 'text/xml',
      body: xmlDocument(
        'DescribeStacksResponse',
        {
          DescribeStacksResult: { Stacks: members(stacks.map(renderStack)) },
          ResponseMetadata: { RequestId: ctx.requestId },
        },
        CLOUDFORMATION_XMLNS,
      ),
    };
  },
};
