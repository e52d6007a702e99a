/** Auto Scaling's error codes (awsQuery `<ErrorResponse>`). */
import { AwsError } from './aws-error';

/** Auto Scaling's catch-all for bad input and unknown names. */
export class AutoScalingValidationError extends AwsError {
  constructor(message: string) {
    super('ValidationError', message);
  }

  static missing(parameter: string): AutoScalingValidationError {
    return new AutoScalingValidationError(
      `1 validation error detected: Value null at '${parameter}' failed to satisfy constraint: Member must not be null`,
    );
  }

  static launchConfigurationNotFound(name: string): AutoScalingValidationError {
    return new AutoScalingValidationError(
      `Launch configuration name not found - Launch configuration ${name} not found`,
    );
  }

  static imageNotFound(imageId: string): AutoScalingValidationError {
    return new AutoScalingValidationError(`The image id '[${imageId}]' does not exist`);
  }

  static maxRecords(value: number): AutoScalingValidationError {
    return new AutoScalingValidationError(
      `1 validation error detected: Value '${value}' at 'maxRecords' failed to satisfy constraint: Member must have value less than or equal to 100`,
    );
  }
}

export class AlreadyExistsFault extends AwsError {
  constructor(name: string) {
    super(
      'AlreadyExists',
      `Launch Configuration by this name already exists - A launch configuration already exists with the name ${name}`,
    );
  }
}

export class InvalidNextToken extends AwsError {
  constructor(token: string) {
    super('InvalidNextToken', `The token '${token}' is invalid.`);
  }
}
