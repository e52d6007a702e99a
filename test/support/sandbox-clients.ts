/** SDK v3 clients pointed at a sandbox, and a short-interval poll for states that come with time. */
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { sandboxCredentials } from '../../sandbox/credentials';

export function sandboxEc2(url: string, maxAttempts = 1): EC2Client {
  return new EC2Client({ region: 'us-west-2', endpoint: url, maxAttempts, credentials: sandboxCredentials });
}

export function sandboxSsm(url: string, maxAttempts = 1): SSMClient {
  return new SSMClient({ region: 'us-west-2', endpoint: url, maxAttempts, credentials: sandboxCredentials });
}

/** Calls `probe` every `intervalMs` until `done` holds for its value; fails after `timeoutMs`. */
export async function waitFor<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  { timeoutMs = 5_000, intervalMs = 20, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await probe();
    if (done(last)) return last;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
