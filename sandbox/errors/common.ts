/**
 * Errors every service (or every service of one protocol) answers: signature checks,
 * throttling, unknown actions, malformed JSON, request validation and internal failures.
 */
import { AwsError, fixedError } from './aws-error';

const BAD_SIGNATURE =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
const INCOMPLETE_SIGNATURE =
  "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.";
const INVALID_TOKEN = 'The security token included in the request is invalid.';

// --- Query protocol (EC2, STS, CloudFormation) -------------------------------------------------

export const MissingAuthenticationToken = fixedError(
  'MissingAuthenticationToken',
  'Request is missing Authentication Token',
  403,
);

export const IncompleteSignature = fixedError('IncompleteSignature', INCOMPLETE_SIGNATURE, 403);

export const InvalidClientTokenId = fixedError('InvalidClientTokenId', INVALID_TOKEN, 403);

export const SignatureDoesNotMatch = fixedError('SignatureDoesNotMatch', BAD_SIGNATURE, 403);

/** An action (or a service) the sandbox does not serve; each service words it its own way. */
export class InvalidAction extends AwsError {
  constructor(message: string) {
    super('InvalidAction', message);
  }

  /** EC2's wording. */
  static notValid(action: string): InvalidAction {
    return new InvalidAction(`The action ${action} is not valid for this web service.`);
  }

  static notServed(service: string): InvalidAction {
    return new InvalidAction(`The sandbox does not serve the ${service} service`);
  }

  /** STS's and CloudFormation's wording. */
  static noOperation(action: string | undefined, version: string): InvalidAction {
    return new InvalidAction(`Could not find operation ${action} for version ${version}`);
  }
}

/** STS and CloudFormation throttling. */
export const Throttling = fixedError('Throttling', 'Rate exceeded', 400);

/** EC2 throttling (and the `terminateFails` fault's default): HTTP 503. */
export const RequestLimitExceeded = fixedError('RequestLimitExceeded', 'Request limit exceeded.', 503);

/** A query service's unexpected failure: HTTP 500. */
export const InternalError = fixedError('InternalError', 'An internal error has occurred', 500);

// --- JSON protocol (SSM, Step Functions) -----------------------------------------------------

export const MissingAuthenticationTokenException = fixedError(
  'MissingAuthenticationTokenException',
  'Missing Authentication Token',
  403,
);

export const IncompleteSignatureException = fixedError(
  'IncompleteSignatureException',
  INCOMPLETE_SIGNATURE,
  403,
);

export const UnrecognizedClientException = fixedError('UnrecognizedClientException', INVALID_TOKEN, 403);

export const InvalidSignatureException = fixedError('InvalidSignatureException', BAD_SIGNATURE, 403);

export class UnknownOperationException extends AwsError {
  constructor(target: string) {
    super('UnknownOperationException', `Unknown operation ${target}`);
  }
}

export const ThrottlingException = fixedError('ThrottlingException', 'Rate exceeded', 400);

/** The body is not a JSON object. */
export const SerializationException = fixedError(
  'SerializationException',
  'Start of structure or map found where not expected.',
);

/** A JSON service's unexpected failure: HTTP 500. */
export class InternalFailure extends AwsError {
  constructor(message = 'An internal error has occurred') {
    super('InternalFailure', message, 500);
  }
}

export class ValidationException extends AwsError {
  constructor(message: string) {
    super('ValidationException', message);
  }

  /**
   * `1 validation error detected: Value 'x' at 'member' failed to satisfy constraint: …`;
   * `value` null reads `Value null at`, undefined leaves the value out (`Value at`).
   */
  static constraint(
    member: string,
    value: string | null | undefined,
    constraint: string,
  ): ValidationException {
    const shown = value === undefined ? '' : value === null ? ' null' : ` '${value}'`;
    return new ValidationException(
      `1 validation error detected: Value${shown} at '${member}' failed to satisfy constraint: ${constraint}`,
    );
  }
}

// --- The control interface -------------------------------------------------------------------

/** A control-interface body that does not fit its schema (answered 400 `{ error }`). */
export class BadRequest extends AwsError {
  constructor(message: string) {
    super('BadRequest', message);
  }
}

/** A control-interface request the world cannot serve (no default subnet in the region). */
export class MissingInput extends AwsError {
  constructor(message: string) {
    super('MissingInput', message);
  }
}

// --- Requests refused before they are read (request-gate.ts): not from this machine ------------

/** EC2's refusal (its IAM denial code). */
export class UnauthorizedOperation extends AwsError {
  constructor(message: string, status = 403) {
    super('UnauthorizedOperation', message, status);
  }
}

/** STS's and CloudFormation's refusal. */
export class AccessDenied extends AwsError {
  constructor(message: string, status = 403) {
    super('AccessDenied', message, status);
  }
}

/** The JSON services' refusal. */
export class AccessDeniedException extends AwsError {
  constructor(message: string, status = 403) {
    super('AccessDeniedException', message, status);
  }
}
