/** `npm start -- --keep`: the exports it prints work for the SDK, this CLI and the aws CLI v1. */
import { describe, expect, it } from 'vitest';
import { sandboxCredentials } from '../../sandbox/credentials';
import { keepHints } from '../../scripts/demo-hints';

describe('npm start -- --keep hints', () => {
  it('export the endpoint, AWS_REGION and AWS_DEFAULT_REGION (aws CLI v1), the keys, then a command', () => {
    const lines = keepHints('http://127.0.0.1:4566', sandboxCredentials);
    expect(lines).toEqual([
      '  export AWS_ENDPOINT_URL=http://127.0.0.1:4566 AWS_REGION=us-west-2 AWS_DEFAULT_REGION=us-west-2',
      `  export AWS_ACCESS_KEY_ID=${sandboxCredentials.accessKeyId}`,
      `  export AWS_SECRET_ACCESS_KEY=${sandboxCredentials.secretAccessKey}`,
      '  npx pulsar-ami list',
    ]);
  });
});
