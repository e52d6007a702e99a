/** STS over the query protocol (version 2011-06-15): GetCallerIdentity, rendered as STS's XML. */
import { InvalidAction } from '../errors/common';
import { renderQueryError } from '../query';
import type { QueryService } from '../services';
import { xmlDocument } from '../xml';
import { callerIdentity } from './model';

export const STS_XMLNS = 'https://sts.amazonaws.com/doc/2011-06-15/';

export const stsService: QueryService = {
  signingName: 'sts',
  renderError: renderQueryError(STS_XMLNS),
  async handle(params, ctx) {
    if (params.action !== 'GetCallerIdentity') throw InvalidAction.noOperation(params.action, '2011-06-15');
    const identity = callerIdentity();
    return {
      status: 200,
      contentType: 'text/xml',
      body: xmlDocument(
        'GetCallerIdentityResponse',
        {
          GetCallerIdentityResult: { Arn: identity.arn, UserId: identity.userId, Account: identity.account },
          ResponseMetadata: { RequestId: ctx.requestId },
        },
        STS_XMLNS,
      ),
    };
  },
};
