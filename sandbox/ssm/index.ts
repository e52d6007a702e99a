/**
 * SSM over JSON 1.1 (`X-Amz-Target: AmazonSSM.<Operation>`). Parameter Store lives in
 * parameters.ts, instance information in
 * instance-information.ts, Run Command in commands.ts (run by executor.ts).
 */
import type { JsonService } from '../services';
import {
  cancelCommand,
  getCommandInvocation,
  listCommandInvocations,
  listCommands,
  sendCommand,
} from './commands';
import { describeInstanceInformation } from './instance-information';
import {
  deleteParameter,
  getParameter,
  getParameters,
  getParametersByPath,
  putParameter,
} from './parameters';

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
    SendCommand: sendCommand,
    GetCommandInvocation: getCommandInvocation,
    ListCommandInvocations: listCommandInvocations,
    ListCommands: listCommands,
    CancelCommand: cancelCommand,
  },
};
