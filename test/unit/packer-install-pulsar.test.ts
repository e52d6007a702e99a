/**
 * packer/scripts/install-pulsar.sh for real (bash, curl, sha512sum, tar) against a local
 * HTTP server on 127.0.0.1 that serves a small Pulsar-shaped tarball and its .sha512 in
 * Apache's archive layout. The script installs into a folder of the test's temporary tree,
 * with TMPDIR inside that tree too, so the test sees everything it leaves behind, and the
 * tree is removed afterwards.
 *
 * `tar` and `sha512sum` are wrapped (on PATH) to record when they run, which shows that the
 * archive is verified before it is unpacked, and never unpacked when it does not verify.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const SCRIPT = join(import.meta.dirname, '..', '..', 'packer', 'scripts', 'install-pulsar.sh');
const VERSION = '3.0.0';
const NAME = `apache-pulsar-${VERSION}-bin.tar.gz`;
const PATH_PREFIX = `/pulsar/pulsar-${VERSION}/`;

/** What the server answers for a path: a body (200) or a status with no body. */
const routes = new Map<string, Buffer | number>();
const requested: string[] = [];
let server: Server;
let baseUrl: string;
const roots: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    requested.push(path);
    const answer = routes.get(path);
    if (answer === undefined || typeof answer === 'number') {
      res.writeHead(typeof answer === 'number' ? answer : 404).end();
      return;
    }
    res.writeHead(200, { 'content-length': answer.length }).end(answer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

afterEach(() => {
  routes.clear();
  requested.length = 0;
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

function tempRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'pulsar-ami-install-pulsar-'));
  roots.push(root);
  return root;
}

interface TarballOptions {
  version?: string;
  jarVersion?: string;
  top?: string;
  executable?: boolean;
}

/** A small tarball shaped like Apache's binary distribution. */
function makeTarball(options: TarballOptions = {}): Buffer {
  const version = options.version ?? VERSION;
  const build = tempRoot();
  const top = join(build, options.top ?? `apache-pulsar-${version}`);
  for (const dir of ['bin', 'lib', 'conf']) mkdirSync(join(top, dir), { recursive: true });
  writeFileSync(join(top, 'bin', 'pulsar'), '#!/bin/sh\necho pulsar "$@"\n');
  writeFileSync(join(top, 'bin', 'bookkeeper'), '#!/bin/sh\necho bookkeeper "$@"\n');
  chmodSync(join(top, 'bin', 'pulsar'), options.executable === false ? 0o644 : 0o755);
  chmodSync(join(top, 'bin', 'bookkeeper'), 0o755);
  writeFileSync(
    join(top, 'lib', `org.apache.pulsar-pulsar-broker-${options.jarVersion ?? version}.jar`),
    'PK not really a jar',
  );
  writeFileSync(join(top, 'conf', 'broker.conf'), 'clusterName=standalone\n');
  const out = join(build, 'out.tar.gz');
  execFileSync('tar', ['-czf', out, '-C', build, options.top ?? `apache-pulsar-${version}`]);
  return readFileSync(out);
}

function sha512(data: Buffer): string {
  return createHash('sha512').update(data).digest('hex');
}

/** `sha512sum` output: `<hex>  <name>`. */
function sha512sumFormat(data: Buffer, name = NAME): Buffer {
  return Buffer.from(`${sha512(data)}  ${name}\n`);
}

/** Apache's other format (`gpg --print-md SHA512`): upper-case groups after `name:`, over lines. */
function apacheFormat(data: Buffer, name = NAME): Buffer {
  const groups = sha512(data).toUpperCase().match(/.{8}/g) ?? [];
  const pad = ' '.repeat(name.length + 2);
  const lines = [groups.slice(0, 6), groups.slice(6, 12), groups.slice(12)].map((g) => g.join(' '));
  return Buffer.from(`${name}: ${lines[0]}\n${pad}${lines[1]}\n${pad}${lines[2]}\n`);
}

function serve(tarball: Buffer | number, checksum: Buffer | number) {
  routes.set(`${PATH_PREFIX}${NAME}`, tarball);
  routes.set(`${PATH_PREFIX}${NAME}.sha512`, checksum);
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  root: string;
  installDir: string;
  opt: string;
  tmp: string;
  calls: string[];
}

/** Runs the script with only the environment it is given (and PATH with the wrappers). */
async function install(
  env: Record<string, string> = {},
  prepare?: (installDir: string) => void,
): Promise<Run> {
  const root = tempRoot();
  const opt = join(root, 'opt');
  const tmp = join(root, 'tmp');
  const shims = join(root, 'shims');
  for (const dir of [opt, tmp, shims]) mkdirSync(dir);
  const callLog = join(root, 'calls.log');
  writeFileSync(callLog, '');
  for (const tool of ['tar', 'sha512sum']) {
    const real = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    expect(real, `${tool} on PATH`).not.toBe('');
    writeFileSync(join(shims, tool), `#!/bin/sh\necho "${tool}" >> "${callLog}"\nexec "${real}" "$@"\n`);
    chmodSync(join(shims, tool), 0o755);
  }
  const installDir = join(opt, 'pulsar');
  prepare?.(installDir);
  const child = spawn('bash', [SCRIPT], {
    env: {
      PATH: `${shims}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      TMPDIR: tmp,
      PULSAR_VERSION: VERSION,
      ARCHIVE_BASE_URL: baseUrl,
      PULSAR_INSTALL_DIR: installDir,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const calls = readFileSync(callLog, 'utf8').split('\n').filter(Boolean);
  return { code, stdout, stderr, root, installDir, opt, tmp, calls };
}

function expectNothingInstalled(run: Run) {
  expect(run.code, run.stderr).not.toBe(0);
  expect(existsSync(run.installDir), 'install folder').toBe(false);
  expect(readdirSync(run.opt), 'nothing beside it either (no staging left)').toEqual([]);
  expect(readdirSync(run.tmp), 'no temporary files left').toEqual([]);
}

function expectInstalled(run: Run) {
  expect(run.code, run.stderr).toBe(0);
  expect(readFileSync(join(run.installDir, 'VERSION'), 'utf8')).toBe(`${VERSION}\n`);
  expect(statSync(join(run.installDir, 'bin', 'pulsar')).mode & 0o111).not.toBe(0);
  expect(existsSync(join(run.installDir, 'lib', `org.apache.pulsar-pulsar-broker-${VERSION}.jar`))).toBe(
    true,
  );
  expect(existsSync(join(run.installDir, 'conf', 'broker.conf'))).toBe(true);
  expect(readdirSync(run.opt)).toEqual(['pulsar']);
  expect(readdirSync(run.tmp), 'no temporary files left').toEqual([]);
  // Verified, then unpacked.
  expect(run.calls.indexOf('sha512sum')).toBeGreaterThanOrEqual(0);
  expect(run.calls.indexOf('tar')).toBeGreaterThan(run.calls.indexOf('sha512sum'));
}

describe('install-pulsar.sh', () => {
  it("installs a tarball that matches its .sha512 (sha512sum's format) and writes VERSION", async () => {
    const tarball = makeTarball();
    serve(tarball, sha512sumFormat(tarball));
    const run = await install();
    expectInstalled(run);
    expect(requested).toEqual([`${PATH_PREFIX}${NAME}`, `${PATH_PREFIX}${NAME}.sha512`]);
    expect(run.stdout).toContain(sha512(tarball));
  });

  it("installs a tarball that matches Apache's upper-case, multi-line format", async () => {
    const tarball = makeTarball();
    const checksum = apacheFormat(tarball);
    expect(checksum.toString().split('\n').length).toBeGreaterThan(2);
    serve(tarball, checksum);
    expectInstalled(await install());
  });

  it('installs when PULSAR_SHA512 agrees with the published checksum (any case)', async () => {
    const tarball = makeTarball();
    serve(tarball, apacheFormat(tarball));
    expectInstalled(await install({ PULSAR_SHA512: sha512(tarball).toUpperCase() }));
  });

  it.each([
    ['sha512sum', sha512sumFormat],
    ['Apache', apacheFormat],
  ])('refuses a tampered tarball (%s format) and never unpacks it', async (_format, format) => {
    const tarball = makeTarball();
    const tampered = Buffer.from(tarball);
    tampered[tampered.length - 10] = (tampered[tampered.length - 10] ?? 0) ^ 0xff;
    serve(tampered, format(tarball));
    const run = await install();
    expectNothingInstalled(run);
    expect(run.stderr).toMatch(/checksum mismatch/);
    expect(run.calls).not.toContain('tar');
  });

  it('refuses when the .sha512 is missing (404)', async () => {
    const tarball = makeTarball();
    serve(tarball, 404);
    const run = await install();
    expectNothingInstalled(run);
    expect(run.stderr).toMatch(/could not download the published checksum/);
    expect(run.calls).not.toContain('tar');
  });

  it('refuses when the .sha512 is empty', async () => {
    const tarball = makeTarball();
    serve(tarball, Buffer.alloc(0));
    const run = await install();
    expectNothingInstalled(run);
    expect(run.stderr).toMatch(/is empty/);
  });

  it.each([
    ['not a checksum at all', () => Buffer.from('<html>Not Found</html>\n')],
    ['a truncated hex', (t: Buffer) => Buffer.from(`${sha512(t).slice(0, 100)}  ${NAME}\n`)],
    ["another file's checksum", (t: Buffer) => sha512sumFormat(t, 'apache-pulsar-3.0.0-src.tar.gz')],
    ["another file's checksum, Apache's format", (t: Buffer) => apacheFormat(t, 'other.tar.gz')],
  ])('refuses a .sha512 holding %s', async (_what, checksum) => {
    const tarball = makeTarball();
    serve(tarball, checksum(tarball));
    const run = await install();
    expectNothingInstalled(run);
    expect(run.calls).not.toContain('tar');
  });

  it.each([
    ['sha512sum', sha512sumFormat],
    ['Apache', apacheFormat],
  ])('refuses when PULSAR_SHA512 disagrees with the published checksum (%s format)', async (_f, format) => {
    const tarball = makeTarball();
    serve(tarball, format(tarball));
    const run = await install({ PULSAR_SHA512: sha512(Buffer.from('something else')) });
    expectNothingInstalled(run);
    expect(run.stderr).toMatch(/disagrees with PULSAR_SHA512/);
    expect(run.calls).not.toContain('tar');
  });

  it('refuses when the tarball (404) is missing', async () => {
    serve(404, Buffer.from(`${'0'.repeat(128)}  ${NAME}\n`));
    expectNothingInstalled(await install());
  });

  it('refuses a verified tarball that is not Pulsar of that version, leaving nothing', async () => {
    const wrongJar = makeTarball({ jarVersion: '3.0.1' });
    serve(wrongJar, sha512sumFormat(wrongJar));
    let run = await install();
    expectNothingInstalled(run);
    expect(run.stderr).toMatch(/org\.apache\.pulsar-pulsar-broker-3\.0\.0\.jar/);

    const wrongTop = makeTarball({ top: 'pulsar' });
    serve(wrongTop, sha512sumFormat(wrongTop));
    run = await install();
    expectNothingInstalled(run);
    expect(run.stderr).toMatch(/single apache-pulsar-3\.0\.0\/ folder/);

    const notExecutable = makeTarball({ executable: false });
    serve(notExecutable, sha512sumFormat(notExecutable));
    run = await install();
    expectNothingInstalled(run);
  });

  it('refuses to install over an existing folder and leaves it as it was', async () => {
    const tarball = makeTarball();
    serve(tarball, sha512sumFormat(tarball));
    const run = await install({}, (dir) => {
      mkdirSync(dir);
      writeFileSync(join(dir, 'keep'), 'mine');
    });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/already exists/);
    expect(readdirSync(run.installDir)).toEqual(['keep']);
    expect(readdirSync(run.opt)).toEqual(['pulsar']);
    expect(requested, 'nothing downloaded').toEqual([]);
  });

  it.each(['3.0', 'latest', '3.0.0; rm -rf /', ''])(
    'refuses the version %j before any download',
    async (v) => {
      const run = await install({ PULSAR_VERSION: v });
      expectNothingInstalled(run);
      expect(requested).toEqual([]);
    },
  );
});
