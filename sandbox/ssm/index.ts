/**
 * SSM over JSON 1.1 (`X-Amz-Target: AmazonSSM.<Operation>`). Parameter Store lives in
 * parameters.ts; instance information and Run Command belong beside it in their own files,
 * listed in `operations` below.
 */
import type { JsonService } from '../services';
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
    // DescribeInstanceInformation, SendCommand, GetCommandInvocation: added by the Run Command slice.
  },
};
