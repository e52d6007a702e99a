/**
 * The SSM client, created once per Lambda container. One file per client, so a function's
 * bundle carries only the clients it imports. The endpoint comes from the standard AWS_ENDPOINT_URL*.
 */
import { SSMClient } from '@aws-sdk/client-ssm';
import { config } from '../config';

export const ssm = new SSMClient({ region: config.region, maxAttempts: config.maxAttempts });

const regional = new Map<string, SSMClient>([[config.region, ssm]]);

/** The SSM client of another region (publishing a copy there), made once per region and container. */
export function ssmIn(region: string): SSMClient {
  let client = regional.get(region);
  if (!client) {
    client = new SSMClient({ region, maxAttempts: config.maxAttempts });
    regional.set(region, client);
  }
  return client;
}
