/**
 * AWS credentials for signing: the standard Node chain (env, SSO, ini, process, web identity,
 * ECS, IMDS). Static keys in the environment are read directly, as the chain's first link
 * would, so the common case does not load the whole chain.
 */
import type { AwsCredentials } from '../deps';
import { CliError } from '../errors';

export const NO_CREDENTIALS =
  "No AWS credentials found: run 'aws configure' or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY";

type Env = Readonly<Record<string, string | undefined>>;

/** The chain's `fromEnv` link: used only when AWS_PROFILE is unset (the chain skips env then). */
export function credentialsFromEnv(env: Env): AwsCredentials | undefined {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (env.AWS_PROFILE || !accessKeyId || !secretAccessKey) return undefined;
  const sessionToken = env.AWS_SESSION_TOKEN;
  return sessionToken ? { accessKeyId, secretAccessKey, sessionToken } : { accessKeyId, secretAccessKey };
}

export async function defaultCredentials(env: Env): Promise<AwsCredentials> {
  const fromEnv = credentialsFromEnv(env);
  if (fromEnv) return fromEnv;
  const { fromNodeProviderChain } = await import('@aws-sdk/credential-providers');
  const { accessKeyId, secretAccessKey, sessionToken } = await fromNodeProviderChain()();
  return sessionToken ? { accessKeyId, secretAccessKey, sessionToken } : { accessKeyId, secretAccessKey };
}

/** Runs a credential source and turns "nothing found" into the CLI's one-line message. */
export async function resolveCredentials(source: () => Promise<AwsCredentials>): Promise<AwsCredentials> {
  try {
    const credentials = await source();
    if (!credentials.accessKeyId || !credentials.secretAccessKey) throw new CliError(NO_CREDENTIALS);
    return credentials;
  } catch (error) {
    if (error instanceof CliError) throw error;
    const e = error as Error;
    if (e.name === 'CredentialsProviderError' && /any providers|Unable to find/i.test(e.message)) {
      throw new CliError(NO_CREDENTIALS, { title: 'No AWS credentials' }, { cause: error });
    }
    throw new CliError(
      `Could not load AWS credentials: ${e.message ?? String(error)}`,
      { title: 'AWS credentials unavailable' },
      { cause: error },
    );
  }
}
