/** SSM's error codes (Run Command, instance information, Parameter Store). */
import { AwsError, fixedError } from './aws-error';

const NOT_VALID_TOKEN = 'The specified token is not valid.';

export class InvalidInstanceId extends AwsError {
  constructor(ids: readonly string[], accountId: string) {
    super(
      'InvalidInstanceId',
      `Instances [[${ids.join(', ')}]] not in a valid state for account ${accountId}`,
    );
  }
}

export class InvalidDocument extends AwsError {
  constructor(documentName: string, supported: string) {
    super(
      'InvalidDocument',
      `Document ${documentName} does not exist or is not supported by the sandbox (only ${supported}).`,
    );
  }
}

export class InvalidParameters extends AwsError {
  constructor(message: string) {
    super('InvalidParameters', message);
  }
}

export const InvalidTarget = fixedError(
  'InvalidTarget',
  'The sandbox accepts only InstanceIds and Targets Key=InstanceIds',
);

export class InvalidCommandId extends AwsError {
  constructor(message: string) {
    super('InvalidCommandId', message);
  }

  static malformed(commandId: string): InvalidCommandId {
    return new InvalidCommandId(`Invalid command id ${commandId}`);
  }

  static unknown(commandId: string): InvalidCommandId {
    return new InvalidCommandId(`Command ${commandId} does not exist`);
  }
}

export class InvalidPluginName extends AwsError {
  constructor(pluginName: string, documentName: string) {
    super('InvalidPluginName', `Plugin ${pluginName} is not part of document ${documentName}`);
  }
}

/** GetCommandInvocation before the invocation is known: an empty message, as SSM sends it. */
export const InvocationDoesNotExist = fixedError('InvocationDoesNotExist', '');

export const InvalidNextToken = fixedError('InvalidNextToken', NOT_VALID_TOKEN);

export class InvalidFilter extends AwsError {
  constructor(keyName: string, valuesName: string) {
    super('InvalidFilter', `Each filter needs a ${keyName} and a list of ${valuesName}`);
  }
}

export class InvalidFilterKey extends AwsError {
  constructor(key: string) {
    super('InvalidFilterKey', `The filter key ${key} is not valid`);
  }
}

export class InvalidInstanceInformationFilterValue extends AwsError {
  constructor(id: string) {
    super('InvalidInstanceInformationFilterValue', `${id} is not a valid instance id`);
  }
}

export class ParameterNotFound extends AwsError {
  constructor(name: string) {
    super('ParameterNotFound', `Parameter ${name} not found.`);
  }
}

export const ParameterAlreadyExists = fixedError(
  'ParameterAlreadyExists',
  'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.',
);
