/**
 * EC2 over the query protocol (version 2016-11-15): dispatch by `Action`, `DryRun`, and EC2's
 * XML envelopes for answers and errors. The actions read their parameters and render their
 * answers in protocol/; the state and rules they apply are in models/. To add an action, write
 * its model operation, then its wire form in protocol/actions.ts.
 */
import type { AwsError } from '../errors/aws-error';
import { InvalidAction } from '../errors/common';
import { DryRunOperation } from '../errors/ec2';
import type { QueryParams } from '../query';
import type { AwsCallContext, QueryService, ServiceResponse } from '../services';
import { xmlDocument } from '../xml';
import { ACTIONS } from './protocol/actions';

export const EC2_XMLNS = 'http://ec2.amazonaws.com/doc/2016-11-15/';

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
    if (!action) throw InvalidAction.notValid(actionName);
    const dryRun = params.bool('DryRun');
    const members = await action({
      params,
      scope: {
        world: call.world,
        region: call.world.region(call.regionName),
        regionName: call.regionName,
        checkpoint: () => {
          if (dryRun) throw new DryRunOperation();
        },
      },
    });
    return {
      status: 200,
      contentType: XML,
      body: xmlDocument(`${actionName}Response`, { requestId: call.requestId, ...members }, EC2_XMLNS),
    };
  },
};
