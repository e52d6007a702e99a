/**
 * Named errors. State machines Retry/Catch them by `name`; the HTTP layer maps `status`
 * to an application/problem+json response (RFC 9457).
 */
import type { ImageReference } from './image-references';
import type { FieldProblem } from './validation';

export abstract class ProblemError extends Error {
  abstract readonly status: number;
  abstract readonly title: string;
  /** Extra members for the problem document (e.g. the instances using an AMI). */
  readonly extensions: Record<string, unknown> = {};
  /** Extra response headers (e.g. `retry-after` on a 429). */
  readonly headers: Record<string, string> = {};

  /** `AmiInUseError` → `urn:pulsar-ami:problem:ami-in-use`. */
  get type(): string {
    const slug = this.name
      .replace(/Error$/, '')
      .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
      .toLowerCase();
    return `urn:pulsar-ami:problem:${slug}`;
  }
}

export class InvalidInputError extends ProblemError {
  override name = 'InvalidInputError';
  readonly status = 400;
  readonly title = 'Invalid input';
  constructor(readonly problems: FieldProblem[]) {
    super(problems.map((p) => p.message).join('; '));
    this.extensions.field = problems[0]?.field;
    this.extensions.errors = problems;
  }
}

export class AmiNotFoundError extends ProblemError {
  override name = 'AmiNotFoundError';
  readonly status = 404;
  readonly title = 'AMI not found';
  constructor(
    readonly imageId: string,
    region: string,
  ) {
    super(`AMI ${imageId} was not found in ${region} (or is not owned by this account)`);
    this.extensions.imageId = imageId;
  }
}

export class NoAmiFoundError extends ProblemError {
  override name = 'NoAmiFoundError';
  readonly status = 404;
  readonly title = 'No AMI found';
  constructor(region: string, criteria: { version?: string; includeUnvalidated?: boolean } = {}) {
    const kind = criteria.includeUnvalidated ? 'Pulsar AMI' : 'validated Pulsar AMI';
    super(`No ${kind}${criteria.version ? ` for version ${criteria.version}` : ''} found in ${region}`);
  }
}

export class AmiNotManagedError extends ProblemError {
  override name = 'AmiNotManagedError';
  readonly status = 403;
  readonly title = 'AMI not managed by pulsar-ami';
  constructor(readonly imageId: string) {
    super(
      `AMI ${imageId} is not a pulsar-ami image (neither tagged ManagedBy=pulsar-ami nor an untagged pulsar-base-* image from before pulsar-ami was deployed); it is left untouched`,
    );
    this.extensions.imageId = imageId;
  }
}

export class AmiProtectedError extends ProblemError {
  override name = 'AmiProtectedError';
  readonly status = 409;
  readonly title = 'AMI is protected';
  constructor(
    readonly imageId: string,
    protection = 'the Protected=true tag or EC2 deregistration protection',
  ) {
    super(`AMI ${imageId} is protected by ${protection}; remove the protection to delete it`);
    this.extensions.imageId = imageId;
    this.extensions.protection = protection;
  }
}

export class AmiNotReadyError extends ProblemError {
  override name = 'AmiNotReadyError';
  readonly status = 409;
  readonly title = 'AMI is still being created';
  constructor(readonly imageId: string) {
    super(`AMI ${imageId} is still being created (state pending); wait until it is available or failed`);
    this.extensions.imageId = imageId;
  }
}

/**
 * 409: something still references the AMI (EC2's DescribeImageReferences): each reference named,
 * with `references` in the problem document; `instanceIds` keeps the instances among them.
 */
export class AmiInUseError extends ProblemError {
  override name = 'AmiInUseError';
  readonly status = 409;
  readonly title = 'AMI in use';
  readonly instanceIds: string[];
  constructor(
    readonly imageId: string,
    readonly references: ImageReference[],
  ) {
    super(
      `AMI ${imageId} is in use by ${references.length} resource(s): ${references.map((r) => r.detail).join('; ')}; nothing was deleted`,
    );
    this.instanceIds = references.filter((r) => r.kind === 'instance').map((r) => r.id);
    this.extensions.imageId = imageId;
    this.extensions.instanceIds = this.instanceIds;
    this.extensions.references = references;
  }
}

export class AmiNotAvailableError extends ProblemError {
  override name = 'AmiNotAvailableError';
  readonly status = 409;
  readonly title = 'AMI not available';
  constructor(
    readonly imageId: string,
    state: string,
  ) {
    super(`AMI ${imageId} is ${state}, not available; only an available AMI can be validated`);
    this.extensions.imageId = imageId;
    this.extensions.state = state;
  }
}

export class ValidationNotFoundError extends ProblemError {
  override name = 'ValidationNotFoundError';
  readonly status = 404;
  readonly title = 'Validation not found';
  constructor(readonly validationId: string) {
    super(
      `No validation ${validationId} exists (its execution is unknown or past Step Functions' retention)`,
    );
    this.extensions.validationId = validationId;
  }
}

/** The API's long-running jobs: each is a Step Functions execution named by its id. */
export type JobKind = 'validation' | 'build' | 'cleanup';

export class IdempotencyKeyReusedError extends ProblemError {
  override name = 'IdempotencyKeyReusedError';
  readonly status = 409;
  readonly title = 'Idempotency key reused';
  constructor(kind: JobKind, id: string, executionArn: string) {
    super(`This Idempotency-Key already started ${kind} ${id} with a different request; use a new key`);
    this.extensions[`${kind}Id`] = id;
    this.extensions.executionArn = executionArn;
  }
}

/** A deployment without the ValidateAmi machine (VALIDATE_AMI_STATE_MACHINE_ARN unset). */
export class ValidationNotConfiguredError extends ProblemError {
  override name = 'ValidationNotConfiguredError';
  readonly status = 500;
  readonly title = 'Validation not configured';
  constructor() {
    super(
      'This deployment has no ValidateAmi state machine (VALIDATE_AMI_STATE_MACHINE_ARN is not set); redeploy the stack',
    );
  }
}

export class BuildNotFoundError extends ProblemError {
  override name = 'BuildNotFoundError';
  readonly status = 404;
  readonly title = 'Build not found';
  constructor(readonly buildId: string) {
    super(`No build ${buildId} exists (its execution is unknown or past Step Functions' retention)`);
    this.extensions.buildId = buildId;
  }
}

/** A deployment without the BuildAmi machine (BUILD_AMI_STATE_MACHINE_ARN unset). */
export class BuildNotConfiguredError extends ProblemError {
  override name = 'BuildNotConfiguredError';
  readonly status = 500;
  readonly title = 'Build not configured';
  constructor() {
    super(
      'This deployment has no BuildAmi state machine (BUILD_AMI_STATE_MACHINE_ARN is not set); redeploy the stack',
    );
  }
}

export class CleanupNotFoundError extends ProblemError {
  override name = 'CleanupNotFoundError';
  readonly status = 404;
  readonly title = 'Cleanup not found';
  constructor(readonly cleanupId: string) {
    super(`No cleanup ${cleanupId} exists (its execution is unknown or past Step Functions' retention)`);
    this.extensions.cleanupId = cleanupId;
  }
}

/** A deployment without the CleanupAmis machine (CLEANUP_AMIS_STATE_MACHINE_ARN unset). */
export class CleanupNotConfiguredError extends ProblemError {
  override name = 'CleanupNotConfiguredError';
  readonly status = 500;
  readonly title = 'Cleanup not configured';
  constructor() {
    super(
      'This deployment has no CleanupAmis state machine (CLEANUP_AMIS_STATE_MACHINE_ARN is not set); redeploy the stack',
    );
  }
}

/** 409: a cleanup is already running (one at a time, so two never retire the same AMI); nothing was started. */
export class CleanupRunningError extends ProblemError {
  override name = 'CleanupRunningError';
  readonly status = 409;
  readonly title = 'A cleanup is already running';
  constructor(cleanupId: string, executionArn: string) {
    super(
      `Cleanup ${cleanupId} is still running; nothing was started (follow it with GET /cleanups/${cleanupId}, or wait until it ends)`,
    );
    this.extensions.cleanupId = cleanupId;
    this.extensions.executionArn = executionArn;
  }
}

/** The archive has no published checksum for the version: there is no such release to build. */
export class VersionNotInArchiveError extends ProblemError {
  override name = 'VersionNotInArchiveError';
  readonly status = 422;
  readonly title = 'Pulsar version not in the archive';
  constructor(version: string, checksumUrl: string, status: number) {
    super(
      `Apache Pulsar ${version} is not in the archive: ${checksumUrl} answered ${status}, so it is not a released version there`,
    );
    this.extensions.field = 'version';
    this.extensions.version = version;
    this.extensions.checksumUrl = checksumUrl;
  }
}

/** The archive could not say whether it has the version: unreachable (503), or an error of its own (502). */
export class ArchiveUnavailableError extends ProblemError {
  override name = 'ArchiveUnavailableError';
  readonly title = 'Pulsar archive unavailable';
  constructor(
    readonly status: 502 | 503,
    checksumUrl: string,
    reason: string,
  ) {
    super(`Could not check the Pulsar archive (${checksumUrl}): ${reason}; nothing was started, try again`);
    this.extensions.checksumUrl = checksumUrl;
  }
}

/** What the logs keep of an AWS SDK error: its name, message, request id and HTTP status. */
export interface AwsErrorDetails {
  name: string;
  message: string;
  requestId?: string;
  httpStatusCode?: number;
  fault?: string;
}

export function awsErrorDetails(error: Error): AwsErrorDetails {
  const e = error as Error & {
    Code?: string;
    $fault?: string;
    $metadata?: { requestId?: string; httpStatusCode?: number };
  };
  const requestId = e.$metadata?.requestId;
  const httpStatusCode = e.$metadata?.httpStatusCode;
  return {
    name: e.Code ?? e.name,
    message: e.message,
    ...(requestId ? { requestId } : {}),
    ...(httpStatusCode !== undefined ? { httpStatusCode } : {}),
    ...(e.$fault ? { fault: e.$fault } : {}),
  };
}

/** An AWS error mapped to a problem: it keeps the SDK error as `cause` and its details for the logs. */
export abstract class AwsProblemError extends ProblemError {
  /** The SDK error's name, message, request id and status (logged, never sent to the client). */
  readonly aws: AwsErrorDetails & { service: string };
  constructor(message: string, service: string, cause: Error) {
    super(message, { cause });
    this.aws = { service, ...awsErrorDetails(cause) };
  }
}

export class AwsThrottledError extends AwsProblemError {
  override name = 'AwsThrottledError';
  readonly status = 503;
  readonly title = 'AWS is throttling requests';
  constructor(service: string, code: string, cause: Error = new Error(code)) {
    super(
      `${service} kept throttling requests (${code}) after retries; try again in a moment`,
      service,
      cause,
    );
    this.extensions.awsError = code;
  }
}

export class AwsCallError extends AwsProblemError {
  override name = 'AwsCallError';
  readonly status = 502;
  readonly title = 'AWS call failed';
  constructor(service: string, code: string, message: string, cause: Error = new Error(message)) {
    super(`${service} answered ${code}: ${message}`, service, cause);
    this.extensions.awsError = code;
  }
}

/**
 * 429: as many validations as allowed already run (MAX_CONCURRENT_VALIDATIONS); nothing was
 * started. `Retry-After` says when to try again.
 */
export class TooManyValidationsError extends ProblemError {
  override name = 'TooManyValidationsError';
  readonly status = 429;
  readonly title = 'Too many validations running';
  constructor(running: number, max: number, retryAfterSeconds: number) {
    super(
      `${running} validation(s) are running, the most allowed at once (MAX_CONCURRENT_VALIDATIONS=${max}); nothing was started, try again in ${retryAfterSeconds} s`,
    );
    this.extensions.running = running;
    this.extensions.maxConcurrentValidations = max;
    this.extensions.retryAfterSeconds = retryAfterSeconds;
    this.headers['retry-after'] = String(retryAfterSeconds);
  }
}

const THROTTLING = new Set([
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'ThrottledException',
]);

/** Turns an AWS SDK error into a named problem; anything that is not an AWS error passes through. */
export function fromAwsError(service: string, error: unknown): unknown {
  if (error instanceof ProblemError || !(error instanceof Error)) return error;
  const code = (error as { Code?: string }).Code ?? error.name;
  const fault = (error as { $fault?: string }).$fault;
  if (THROTTLING.has(code)) return new AwsThrottledError(service, code, error);
  if (fault === 'client' || fault === 'server') return new AwsCallError(service, code, error.message, error);
  return error;
}

/** Awaits an AWS call, turning its failure into a named problem. */
export async function awsCall<T>(service: string, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    throw fromAwsError(service, error);
  }
}
