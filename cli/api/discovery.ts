/**
 * Where the API is: `--api-url`, else PULSAR_AMI_API_URL, else the `ServiceEndpoint` output
 * of the deployed stack `pulsar-ami-{stage}` in the region (CloudFormation DescribeStacks).
 */

import type { CloudFormationClientConfig } from '@aws-sdk/client-cloudformation';
import { isLoopback } from '../../functions/lib/loopback';
import type { AwsCredentials } from '../deps';
import { CliError, UsageError } from '../errors';
import { networkFailure } from './network';

export const STACK_OUTPUT = 'ServiceEndpoint';

export type ApiSource =
  | { kind: 'url'; url: string; from: 'flag' | 'env' }
  | { kind: 'stack'; stackName: string };

const STAGE_PATTERN = /^[a-z0-9-]{1,16}$/;

/** A URL as it may be echoed: a password in it and its query (a signature, a token) masked. */
export function redactUrl(value: string): string {
  return value.replace(/(\/\/[^/?#@:]*):[^/?#@]*@/, '$1:***@').replace(/\?[^#]*/, '?***');
}

/** A base URL without a trailing slash; throws `message` when it is not http(s). */
export function normalizeApiUrl(value: string, what: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(
      `${what} must be an http(s) URL such as https://abc.execute-api.us-west-2.amazonaws.com/dev, got '${redactUrl(value)}'`,
    );
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash || url.username) {
    throw new UsageError(
      `${what} must be an http(s) URL without query or credentials, got '${redactUrl(value)}'`,
    );
  }
  if (url.protocol === 'http:' && !isLoopback(url.hostname)) {
    throw new UsageError(
      `${what} must be https:// unless it is this machine (http://127.0.0.1, localhost or [::1]): signed requests and AMI ids would travel in clear to ${url.host}`,
    );
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** Decides where the API comes from, without any network call (so the cache can be keyed by it). */
export function apiSource(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): ApiSource {
  if (flag !== undefined) return { kind: 'url', url: normalizeApiUrl(flag, '--api-url'), from: 'flag' };
  const fromEnv = env.PULSAR_AMI_API_URL;
  if (fromEnv) return { kind: 'url', url: normalizeApiUrl(fromEnv, 'PULSAR_AMI_API_URL'), from: 'env' };
  const stage = env.PULSAR_AMI_STAGE || 'dev';
  if (!STAGE_PATTERN.test(stage)) {
    throw new UsageError(`PULSAR_AMI_STAGE must be 1-16 lowercase letters, digits or dashes, got '${stage}'`);
  }
  return { kind: 'stack', stackName: `pulsar-ami-${stage}` };
}

/** The key the cache files answers under: the URL, or the stack it will be discovered from. */
export function apiSourceKey(source: ApiSource): string {
  return source.kind === 'url' ? source.url : `stack:${source.stackName}`;
}

/** The region of an API Gateway URL (`https://ID.execute-api.REGION.amazonaws.com/STAGE`), else undefined. */
export function apiUrlRegion(url: string): string | undefined {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return undefined;
  }
  return /\.execute-api\.([a-z]{2}(?:-[a-z]+)+-\d+)\.(?:vpce\.)?amazonaws\.com(?:\.cn)?$/.exec(host)?.[1];
}

/** Why an API of another region refuses us, and the ways out. */
export function regionMismatchMessage(
  source: ApiSource,
  region: string,
  url: string,
  env: Readonly<Record<string, string | undefined>>,
  itsRegion = apiUrlRegion(url),
): string {
  let instead = '';
  if (source.kind === 'url') {
    const unset =
      source.from === 'env'
        ? 'unset PULSAR_AMI_API_URL'
        : `leave out --api-url${env.PULSAR_AMI_API_URL ? ' and unset PULSAR_AMI_API_URL' : ''}`;
    instead = ` (or ${unset} to use the stack output of ${region})`;
  }
  return `The API at ${url} serves another region than ${region}: give the --api-url of the API deployed in ${region}${instead}, or use --region ${itsRegion ?? '<its region>'}`;
}

/**
 * An execute-api URL names its region: one that is not --region would only be refused
 * (SigV4 scope), so refuse it before sending anything.
 */
export function checkApiRegion(
  source: ApiSource,
  region: string,
  env: Readonly<Record<string, string | undefined>>,
): void {
  if (source.kind !== 'url') return;
  const itsRegion = apiUrlRegion(source.url);
  if (itsRegion !== undefined && itsRegion !== region) {
    throw new UsageError(regionMismatchMessage(source, region, source.url, env, itsRegion));
  }
}

function notFound(stackName: string, region: string, why: string): CliError {
  return new CliError(
    `Cannot find the pulsar-ami API in ${region}: ${why}. Pass --api-url URL or set PULSAR_AMI_API_URL`,
    { title: 'API not found', stackName, region },
  );
}

/**
 * An AWS endpoint that could not be reached at all (refused, not found, timed out): the
 * problem is the endpoint, not the stack or the API, and the message names it.
 */
export class EndpointUnreachableError extends Error {
  override name = 'EndpointUnreachableError';
  constructor(
    readonly service: string,
    /** `scheme://host[:port]` the SDK sent the request to. */
    readonly endpoint: string,
    readonly reason: string,
    options: { cause: unknown },
  ) {
    super(`Cannot reach ${service} at ${endpoint}: ${reason}`, options);
  }
}

/** CloudFormation lookup; resolves undefined when the stack or its output does not exist. */
export async function discoverFromStack(input: {
  stackName: string;
  region: string;
  credentials: AwsCredentials;
  /** Replaces the SDK's HTTP handler (tests: a network that fails). */
  requestHandler?: CloudFormationClientConfig['requestHandler'];
}): Promise<string | undefined> {
  const { CloudFormationClient, DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
  const client = new CloudFormationClient({
    region: input.region,
    credentials: input.credentials,
    maxAttempts: 2,
    ...(input.requestHandler ? { requestHandler: input.requestHandler } : {}),
  });
  // Where the request went, as the SDK resolved it (AWS_ENDPOINT_URL, a profile's
  // endpoint_url, or the region's endpoint): named when it cannot be reached.
  let endpoint: string | undefined;
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { protocol?: string; hostname?: string; port?: number };
      if (request?.hostname) {
        endpoint = `${request.protocol ?? 'https:'}//${request.hostname}${request.port ? `:${request.port}` : ''}`;
      }
      return next(args);
    },
    { step: 'finalizeRequest', name: 'pulsarAmiEndpointRecorder' },
  );
  try {
    const out = await client.send(new DescribeStacksCommand({ StackName: input.stackName }));
    const outputs = out.Stacks?.[0]?.Outputs ?? [];
    return outputs.find((o) => o.OutputKey === STACK_OUTPUT)?.OutputValue;
  } catch (error) {
    const e = error as Error;
    if (e.name === 'ValidationError' && /does not exist/i.test(e.message)) return undefined;
    const reason = networkFailure(error);
    if (reason !== undefined && endpoint !== undefined) {
      throw new EndpointUnreachableError('CloudFormation', endpoint, reason, { cause: error });
    }
    throw error;
  } finally {
    client.destroy();
  }
}

/** Where an endpoint the SDK used came from, as a reader can act on it. */
function endpointOrigin(
  endpoint: string,
  region: string,
  env: Readonly<Record<string, string | undefined>>,
): string {
  for (const name of ['AWS_ENDPOINT_URL_CLOUDFORMATION', 'AWS_ENDPOINT_URL']) {
    if (env[name]) return `set by ${name}`;
  }
  return /\.amazonaws\.com(\.cn)?$/.test(new URL(endpoint).hostname)
    ? `AWS's endpoint for ${region}`
    : "your AWS profile's endpoint_url";
}

function unreachable(
  error: EndpointUnreachableError,
  stackName: string,
  region: string,
  env: Readonly<Record<string, string | undefined>>,
): CliError {
  const origin = endpointOrigin(error.endpoint, region, env);
  const fix = origin.startsWith('set by ')
    ? `start what serves it or unset ${origin.slice('set by '.length)}`
    : 'check the network';
  return new CliError(
    `Cannot reach the ${error.service} endpoint ${error.endpoint} (${origin}) to look up the API's URL (stack ${stackName} in ${region}): ${error.reason}. Either ${fix}, or pass --api-url URL or set PULSAR_AMI_API_URL`,
    {
      title: 'Endpoint unreachable',
      service: error.service,
      endpoint: error.endpoint,
      stackName,
      region,
    },
    { cause: error },
  );
}

/** AWS error codes that mean the credentials themselves were refused (unknown, wrong, expired, not allowed). */
const REFUSED_CREDENTIALS = new Set([
  'SignatureDoesNotMatch',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'InvalidAccessKeyId',
  'IncompleteSignature',
  'InvalidSignatureException',
  'ExpiredToken',
  'ExpiredTokenException',
  'AuthFailure',
  'AccessDenied',
  'AccessDeniedException',
]);

function refusedCredentials(stackName: string, region: string, error: unknown): CliError | undefined {
  const e = error as { name?: unknown; Code?: unknown; message?: unknown };
  const code = typeof e.Code === 'string' ? e.Code : typeof e.name === 'string' ? e.name : '';
  if (!REFUSED_CREDENTIALS.has(code)) return undefined;
  const message = typeof e.message === 'string' ? e.message.trim() : '';
  const sentence = /^.*?[.!?](?=\s|$)/.exec(message)?.[0] ?? message;
  return new CliError(
    `AWS refused the credentials while looking up the stack ${stackName} in ${region}: ${code}${sentence && sentence !== code ? ` (${sentence})` : ''}; check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or your profile`,
    { title: 'AWS credentials refused', awsError: code, stackName, region },
    { cause: error },
  );
}

export async function resolveApiUrl(
  source: ApiSource,
  region: string,
  credentials: AwsCredentials,
  discover: typeof discoverFromStack,
  env: Readonly<Record<string, string | undefined>> = {},
): Promise<string> {
  if (source.kind === 'url') return source.url;
  let found: string | undefined;
  try {
    found = await discover({ stackName: source.stackName, region, credentials });
  } catch (error) {
    if (error instanceof EndpointUnreachableError) throw unreachable(error, source.stackName, region, env);
    throw (
      refusedCredentials(source.stackName, region, error) ??
      notFound(source.stackName, region, `CloudFormation DescribeStacks failed (${(error as Error).message})`)
    );
  }
  if (!found)
    throw notFound(
      source.stackName,
      region,
      `stack ${source.stackName} does not exist or has no ${STACK_OUTPUT} output`,
    );
  try {
    return normalizeApiUrl(found, `Output ${STACK_OUTPUT} of ${source.stackName}`);
  } catch (error) {
    throw new CliError((error as Error).message);
  }
}
