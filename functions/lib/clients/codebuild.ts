/**
 * The CodeBuild client, created once per Lambda container. One file per client, so a function's
 * bundle carries only the clients it imports. Traced (functions/lib/tracer.ts) where X-Ray is on. The endpoint comes from the standard AWS_ENDPOINT_URL*.
 */
import { CodeBuildClient } from '@aws-sdk/client-codebuild';
import { config } from '../config';
import { traced } from '../tracer';

export const codebuild = traced(
  new CodeBuildClient({ region: config.region, maxAttempts: config.maxAttempts }),
);
