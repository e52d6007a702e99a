/**
 * EC2 over the query protocol (version 2016-11-15): dispatch by `Action`, `DryRun`, and EC2's
 * XML envelopes for answers and errors. To add an action, write it beside the others and list
 * it in ACTIONS.
 */
import { AwsError } from '../aws-error';
import type { QueryParams } from '../query';
import type { AwsCallContext, QueryService, ServiceResponse } from '../services';
import { xmlDocument } from '../xml';
import { dryRunOperation, type Ec2Action, type Ec2Context } from './context';
import { deregisterImage, describeImages } from './images';
import { describeInstanceTypes } from './instance-types';
import { describeInstanceStatus, describeInstances, runInstances, terminateInstances } from './instances';
import { describeSubnets, describeVpcs } from './network';
import { deleteSnapshot, describeSnapshots } from './snapshots';
import { createTags, deleteTags } from './tags';

export const EC2_XMLNS = 'http://ec2.amazonaws.com/doc/2016-11-15/';

const ACTIONS: Record<string, Ec2Action> = {
  DescribeImages: describeImages,
  DeregisterImage: deregisterImage,
  DescribeSnapshots: describeSnapshots,
  DeleteSnapshot: deleteSnapshot,
  CreateTags: createTags,
  DeleteTags: deleteTags,
  DescribeInstances: describeInstances,
  DescribeInstanceStatus: describeInstanceStatus,
  DescribeInstanceTypes: describeInstanceTypes,
  RunInstances: runInstances,
  TerminateInstances: terminateInstances,
  DescribeVpcs: describeVpcs,
  DescribeSubnets: describeSubnets,
};

const XML = 'text/xml;charset=UTF-8';

export function renderEc2Error(error: AwsError, requestId: string): ServiceResponse {
  return {
    status: error.status,
    contentType: XML,
    body: xmlDocument('Response', {
      Errors: { Error: { Code: error.code, Message: error.message } },
      RequestID: requestId,
    }),
  };
}

export const ec2Service: QueryService = {
  signingName: 'ec2',
  renderError: renderEc2Error,
  async handle(params: QueryParams, call: AwsCallContext): Promise<ServiceResponse> {
    const actionName = params.action ?? '';
    const action = Object.hasOwn(ACTIONS, actionName) ? ACTIONS[actionName] : undefined;
    if (!action) {
      throw new AwsError('InvalidAction', `The action ${actionName} is not valid for this web service.`);
    }
    const dryRun = params.bool('DryRun');
    const ctx: Ec2Context = {
      ...call,
      params,
      region: call.world.region(call.regionName),
      dryRun,
      dryRunCheckpoint: () => {
        if (dryRun) throw dryRunOperation();
      },
    };
    const members = await action(ctx);
    return {
      status: 200,
      contentType: XML,
      body: xmlDocument(`${actionName}Response`, { requestId: call.requestId, ...members }, EC2_XMLNS),
    };
  },
};
