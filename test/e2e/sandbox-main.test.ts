/**
 * `npm run sandbox` (sandbox/main.ts) as a user starts it: a busy port or a bad port setting is
 * one line and an exit code, never a Node stack trace; a free port serves and prints its URL.
 */
import { execFile, spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..', '..');
const TSX = join(root, 'node_modules', '.bin', 'tsx');
const MAIN = join(root, 'sandbox', 'main.ts');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function sandboxMain(env: Record<string, string>): Promise<Result> {
  return new Promise((done) => {
    execFile(
      TSX,
      [MAIN],
      { cwd: root, env: { ...process.env, PULSAR_AMI_SANDBOX_QUIET: '1', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
      },
    );
  });
}

const held: Server[] = [];
afterEach(async () => {
  for (const server of held.splice(0)) await new Promise((closed) => server.close(closed));
});

/** A port another program is listening on, on `host`. */
async function busyPort(host: string): Promise<number> {
  const server = createServer();
  held.push(server);
  await new Promise<void>((ready) => server.listen(0, host, ready));
  return (server.address() as AddressInfo).port;
}

describe('npm run sandbox', () => {
  it.each(['127.0.0.1', '0.0.0.0'])(
    'the port is taken (a listener on %s): one line naming the port and PULSAR_AMI_SANDBOX_PORT, exit 1',
    async (host) => {
      const port = await busyPort(host);
      const r = await sandboxMain({ PULSAR_AMI_SANDBOX_PORT: String(port) });
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        `pulsar-ami sandbox: port ${port} is in use; set PULSAR_AMI_SANDBOX_PORT to another port (0 picks a free one)\n`,
      );
      expect(r.stdout).toBe('');
    },
  );

  it('a port setting that is not a port: one line, exit 2', async () => {
    const r = await sandboxMain({ PULSAR_AMI_SANDBOX_PORT: '45x' });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("PULSAR_AMI_SANDBOX_PORT must be a port number, got '45x'\n");
  });

  it('a free port (0): serves, prints its URL, and stops cleanly on SIGTERM', async () => {
    // One process (tsx as a loader), so the signal reaches the sandbox itself.
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      cwd: root,
      env: { ...process.env, PULSAR_AMI_SANDBOX_QUIET: '1', PULSAR_AMI_SANDBOX_PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    const url = await new Promise<string>((found, failed) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const match = /pulsar-ami sandbox on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
        if (match?.[1]) found(match[1]);
      });
      child.on('exit', (code) => failed(new Error(`exited ${code} before serving: ${stdout}`)));
    });
    const health = await fetch(`${url}/_sandbox/health`);
    expect(await health.json()).toEqual({ ok: true });
    const code = await new Promise<number | null>((exited) => {
      child.on('exit', exited);
      child.kill('SIGTERM');
    });
    expect(code).toBe(0);
  });
});
