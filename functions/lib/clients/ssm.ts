/**
 * The SSM client, created once per Lambda container. One file per client, so a function's
 * bundle carries only the clients it imports. Traced (functions/lib/tracer.ts) where X-Ray is on. The endpoint comes from the standard AWS_ENDPOINT_URL*.
 */
import { SSMClient } from '@aws-sdk/client-ssm';
import { config } from '../config';
import { traced } from '../tracer';

export const ssm = traced(new SSMClient({ region: config.region, maxAttempts: config.maxAttempts }));

const regional = new Map<string, SSMClient>([[config.region, ssm]]);

/** The SSM client of another region (publishing a copy there), made once per region and container. */
export function ssmIn(region: string): SSMClient {
  let client = regional.get(region);
  if (!client) {
    client = traced(new SSMClient({ region, maxAttempts: config.maxAttempts }));
    regional.set(region, client);
  }
  return client;
}
