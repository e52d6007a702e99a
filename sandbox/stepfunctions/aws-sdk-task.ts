/**
 * `arn:aws:states:::aws-sdk:<service>:<action>` tasks: the Task's parameters (PascalCase, as
 * the API names them; `Filters` for EC2's `Filter.N`) go to the real SDK v3 client's
 * `<Action>Command`, configured with the sandbox's URL and credentials, so the call travels
 * over HTTP to the sandbox itself (SigV4, faults and the calls log apply). One attempt: the
 * state's Retry does the retrying. The response loses `$metadata`; timestamps become ISO 8601
 * strings and blobs base64, as Step Functions renders them.
 *
 * Errors reach Retry/Catch as Step Functions names them (`ServiceName.ErrorName`):
 * - EC2 (its API models no error shapes, so AWS's SDK raises one exception type for every
 *   code): always `Ec2.Ec2Exception`, whatever the code (`InvalidInstanceID.NotFound`,
 *   `RequestLimitExceeded`, `InsufficientInstanceCapacity`, `InvalidAMIID.Malformed`, …).
 * - other services, a modelled error (the SDK has a class for it): `<Service>.<Code>`, with
 *   `Exception` appended when the code lacks it (`Ssm.InvocationDoesNotExistException`,
 *   `Ssm.InvalidInstanceIdException`, `Ssm.ThrottlingException`, `Sfn.ExecutionDoesNotExistException`).
 * - other services, an unmodelled code: `<Service>.<Service>Exception` (`Ssm.SsmException`).
 * - no answer from the service (connection, timeout): `<Service>.SdkClientException`.
 * The Cause is what AWS's SDK says, plus the code:
 * `<message> (Service: <Service>, Status Code: <status>, Error Code: <code>, Request ID: <id>)`,
 * e.g. `The instance ID 'i-0abc' does not exist (Service: Ec2, Status Code: 400, Error Code:
 * InvalidInstanceID.NotFound, Request ID: 5c1…)`. (AWS itself leaves `Error Code` out; a Catch
 * that tests the Cause for the code works in the sandbox, one that tests the message works in both.)
 */
import { SANDBOX_ACCESS_KEY_ID, SANDBOX_SECRET_ACCESS_KEY } from '../credentials';

/** The error a Task fails with: `name` is what Retry/Catch match, `message` the Cause. */
export class TaskError extends Error {
  constructor(name: string, cause: string) {
    super(cause);
    this.name = name;
  }
}

interface ServiceSdk {
  pkg: string;
  client: string;
  /** Step Functions' PascalCase service name in error names. */
  prefix: string;
}

const SERVICES: Record<string, ServiceSdk> = {
  ec2: { pkg: '@aws-sdk/client-ec2', client: 'EC2Client', prefix: 'Ec2' },
  ssm: { pkg: '@aws-sdk/client-ssm', client: 'SSMClient', prefix: 'Ssm' },
  sfn: { pkg: '@aws-sdk/client-sfn', client: 'SFNClient', prefix: 'Sfn' },
  sts: { pkg: '@aws-sdk/client-sts', client: 'STSClient', prefix: 'Sts' },
  cloudformation: {
    pkg: '@aws-sdk/client-cloudformation',
    client: 'CloudFormationClient',
    prefix: 'CloudFormation',
  },
  lambda: { pkg: '@aws-sdk/client-lambda', client: 'LambdaClient', prefix: 'Lambda' },
  s3: { pkg: '@aws-sdk/client-s3', client: 'S3Client', prefix: 'S3' },
  eventbridge: { pkg: '@aws-sdk/client-eventbridge', client: 'EventBridgeClient', prefix: 'EventBridge' },
  iam: { pkg: '@aws-sdk/client-iam', client: 'IAMClient', prefix: 'Iam' },
  codebuild: { pkg: '@aws-sdk/client-codebuild', client: 'CodeBuildClient', prefix: 'CodeBuild' },
};

export const errorPrefix = (service: string): string =>
  SERVICES[service]?.prefix ?? service.charAt(0).toUpperCase() + service.slice(1);

interface SdkServiceError {
  name: string;
  message: string;
  $fault?: string;
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

const isServiceError = (error: unknown): error is SdkServiceError =>
  error instanceof Error &&
  typeof (error as SdkServiceError).$metadata === 'object' &&
  ((error as SdkServiceError).$fault !== undefined ||
    (error as SdkServiceError).$metadata?.httpStatusCode !== undefined);

/**
 * Step Functions' `{ error, cause }` for an SDK failure. `modelled` tells whether the
 * service's SDK has a class for this code (the module's exports, when known).
 */
export function stepFunctionsError(
  service: string,
  error: unknown,
  sdkExports?: Record<string, unknown>,
): { error: string; cause: string } {
  const prefix = errorPrefix(service);
  if (!isServiceError(error)) {
    return { error: `${prefix}.SdkClientException`, cause: (error as Error)?.message ?? String(error) };
  }
  const code = error.name;
  const status = error.$metadata?.httpStatusCode ?? 400;
  const requestId = error.$metadata?.requestId ?? 'unknown';
  const cause = `${error.message} (Service: ${prefix}, Status Code: ${status}, Error Code: ${code}, Request ID: ${requestId})`;
  if (service === 'ec2') return { error: 'Ec2.Ec2Exception', cause };
  const modelled =
    typeof sdkExports?.[code] === 'function' && error instanceof (sdkExports[code] as new () => object);
  if (!modelled) return { error: `${prefix}.${prefix}Exception`, cause };
  return { error: `${prefix}.${code.endsWith('Exception') ? code : `${code}Exception`}`, cause };
}

/** Step Functions' JSON rendering of an SDK response. */
export function toStepFunctionsJson(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(toStepFunctionsJson);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (key === '$metadata' || item === undefined) continue;
      out[key] = toStepFunctionsJson(item);
    }
    return out;
  }
  return value;
}

type SdkClient = { send(command: unknown): Promise<unknown>; destroy(): void };

export class AwsSdkTasks {
  private readonly clients = new Map<string, SdkClient>();
  private readonly modules = new Map<string, Promise<Record<string, unknown>>>();

  constructor(private readonly endpoint: () => string) {}

  private sdk(service: string): Promise<Record<string, unknown>> {
    const known = SERVICES[service];
    if (!known) {
      return Promise.reject(
        new TaskError('States.Runtime', `The sandbox has no SDK client for the ${service} service`),
      );
    }
    let loaded = this.modules.get(service);
    if (!loaded) {
      loaded = (import(known.pkg) as Promise<Record<string, unknown>>).catch(() => {
        this.modules.delete(service);
        throw new TaskError('States.Runtime', `The sandbox cannot load ${known.pkg}`);
      });
      this.modules.set(service, loaded);
    }
    return loaded;
  }

  /** Calls `<service>:<action>` in `region`; throws a TaskError named as Step Functions would. */
  async call(service: string, action: string, region: string, parameters: unknown): Promise<unknown> {
    const sdk = await this.sdk(service);
    const commandName = `${action.charAt(0).toUpperCase()}${action.slice(1)}Command`;
    const Command = sdk[commandName] as (new (input: unknown) => unknown) | undefined;
    if (typeof Command !== 'function') {
      throw new TaskError('States.Runtime', `The ${service} SDK has no action ${action} (${commandName})`);
    }
    const key = `${service}@${region}`;
    let client = this.clients.get(key);
    if (!client) {
      const Client = sdk[SERVICES[service]?.client ?? ''] as new (config: unknown) => SdkClient;
      client = new Client({
        region,
        endpoint: this.endpoint(),
        credentials: { accessKeyId: SANDBOX_ACCESS_KEY_ID, secretAccessKey: SANDBOX_SECRET_ACCESS_KEY },
        maxAttempts: 1,
        ...(service === 's3' ? { forcePathStyle: true } : {}),
      });
      this.clients.set(key, client);
    }
    try {
      return toStepFunctionsJson(await client.send(new Command(parameters ?? {})));
    } catch (error) {
      const { error: name, cause } = stepFunctionsError(service, error, sdk);
      throw new TaskError(name, cause);
    }
  }

  close(): void {
    for (const client of this.clients.values()) client.destroy();
    this.clients.clear();
  }
}
