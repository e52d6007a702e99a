/**
 * `npm run sandbox`: serve the sandbox on 127.0.0.1:PULSAR_AMI_SANDBOX_PORT (default 4566) until
 * stopped. `-- --host ADDRESS --allow-remote` listens on another address (never by default: the
 * control interface is unsigned).
 */
import { parseArgs } from 'node:util';
import { SANDBOX_ACCESS_KEY_ID, SANDBOX_SECRET_ACCESS_KEY } from './credentials';
import { startSandbox } from './server';

let flags: { host?: string; 'allow-remote'?: boolean };
try {
  flags = parseArgs({
    options: { host: { type: 'string' }, 'allow-remote': { type: 'boolean' } },
    strict: true,
  }).values;
} catch (error) {
  console.error(`${(error as Error).message}\nusage: npm run sandbox [-- --host ADDRESS --allow-remote]`);
  process.exit(2);
}

const port = Number(process.env.PULSAR_AMI_SANDBOX_PORT ?? 4566);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(
    `PULSAR_AMI_SANDBOX_PORT must be a port number, got '${process.env.PULSAR_AMI_SANDBOX_PORT}'`,
  );
  process.exit(2);
}

const sandbox = await startSandbox({
  port,
  host: flags.host ?? '127.0.0.1',
  allowRemote: flags['allow-remote'] ?? false,
  // serverless.yml's PULSAR_AMI_… settings, as `serverless deploy` would read them.
  deployEnv: process.env,
  log: process.env.PULSAR_AMI_SANDBOX_QUIET ? () => undefined : (line) => console.error(line),
}).catch((error: NodeJS.ErrnoException) => {
  console.error(
    error.code === 'EADDRINUSE'
      ? `pulsar-ami sandbox: port ${port} is in use; set PULSAR_AMI_SANDBOX_PORT to another port (0 picks a free one)`
      : `pulsar-ami sandbox: ${error.message}`,
  );
  process.exit(1);
});

console.log(`pulsar-ami sandbox on ${sandbox.url}

Credentials: access key id ${SANDBOX_ACCESS_KEY_ID}, secret ${SANDBOX_SECRET_ACCESS_KEY}, region us-west-2

  export AWS_ACCESS_KEY_ID=${SANDBOX_ACCESS_KEY_ID}
  export AWS_SECRET_ACCESS_KEY=${SANDBOX_SECRET_ACCESS_KEY}
  export AWS_REGION=us-west-2 AWS_DEFAULT_REGION=us-west-2
  export AWS_ENDPOINT_URL=${sandbox.url}
  export PULSAR_AMI_API_URL=${sandbox.url}

Control interface: ${sandbox.url}/_sandbox/health (see sandbox/README.md). Ctrl-C stops.`);

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.error(`${signal}: stopping the sandbox`);
  sandbox.close().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
