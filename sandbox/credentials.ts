/**
 * The documented local credentials. The sandbox accepts requests signed with this key pair only,
 * and answers STS GetCallerIdentity with this identity.
 */
export const SANDBOX_ACCESS_KEY_ID = 'AKIAPULSARAMISANDBOX';
export const SANDBOX_SECRET_ACCESS_KEY = 'pulsar-ami-sandbox-secret';
export const SANDBOX_ACCOUNT_ID = '123456789012';
export const SANDBOX_USER_ID = 'AIDAPULSARAMISANDBOX1';
export const SANDBOX_CALLER_ARN = `arn:aws:iam::${SANDBOX_ACCOUNT_ID}:user/pulsar-ami-sandbox`;
/** Owner id of Amazon's public images (as for Amazon Linux). */
export const AMAZON_OWNER_ID = '137112412989';

/** Shaped like an SDK v3 `credentials` option. */
export const sandboxCredentials = {
  accessKeyId: SANDBOX_ACCESS_KEY_ID,
  secretAccessKey: SANDBOX_SECRET_ACCESS_KEY,
} as const;
