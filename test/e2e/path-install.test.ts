/**
 * The README's install step: `npm link` (scripts/link-cli.ts, into a temporary prefix instead
 * of npm's global one) puts a `pulsar-ami` on the PATH that runs this checkout's built CLI,
 * found by name as a shell finds it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkCli } from '../../scripts/link-cli';

const root = resolve(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };

let prefix: string;
let bin: string;
let server: Server;
let api: string;

beforeAll(async () => {
  prefix = mkdtempSync(join(tmpdir(), 'pulsar-ami-npm-prefix-'));
  bin = await linkCli(prefix);
  server = createServer((_req, res) => {
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ imageId: 'ami-0a1b2c3d4e5f67890', source: 'parameter' }));
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 120_000);

afterAll(async () => {
  await new Promise((closed) => server?.close(closed));
  if (prefix) rmSync(prefix, { recursive: true, force: true });
});

function onPath(args: string[], home: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      'pulsar-ami',
      args,
      {
        env: {
          PATH: `${bin}:${process.env.PATH ?? ''}`,
          HOME: home,
          AWS_ACCESS_KEY_ID: 'AKIDLINK',
          AWS_SECRET_ACCESS_KEY: 's',
          AWS_EC2_METADATA_DISABLED: 'true',
          PULSAR_AMI_API_URL: api,
        },
      },
      (error, stdout, stderr) =>
        done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

describe('pulsar-ami on the PATH (npm link)', () => {
  it('links PREFIX/bin/pulsar-ami to this checkout’s dist/cli/pulsar-ami.mjs', () => {
    expect(realpathSync(join(bin, 'pulsar-ami'))).toBe(
      realpathSync(join(root, 'dist', 'cli', 'pulsar-ami.mjs')),
    );
  });

  it('runs by name: --version, then a command that loads the lazy chunks and calls the API', async () => {
    const home = mkdtempSync(join(tmpdir(), 'pulsar-ami-path-home-'));
    try {
      expect(await onPath(['--version'], home)).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
      expect(await onPath(['latest'], home)).toEqual({
        code: 0,
        stdout: 'Latest AMI: ami-0a1b2c3d4e5f67890\n',
        stderr: '',
      });
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
