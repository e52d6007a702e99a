/**
 * `npm start`: the main flow on the local sandbox, through the real CLI, as a user sees it.
 * Starts the sandbox, runs list → validate → latest → --dry-run delete → delete → list, then stops.
 * `npm start -- --keep` leaves the sandbox running for manual use (Ctrl-C to stop).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Ami } from '../functions/lib/api-types';
import { sandboxCredentials } from '../sandbox/credentials';
import { type Sandbox, startSandbox } from '../sandbox/server';
import { keepHints } from './demo-hints';

const CLI = resolve(import.meta.dirname, '../dist/cli/pulsar-ami.mjs');
const keep = process.argv.includes('--keep');
const bold = (text: string) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);

// The in-process Lambdas log JSON lines for CloudWatch; here the CLI's output is the show.
process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';

async function start(): Promise<Sandbox> {
  const port = Number(process.env.PULSAR_AMI_SANDBOX_PORT ?? 4566);
  try {
    return await startSandbox({ port, log: () => undefined });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    console.log(`Port ${port} is busy; starting the sandbox on a free port instead.`);
    return startSandbox({ port: 0, log: () => undefined });
  }
}

function run(
  env: NodeJS.ProcessEnv,
  args: string[],
  capture = false,
): Promise<{ code: number; stdout: string }> {
  if (!capture) console.log(`\n${bold(`$ pulsar-ami ${args.join(' ')}`)}`);
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!capture) process.stdout.write(chunk);
    });
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? 1, stdout }));
  });
}

async function main(): Promise<number> {
  const sandbox = await start();
  const home = await mkdtemp(join(tmpdir(), 'pulsar-ami-demo-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    AWS_ACCESS_KEY_ID: sandboxCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: sandboxCredentials.secretAccessKey,
    AWS_ENDPOINT_URL: sandbox.url,
    AWS_REGION: 'us-west-2',
    PULSAR_AMI_POLL_INTERVAL_MS: '100',
  };
  delete env.AWS_PROFILE;
  delete env.AWS_SESSION_TOKEN;
  delete env.PULSAR_AMI_API_URL;
  console.log(`Local AWS sandbox on ${sandbox.url} (no AWS account needed).`);
  console.log('The CLI finds the API from the stack output, as it does on AWS.');
  const failures: string[] = [];
  const step = async (args: string[], expected = 0) => {
    const { code } = await run(env, args);
    if (code !== expected) failures.push(`pulsar-ami ${args.join(' ')} exited ${code}, expected ${expected}`);
  };
  try {
    await step(['list']);
    const listed = await run(env, ['list', '--json'], true);
    const items = (JSON.parse(listed.stdout) as { items: Ami[] }).items;
    const newest = items[0];
    if (!newest) throw new Error('the sandbox has no AMI to validate');
    await step(['validate', '--ami-id', newest.imageId]);
    await step(['latest']);
    const oldest = items.filter((ami) => ami.ownership === 'managed').at(-1);
    if (!oldest) throw new Error('the sandbox has no managed AMI to delete');
    await step(['--dry-run', 'delete', '--ami-id', oldest.imageId]);
    await step(['delete', '--ami-id', oldest.imageId]);
    await step(['list']);
    if (keep) {
      console.log(`\nThe sandbox keeps running on ${sandbox.url}. Try:`);
      for (const line of keepHints(sandbox.url, sandboxCredentials)) console.log(line);
      console.log('Press Ctrl-C to stop.');
      await new Promise<void>((stop) => {
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    }
  } finally {
    await sandbox.close();
    await rm(home, { recursive: true, force: true });
  }
  if (failures.length > 0) {
    console.error(`\nThe flow did not go as expected:\n  ${failures.join('\n  ')}`);
    return 1;
  }
  console.log('\n✓ Flow complete: list, validate, latest, --dry-run delete, delete, list. Sandbox stopped.');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
