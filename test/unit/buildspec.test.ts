/**
 * buildspec/build-ami.yml, parsed with the yaml package: its structure (pinned Packer,
 * checksum before unzip, init/validate/build order, pipefail, on-failure ABORT, AMI_ID from
 * the manifest), and its commands run for real with bash:
 *   - the Packer install against a local HTTP server serving a fake Packer zip and its
 *     SHA256SUMS (a tampered zip is never unzipped),
 *   - pre_build's reading of the published .sha512 (both of Apache's formats),
 *   - pre_build, build and post_build in one shell, as CodeBuild runs them (variables
 *     persist between commands), with a `packer` on PATH that records its calls and writes
 *     a manifest as Packer's manifest post-processor does,
 *   - post_build against good and bad manifests, and after a failed build.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadPackerTemplate, type PackerTemplate } from '../support/hcl';

const BUILDSPEC = join(import.meta.dirname, '..', '..', 'buildspec', 'build-ami.yml');

interface Phase {
  'on-failure'?: string;
  commands: string[];
}
interface Buildspec {
  version: number | string;
  env: { shell?: string; variables?: Record<string, string>; 'exported-variables'?: string[] };
  phases: Record<string, Phase>;
}

const spec = parse(readFileSync(BUILDSPEC, 'utf8')) as Buildspec;
const phase = (name: string): Phase => {
  const p = spec.phases[name];
  if (!p) throw new Error(`no ${name} phase`);
  return p;
};
const PACKER_VERSION = spec.env.variables?.PACKER_VERSION ?? '';
const packerArch = process.arch === 'arm64' ? 'arm64' : 'amd64';
const ZIP = `packer_${PACKER_VERSION}_linux_${packerArch}.zip`;
const SUMS = `packer_${PACKER_VERSION}_SHA256SUMS`;

/** The install command that downloads Packer (the one that unzips it). */
const packerInstallCommand = () => {
  const found = phase('install').commands.find((c) => c.includes('unzip'));
  if (!found) throw new Error('no install command unzips Packer');
  return found;
};
/** The pre_build command that reads the published .sha512. */
const shaCommand = () => {
  const found = phase('pre_build').commands.find((c) => c.includes('PKR_VAR_pulsar_sha512='));
  if (!found) throw new Error('no pre_build command sets PKR_VAR_pulsar_sha512');
  return found;
};

// ---------------------------------------------------------------------------------------
// A local HTTP server and a temporary tree per test

const routes = new Map<string, Buffer | number>();
let server: Server;
let baseUrl: string;
const roots: string[] = [];
let template: PackerTemplate;

beforeAll(async () => {
  template = await loadPackerTemplate();
  server = createServer((req, res) => {
    const answer = routes.get((req.url ?? '').split('?')[0] ?? '');
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
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

function tempRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'pulsar-ami-buildspec-'));
  roots.push(root);
  return root;
}

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a script with bash and exactly the environment given (plus PATH). */
async function bash(script: string, env: Record<string, string>, cwd?: string): Promise<Result> {
  const child = spawn('bash', ['-c', script], {
    cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
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
  return { code, stdout, stderr };
}

/** Appended to a command: prints the variables it left in the shell, one per line. */
const dumpVariables = (names: string[]) =>
  `\n${names.map((n) => `printf 'VAR %s=%s\\n' ${n} "\${${n}-<unset>}"`).join('\n')}\n`;

function variablesFrom(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of stdout.matchAll(/^VAR ([A-Za-z0-9_]+)=(.*)$/gm)) if (m[1]) out[m[1]] = m[2] ?? '';
  return out;
}

// ---------------------------------------------------------------------------------------

describe('structure', () => {
  it('is version 0.2, runs bash, exports AMI_ID and AMI_NAME', () => {
    expect(String(spec.version)).toBe('0.2');
    expect(spec.env.shell).toBe('bash');
    expect(spec.env['exported-variables']).toEqual(expect.arrayContaining(['AMI_ID', 'AMI_NAME']));
  });

  it('pins a Packer release and downloads it from the configurable releases URL', () => {
    expect(PACKER_VERSION).toMatch(/^\d+\.\d+\.\d+$/);
    expect(spec.env.variables?.PACKER_RELEASES_URL).toBe('https://releases.hashicorp.com');
    const cmd = packerInstallCommand();
    expect(cmd).toMatch(/curl -fsSL --retry 3 -o "\$\{work\}\/\$\{zip\}" "\$\{base\}\/\$\{zip\}"/);
    expect(cmd).toMatch(/curl -fsSL --retry 3 -o "\$\{work\}\/\$\{sums\}" "\$\{base\}\/\$\{sums\}"/);
  });

  it('verifies the checksum before unzipping', () => {
    const cmd = packerInstallCommand();
    const verify = cmd.indexOf('sha256sum -c');
    expect(verify).toBeGreaterThan(0);
    expect(cmd.indexOf('unzip')).toBeGreaterThan(verify);
    expect(cmd.indexOf('grep -E')).toBeLessThan(verify);
  });

  it('runs the phases in order, with packer init, validate and build in that order', () => {
    expect(Object.keys(spec.phases)).toEqual(['install', 'pre_build', 'build', 'post_build']);
    const text = ['pre_build', 'build'].flatMap((p) => phase(p).commands).join('\n');
    const init = text.indexOf('packer init .');
    const validate = text.indexOf('packer validate .');
    const build = text.indexOf('packer build -color=false .');
    expect(init).toBeGreaterThan(-1);
    expect(validate).toBeGreaterThan(init);
    expect(build).toBeGreaterThan(validate);
    expect(phase('build').commands.join('\n')).toContain('packer build');
  });

  it('aborts on failure in every phase and runs every command under set -euo pipefail', () => {
    for (const [name, p] of Object.entries(spec.phases)) {
      expect(p['on-failure'], name).toBe('ABORT');
      for (const c of p.commands)
        expect(c.split('\n')[0], `${name}: ${c.slice(0, 40)}`).toBe('set -euo pipefail');
    }
  });

  it('reads the AMI id from the manifest with jq, never from the log', () => {
    const post = phase('post_build').commands.join('\n');
    expect(post).toContain("jq -er '.builds[-1].artifact_id'");
    expect(post).toContain('CODEBUILD_BUILD_SUCCEEDING');
    expect(post).not.toMatch(/\bgrep\b/);
    expect(post).not.toMatch(/\bawk\b/);
  });

  it('sets a PKR_VAR for each template variable it passes, and for every variable without a default', () => {
    const exported = new Set(
      [...shaCommand().matchAll(/export PKR_VAR_([a-z0-9_]+)=/g)].map((m) => m[1] as string),
    );
    for (const name of exported) expect(Object.keys(template.variables), name).toContain(name);
    for (const [name, v] of Object.entries(template.variables)) {
      if (v.default === undefined) expect([...exported], `${name} has no default`).toContain(name);
    }
    for (const name of [
      'pulsar_version',
      'instance_type',
      'architecture',
      'region',
      'archive_base_url',
      'pulsar_sha512',
      'build_id',
      'build_execution_arn',
      'iam_instance_profile',
      'subnet_id',
      'security_group_id',
      'manifest_path',
    ]) {
      expect([...exported]).toContain(name);
    }
  });
});

// ---------------------------------------------------------------------------------------

function fakePackerZip(root: string): Buffer {
  const dir = join(root, 'zip');
  mkdirSync(dir);
  writeFileSync(join(dir, 'packer'), `#!/bin/sh\necho "Packer v${PACKER_VERSION}"\n`);
  chmodSync(join(dir, 'packer'), 0o755);
  execFileSync('zip', ['-q', '-X', join(root, 'packer.zip'), 'packer'], { cwd: dir });
  return readFileSync(join(root, 'packer.zip'));
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('install: Packer', () => {
  async function runInstall(zip: Buffer | number, sums: Buffer | number) {
    const root = tempRoot();
    const bin = join(root, 'bin');
    routes.set(`/packer/${PACKER_VERSION}/${ZIP}`, zip);
    routes.set(`/packer/${PACKER_VERSION}/${SUMS}`, sums);
    const result = await bash(packerInstallCommand(), {
      PACKER_VERSION,
      PACKER_RELEASES_URL: baseUrl,
      PACKER_BIN_DIR: bin,
      TMPDIR: root,
    });
    return { ...result, bin };
  }

  function sumsFor(zip: Buffer, hash = sha256(zip)) {
    const other = packerArch === 'amd64' ? 'arm64' : 'amd64';
    return Buffer.from(
      [
        `${'1'.repeat(64)}  packer_${PACKER_VERSION}_darwin_arm64.zip`,
        `${hash}  ${ZIP}`,
        `${'2'.repeat(64)}  packer_${PACKER_VERSION}_linux_${other}.zip`,
        `${'3'.repeat(64)}  packer_${PACKER_VERSION}_linux_${packerArch}.zip.sig`,
        '',
      ].join('\n'),
    );
  }

  it('installs the pinned Packer whose zip matches its line in SHA256SUMS', async () => {
    const zip = fakePackerZip(tempRoot());
    const run = await runInstall(zip, sumsFor(zip));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`${ZIP}: OK`);
    expect(run.stdout).toContain(`Packer v${PACKER_VERSION}`);
    expect(existsSync(join(run.bin, 'packer'))).toBe(true);
  });

  it('refuses a zip that does not match, and never unzips it', async () => {
    const zip = fakePackerZip(tempRoot());
    const run = await runInstall(zip, sumsFor(zip, sha256(Buffer.from('other'))));
    expect(run.code).not.toBe(0);
    expect(existsSync(join(run.bin, 'packer'))).toBe(false);
  });

  it('refuses when SHA256SUMS has no line for the zip, or is missing', async () => {
    const zip = fakePackerZip(tempRoot());
    const noLine = Buffer.from(`${sha256(zip)}  packer_${PACKER_VERSION}_linux_${packerArch}.zip.old\n`);
    let run = await runInstall(zip, noLine);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(`no checksum for ${ZIP}`);
    expect(existsSync(join(run.bin, 'packer'))).toBe(false);
    // A dot in the version is not a wildcard.
    const dotted = Buffer.from(
      `${sha256(zip)}  ${ZIP.replace(`_${PACKER_VERSION}_`, `_${PACKER_VERSION.replaceAll('.', 'x')}_`)}\n`,
    );
    run = await runInstall(zip, dotted);
    expect(run.code).not.toBe(0);
    run = await runInstall(zip, 404);
    expect(run.code).not.toBe(0);
    expect(existsSync(join(run.bin, 'packer'))).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------

const PULSAR = '3.0.0';
const SHA_PATH = `/pulsar/pulsar-${PULSAR}/apache-pulsar-${PULSAR}-bin.tar.gz.sha512`;
const HEX = createHash('sha512').update('a Pulsar tarball').digest('hex');
const BUILD_ENV = {
  PULSAR_VERSION: PULSAR,
  INSTANCE_TYPE: 't3.small',
  ARCHITECTURE: 'x86_64',
  BUILD_ID: 'build-3-0-0-abc',
  BUILD_EXECUTION_ARN: 'arn:aws:states:us-west-2:123456789012:execution:BuildAmi:build-3-0-0-abc',
  BUILD_INSTANCE_PROFILE: 'pulsar-ami-test-build',
  BUILD_SUBNET_ID: '',
  BUILD_SECURITY_GROUP_ID: 'sg-0123456789abcdef0',
  AWS_REGION: 'us-west-2',
  PACKER_MANIFEST: 'packer-manifest.json',
};

describe('pre_build: the published checksum', () => {
  async function read(body: Buffer | number) {
    routes.set(SHA_PATH, body);
    const names = Object.keys(template.variables);
    const vars = ['pulsar_sha512', 'pulsar_version', 'region', 'iam_instance_profile', 'archive_base_url'];
    const run = await bash(shaCommand() + dumpVariables([...vars, ...names].map((n) => `PKR_VAR_${n}`)), {
      ...BUILD_ENV,
      ARCHIVE_BASE_URL: baseUrl,
    });
    return { ...run, vars: variablesFrom(run.stdout) };
  }

  it("reads sha512sum's format into PKR_VAR_pulsar_sha512 with the build's variables", async () => {
    const run = await read(Buffer.from(`${HEX}  apache-pulsar-${PULSAR}-bin.tar.gz\n`));
    expect(run.code, run.stderr).toBe(0);
    expect(run.vars.PKR_VAR_pulsar_sha512).toBe(HEX);
    expect(run.vars.PKR_VAR_pulsar_version).toBe(PULSAR);
    expect(run.vars.PKR_VAR_region).toBe('us-west-2');
    expect(run.vars.PKR_VAR_iam_instance_profile).toBe('pulsar-ami-test-build');
    expect(run.vars.PKR_VAR_archive_base_url).toBe(baseUrl);
  });

  it("reads Apache's upper-case, multi-line format, lower-cased", async () => {
    const groups = HEX.toUpperCase().match(/.{8}/g) ?? [];
    const body = `apache-pulsar-${PULSAR}-bin.tar.gz: ${groups.slice(0, 8).join(' ')}\n                                ${groups.slice(8).join(' ')}\n`;
    const run = await read(Buffer.from(body));
    expect(run.code, run.stderr).toBe(0);
    expect(run.vars.PKR_VAR_pulsar_sha512).toBe(HEX);
  });

  it.each([
    ['missing (404)', 404],
    ['empty', Buffer.alloc(0)],
    ['not a checksum', Buffer.from('<html>moved</html>\n')],
    ['too short', Buffer.from(`${HEX.slice(0, 120)}  apache-pulsar-${PULSAR}-bin.tar.gz\n`)],
  ] as const)('fails when the .sha512 is %s', async (_what, body) => {
    const run = await read(body);
    expect(run.code).not.toBe(0);
    expect(run.stdout).not.toContain('VAR PKR_VAR_pulsar_sha512=');
  });
});

// ---------------------------------------------------------------------------------------

/** A fake `packer` that records its calls and, on build, writes a manifest as Packer does. */
function fakePacker(root: string, buildExit: number, amiId = 'ami-0123456789abcdef0') {
  const bin = join(root, 'fakebin');
  mkdirSync(bin);
  const log = join(root, 'packer-calls.log');
  writeFileSync(
    join(bin, 'packer'),
    `#!/usr/bin/env bash
set -euo pipefail
printf '%s|%s|sha=%s|profile=%s\\n' "$PWD" "$*" "\${PKR_VAR_pulsar_sha512:-}" "\${PKR_VAR_iam_instance_profile:-}" >> "${log}"
if [ "$1" = build ]; then
  [ ${buildExit} -eq 0 ] || { echo "Build 'pulsar-base.amazon-ebs.pulsar' errored" >&2; exit ${buildExit}; }
  cat > "$PKR_VAR_manifest_path" <<JSON
{"builds":[{"name":"pulsar","builder_type":"amazon-ebs","build_time":1700000000,"files":null,
"artifact_id":"$PKR_VAR_region:${amiId}","packer_run_uuid":"u1",
"custom_data":{"ami_name":"pulsar-base-$PKR_VAR_pulsar_version-20240102030405","pulsar_version":"$PKR_VAR_pulsar_version"}}],
"last_run_uuid":"u1"}
JSON
fi
`,
  );
  chmodSync(join(bin, 'packer'), 0o755);
  return { bin, log };
}

function sourceTree(root: string) {
  const src = join(root, 'src');
  mkdirSync(join(src, 'packer'), { recursive: true });
  return src;
}

describe('pre_build, build and post_build in one shell, as CodeBuild runs them', () => {
  const phasesScript = (names: string[]) => names.flatMap((n) => phase(n).commands).join('\n');

  it('runs init, validate and build in the packer folder with the checksum, and exports AMI_ID from the manifest', async () => {
    const root = tempRoot();
    const src = sourceTree(root);
    const packer = fakePacker(root, 0);
    routes.set(SHA_PATH, Buffer.from(`${HEX}  apache-pulsar-${PULSAR}-bin.tar.gz\n`));
    const run = await bash(
      phasesScript(['pre_build', 'build', 'post_build']) + dumpVariables(['AMI_ID', 'AMI_NAME']),
      {
        ...BUILD_ENV,
        PATH: `${packer.bin}:${process.env.PATH}`,
        ARCHIVE_BASE_URL: baseUrl,
        CODEBUILD_SRC_DIR: src,
        CODEBUILD_BUILD_SUCCEEDING: '1',
      },
    );
    expect(run.code, run.stderr).toBe(0);
    const calls = readFileSync(packer.log, 'utf8').trim().split('\n');
    const dir = join(src, 'packer');
    expect(calls).toEqual([
      `${dir}|init .|sha=|profile=`,
      `${dir}|validate .|sha=${HEX}|profile=pulsar-ami-test-build`,
      `${dir}|build -color=false .|sha=${HEX}|profile=pulsar-ami-test-build`,
    ]);
    const vars = variablesFrom(run.stdout);
    expect(vars.AMI_ID).toBe('ami-0123456789abcdef0');
    expect(vars.AMI_NAME).toBe(`pulsar-base-${PULSAR}-20240102030405`);
    expect(run.stdout).toMatch(/^AMI ID: ami-0123456789abcdef0$/m);
  });

  it('a failed packer build fails the build command, and a stale manifest is never read', async () => {
    const root = tempRoot();
    const src = sourceTree(root);
    const packer = fakePacker(root, 1);
    // A manifest left from an earlier build in the same folder.
    writeFileSync(
      join(src, 'packer', 'packer-manifest.json'),
      JSON.stringify({
        builds: [
          {
            artifact_id: 'us-west-2:ami-0aaaaaaaaaaaaaaaa',
            custom_data: { ami_name: `pulsar-base-${PULSAR}-20230101000000`, pulsar_version: PULSAR },
          },
        ],
      }),
    );
    routes.set(SHA_PATH, Buffer.from(`${HEX}  apache-pulsar-${PULSAR}-bin.tar.gz\n`));
    const env = {
      ...BUILD_ENV,
      PATH: `${packer.bin}:${process.env.PATH}`,
      ARCHIVE_BASE_URL: baseUrl,
      CODEBUILD_SRC_DIR: src,
    };
    const build = await bash(phasesScript(['pre_build', 'build']), env);
    expect(build.code).not.toBe(0);
    expect(build.stderr).toContain('errored');
    // post_build runs after a failed build phase: it reports no AMI, whatever it is told.
    for (const succeeding of ['0', '1']) {
      const post = await bash(phasesScript(['post_build']), {
        ...env,
        CODEBUILD_BUILD_SUCCEEDING: succeeding,
      });
      expect(post.code, `CODEBUILD_BUILD_SUCCEEDING=${succeeding}`).not.toBe(0);
      expect(post.stdout).not.toContain('AMI ID:');
    }
  });
});

// ---------------------------------------------------------------------------------------

describe('post_build: the AMI id from the manifest', () => {
  async function post(manifest: unknown, env: Record<string, string> = {}) {
    const root = tempRoot();
    const src = sourceTree(root);
    if (manifest !== undefined) {
      writeFileSync(
        join(src, 'packer', 'packer-manifest.json'),
        typeof manifest === 'string' ? manifest : JSON.stringify(manifest),
      );
    }
    const run = await bash(phase('post_build').commands.join('\n') + dumpVariables(['AMI_ID', 'AMI_NAME']), {
      PULSAR_VERSION: PULSAR,
      PACKER_MANIFEST: 'packer-manifest.json',
      PKR_VAR_region: 'us-west-2',
      CODEBUILD_SRC_DIR: src,
      CODEBUILD_BUILD_SUCCEEDING: '1',
      ...env,
    });
    return { ...run, vars: variablesFrom(run.stdout) };
  }

  const build = (artifact: string, name = `pulsar-base-${PULSAR}-20240102030405`) => ({
    name: 'pulsar',
    builder_type: 'amazon-ebs',
    artifact_id: artifact,
    custom_data: { ami_name: name, pulsar_version: PULSAR },
  });

  it('reads the last build of the manifest and exports AMI_ID and AMI_NAME', async () => {
    const run = await post({
      builds: [build('us-west-2:ami-0aaaaaaaaaaaaaaaa'), build('us-west-2:ami-0123456789abcdef0')],
      last_run_uuid: 'x',
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.vars.AMI_ID).toBe('ami-0123456789abcdef0');
    expect(run.vars.AMI_NAME).toBe(`pulsar-base-${PULSAR}-20240102030405`);
  });

  it('accepts the short (8-hex) id form', async () => {
    const run = await post({ builds: [build('us-west-2:ami-12345678')] });
    expect(run.code, run.stderr).toBe(0);
    expect(run.vars.AMI_ID).toBe('ami-12345678');
  });

  it.each([
    ['no manifest', undefined],
    ['an empty manifest', ''],
    ['not JSON', 'Build finished: ami-0123456789abcdef0'],
    ['no builds', { builds: [] }],
    ['no artifact id', { builds: [{ name: 'pulsar', custom_data: {} }] }],
    ['a malformed id', { builds: [build('us-west-2:ami-XYZ')] }],
    ['an id without a region', { builds: [build('ami-0123456789abcdef0')] }],
    ['a too long id', { builds: [build('us-west-2:ami-0123456789abcdef01')] }],
    ['two regions', { builds: [build('us-west-2:ami-0123456789abcdef0,us-east-1:ami-0fedcba9876543210')] }],
    ['another region', { builds: [build('eu-west-1:ami-0123456789abcdef0')] }],
    [
      'another version',
      { builds: [build('us-west-2:ami-0123456789abcdef0', 'pulsar-base-3.0.1-20240102030405')] },
    ],
    ['a malformed name', { builds: [build('us-west-2:ami-0123456789abcdef0', 'pulsar-base-3.0.0')] }],
  ])('fails with %s', async (_what, manifest) => {
    const run = await post(manifest);
    expect(run.code).not.toBe(0);
    expect(run.stdout).not.toContain('AMI ID:');
    expect(run.stdout).not.toContain('VAR AMI_ID');
  });

  it('fails after a failed build even when a good manifest is there', async () => {
    const run = await post(
      { builds: [build('us-west-2:ami-0123456789abcdef0')] },
      { CODEBUILD_BUILD_SUCCEEDING: '0' },
    );
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('The build failed');
    expect(run.stdout).not.toContain('AMI ID:');
  });
});
