/**
 * The Auto Scaling client, created once per Lambda container (launch configurations that name an
 * AMI keep it in use). One file per client, so a function's bundle carries only the clients it
 * imports. Traced (functions/lib/tracer.ts) where X-Ray is on. The endpoint comes from the
 * standard AWS_ENDPOINT_URL*.
 */
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { config } from '../config';
import { traced } from '../tracer';

export const autoScaling = traced(
  new AutoScalingClient({ region: config.region, maxAttempts: config.maxAttempts }),
);
