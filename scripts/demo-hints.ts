/** What `npm start -- --keep` prints to use the sandbox left running from another shell. */

/**
 * The exports for the sandbox at `url`: the CLI and the SDK read AWS_REGION, the aws CLI v1
 * reads AWS_DEFAULT_REGION only, so both are set.
 */
export function keepHints(
  url: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
): string[] {
  return [
    `  export AWS_ENDPOINT_URL=${url} AWS_REGION=us-west-2 AWS_DEFAULT_REGION=us-west-2`,
    `  export AWS_ACCESS_KEY_ID=${credentials.accessKeyId}`,
    `  export AWS_SECRET_ACCESS_KEY=${credentials.secretAccessKey}`,
    '  npx pulsar-ami list',
  ];
}
