/** CloudFormation's error codes. */
import { AwsError } from './aws-error';

export class ValidationError extends AwsError {
  constructor(message: string) {
    super('ValidationError', message);
  }

  static noStack(stackName: string): ValidationError {
    return new ValidationError(`Stack with id ${stackName} does not exist`);
  }
}
