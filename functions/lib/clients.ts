/** SDK clients, created once per Lambda container. Endpoints come from the standard AWS_ENDPOINT_URL*. */
import { EC2Client } from '@aws-sdk/client-ec2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { config } from './config';

const common = { region: config.region, maxAttempts: config.maxAttempts };

export const ec2 = new EC2Client(common);
export const ssm = new SSMClient(common);
export const sfn = new SFNClient(common);

export const clients = { ec2, ssm, sfn };
