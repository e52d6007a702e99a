/** CloudWatch Logs' error codes. */
import { AwsError } from './aws-error';

export class LogsResourceNotFound extends AwsError {
  constructor(message: string) {
    super('ResourceNotFoundException', message);
  }

  static group(): LogsResourceNotFound {
    return new LogsResourceNotFound('The specified log group does not exist.');
  }

  static stream(): LogsResourceNotFound {
    return new LogsResourceNotFound('The specified log stream does not exist.');
  }
}

export class InvalidParameterException extends AwsError {
  constructor(message: string) {
    super('InvalidParameterException', message);
  }

  static nextToken(): InvalidParameterException {
    return new InvalidParameterException('The specified nextToken is invalid.');
  }
}
