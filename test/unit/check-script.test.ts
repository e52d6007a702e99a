/**
 * Runs packer/checks/run-checks.sh — as the stack's SSM document runs it (its commands, the
 * version substituted as SSM does; test/support/check-document.ts) — against
 * a fake /opt, by bind-mounting a temporary tree over /opt in a private user+mount
 * namespace (`unshare --user --map-root-user --mount`, no privileges needed). The script
 * keeps its real absolute paths. Skipped, with the reason, where namespaces are unavailable.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseCheckLines } from '../../functions/lib/check-results';
import { CHECK_NAMES } from '../../functions/lib/checks';
import { documentCommands } from '../support/check-document';

const UNSHARE =
  spawnSync('sh', ['-c', 'command -v unshare'], { encoding: 'utf8' }).stdout.trim() || 'unshare';

function namespacesUnavailable(): string | null {
  const probe = spawnSync(UNSHARE, ['--user', '--map-root-user', '--mount', 'true'], { encoding: 'utf8' });
  if (probe.error) return `unshare not available: ${probe.error.message}`;
  if (probe.status !== 0) return `unshare refused: ${probe.stderr.trim()}`;
  return null;
}

const skipReason = namespacesUnavailable();
if (skipReason) console.warn(`check-script tests skipped: ${skipReason}`);

interface FakeImage {
  pulsar?: boolean;
  binaries?: string[];
  templates?: string[];
  benchmark?: boolean;
  versionFile?: string;
  brokerJarVersion?: string;
  java?: string | null;
}

const healthy: FakeImage = {
  pulsar: true,
  binaries: ['pulsar', 'bookkeeper'],
  templates: ['zookeeper.service.tpl', 'bookkeeper.service.tpl', 'broker.service.tpl'],
  benchmark: true,
  brokerJarVersion: '3.0.0',
  java: 'openjdk version "17.0.10" 2024-01-16 LTS',
};

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function executable(path: string, body: string) {
  writeFileSync(path, body);
  chmodSync(path, 0o755);
}

function buildRoot(image: FakeImage): { root: string; bin: string } {
  const root = mkdtempSync(join(tmpdir(), 'pulsar-ami-checks-'));
  dirs.push(root);
  const opt = join(root, 'opt');
  const bin = join(root, 'bin');
  mkdirSync(opt);
  mkdirSync(bin);
  if (image.pulsar) {
    mkdirSync(join(opt, 'pulsar/bin'), { recursive: true });
    mkdirSync(join(opt, 'pulsar/lib'), { recursive: true });
    for (const b of image.binaries ?? []) executable(join(opt, 'pulsar/bin', b), '#!/bin/sh\nexit 0\n');
    if (image.brokerJarVersion) {
      writeFileSync(
        join(opt, `pulsar/lib/org.apache.pulsar-pulsar-broker-${image.brokerJarVersion}.jar`),
        '',
      );
    }
    if (image.versionFile !== undefined) writeFileSync(join(opt, 'pulsar/VERSION'), image.versionFile);
  }
  if (image.templates) {
    mkdirSync(join(opt, 'pulsar-templates/systemd'), { recursive: true });
    for (const t of image.templates) writeFileSync(join(opt, 'pulsar-templates/systemd', t), '[Unit]\n');
  }
  if (image.benchmark) {
    mkdirSync(join(opt, 'openmessaging-benchmark/bin'), { recursive: true });
    executable(join(opt, 'openmessaging-benchmark/bin/benchmark'), '#!/bin/sh\n');
  }
  if (image.java) {
    executable(
      join(bin, 'java'),
      `#!/bin/sh\necho '${image.java}' >&2\necho 'OpenJDK Runtime Environment' >&2\n`,
    );
  }
  return { root, bin };
}

/** The basic tools the wrapped script uses, and no java: the host's own java must never answer. */
let toolsDir: string | undefined;
function tools(): string {
  if (toolsDir) return toolsDir;
  toolsDir = mkdtempSync(join(tmpdir(), 'pulsar-ami-tools-'));
  for (const tool of [
    'sh',
    'bash',
    'cat',
    'mktemp',
    'rm',
    'head',
    'tr',
    'sed',
    'timeout',
    'mount',
    'base64',
  ]) {
    const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    if (found) symlinkSync(found, join(toolsDir, tool));
  }
  return toolsDir;
}
afterAll(() => {
  if (toolsDir) rmSync(toolsDir, { recursive: true, force: true });
});

/** Runs the document's commands, as SSM would: joined into one script run by sh. */
function runChecks(image: FakeImage, expectedVersion: string | null) {
  const { root, bin } = buildRoot(image);
  const script = join(root, 'ssm-script.sh');
  writeFileSync(script, `${documentCommands(expectedVersion ?? '').join('\n')}\n`);
  const inner = `mount --bind "${join(root, 'opt')}" /opt && exec sh "${script}"`;
  const result = spawnSync(UNSHARE, ['--user', '--map-root-user', '--mount', 'sh', '-c', inner], {
    encoding: 'utf8',
    env: { PATH: `${bin}:${tools()}`, HOME: root },
  });
  if (result.error) throw result.error;
  return {
    status: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    checks: parseCheckLines(result.stdout),
  };
}

const byName = (checks: { name: string; passed: boolean; detail: string }[]) =>
  Object.fromEntries(checks.map((c) => [c.name, c]));

describe.skipIf(skipReason !== null)('packer/checks/run-checks.sh', () => {
  it('passes every check on a healthy image, one JSON line each, in order', () => {
    const run = runChecks(healthy, '3.0.0');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout.trim().split('\n')).toHaveLength(CHECK_NAMES.length);
    expect(run.checks.map((c) => c.name)).toEqual([...CHECK_NAMES]);
    expect(run.checks.every((c) => c.passed)).toBe(true);
    const checks = byName(run.checks);
    expect(checks['Java installed']?.detail).toBe('openjdk version "17.0.10" 2024-01-16 LTS');
    expect(checks['Pulsar version matches']?.detail).toContain('installed 3.0.0');
  });

  it('reports every failure and keeps going when the image is empty', () => {
    const run = runChecks({ java: null }, '3.0.0');
    expect(run.status).toBe(1);
    expect(run.checks.map((c) => c.name)).toEqual([...CHECK_NAMES]);
    expect(run.checks.filter((c) => c.passed)).toEqual([]);
    expect(byName(run.checks)['Pulsar directory exists']?.detail).toBe('/opt/pulsar is missing');
  });

  it('names the missing binary, template and benchmark', () => {
    const run = runChecks(
      { ...healthy, binaries: ['pulsar'], templates: ['zookeeper.service.tpl'], benchmark: false },
      '3.0.0',
    );
    const checks = byName(run.checks);
    expect(run.status).toBe(1);
    expect(checks['Pulsar binaries present']).toMatchObject({
      passed: false,
      detail: expect.stringContaining('bookkeeper'),
    });
    expect(checks['Systemd templates installed']).toMatchObject({
      passed: false,
      detail: expect.stringContaining('bookkeeper broker'),
    });
    expect(checks['OpenMessaging Benchmark installed']?.passed).toBe(false);
    expect(checks['Pulsar directory exists']?.passed).toBe(true);
    expect(checks['Java 17']?.passed).toBe(true);
  });

  it('fails the version check on a mismatch, preferring /opt/pulsar/VERSION', () => {
    const run = runChecks({ ...healthy, versionFile: '3.1.2\n' }, '3.0.0');
    const check = byName(run.checks)['Pulsar version matches'];
    expect(check).toMatchObject({ passed: false });
    expect(check?.detail).toBe('installed 3.1.2 (from /opt/pulsar/VERSION), expected 3.0.0');
    expect(run.status).toBe(1);
  });

  it('fails the version check when no expected version is given', () => {
    const run = runChecks(healthy, null);
    expect(byName(run.checks)['Pulsar version matches']).toMatchObject({
      passed: false,
      detail: expect.stringContaining('no expected version'),
    });
  });

  it('tells Java 11 from Java 17, and reads the old 1.8 scheme', () => {
    const java11 = runChecks({ ...healthy, java: 'openjdk version "11.0.22" 2024-01-16' }, '3.0.0');
    expect(byName(java11.checks)['Java installed']?.passed).toBe(true);
    expect(byName(java11.checks)['Java 17']).toMatchObject({
      passed: false,
      detail: expect.stringContaining("'11'"),
    });
    const java8 = runChecks({ ...healthy, java: 'java version "1.8.0_392"' }, '3.0.0');
    expect(byName(java8.checks)['Java 17']?.detail).toContain("'8'");
  });

  it('escapes quotes, backslashes and control characters in details as JSON', () => {
    const run = runChecks({ ...healthy, java: 'openjdk version "17.0.1" \\\\weird\ttabbed' }, '3.0.0');
    const lines = run.stdout.trim().split('\n');
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(byName(run.checks)['Java installed']?.detail).toBe('openjdk version "17.0.1" \\weird\ttabbed');
  });
});
