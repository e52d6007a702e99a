/** Step Functions' error codes. */
import { AwsError } from './aws-error';

export class InvalidArn extends AwsError {
  constructor(arn: string) {
    super('InvalidArn', `Invalid Arn: 'Resource type not valid in this context: ${arn}'`);
  }
}

export class StateMachineDoesNotExist extends AwsError {
  constructor(arn: string) {
    super('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
  }
}

export class InvalidDefinition extends AwsError {
  constructor(reason: string) {
    super('InvalidDefinition', `Invalid State Machine Definition: ${reason}`);
  }
}

export class ExecutionDoesNotExist extends AwsError {
  constructor(arn: string) {
    super('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
  }
}

export class ExecutionAlreadyExists extends AwsError {
  constructor(arn: string) {
    super('ExecutionAlreadyExists', `Execution Already Exists: '${arn}'`);
  }
}

export class InvalidName extends AwsError {
  constructor(name: string) {
    super('InvalidName', `Invalid Name: '${name}'`);
  }
}

export class InvalidExecutionInput extends AwsError {
  /** `reason` as Step Functions words it (a parse error is quoted by the caller). */
  constructor(reason: string) {
    super('InvalidExecutionInput', `Invalid State Machine Execution Input: ${reason}`);
  }
}

export class InvalidToken extends AwsError {
  constructor(token: string) {
    super('InvalidToken', `Invalid Token: '${token}'`);
  }
}
