/**
 * What every bench runs against: a sandbox on a free port, a temporary HOME (the CLI's cache),
 * the environment a CLI process gets (sandbox credentials, the API URL), and the sandbox's
 * control interface. `close` stops the sandbox and removes the HOME.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sandboxCredentials } from '../sandbox/credentials';
import { type Sandbox, startSandbox } from '../sandbox/server';

export interface BenchSandbox {
  sandbox: Sandbox;
  home: string;
  env: NodeJS.ProcessEnv;
  /** A call to the sandbox's `/_sandbox/…` control interface; a non-2xx answer throws. */
  control<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  close(): Promise<void>;
}

export async function startBenchSandbox(name: string): Promise<BenchSandbox> {
  const sandbox = await startSandbox({ port: 0, log: () => undefined });
  const home = await mkdtemp(join(tmpdir(), `pulsar-ami-${name}-`));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    AWS_ACCESS_KEY_ID: sandboxCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: sandboxCredentials.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
    PULSAR_AMI_API_URL: sandbox.url,
  };
  return {
    sandbox,
    home,
    env,
    async control<T>(method: string, path: string, body?: unknown): Promise<T> {
      const response = await fetch(`${sandbox.url}/_sandbox/${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
      return response.json() as Promise<T>;
    },
    async close() {
      await sandbox.close();
      await rm(home, { recursive: true, force: true });
    },
  };
}
