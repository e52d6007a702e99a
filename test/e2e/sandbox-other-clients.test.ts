/**
 * The sandbox speaks the wire protocols, not one SDK's dialect: the AWS CLI and boto3 work
 * against it too. Both are Python tools that package.json cannot install, so each test runs
 * only where the tool is on the machine (the development machine has both) and says so.
 */
import { execFile, execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxCredentials } from '../../sandbox/credentials';
import { type Sandbox, startSandbox } from '../../sandbox/server';

const has = (command: string, args: string[]) => {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const awsCli = has('aws', ['--version']);
const boto3 = has('python3', ['-c', 'import boto3']);

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ port: 0, log: () => undefined });
});
afterAll(async () => {
  await sandbox.close();
});

function run(
  command: string,
  args: string[],
  extra: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    AWS_ACCESS_KEY_ID: sandboxCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: sandboxCredentials.secretAccessKey,
    AWS_DEFAULT_REGION: 'us-west-2',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    SANDBOX_URL: sandbox.url,
    ...extra,
  };
  return new Promise((done) => {
    execFile(command, args, { env }, (error, stdout, stderr) => {
      done({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** `aws --endpoint-url <sandbox> ec2 ARGS…` */
const awsEc2 = (args: string[], extra: Record<string, string> = {}) =>
  run('aws', ['--endpoint-url', sandbox.url, 'ec2', ...args], extra);

describe('other AWS clients against the sandbox', () => {
  it.skipIf(!awsCli)('the AWS CLI lists the seeded AMIs: aws ec2 describe-images --owners self', async () => {
    const result = await awsEc2([
      'describe-images',
      '--owners',
      'self',
      '--query',
      'Images[].Name',
      '--output',
      'text',
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('pulsar-base-3.0.0-');
    expect(result.stdout).toContain('pulsar-base-2.11.0-');
    expect(result.stdout).not.toContain('al2023');
  });

  it.skipIf(!awsCli)(
    'the AWS CLI gets DryRunOperation, and SignatureDoesNotMatch with a wrong secret',
    async () => {
      const ids = await awsEc2([
        'describe-images',
        '--owners',
        'self',
        '--query',
        'Images[0].ImageId',
        '--output',
        'text',
      ]);
      const imageId = ids.stdout.trim();
      const dry = await awsEc2(['deregister-image', '--image-id', imageId, '--dry-run']);
      expect(dry.code).not.toBe(0);
      expect(dry.stderr).toContain('DryRunOperation');
      const forged = await awsEc2(['describe-images', '--owners', 'self'], {
        AWS_SECRET_ACCESS_KEY: 'not-the-secret',
      });
      expect(forged.code).not.toBe(0);
      expect(forged.stderr).toContain('SignatureDoesNotMatch');
      const still = await awsEc2(['describe-images', '--image-ids', imageId]);
      expect(still.stdout).toContain(imageId);
    },
    // Four runs of the AWS CLI (a Python program: seconds each to start on a busy machine).
    120_000,
  );

  it.skipIf(!boto3)('boto3 pages through images, reads a parameter, and gets AWS error codes', async () => {
    const script = `
import os, boto3, botocore
url = os.environ['SANDBOX_URL']
ec2 = boto3.client('ec2', endpoint_url=url)
ssm = boto3.client('ssm', endpoint_url=url)
names = [i['Name'] for page in ec2.get_paginator('describe_images').paginate(Owners=['self'], PaginationConfig={'PageSize': 5}) for i in page['Images']]
print('images', len(names))
print('latest', ssm.get_parameter(Name='/pulsar-ami/dev/latest-ami-id')['Parameter']['Value'])
try:
    ec2.describe_images(ImageIds=['ami-xyz'])
except botocore.exceptions.ClientError as e:
    print('error', e.response['Error']['Code'])
`;
    const result = await run('python3', ['-c', script]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^images 5$/m);
    expect(result.stdout).toMatch(/^latest ami-[0-9a-f]{17}$/m);
    expect(result.stdout).toMatch(/^error InvalidAMIID\.Malformed$/m);
  });
});
