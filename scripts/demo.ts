/**
 * `npm start`: the guide's whole flow on the local sandbox, through the real CLI, as a user
 * sees it. The account starts where the guide's does before 3.0.0 exists (validated 2.11.0
 * and 2.10.0 AMIs, 2.11.0 published as the latest); then
 *   build --version 3.0.0 (Packer in CodeBuild, validation, publishing) → list → latest →
 *   validate (the new AMI) → delete (the older 2.10.0 AMI),
 * each printed as `$ pulsar-ami …` with its output, and the sandbox stops.
 * `npm start -- --keep` leaves the sandbox running for manual use (Ctrl-C to stop).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildTags, TAG } from '../functions/lib/ami';
import { sandboxCredentials } from '../sandbox/credentials';
import { createImage } from '../sandbox/factory';
import { seedAmazonLinux } from '../sandbox/seed';
import { type Sandbox, startSandbox } from '../sandbox/server';
import { keepHints } from './demo-hints';

const CLI = resolve(import.meta.dirname, '../dist/cli/pulsar-ami.mjs');
const REGION = 'us-west-2';
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

/**
 * The guide's account before 3.0.0 is built: Amazon Linux 2023 (what Packer builds from) in
 * every region, validated 2.10.0 and 2.11.0 AMIs of this tool, and 2.11.0 published as the latest.
 */
function guideWorld(sandbox: Sandbox): { older: string } {
  sandbox.reset(false);
  const { world } = sandbox;
  world.everyRegion((region) => seedAmazonLinux(world, region));
  const ami = (version: string, name: string, createdAt: string) =>
    createImage(world, REGION, {
      name,
      version,
      createdAt,
      tags: {
        ...buildTags({ name, version, builtAt: new Date(createdAt) }),
        [TAG.validated]: 'true',
        [TAG.validationDate]: createdAt.slice(0, 10),
      },
    }).imageId;
  const older = ami('2.10.0', 'pulsar-base-2.10.0-20250815093000', '2025-08-15T09:30:00.000Z');
  const previous = ami('2.11.0', 'pulsar-base-2.11.0-20250920101500', '2025-09-20T10:15:00.000Z');
  const parameter = '/pulsar-ami/dev/latest-ami-id';
  world.region(REGION).parameters.set(parameter, {
    name: parameter,
    type: 'String',
    value: previous,
    version: 1,
    lastModifiedDate: new Date('2025-09-20T11:00:00.000Z'),
    dataType: 'aws:ec2:image',
    description: 'The latest validated Pulsar AMI',
  });
  return { older };
}

function run(env: NodeJS.ProcessEnv, args: string[]): Promise<{ code: number; stdout: string }> {
  console.log(`\n${bold(`$ pulsar-ami ${args.join(' ')}`)}`);
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      process.stdout.write(chunk);
    });
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? 1, stdout }));
  });
}

/** What the guide's scripts do with the build's output: `grep "AMI ID:" | awk '{print $3}'`. */
function amiIdOf(stdout: string): string | undefined {
  const lines = stdout.split('\n').filter((line) => line.includes('AMI ID:'));
  return lines.length === 1 ? lines[0]?.trim().split(/\s+/)[2] : undefined;
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
    AWS_REGION: REGION,
    PULSAR_AMI_POLL_INTERVAL_MS: '100',
  };
  delete env.AWS_PROFILE;
  delete env.AWS_SESSION_TOKEN;
  delete env.PULSAR_AMI_API_URL;
  const failures: string[] = [];
  const step = async (args: string[], expected = 0) => {
    const result = await run(env, args);
    if (result.code !== expected) {
      failures.push(`pulsar-ami ${args.join(' ')} exited ${result.code}, expected ${expected}`);
    }
    return result;
  };
  try {
    const { older } = guideWorld(sandbox);
    console.log(`Local AWS sandbox on ${sandbox.url} (no AWS account needed).`);
    console.log('The CLI finds the API from the stack output, as it does on AWS.');
    console.log(
      'The account has validated Pulsar 2.11.0 (the published latest) and 2.10.0 AMIs; 3.0.0 is built next.',
    );

    const built = await step(['build', '--version', '3.0.0']);
    const amiId = amiIdOf(built.stdout);
    if (!amiId) throw new Error('the build printed no single "AMI ID:" line');
    await step(['list']);
    const latest = await step(['latest']);
    if (latest.stdout.trim() !== `Latest AMI: ${amiId}`) {
      failures.push(`latest answered '${latest.stdout.trim()}', not the AMI just built (${amiId})`);
    }
    await step(['validate', '--ami-id', amiId]);
    await step(['delete', '--ami-id', older]);
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
  console.log(
    '\n✓ Flow complete: build (Packer, validation, publishing), list, latest, validate, delete. Sandbox stopped.',
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
