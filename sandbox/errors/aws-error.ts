/**
 * An error the sandbox answers with, in AWS's own terms: a code, a message and an HTTP status.
 * Every code the sandbox answers has its own class (errors/*.ts), written once; the protocol
 * layers render any of them (XML for the query services, JSON for the others).
 */
export class AwsError extends Error {
  override name = 'AwsError';
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export const isAwsError = (error: unknown): error is AwsError => error instanceof AwsError;

/** The class of an error whose code, message and status never vary (`new RequestLimitExceeded()`). */
export function fixedError(code: string, message: string, status = 400) {
  return class extends AwsError {
    constructor() {
      super(code, message, status);
    }
  };
}
