/**
 * The sandbox's Packer over the project's real packer/ folder, run as a CodeBuild build runs it
 * (runPacker with a build root laid out as the bridge's), and what it needs: the artifact store
 * over HTTP and the stand-in tools in a jail.
 *
 * A good build registers an AMI whose files make packer/checks/run-checks.sh pass on an instance
 * launched from it (through SSM Run Command); a tampered archive, a version the archive does not
 * have and an abort each fail the build, register nothing and leave no build instance.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkCommands, readCheckScript } from '../../functions/lib/checks';
import { BUILD_DIRS, BuildFiles, type PackerContext } from '../../sandbox/codebuild/bridge';
import { runPacker } from '../../sandbox/packer/index';
import { type Sandbox, startSandbox } from '../../sandbox/server';
import { AGENT_PATH, runIsolated } from '../../sandbox/ssm/executor';
import type { ImageRecord, InstanceRecord } from '../../sandbox/state';
import { launchOnline, runShell } from '../support/run-command';
import { sandboxEc2, sandboxSsm } from '../support/sandbox-clients';

const REPO = join(import.meta.dirname, '..', '..');
const REGION = 'us-west-2';
const CWD = '/codebuild/output/src/packer';
const ARCHIVE = 'archive.apache.org/dist/pulsar';
const sha512 = (data: Buffer) => createHash('sha512').update(data).digest('hex');

let sandbox: Sandbox;
let ec2: EC2Client;
let ssm: SSMClient;
let sandboxTemp: string;
const roots: string[] = [];

beforeAll(async () => {
  sandbox = await startSandbox({ port: 0 });
  ec2 = sandboxEc2(sandbox.url);
  ssm = sandboxSsm(sandbox.url);
  sandboxTemp = dirname(sandbox.world.roots.mountPoint());
});

afterAll(async () => {
  ec2.destroy();
  ssm.destroy();
  await sandbox.close();
  for (const root of roots) rmSync(root, { recursive: true, force: true });
  // Nothing of the sandbox's is left: instance roots, image store and artifact store go with it.
  expect(existsSync(sandboxTemp)).toBe(false);
});

/** A build's root as the CodeBuild runner lays it out, with a copy of the repository's packer/. */
function buildRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'pulsar-ami-packer-test-'));
  roots.push(root);
  for (const dir of BUILD_DIRS) mkdirSync(join(root, dir), { recursive: true });
  cpSync(join(REPO, 'packer'), join(root, 'codebuild/output/src/packer'), { recursive: true });
  return root;
}

interface Run {
  code: number;
  lines: string[];
  output: string;
}

function context(root: string, lines: string[], signal: AbortSignal): PackerContext {
  const files = new BuildFiles(root);
  return {
    buildRoot: files.root,
    hostPath: (path) => files.hostPath(path),
    readFile: (path, max) => files.readFile(path, max),
    writeFile: (path, data) => {
      files.create(path, data);
    },
    region: REGION,
    world: sandbox.world,
    sandbox: { url: sandbox.url, stage: 'dev', apiRegion: REGION, serviceName: 'pulsar-ami' },
    build: { id: 'pulsar-ami-dev-build-ami:test', arn: 'arn:aws:codebuild:us-west-2:123456789012:build/x' },
    log: (line) => lines.push(line),
    signal,
  };
}

/** The environment the buildspec gives packer (PKR_VAR_*, AWS_REGION). */
function buildEnv(version: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    AWS_REGION: REGION,
    PKR_VAR_pulsar_version: version,
    PKR_VAR_instance_type: 't3.small',
    PKR_VAR_architecture: 'x86_64',
    PKR_VAR_region: REGION,
    PKR_VAR_archive_base_url: 'https://archive.apache.org/dist',
    PKR_VAR_build_id: 'build-e2e',
    PKR_VAR_build_execution_arn:
      'arn:aws:states:us-west-2:123456789012:execution:pulsar-ami-dev-build-ami:build-e2e',
    PKR_VAR_iam_instance_profile: 'pulsar-ami-dev-build',
    PKR_VAR_subnet_id: '',
    PKR_VAR_security_group_id: '',
    PKR_VAR_manifest_path: 'packer-manifest.json',
    ...extra,
  };
}

async function packer(
  root: string,
  args: string[],
  env: Record<string, string>,
  options: { signal?: AbortSignal; onLine?: (line: string) => void } = {},
): Promise<Run> {
  const lines: string[] = [];
  const ctx = context(root, lines, options.signal ?? new AbortController().signal);
  const log = ctx.log;
  ctx.log = (line) => {
    log(line);
    options.onLine?.(line);
  };
  const code = await runPacker({ args, cwd: CWD, env }, ctx);
  return { code, lines, output: lines.join('\n') };
}

/** init, validate and build, as the buildspec runs them; the build's run. */
async function build(root: string, env: Record<string, string>, options: Parameters<typeof packer>[3] = {}) {
  const init = await packer(root, ['init', '.'], env);
  expect(init.code, init.output).toBe(0);
  const validate = await packer(root, ['validate', '.'], env);
  expect(validate.code, validate.output).toBe(0);
  expect(validate.output).toContain('The configuration is valid.');
  return packer(root, ['build', '-color=false', '.'], env, options);
}

const region = () => sandbox.world.region(REGION);
const builtImages = (): ImageRecord[] =>
  [...region().images.values()].filter((i) => i.contents?.kind === 'built');
const buildInstances = (): InstanceRecord[] =>
  [...region().instances.values()].filter((i) => i.tags.Purpose === 'AMI-Build');

/** Every build instance has terminated (not just begun to) and its root is gone. */
async function expectNoBuildInstanceLeft(): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (buildInstances().some((i) => i.state !== 'terminated') && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  for (const instance of buildInstances()) {
    expect(instance.state, instance.instanceId).toBe('terminated');
    expect(instance.rootDir).toBeUndefined();
  }
}

afterEach(async () => {
  await sandbox.faults.clear();
  sandbox.reset(true);
});

describe('the artifact store over HTTP', () => {
  const sha = `/_sandbox/artifacts/${ARCHIVE}/pulsar-3.0.0/apache-pulsar-3.0.0-bin.tar.gz.sha512`;

  it('answers HEAD and GET of a .sha512 that names the tarball it serves', async () => {
    const head = await fetch(`${sandbox.url}${sha}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toMatch(/^text\/plain/);
    const get = await fetch(`${sandbox.url}${sha}`);
    const text = await get.text();
    expect(get.headers.get('content-length')).toBe(head.headers.get('content-length'));
    const tarball = Buffer.from(
      await (await fetch(`${sandbox.url}${sha.replace(/\.sha512$/, '')}`)).arrayBuffer(),
    );
    expect(text).toBe(`${sha512(tarball)}  apache-pulsar-3.0.0-bin.tar.gz\n`);
  });

  it('answers 404 for a version or file it does not have, and lists no folder', async () => {
    for (const path of [
      `/_sandbox/artifacts/${ARCHIVE}/pulsar-9.9.9/apache-pulsar-9.9.9-bin.tar.gz.sha512`,
      `/_sandbox/artifacts/${ARCHIVE}/pulsar-3.0.0`,
      '/_sandbox/artifacts/',
    ]) {
      const response = await fetch(`${sandbox.url}${path}`, { method: 'HEAD' });
      expect(response.status, path).toBe(404);
    }
    // A folder with its slash is no file name at all.
    const folder = await fetch(`${sandbox.url}/_sandbox/artifacts/${ARCHIVE}/pulsar-3.0.0/`);
    expect(folder.status).toBe(400);
    expect(await folder.text()).not.toContain('apache-pulsar');
  });

  it('refuses paths that leave the store, other methods, and foreign hosts', async () => {
    const raw = (method: string, path: string, host = `127.0.0.1:${sandbox.port}`) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest(
          { host: '127.0.0.1', port: sandbox.port, method, path, headers: { host } },
          (res) => {
            let body = '';
            res.on('data', (chunk: Buffer) => {
              body += chunk.toString();
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on('error', reject);
        req.end();
      });
    for (const path of [
      `/_sandbox/artifacts/${ARCHIVE}/..%2f..%2f..%2fetc/passwd`,
      `/_sandbox/artifacts/${ARCHIVE}/pulsar-3.0.0/%2e%2e%2f%2e%2e%2fbin/curl`,
      '/_sandbox/artifacts/archive.apache.org//etc/passwd',
      '/_sandbox/artifacts/..%2f..%2fbin/curl',
    ]) {
      const answer = await raw('GET', path);
      expect(answer.status, path).toBe(400);
      expect(answer.body).not.toMatch(/root:|#!\/bin\/sh/);
    }
    for (const path of [
      `/_sandbox/artifacts/${ARCHIVE}/../../../../etc/passwd`,
      '/_sandbox/artifacts/%2e%2e/%2e%2e/bin/curl',
    ]) {
      // Dot segments are resolved before routing: the request never reaches the store.
      const answer = await raw('GET', path);
      expect(answer.status, path).not.toBe(200);
      expect(answer.body).not.toMatch(/root:|#!\/bin\/sh/);
    }
    expect((await raw('POST', sha)).status).toBe(415);
    const del = await fetch(`${sandbox.url}${sha}`, { method: 'DELETE' });
    expect(del.status).toBe(405);
    expect(del.headers.get('allow')).toBe('GET, HEAD');
    expect((await raw('GET', sha, `evil.example:${sandbox.port}`)).status).toBe(403);
  });

  it('lists and adds versions through /_sandbox/archive, checked with the product’s version pattern', async () => {
    const listing = (await (await fetch(`${sandbox.url}/_sandbox/archive`)).json()) as {
      pulsar: { version: string }[];
    };
    expect(listing.pulsar.map((r) => r.version)).toEqual(
      expect.arrayContaining(['3.0.0', '2.11.0', '2.10.0']),
    );
    const post = (body: unknown) =>
      fetch(`${sandbox.url}/_sandbox/archive`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const bad = await post({ pulsarVersion: '../../x' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(
      /pulsarVersion: must be MAJOR\.MINOR\.PATCH/,
    );
    expect((await post({ pulsarVersion: '3.3.0', checksumFormat: 'apache' })).status).toBe(200);
    const added = await fetch(
      `${sandbox.url}/_sandbox/artifacts/${ARCHIVE}/pulsar-3.3.0/apache-pulsar-3.3.0-bin.tar.gz.sha512`,
    );
    expect(await added.text()).toMatch(/^apache-pulsar-3\.3\.0-bin\.tar\.gz: [0-9A-F]{8} /);
  });

  it('serves a tarball that no longer matches its .sha512 under tamperedArchive', async () => {
    const put = await fetch(`${sandbox.url}/_sandbox/faults`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tamperedArchive: { version: '3.0.0' } }),
    });
    expect(put.status).toBe(200);
    const published = (await (await fetch(`${sandbox.url}${sha}`)).text()).split(' ')[0];
    const tarball = Buffer.from(
      await (await fetch(`${sandbox.url}${sha.replace(/\.sha512$/, '')}`)).arrayBuffer(),
    );
    expect(sha512(tarball)).not.toBe(published);
    const badFault = await fetch(`${sandbox.url}/_sandbox/faults`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tamperedArchive: { version: '3.0' } }),
    });
    expect(badFault.status).toBe(400);
  });
});

describe('the stand-in tools in a jail', () => {
  /** Runs `script` in a fresh plain instance root, with the store and the tools mounted. */
  async function jail(script: string) {
    const world = sandbox.world;
    const id = world.ids.next('i');
    const root = world.roots.create(id, { kind: 'plain', javaMajor: 0, missing: [] }, undefined);
    try {
      return await runIsolated({
        root,
        mountPoint: world.roots.mountPoint(),
        script,
        workDir: '/var/lib/amazon/ssm/test',
        workingDirectory: '/tmp',
        env: { PATH: `/sandbox/bin:${AGENT_PATH}`, LANG: 'C.UTF-8', USER: 'ec2-user' },
        readOnly: await world.artifacts.mounts(),
      }).done;
    } finally {
      world.roots.remove(root);
    }
  }

  it('curl downloads from the store by URL, also by the sandbox’s own address, and fails -f with 22 on a 404', async () => {
    const base = `https://${ARCHIVE}/pulsar-3.0.0/apache-pulsar-3.0.0-bin.tar.gz`;
    const out = await jail(
      [
        `curl -fsSL --retry 3 -o /tmp/a.sha512 ${base}.sha512; echo "rc=$?"`,
        'cat /tmp/a.sha512',
        `curl -fsSLO --retry 3 --retry-delay 1 ${base}; echo "rc=$?"`,
        'sha512sum -c --quiet /tmp/a.sha512 && echo verified',
        `curl -fsS http://127.0.0.1:${sandbox.port}/_sandbox/artifacts/${ARCHIVE}/pulsar-3.0.0/apache-pulsar-3.0.0-bin.tar.gz.sha512 | cmp - /tmp/a.sha512 && echo same`,
        `curl -fsS https://${ARCHIVE}/pulsar-9.9.9/apache-pulsar-9.9.9-bin.tar.gz.sha512; echo "rc=$?"`,
        `curl -fs https://${ARCHIVE}/pulsar-9.9.9/x; echo "silent rc=$?"`,
        `curl -s -o /dev/null -w '%{http_code}\\n' https://${ARCHIVE}/pulsar-9.9.9/x; echo "nofail rc=$?"`,
        `curl -sSI ${base}.sha512 | head -n 1`,
        `curl -fsS https://${ARCHIVE}/../../../../sandbox/bin/curl; echo "dots rc=$?"`,
        'curl -fsS https://archive.apache.org/dist/%2e%2e/%2e%2e/x; echo "encoded rc=$?"',
        `curl --insecure ${base}; echo "unknown rc=$?"`,
      ].join('\n'),
    );
    const lines = out.stdout.split('\n');
    expect(lines).toContain('rc=0');
    expect(out.stdout).toMatch(/^[0-9a-f]{128} {2}apache-pulsar-3\.0\.0-bin\.tar\.gz$/m);
    expect(lines).toContain('verified');
    expect(lines).toContain('same');
    expect(lines).toContain('rc=22');
    expect(out.stderr).toContain('curl: (22) The requested URL returned error: 404');
    expect(lines).toContain('silent rc=22');
    expect(lines).toContain('404');
    expect(lines).toContain('nofail rc=0');
    expect(out.stdout).toMatch(/^HTTP\/1\.1 200 OK\r?$/m);
    expect(lines).toContain('dots rc=22');
    expect(lines).toContain('encoded rc=22');
    expect(lines).toContain('unknown rc=2');
    expect(out.stderr).toContain('curl: option --insecure: is unknown');
    expect((out.stderr.match(/\(22\)/g) ?? []).length).toBe(3);
  });

  it('dnf records what was asked and installs the Corretto java; sudo resets the environment unless -E; systemctl records', async () => {
    const out = await jail(
      [
        'dnf install -y java-17-amazon-corretto-headless jq; echo "rc=$?"',
        'java -version 2>&1 | head -n 1',
        'command -v java',
        'yum install nano; echo "noyes rc=$?"',
        'export KEEP=me',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: shell expansions
        'sudo sh -c \'echo "user=$(id -u) keep=${KEEP:-unset} path=$PATH"\'',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: shell expansions
        'sudo -E sh -c \'echo "keep=${KEEP:-unset}"\'',
        'systemctl enable --now broker; echo "systemctl rc=$?"',
      ].join('\n'),
    );
    expect(out.stderr).toContain('[sandbox stand-in] dnf install -y java-17-amazon-corretto-headless jq');
    expect(out.stdout).toContain('rc=0');
    expect(out.stdout).toMatch(/openjdk version "17\.0\.\d+"/);
    expect(out.stdout).toContain('/usr/local/bin/java');
    expect(out.stderr).toContain('[sandbox stand-in] yum install nano');
    expect(out.stdout).toContain('noyes rc=1');
    expect(out.stdout).toMatch(/user=0 keep=unset path=\/sandbox\/bin:/);
    expect(out.stdout).toContain('keep=me');
    expect(out.stderr).toContain('[sandbox stand-in] systemctl enable --now broker');
    expect(out.stdout).toContain('systemctl rc=0');
  });
});

describe("runPacker over the project's packer/ folder", () => {
  it('answers version, init, validate; refuses an unset variable, an unknown flag, and a build before init', async () => {
    const root = buildRoot();
    const env = buildEnv('3.0.0');
    expect((await packer(root, ['version'], env)).output).toMatch(/^Packer v\d+\.\d+\.\d+$/);
    const early = await packer(root, ['build', '.'], env);
    expect(early.code).toBe(1);
    expect(early.output).toMatch(/Missing plugins[\s\S]*Did you run packer init/);
    const init = await packer(root, ['init', '.'], env);
    expect(init.output).toMatch(
      /^Installed plugin github\.com\/hashicorp\/amazon v\d+\.\d+\.\d+ in "\/root\/\.config\/packer\/plugins\//,
    );
    expect((await packer(root, ['validate', '.'], env)).output).toBe('The configuration is valid.');
    const { PKR_VAR_iam_instance_profile: _, ...noProfile } = env;
    const unset = await packer(root, ['validate', '.'], noProfile);
    expect(unset.code).toBe(1);
    expect(unset.output).toMatch(/^Error: Unset variable "iam_instance_profile"/);
    const bad = await packer(root, ['validate', '.'], { ...env, PKR_VAR_pulsar_version: '3.0' });
    expect(bad.output).toMatch(
      /Error: Invalid value for variable\n\nThe pulsar_version must be MAJOR\.MINOR\.PATCH/,
    );
    const flag = await packer(root, ['build', '-debug', '.'], env);
    expect(flag.code).toBe(1);
    expect(flag.output).toBe('flag provided but not defined: -debug');
    expect(builtImages()).toEqual([]);
    expect(buildInstances()).toEqual([]);
  });

  it('never reads a host file a build points at with a symlink', async () => {
    const root = buildRoot();
    const scripts = join(root, 'codebuild/output/src/packer/scripts');
    rmSync(join(scripts, 'install-java.sh'));
    symlinkSync('/etc/hostname', join(scripts, 'install-java.sh'));
    const env = buildEnv('3.0.0');
    expect((await packer(root, ['init', '.'], env)).code).toBe(0);
    const run = await packer(root, ['validate', '.'], env);
    expect(run.code).toBe(1);
    expect(run.output).toContain("Bad script 'scripts/install-java.sh'");
    const template = join(root, 'codebuild/output/src/packer/pulsar-base.pkr.hcl');
    rmSync(template);
    symlinkSync('/etc/passwd', template);
    const parsed = await packer(root, ['validate', '.'], env);
    expect(parsed.code).toBe(1);
    expect(parsed.output).not.toMatch(/root:x:0/);
  });

  it('builds an AMI whose files pass the check script on an instance launched from it, and writes the manifest', async () => {
    const root = buildRoot();
    const published = (
      await (
        await fetch(
          `${sandbox.url}/_sandbox/artifacts/${ARCHIVE}/pulsar-3.0.0/apache-pulsar-3.0.0-bin.tar.gz.sha512`,
        )
      ).text()
    ).split(' ')[0] as string;
    const run = await build(root, buildEnv('3.0.0', { PKR_VAR_pulsar_sha512: published }));
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain(
      '==> pulsar-base.amazon-ebs.pulsar: Provisioning with shell script: scripts/install-pulsar.sh',
    );
    expect(run.output).toContain('[sandbox stand-in] dnf install -y java-17-amazon-corretto-headless');
    expect(run.output).toMatch(/\[install-pulsar\] sha512 verified: [0-9a-f]{128}/);
    expect(run.output).toMatch(/Build 'pulsar-base\.amazon-ebs\.pulsar' finished after/);

    const [image] = builtImages();
    if (!image) throw new Error('no image was registered');
    expect(run.output).toContain(
      `--> pulsar-base.amazon-ebs.pulsar: AMIs were created:\nus-west-2: ${image.imageId}`,
    );
    expect(image.name).toMatch(/^pulsar-base-3\.0\.0-\d{14}$/);
    expect(image.state).toBe('available');
    expect(image.architecture).toBe('x86_64');
    const amazonLinux = region().parameters.get(
      '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64',
    );
    expect(image.tags).toMatchObject({
      Name: image.name,
      PulsarVersion: '3.0.0',
      ManagedBy: 'pulsar-ami',
      Project: 'pulsar-aws-lab',
      Environment: 'lab',
      BuildId: 'build-e2e',
      BaseAmiId: amazonLinux?.value,
      PulsarSha512: published,
      Architecture: 'x86_64',
    });
    expect(image.tags.BuildDate).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(image.blockDevices).toEqual([
      expect.objectContaining({
        deviceName: '/dev/xvda',
        volumeType: 'gp3',
        volumeSize: 20,
        encrypted: true,
      }),
    ]);
    const snapshot = region().snapshots.get(image.blockDevices[0]?.snapshotId ?? '');
    expect(snapshot?.state).toBe('completed');
    expect(snapshot?.tags).toEqual(image.tags);

    const [instance] = buildInstances();
    expect(instance?.tags).toMatchObject({
      Name: 'pulsar-ami-build-3.0.0',
      Purpose: 'AMI-Build',
      BuildId: 'build-e2e',
    });
    expect(instance?.shutdownBehavior).toBe('terminate');
    expect(instance?.iamInstanceProfile?.arn).toMatch(/instance-profile\/pulsar-ami-dev-build$/);
    await expectNoBuildInstanceLeft();

    const manifest = JSON.parse(
      readFileSync(join(root, 'codebuild/output/src/packer/packer-manifest.json'), 'utf8'),
    );
    expect(manifest).toEqual({
      builds: [
        {
          name: 'pulsar',
          builder_type: 'amazon-ebs',
          build_time: expect.any(Number),
          files: null,
          artifact_id: `us-west-2:${image.imageId}`,
          packer_run_uuid: manifest.last_run_uuid,
          custom_data: {
            ami_name: image.name,
            pulsar_version: '3.0.0',
            architecture: 'x86_64',
            base_ami_id: amazonLinux?.value,
            build_id: 'build-e2e',
          },
        },
      ],
      last_run_uuid: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });

    // The image's files are the build's: the checks pass on an instance launched from it.
    const checked = await launchOnline(ec2, ssm, image.imageId);
    const result = await runShell(ssm, checked, checkCommands(readCheckScript(REPO), '3.0.0'), 30_000);
    const checks = (result.StandardOutputContent ?? '')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(
      checks.map((c: { passed: boolean }) => c.passed),
      result.StandardOutputContent,
    ).toEqual(Array(7).fill(true));
    expect(checks.find((c: { name: string }) => c.name === 'Pulsar version matches')?.detail).toBe(
      'installed 3.0.0 (from /opt/pulsar/VERSION), expected 3.0.0',
    );
    expect(result.Status).toBe('Success');

    // A component missing from a built image's instance fails its check.
    await fetch(`${sandbox.url}/_sandbox/faults`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        imageMissing: { component: 'openmessaging-benchmark', imageId: image.imageId },
      }),
    });
    const broken = await launchOnline(ec2, ssm, image.imageId);
    const failed = await runShell(ssm, broken, checkCommands(readCheckScript(REPO), '3.0.0'), 30_000);
    expect(failed.StandardOutputContent).toContain(
      '{"name":"OpenMessaging Benchmark installed","passed":false,"detail":"/opt/openmessaging-benchmark is missing"}',
    );
  }, 240_000);

  it("fails a tampered archive with the install script's message: no image, no build instance", async () => {
    sandbox.faults.set({ tamperedArchive: { version: '3.0.0' } });
    const run = await build(buildRoot(), buildEnv('3.0.0'));
    expect(run.code).toBe(1);
    expect(run.output).toMatch(
      /\[install-pulsar\] ERROR: checksum mismatch for apache-pulsar-3\.0\.0-bin\.tar\.gz/,
    );
    expect(run.output).toContain('Script exited with non-zero exit status: 1. Allowed exit codes are: [0]');
    expect(run.output).toContain('==> Builds finished but no artifacts were created.');
    expect(run.output).not.toContain('Creating AMI');
    expect(builtImages()).toEqual([]);
    expect(buildInstances()).toHaveLength(1);
    await expectNoBuildInstanceLeft();
  }, 240_000);

  it('fails a version the archive does not have (404): no image, no build instance', async () => {
    const run = await build(buildRoot(), buildEnv('9.9.9'));
    expect(run.code).toBe(1);
    expect(run.output).toContain('curl: (22) The requested URL returned error: 404');
    expect(run.output).toContain('[install-pulsar] ERROR: could not download');
    expect(builtImages()).toEqual([]);
    await expectNoBuildInstanceLeft();
  }, 240_000);

  it('terminates the build instance when the build is aborted, and registers nothing', async () => {
    const controller = new AbortController();
    const run = await build(buildRoot(), buildEnv('3.0.0'), {
      signal: controller.signal,
      onLine: (line) => {
        if (line.includes('Provisioning with shell script: scripts/install-java.sh')) controller.abort();
      },
    });
    expect(run.code).toBe(1);
    expect(run.output).toContain('Terminating the source AWS instance...');
    expect(run.output).toContain('Cleanly cancelled builds after being interrupted.');
    expect(builtImages()).toEqual([]);
    expect(buildInstances()).toHaveLength(1);
    await expectNoBuildInstanceLeft();
  }, 240_000);

  it('writes the manifest only inside the build’s own folders, refused before anything is launched', async () => {
    const root = buildRoot();
    const env = buildEnv('3.0.0', { PKR_VAR_manifest_path: '/etc/cron.d/evil' });
    expect((await packer(root, ['init', '.'], env)).code).toBe(0);
    const run = await packer(root, ['build', '.'], env);
    expect(run.code).toBe(1);
    expect(run.output).toMatch(
      /Error: Error writing the manifest \/etc\/cron\.d\/evil: .*not in the build's own folders/,
    );
    expect(existsSync('/etc/cron.d/evil')).toBe(false);
    expect(buildInstances()).toEqual([]);
  });
});
