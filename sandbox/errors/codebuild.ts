/** CodeBuild's error codes. */
import { AwsError } from './aws-error';

export class CodeBuildResourceNotFound extends AwsError {
  constructor(message: string) {
    super('ResourceNotFoundException', message);
  }

  static project(arn: string): CodeBuildResourceNotFound {
    return new CodeBuildResourceNotFound(`Project cannot be found: ${arn}`);
  }

  static build(id: string): CodeBuildResourceNotFound {
    return new CodeBuildResourceNotFound(`Build ${id} does not exist`);
  }
}

export class InvalidInputException extends AwsError {
  constructor(message: string) {
    super('InvalidInputException', message);
  }

  static nextToken(): InvalidInputException {
    return new InvalidInputException('Invalid next token');
  }
}

export class AccountLimitExceededException extends AwsError {
  constructor(message: string) {
    super('AccountLimitExceededException', message);
  }
}
