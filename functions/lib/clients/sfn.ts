/**
 * The Step Functions client, created once per Lambda container. One file per client, so a function's
 * bundle carries only the clients it imports. Traced (functions/lib/tracer.ts) where X-Ray is on. The endpoint comes from the standard AWS_ENDPOINT_URL*.
 */
import { SFNClient } from '@aws-sdk/client-sfn';
import { config } from '../config';
import { traced } from '../tracer';

export const sfn = traced(new SFNClient({ region: config.region, maxAttempts: config.maxAttempts }));
