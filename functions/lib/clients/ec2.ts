/**
 * The EC2 client, created once per Lambda container. One file per client, so a function's
 * bundle carries only the clients it imports. The endpoint comes from the standard AWS_ENDPOINT_URL*.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { config } from '../config';

export const ec2 = new EC2Client({ region: config.region, maxAttempts: config.maxAttempts });
