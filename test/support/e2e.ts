/**
 * End-to-end harness: the sandbox on a random port in this process, and the real
 * `pulsar-ami` binary in child processes talking to it over HTTP with signed requests.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { sandboxCredentials } from '../../sandbox/credentials';
import { type Sandbox, startSandbox } from '../../sandbox/server';
import { sandboxEc2 } from './sandbox-clients';

export const CLI = resolve(import.meta.dirname, '../../dist/cli/pulsar-ami.mjs');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface SandboxCall {
  service: string;
  action: string;
  region: string;
  dryRun: boolean;
  /** The HTTP status the sandbox answered. */
  status?: number;
}

export interface E2e {
  sandbox: Sandbox;
  /** An EC2 client of the sandbox, to look at what the product did. */
  ec2: EC2Client;
  url: string;
  home: string;
  env: Record<string, string>;
  cli(args: string[], env?: Record<string, string | undefined>): Promise<CliResult>;
  control<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  calls(): Promise<SandboxCall[]>;
  /** The EC2 calls that change images or snapshots (a DryRun call changes nothing and is not one). */
  changes(): Promise<SandboxCall[]>;
  /** Back to the seeded world: no faults, fresh seed, an empty calls log. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/** Environment for a child process: only what a user's shell would give it, no inherited AWS settings. */
function childEnv(
  base: Record<string, string>,
  extra: Record<string, string | undefined>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'LANG', 'TERM', 'SYSTEMROOT']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  Object.assign(env, base);
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

export async function startE2e(): Promise<E2e> {
  const sandbox = await startSandbox({ port: 0, log: () => undefined });
  const home = await mkdtemp(join(tmpdir(), 'pulsar-ami-home-'));
  const env = {
    HOME: home,
    AWS_ACCESS_KEY_ID: sandboxCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: sandboxCredentials.secretAccessKey,
    AWS_CONFIG_FILE: join(home, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    PULSAR_AMI_API_URL: sandbox.url,
  };
  const control = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${sandbox.url}/_sandbox/${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!response.ok)
      throw new Error(`sandbox control ${method} ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  };
  const ec2 = sandboxEc2(sandbox.url);
  const calls = async () => (await control<{ calls: SandboxCall[] }>('GET', 'calls')).calls;
  return {
    sandbox,
    ec2,
    url: sandbox.url,
    home,
    env,
    cli: (args, extra = {}) =>
      new Promise((done) => {
        execFile(process.execPath, [CLI, ...args], { env: childEnv(env, extra) }, (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
          done({ code, stdout, stderr });
        });
      }),
    control,
    calls,
    changes: async () =>
      (await calls()).filter(
        (c) =>
          c.service === 'ec2' &&
          ['DeregisterImage', 'DeleteSnapshot', 'CreateTags'].includes(c.action) &&
          !c.dryRun,
      ),
    reset: async () => {
      await control('DELETE', 'faults');
      await control('POST', 'reset', { seed: true });
      await control('DELETE', 'calls');
    },
    close: async () => {
      ec2.destroy();
      await sandbox.close();
      await rm(home, { recursive: true, force: true });
    },
  };
}
