/** Named errors of the BuildAmi machine's steps, which it Retries or Catches by name. */
import { ProblemError } from './errors';

/** The build succeeded but exported no usable AMI_ID (the buildspec reads it from Packer's manifest). */
export class BuildOutputMissingError extends ProblemError {
  override name = 'BuildOutputMissingError';
  readonly status = 502;
  readonly title = 'The build reported no AMI';
  constructor(detail: string) {
    super(`The build exported no AMI id: ${detail}`);
  }
}

/** An AMI that is to be published or copied does not carry Validated=true (yet). */
export class AmiNotValidatedError extends ProblemError {
  override name = 'AmiNotValidatedError';
  readonly status = 409;
  readonly title = 'AMI not validated';
  constructor(
    readonly imageId: string,
    region: string,
  ) {
    super(
      `AMI ${imageId} in ${region} is not tagged Validated=true; only a validated AMI is published or copied`,
    );
    this.extensions.imageId = imageId;
  }
}

/** The AMI is not the one this build made (another version, or not available). */
export class AmiMismatchError extends ProblemError {
  override name = 'AmiMismatchError';
  readonly status = 409;
  readonly title = 'AMI does not match the build';
  constructor(
    readonly imageId: string,
    detail: string,
  ) {
    super(`AMI ${imageId} ${detail}`);
    this.extensions.imageId = imageId;
  }
}
