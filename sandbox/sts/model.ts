/** STS's model: who the caller is (the sandbox's one identity, credentials.ts). */
import { SANDBOX_ACCOUNT_ID, SANDBOX_CALLER_ARN, SANDBOX_USER_ID } from '../credentials';

export interface CallerIdentity {
  arn: string;
  userId: string;
  account: string;
}

export function callerIdentity(): CallerIdentity {
  return { arn: SANDBOX_CALLER_ARN, userId: SANDBOX_USER_ID, account: SANDBOX_ACCOUNT_ID };
}
