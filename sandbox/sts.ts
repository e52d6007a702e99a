/** STS over the query protocol (version 2011-06-15): GetCallerIdentity. */

import { SANDBOX_ACCOUNT_ID, SANDBOX_CALLER_ARN, SANDBOX_USER_ID } from './credentials';
import type { AwsError } from './errors/aws-error';
import { InvalidAction } from './errors/common';
import type { QueryService, ServiceResponse } from './services';
import { xmlDocument } from './xml';

export const STS_XMLNS = 'https://sts.amazonaws.com/doc/2011-06-15/';
const XML = 'text/xml';

/** `<ErrorResponse>` as STS, CloudFormation and other awsQuery services write it. */
export function renderQueryError(xmlns: string) {
  return (error: AwsError, requestId: string): ServiceResponse => ({
    status: error.status,
    contentType: XML,
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

export const stsService: QueryService = {
  signingName: 'sts',
  renderError: renderQueryError(STS_XMLNS),
  async handle(params, ctx) {
    if (params.action !== 'GetCallerIdentity') {
      throw InvalidAction.noOperation(params.action, '2011-06-15');
    }
    return {
      status: 200,
      contentType: XML,
      body: xmlDocument(
        'GetCallerIdentityResponse',
        {
          GetCallerIdentityResult: {
            Arn: SANDBOX_CALLER_ARN,
            UserId: SANDBOX_USER_ID,
            Account: SANDBOX_ACCOUNT_ID,
          },
          ResponseMetadata: { RequestId: ctx.requestId },
        },
        STS_XMLNS,
      ),
    };
  },
};
