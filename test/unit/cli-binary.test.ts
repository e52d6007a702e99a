/** The built executable, spawned as a user would run it: exit codes, lazy chunks, default credential chain. */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NO_CREDENTIALS } from '../../cli/api/credentials';
import { ami } from './cli-harness';

const root = resolve(import.meta.dirname, '..', '..');
const BIN = join(root, 'dist', 'cli', 'pulsar-ami.mjs');
const ID = 'ami-0a1b2c3d4e5f67890';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: Record<string, string>): Promise<Result> {
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { env, timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

let server: Server;
let apiUrl: string;
const hits: string[] = [];

beforeAll(async () => {
  // `npm test` builds first; a plain `vitest run` of this file builds if needed.
  if (!existsSync(BIN)) {
    const built = await new Promise<number>((done) =>
      execFile(process.execPath, [join(root, 'scripts', 'build.mjs')], (error) => done(error ? 1 : 0)),
    );
    expect(built).toBe(0);
  }
  server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    const ok =
      typeof req.headers.authorization === 'string' &&
      req.headers.authorization.startsWith('AWS4-HMAC-SHA256');
    res
      .writeHead(ok ? 200 : 403, { 'content-type': 'application/json', 'x-amzn-RequestId': 'bin-1' })
      .end(
        JSON.stringify(
          ok ? { imageId: ID, source: 'parameter' } : { message: 'Missing Authentication Token' },
        ),
      );
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((closed) => server?.close(closed));
});

/** The fresh HOMEs of the current test, removed once it ends. */
const homes: string[] = [];
afterEach(() => {
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

/** The URL of a port on this machine that nothing listens on. */
async function closedPort(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((ready) => probe.listen(0, '127.0.0.1', ready));
  const url = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
  await new Promise((done) => probe.close(done));
  return url;
}

/** A clean environment: a fresh HOME, no AWS config, no instance metadata. */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const home = mkdtempSync(join(tmpdir(), 'pulsar-ami-bin-'));
  homes.push(home);
  return {
    PATH: process.env.PATH ?? '',
    HOME: home,
    AWS_CONFIG_FILE: join(home, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    PULSAR_AMI_API_URL: apiUrl,
    ...extra,
  };
}

describe('dist/cli/pulsar-ami.mjs', () => {
  it('--help: exit 0, every command listed', async () => {
    const r = await run(['--help'], cleanEnv());
    expect(r.code).toBe(0);
    for (const text of ['list', 'latest', 'delete', '--region <REGION>', '--dry-run', '--debug', '--json']) {
      expect(r.stdout).toContain(text);
    }
  });

  it.each([
    [
      ['--region', 'us-weast-2', 'latest'],
      "pulsar-ami: --region must be an AWS region such as us-west-2, got 'us-weast-2'",
    ],
    [['delete', '--ami-id', 'ami-1'], 'pulsar-ami: --ami-id must look like ami-0123456789abcdef0'],
    [['frobnicate'], "pulsar-ami: unknown command 'frobnicate'"],
  ])('usage error %j: exit 2, one line and the help hint, no request', async (args, message) => {
    const before = hits.length;
    const r = await run(args, cleanEnv({ AWS_ACCESS_KEY_ID: 'AKIDBIN', AWS_SECRET_ACCESS_KEY: 's' }));
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]?.startsWith(message)).toBe(true);
    expect(r.stderr).toContain("Run 'pulsar-ami --help' for usage.");
    expect(hits.length).toBe(before);
  });

  it('no credentials anywhere (default chain): exit 1, the hint, no request', async () => {
    const before = hits.length;
    const r = await run(['latest'], cleanEnv());
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`Error: ${NO_CREDENTIALS}\n`);
    expect(hits.length).toBe(before);
  });

  it('latest with env credentials, then from the cache without any request', async () => {
    const env = cleanEnv({ AWS_ACCESS_KEY_ID: 'AKIDBIN', AWS_SECRET_ACCESS_KEY: 's' });
    const first = await run(['latest'], env);
    expect(first).toEqual({ code: 0, stdout: `Latest AMI: ${ID}\n`, stderr: '' });
    expect(hits.at(-1)).toBe('GET /amis/latest');
    const before = hits.length;
    const cached = await run(['latest', '--debug'], env);
    expect(cached.code).toBe(0);
    expect(cached.stdout).toBe(`Latest AMI: ${ID}\n`);
    expect(cached.stderr).toContain('latest answered from cache');
    expect(hits.length).toBe(before);
  });

  it.each([
    ['an id with an escape sequence', ['delete', '--ami-id', 'ami-0123\u001b[31mRED'], 2],
    ['a command named with an escape sequence', ['ami-0123\u001b[31mRED'], 2],
    ['a 100,000-character command name', ['x'.repeat(100_000)], 2],
    ['a 100,000-character --api-url', ['--api-url', 'x'.repeat(100_000), 'latest'], 2],
    [
      'a 100,000-character https --api-url',
      ['--api-url', `https://${'x'.repeat(100_000)}.example.com`, 'latest'],
      1,
    ],
  ])('%s: a short message without any escape character, no request', async (_what, args, code) => {
    const before = hits.length;
    const r = await run(args as string[], cleanEnv({ AWS_ACCESS_KEY_ID: 'A', AWS_SECRET_ACCESS_KEY: 's' }));
    expect(r.code).toBe(code);
    expect(r.stderr).not.toContain('\u001b');
    expect(r.stderr.length).toBeLessThan(1_000);
    expect(r.stdout).toBe('');
    expect(hits.length).toBe(before);
  });

  it('--version and -V: the package version, exit 0', async () => {
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      expect(await run([flag], cleanEnv())).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    }
  });

  it('--debug: the stack trace of a failure names the TypeScript sources (source maps)', async () => {
    const r = await run(
      ['--debug', 'list', '--no-cache'],
      cleanEnv({
        AWS_ACCESS_KEY_ID: 'A',
        AWS_SECRET_ACCESS_KEY: 's',
        PULSAR_AMI_API_URL: await closedPort(),
      }),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\n {4}at .*\bcli\/api\/client\.ts:\d+:\d+\)/);
    expect(r.stderr).toMatch(/\n {4}at .*\bcli\/commands\/list\.ts:\d+:\d+\)/);
    // Without --debug: one line, no trace.
    const plain = await run(
      ['list', '--no-cache'],
      cleanEnv({
        AWS_ACCESS_KEY_ID: 'A',
        AWS_SECRET_ACCESS_KEY: 's',
        PULSAR_AMI_API_URL: await closedPort(),
      }),
    );
    expect(plain.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('AWS_ENDPOINT_URL down: names the CloudFormation endpoint and its address, not the API URL', async () => {
    const endpoint = await closedPort();
    const env = cleanEnv({ AWS_ACCESS_KEY_ID: 'A', AWS_SECRET_ACCESS_KEY: 's', AWS_ENDPOINT_URL: endpoint });
    delete env.PULSAR_AMI_API_URL;
    for (const args of [['list'], ['latest'], ['validate', '--ami-id', ID], ['delete', '--ami-id', ID]]) {
      const r = await run(args, env);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr.split('\n').filter((l) => l.startsWith('Error: '))).toEqual([
        `Error: Cannot reach the CloudFormation endpoint ${endpoint} (set by AWS_ENDPOINT_URL) to look up the API's URL (stack pulsar-ami-dev in us-west-2): connection refused (ECONNREFUSED). Either start what serves it or unset AWS_ENDPOINT_URL, or pass --api-url URL or set PULSAR_AMI_API_URL`,
      ]);
    }
  });

  it('on a Node the SDK will drop (20): no SDK warning, as the CLI supports it (engines)', async () => {
    const preload = join(root, 'test', 'fixtures', 'node-20-version.cjs');
    const endpoint = await closedPort();
    const env = cleanEnv({ AWS_ACCESS_KEY_ID: 'A', AWS_SECRET_ACCESS_KEY: 's', AWS_ENDPOINT_URL: endpoint });
    delete env.PULSAR_AMI_API_URL;
    // The SDK does warn there: a script creating the same client under the same preload.
    const sdk = await new Promise<string>((done) =>
      execFile(
        process.execPath,
        [
          '--require',
          preload,
          '--input-type=module',
          '-e',
          "const { CloudFormationClient } = await import('@aws-sdk/client-cloudformation'); new CloudFormationClient({ region: 'us-west-2' });",
        ],
        { cwd: root, env },
        (_error, _stdout, stderr) => done(stderr),
      ),
    );
    expect(sdk).toContain('NodeVersionSupportWarning');
    // The CLI loads that client to find the API (the endpoint is down: exit 1), without the warning.
    const cli = await new Promise<Result>((done) =>
      execFile(process.execPath, ['--require', preload, BIN, 'list'], { env }, (error, stdout, stderr) =>
        done({ code: error ? Number(error.code) : 0, stdout, stderr }),
      ),
    );
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain('Cannot reach the CloudFormation endpoint');
    expect(cli.stderr).not.toContain('Warning');
  });

  it('an unreachable API (a closed port): exit 1', async () => {
    const probe = createServer();
    await new Promise<void>((ready) => probe.listen(0, '127.0.0.1', ready));
    const closed = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
    await new Promise((done) => probe.close(done));
    const r = await run(
      ['list'],
      cleanEnv({ AWS_ACCESS_KEY_ID: 'A', AWS_SECRET_ACCESS_KEY: 's', PULSAR_AMI_API_URL: closed }),
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('Fetching AMI list from AWS...\n');
    expect(r.stderr).toBe(
      `Error: Cannot reach the pulsar-ami API at ${closed}: connection refused (ECONNREFUSED)\n`,
    );
  });

  /**
   * A reader that stops reading (`pulsar-ami list | head -3`): the child's `stream` pipe is
   * destroyed after its first chunk (or before any, `| head -c 0`), and only then does the API
   * answer (a long list), so the next writes meet a closed pipe.
   */
  async function readerStops(
    stream: 'stdout' | 'stderr',
    args: string[],
    when: 'first chunk' | 'at once' = 'first chunk',
  ): Promise<Result> {
    let pipeClosed!: () => void;
    const closed = new Promise<void>((resolve) => {
      pipeClosed = resolve;
    });
    const items = Array.from({ length: 300 }, (_, i) =>
      ami(`ami-${String(i).padStart(17, '0')}`, `3.0.${i}`, '2025-01-01T00:00:00.000Z'),
    );
    const api = createServer((_req, res) => {
      void closed.then(() =>
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ items })),
      );
    });
    await new Promise<void>((ready) => api.listen(0, '127.0.0.1', ready));
    try {
      const env = cleanEnv({
        AWS_ACCESS_KEY_ID: 'A',
        AWS_SECRET_ACCESS_KEY: 's',
        PULSAR_AMI_API_URL: `http://127.0.0.1:${(api.address() as AddressInfo).port}`,
      });
      const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      const output = { stdout: '', stderr: '' };
      const other = stream === 'stdout' ? 'stderr' : 'stdout';
      child[other].on('data', (chunk: Buffer) => {
        output[other] += chunk.toString();
      });
      if (when === 'at once') {
        child[stream].destroy();
        pipeClosed();
      } else {
        child[stream].once('data', (chunk: Buffer) => {
          output[stream] += chunk.toString();
          child[stream].destroy();
          pipeClosed();
        });
      }
      const code = await new Promise<number>((done) => child.on('close', (c) => done(c ?? -1)));
      return { code, ...output };
    } finally {
      await new Promise((done) => api.close(done));
    }
  }

  it('stdout closed by its reader (list | head -1): ends quietly, exit 0, no stack trace', async () => {
    for (const [args, when] of [
      [['list', '--no-cache'], 'first chunk'],
      [['--json', 'list', '--no-cache'], 'at once'],
    ] as const) {
      const r = await readerStops('stdout', [...args], when);
      expect(r.stderr, args.join(' ')).not.toMatch(/EPIPE|Unhandled|\n\s+at /);
      expect(r.stderr, args.join(' ')).toBe('');
      expect(r.code, args.join(' ')).toBe(0);
    }
  });

  it('stderr closed by its reader (--debug list 2>&1 >/dev/null | head -1): ends quietly, exit 0', async () => {
    const r = await readerStops('stderr', ['--debug', 'list', '--no-cache']);
    expect(r.code).toBe(0);
  });
});
