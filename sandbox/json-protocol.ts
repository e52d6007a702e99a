/**
 * JSON-protocol services, found by `X-Amz-Target: <Prefix>.<Operation>`. Add a service by
 * listing its target prefix here (Step Functions: `AWSStepFunctions`, CodeBuild:
 * `CodeBuild_20161006`).
 */
import { codeBuildService } from './codebuild/index';
import type { AwsError } from './errors/aws-error';
import { logsService } from './logs/index';
import type { JsonService, ServiceResponse } from './services';
import { ssmService } from './ssm/index';
import { stepFunctionsService } from './stepfunctions/api';

export const JSON_SERVICES: Record<string, JsonService> = {
  AmazonSSM: ssmService,
  AWSStepFunctions: stepFunctionsService,
  CodeBuild_20161006: codeBuildService,
  Logs_20140328: logsService,
};

export function jsonServiceFor(target: string): { service: JsonService | undefined; operation: string } {
  const dot = target.indexOf('.');
  const prefix = dot === -1 ? target : target.slice(0, dot);
  const operation = dot === -1 ? '' : target.slice(dot + 1);
  return { service: Object.hasOwn(JSON_SERVICES, prefix) ? JSON_SERVICES[prefix] : undefined, operation };
}

export function renderJsonError(
  error: AwsError,
  contentType = 'application/x-amz-json-1.1',
): ServiceResponse {
  return {
    status: error.status,
    contentType,
    headers: { 'x-amzn-ErrorType': error.code },
    body: JSON.stringify({ __type: error.code, message: error.message }),
  };
}

export function renderJsonResult(result: unknown, contentType: string): ServiceResponse {
  return { status: 200, contentType, body: JSON.stringify(result ?? {}) };
}
