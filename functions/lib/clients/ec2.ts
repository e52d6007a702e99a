/**
 * The EC2 client, created once per Lambda container. One file per client, so a function's
 * bundle carries only the clients it imports. Traced (functions/lib/tracer.ts) where X-Ray is on. The endpoint comes from the standard AWS_ENDPOINT_URL*.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { config } from '../config';
import { traced } from '../tracer';

export const ec2 = traced(new EC2Client({ region: config.region, maxAttempts: config.maxAttempts }));

const regional = new Map<string, EC2Client>([[config.region, ec2]]);

/** The EC2 client of another region (copies of an AMI), made once per region and container. */
export function ec2In(region: string): EC2Client {
  let client = regional.get(region);
  if (!client) {
    client = traced(new EC2Client({ region, maxAttempts: config.maxAttempts }));
    regional.set(region, client);
  }
  return client;
}
