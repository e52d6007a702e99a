/**
 * SSM over JSON 1.1 (`X-Amz-Target: AmazonSSM.<Operation>`). Each operation's wire form (JSON
 * members in, JSON out) is in protocol/; the state and rules behind it in models/: Parameter
 * Store (parameters.ts), instance information (instance-information.ts), Run Command
 * (commands.ts and invocations.ts, run by executor.ts).
 */
import type { JsonService } from '../services';
import {
  cancelCommandOperation,
  getCommandInvocation,
  listCommandInvocations,
  listCommandsOperation,
  sendCommandOperation,
} from './protocol/commands';
import { describeInstanceInformation } from './protocol/instance-information';
import {
  deleteParameter,
  getParameter,
  getParameters,
  getParametersByPath,
  putParameter,
} from './protocol/parameters';

export const ssmService: JsonService = {
  name: 'ssm',
  contentType: 'application/x-amz-json-1.1',
  operations: {
    GetParameter: getParameter,
    GetParameters: getParameters,
    PutParameter: putParameter,
    GetParametersByPath: getParametersByPath,
    DeleteParameter: deleteParameter,
    DescribeInstanceInformation: describeInstanceInformation,
    SendCommand: sendCommandOperation,
    GetCommandInvocation: getCommandInvocation,
    ListCommandInvocations: listCommandInvocations,
    ListCommands: listCommandsOperation,
    CancelCommand: cancelCommandOperation,
  },
};
