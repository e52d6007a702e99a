/**
 * The CloudWatch Logs client, created once per Lambda container. One file per client, so a function's
 * bundle carries only the clients it imports. The endpoint comes from the standard AWS_ENDPOINT_URL*.
 */
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { config } from '../config';

export const logs = new CloudWatchLogsClient({ region: config.region, maxAttempts: config.maxAttempts });
