/**
 * The image the template's provisioners make passes the image checks.
 *
 * The build block's provisioners run in their order, as Packer would run them on the build
 * instance: the file provisioner's folder copied to its destination, each shell
 * provisioner's script run with bash -o pipefail and its environment_vars (the template's
 * `${var.…}` filled in). They run with their real absolute paths (/opt, /tmp) in a private
 * user and mount namespace (`unshare --user --map-root-user --mount`, no privileges), where a
 * temporary tree is bind-mounted over /opt and /tmp. Downloads come from a local HTTP
 * server (a small Pulsar tarball with its .sha512, an OpenMessaging Benchmark source
 * archive); `dnf` is a stand-in that records what it is asked and provides a Java 17 `java`
 * for Corretto; nothing else from the host's PATH (no host java, no Maven) is visible.
 * Then packer/checks/run-checks.sh runs as the ValidateAmi machine sends it, on that /opt.
 * Skipped, with the reason, where namespaces are unavailable.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCheckLines } from '../../functions/lib/check-results';
import { CHECK_NAMES, checkCommands, readCheckScript } from '../../functions/lib/checks';
import { type HclObject, loadPackerTemplate, PACKER_DIR, type PackerTemplate } from '../support/hcl';

const UNSHARE =
  spawnSync('sh', ['-c', 'command -v unshare'], { encoding: 'utf8' }).stdout.trim() || 'unshare';
const probe = spawnSync(UNSHARE, ['--user', '--map-root-user', '--mount', 'true'], { encoding: 'utf8' });
const skipReason = probe.error
  ? `unshare not available: ${probe.error.message}`
  : probe.status !== 0
    ? `unshare refused: ${probe.stderr.trim()}`
    : null;
if (skipReason) console.warn(`packer image checks skipped: ${skipReason}`);

const VERSION = '3.0.0';
const OMB_COMMIT = 'ab'.repeat(20);
const TOOLS = [
  'bash',
  'sh',
  'env',
  'mount',
  'curl',
  'tar',
  'gzip',
  'sha512sum',
  'mktemp',
  'rm',
  'mv',
  'cp',
  'mkdir',
  'dirname',
  'find',
  'tr',
  'sed',
  'head',
  'cut',
  'chmod',
  'install',
  'cat',
  'id',
  'timeout',
];

let root: string;
let server: Server;
let baseUrl: string;
let template: PackerTemplate;
const dnfLog = () => join(root, 'dnf.log');

function tarGz(dir: string, top: string): Buffer {
  const out = join(root, `${top}.tar.gz`);
  execFileSync('tar', ['-czf', out, '-C', dir, top]);
  return readFileSync(out);
}

beforeAll(async () => {
  template = await loadPackerTemplate();
  root = mkdtempSync(join(tmpdir(), 'pulsar-ami-image-'));
  for (const dir of ['opt', 'tmp', 'tools', 'bin', 'build', 'packer']) mkdirSync(join(root, dir));

  // Only the tools the scripts need: no host java, no Maven, no dnf.
  for (const tool of TOOLS) {
    const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    if (found) symlinkSync(found, join(root, 'tools', tool));
  }
  // dnf stand-in: records what it is asked; Corretto 17 brings a `java` that says 17.
  writeFileSync(
    join(root, 'bin', 'dnf'),
    `#!/bin/sh
echo "dnf $*" >> /mnt/dnf.log
case " $* " in
  *" java-17-amazon-corretto"*)
    printf '#!/bin/sh\\necho "openjdk version \\\\"17.0.12\\\\" 2024-07-16 LTS" >&2\\necho "OpenJDK Runtime Environment Corretto-17.0.12.7.1" >&2\\n' > /mnt/bin/java
    chmod 755 /mnt/bin/java ;;
esac
`,
  );
  chmodSync(join(root, 'bin', 'dnf'), 0o755);
  writeFileSync(dnfLog(), '');

  // A small Pulsar distribution and an OMB source archive.
  const build = join(root, 'build');
  const pulsar = join(build, `apache-pulsar-${VERSION}`);
  for (const d of ['bin', 'lib', 'conf']) mkdirSync(join(pulsar, d), { recursive: true });
  for (const b of ['pulsar', 'bookkeeper']) {
    writeFileSync(join(pulsar, 'bin', b), '#!/bin/sh\nexit 0\n');
    chmodSync(join(pulsar, 'bin', b), 0o755);
  }
  writeFileSync(join(pulsar, 'lib', `org.apache.pulsar-pulsar-broker-${VERSION}.jar`), 'jar');
  writeFileSync(join(pulsar, 'conf', 'broker.conf'), '');
  const tarball = tarGz(build, `apache-pulsar-${VERSION}`);
  const omb = join(build, `benchmark-${OMB_COMMIT}`);
  mkdirSync(join(omb, 'bin'), { recursive: true });
  mkdirSync(join(omb, 'driver-pulsar'));
  writeFileSync(
    join(omb, 'bin', 'benchmark'),
    '#!/bin/bash\njava -cp lib/* io.openmessaging.benchmark.Benchmark "$@"\n',
  );
  writeFileSync(join(omb, 'driver-pulsar', 'pulsar.yaml'), 'name: Pulsar\n');
  const ombArchive = tarGz(build, `benchmark-${OMB_COMMIT}`);
  const sha = createHash('sha512').update(tarball).digest('hex');

  const routes = new Map<string, Buffer>([
    [`/dist/pulsar/pulsar-${VERSION}/apache-pulsar-${VERSION}-bin.tar.gz`, tarball],
    [
      `/dist/pulsar/pulsar-${VERSION}/apache-pulsar-${VERSION}-bin.tar.gz.sha512`,
      Buffer.from(`${sha}  apache-pulsar-${VERSION}-bin.tar.gz\n`),
    ],
    [`/omb/${OMB_COMMIT}.tar.gz`, ombArchive],
  ]);
  server = createServer((req, res) => {
    const body = routes.get((req.url ?? '').split('?')[0] ?? '');
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  if (root) rmSync(root, { recursive: true, force: true });
});

/** The template's variables for this build. */
function variables(): Record<string, string> {
  return {
    pulsar_version: VERSION,
    archive_base_url: `${baseUrl}/dist`,
    pulsar_sha512: '',
    omb_commit: OMB_COMMIT,
    omb_archive_base_url: `${baseUrl}/omb`,
  };
}

/** `NAME=value` with the template's `${var.x}` filled in; anything else is not expected here. */
function fill(entry: string): string {
  const vars = variables();
  const filled = entry.replace(/\$\{var\.([a-z0-9_]+)\}/g, (_m, name: string) => {
    const value = vars[name];
    if (value === undefined) throw new Error(`no test value for var.${name}`);
    return value;
  });
  if (filled.includes('${')) throw new Error(`cannot evaluate ${entry}`);
  return filled;
}

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** The provisioners as one script run inside the namespace, /opt and /tmp bind-mounted. */
function provisioningScript(): string {
  const lines = ['set -euo pipefail', ...prelude()];
  for (const { type, body } of template.provisioners) {
    if (type === 'file') {
      const source = join(PACKER_IN_NAMESPACE, body.source as string);
      const destination = body.destination as string;
      lines.push(`echo "==> file: ${body.source} -> ${destination}"`);
      // Without a trailing slash on the source, the folder itself lands in the destination.
      lines.push(`cp -R ${quote(source)} ${quote(destination)}/`);
    } else if (type === 'shell') {
      const env = ((body.environment_vars as string[] | undefined) ?? []).map((e) => quote(fill(e)));
      lines.push(`echo "==> shell: ${body.script}"`);
      lines.push(
        `env ${env.join(' ')} bash -o pipefail ${quote(join(PACKER_IN_NAMESPACE, body.script as string))}`,
      );
    } else {
      throw new Error(`provisioner ${type} not expected`);
    }
  }
  return lines.join('\n');
}

/** Where the project's packer/ folder is seen in the namespace (the repository may live under /tmp). */
const PACKER_IN_NAMESPACE = '/mnt/packer';

/**
 * Mounts for a script in the namespace: the test's tree on /mnt (it lives under the host's
 * /tmp, which is then covered), the project's packer/ on /mnt/packer before that (a clone
 * under /tmp would be covered too), its opt on /opt, its tmp on /tmp, and PATH from /mnt.
 */
function prelude(): string[] {
  return [
    `mount --bind ${quote(root)} /mnt`,
    `mount --bind ${quote(PACKER_DIR)} ${PACKER_IN_NAMESPACE}`,
    'mount --bind /mnt/opt /opt',
    'mount --bind /mnt/tmp /tmp',
    'export PATH=/mnt/bin:/mnt/tools',
  ];
}

/** Runs a script in the namespace, asynchronously: the HTTP server it downloads from lives in this process. */
async function inNamespace(
  script: string,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const file = join(root, `script-${Math.random().toString(36).slice(2)}.sh`);
  writeFileSync(file, `${script}\n`);
  const child = spawn(UNSHARE, ['--user', '--map-root-user', '--mount', 'bash', file], {
    env: { PATH: `${join(root, 'bin')}:${join(root, 'tools')}`, HOME: root, TMPDIR: '/tmp' },
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
  const status = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  rmSync(file, { force: true });
  return { status, stdout, stderr };
}

describe.skipIf(skipReason !== null)('the image the provisioners make', () => {
  let provisioned: Awaited<ReturnType<typeof inNamespace>>;
  beforeAll(async () => {
    provisioned = await inNamespace(provisioningScript());
  });

  it('is provisioned without an error', () => {
    expect(provisioned.status, `${provisioned.stdout}\n${provisioned.stderr}`).toBe(0);
    expect(provisioned.stdout).toContain(`Apache Pulsar ${VERSION} installed in /opt/pulsar`);
  });

  it('asked dnf for Corretto 17 (headless) and for Maven with the JDK', () => {
    const asked = readFileSync(dnfLog(), 'utf8').trim().split('\n');
    expect(asked).toEqual([
      'dnf install -y java-17-amazon-corretto-headless',
      'dnf install -y maven java-17-amazon-corretto-devel',
    ]);
    // No Maven appeared, so the benchmark is the unbuilt source tree, and the log says so.
    expect(provisioned.stdout).toContain('WARNING: Maven is not available');
  });

  it('has what each check reads, with the right owners and modes', () => {
    const opt = join(root, 'opt');
    expect(readdirSync(opt).sort()).toEqual(['openmessaging-benchmark', 'pulsar', 'pulsar-templates']);
    expect(readFileSync(join(opt, 'pulsar', 'VERSION'), 'utf8')).toBe(`${VERSION}\n`);
    expect(readFileSync(join(opt, 'openmessaging-benchmark', 'COMMIT'), 'utf8')).toBe(`${OMB_COMMIT}\n`);
    const templates = join(opt, 'pulsar-templates', 'systemd');
    expect(readdirSync(templates).sort()).toEqual([
      'bookkeeper.service.tpl',
      'broker.service.tpl',
      'zookeeper.service.tpl',
    ]);
    for (const name of readdirSync(templates)) {
      expect(statSync(join(templates, name)).mode & 0o777, name).toBe(0o644);
      expect(readFileSync(join(templates, name), 'utf8')).toBe(
        readFileSync(join(PACKER_DIR, 'files', 'systemd', name), 'utf8'),
      );
    }
    expect(
      readdirSync(join(root, 'tmp')),
      'the uploaded templates and every temporary folder are gone',
    ).toEqual([]);
  });

  it('passes every image check, as the ValidateAmi machine runs them', async () => {
    const script = [...prelude(), ...checkCommands(readCheckScript(), VERSION)].join('\n');
    const run = await inNamespace(script);
    const checks = parseCheckLines(run.stdout);
    expect(checks.map((c) => c.name)).toEqual([...CHECK_NAMES]);
    expect(
      checks.filter((c) => !c.passed),
      run.stdout,
    ).toEqual([]);
    expect(run.status).toBe(0);
  });

  it('fails the version check for another version', async () => {
    const run = await inNamespace([...prelude(), ...checkCommands(readCheckScript(), '3.0.1')].join('\n'));
    const failed = parseCheckLines(run.stdout).filter((c) => !c.passed);
    expect(failed.map((c) => c.name)).toEqual(['Pulsar version matches']);
    expect(run.status).toBe(1);
  });
});

describe('the template as this test runs it', () => {
  it('has only file and shell provisioners with scripts', () => {
    for (const { type, body } of template.provisioners) {
      expect(['file', 'shell']).toContain(type);
      if (type === 'shell') expect(typeof (body as HclObject).script).toBe('string');
    }
  });
});
