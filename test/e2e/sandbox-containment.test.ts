/**
 * Containment of what the sandbox runs for a request, tried as an attacker would, through the
 * real SDK over HTTP: an instance sent AWS-RunShellScript tries to write the host's home,
 * /var/tmp, /dev/shm and /tmp, another instance's files and the host's /usr and /etc, to see
 * host processes, to steer the agent's next write onto the host with a symlink, and to open
 * TCP connections to the sandbox and to another listener on 127.0.0.1. Each attempt must fail
 * (or land in the instance's own files), and nothing may appear on the host.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { homedir, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../sandbox/server';
import { isolationProblem, JAIL_ID } from '../../sandbox/ssm/executor';
import { launchOnline, runShell } from '../support/run-command';
import { sandboxControl, sandboxEc2, sandboxImageId, sandboxSsm } from '../support/sandbox-clients';

const isolation = await isolationProblem();
if (isolation) console.warn(`sandbox containment tests skipped: ${isolation}`);

let sandbox: Sandbox;
let ec2: EC2Client;
let ssm: SSMClient;
let imageId: string;
/** Host paths a test created and must remove. */
const cleanup: string[] = [];

const nonce = () => `pulsar-ami-escape-${randomUUID()}`;

async function rootOf(instanceId: string): Promise<string> {
  const state = await sandboxControl<{
    regions: Record<string, { instances: { instanceId: string; rootDir?: string }[] }>;
  }>(sandbox.url, 'GET', 'state');
  const root = state.regions['us-west-2']?.instances.find((i) => i.instanceId === instanceId)?.rootDir;
  if (!root) throw new Error(`no root for ${instanceId}`);
  return root;
}

/** Runs `lines` in a fresh instance and answers its output and status. */
async function attempt(lines: string[], instanceId?: string) {
  const id = instanceId ?? (await launchOnline(ec2, ssm, imageId));
  const out = await runShell(ssm, id, lines);
  return {
    id,
    status: out.Status ?? '',
    stdout: out.StandardOutputContent ?? '',
    stderr: out.StandardErrorContent ?? '',
  };
}

beforeAll(async () => {
  sandbox = await startSandbox({ port: 0 });
  ec2 = sandboxEc2(sandbox.url);
  ssm = sandboxSsm(sandbox.url);
});

afterAll(async () => {
  ec2.destroy();
  ssm.destroy();
  await sandbox.close();
});

beforeEach(async () => {
  sandbox.reset();
  imageId = await sandboxImageId(sandbox.url, 'pulsar-base-3.0.0-20250615103000');
});

afterEach(() => {
  for (const path of cleanup.splice(0)) rmSync(path, { recursive: true, force: true });
});

describe.skipIf(isolation !== null)('a command cannot reach the host', () => {
  it.each([
    ['the home folder', homedir()],
    ['/var/tmp', '/var/tmp'],
    ['/dev/shm', '/dev/shm'],
    ['/tmp', tmpdir()],
  ])('writing %s leaves the host untouched', async (_what, dir) => {
    const name = nonce();
    const target = join(dir, name);
    cleanup.push(target);
    const run = await attempt([`echo escaped > '${target}' && echo "WROTE"`, 'echo done']);
    expect(run.status).toBe('Success');
    expect(run.stdout).toContain('done');
    expect(existsSync(target), `${target} appeared on the host`).toBe(false);
    if (dir === homedir()) {
      // There is no home inside: the write itself fails.
      expect(run.stdout).not.toContain('WROTE');
      expect(run.stderr).toMatch(/No such file or directory|Read-only file system/);
    }
  });

  it("keeps /tmp and /var/tmp the instance's own, across its commands", async () => {
    const name = nonce();
    const first = await attempt([`echo kept > /tmp/${name}`, `echo kept > /var/tmp/${name}`]);
    expect(first.status).toBe('Success');
    const root = await rootOf(first.id);
    expect(readdirSync(join(root, 'tmp'))).toContain(name);
    expect(readdirSync(join(root, 'var/tmp'))).toContain(name);
    const second = await attempt([`cat /tmp/${name} /var/tmp/${name}`], first.id);
    expect(second.stdout).toBe('kept\nkept\n');
  });

  it("cannot see or write another instance's files, by its host path or up the tree", async () => {
    const victim = await launchOnline(ec2, ssm, imageId);
    const victimRoot = await rootOf(victim);
    const before = readdirSync(join(victimRoot, 'opt')).sort();
    const run = await attempt([
      `echo pwned > '${victimRoot}/opt/pwned' || echo "no host path"`,
      // Up from the agent's working directory, one folder at a time, looking for the victim.
      `for _ in $(seq 1 16); do cd -P .. || break; if [ -d '${victim}' ]; then echo pwned > '${victim}/opt/pwned'; fi; done`,
      'cd -P /tmp/.. && ls -a',
      `ls / | tr '\\n' ' '`,
      `ls '${victimRoot}' || echo "cannot list"`,
    ]);
    expect(run.stdout).toContain('no host path');
    expect(run.stdout).toContain('cannot list');
    expect(run.stdout).not.toContain(victim);
    expect(readdirSync(join(victimRoot, 'opt')).sort()).toEqual(before);
    // The root holds the system's programs and the instance's folders, nothing of the host's.
    const top = run.stdout.split('\n').find((l) => l.includes('usr')) ?? '';
    for (const hostOnly of ['home', 'sys', 'mnt', 'srv', 'work', 'media']) {
      expect(top.split(' ')).not.toContain(hostOnly);
    }
  });

  it('sees the system programs read-only and a minimal /etc of its own', async () => {
    const name = nonce();
    const targets = [`/usr/bin/${name}`, `/etc/${name}`, `/${name}`];
    cleanup.push(...targets);
    const run = await attempt([
      ...targets.map((t) => `touch ${t} 2>&1 || echo "refused ${t}"`),
      'cat /etc/passwd',
      'bash --version | head -n 1',
    ]);
    for (const target of targets) {
      expect(run.stdout).toContain(`refused ${target}`);
      expect(existsSync(target), `${target} appeared on the host`).toBe(false);
    }
    expect(run.stdout).toContain('root:x:0:0:root:/root:/bin/bash\n');
    expect(run.stdout.match(/:x:/g)).toHaveLength(1);
    expect(run.stdout).toMatch(/GNU bash/);
  });

  it("sees only its own processes, not the sandbox's", async () => {
    const run = await attempt([`ls /proc | grep -c '^[0-9]'`, `cat /proc/1/cmdline | tr '\\0' ' '`]);
    const [count = '', init = ''] = run.stdout.split('\n');
    expect(Number(count)).toBeLessThan(10);
    expect(init).not.toMatch(/node|vitest/);
  });

  it('cannot steer the next command onto the host with a symlink in its agent folder', async () => {
    const hostDir = mkdtempSync(join(tmpdir(), 'pulsar-ami-escape-target-'));
    cleanup.push(hostDir);
    const first = await attempt([
      'base=/var/lib/amazon/ssm/$AWS_SSM_INSTANCE_ID/document',
      `rm -rf "$base/orchestration" && ln -s '${hostDir}' "$base/orchestration" && echo planted`,
    ]);
    expect(first.stdout).toContain('planted');
    const second = await attempt(['echo second'], first.id);
    expect(readdirSync(hostDir)).toEqual([]);
    // The agent's folder resolves inside the instance, where the host path does not exist.
    expect(second.status).toBe('Failed');
    expect(second.stderr).toContain("cannot create the agent's working directory");
  });

  it('cannot undo its read-only or hidden mounts, write kernel settings, or reach host IPC, as its own root', async () => {
    const name = nonce();
    const planted = `/usr/local/sbin/${name}`;
    cleanup.push(planted);
    const burst = '/proc/sys/kernel/printk_ratelimit_burst';
    const run = await attempt([
      'id -u',
      'mount -o remount,bind,rw /usr 2>/dev/null && echo "REMOUNTED usr"',
      'mount -o remount,rw / 2>/dev/null && echo "REMOUNTED root"',
      `touch ${planted} 2>/dev/null && echo "WROTE usr"`,
      `cat ${burst} > ${burst} 2>/dev/null && echo "WROTE sysctl"`,
      'umount /usr/lib/jvm 2>/dev/null && echo "UNHID jvm"',
      'umount -l /opt 2>/dev/null && echo "UNMOUNTED opt"',
      'hostname jail-probe 2>/dev/null; hostname',
      // Builtins only (no fork, no pipe): the shell's own descriptors.
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion.
      'printf "FDS"; for f in /proc/$$/fd/*; do printf " %s" "${f##*/}"; done; echo',
      'echo done',
    ]);
    expect(run.stdout).toContain('done');
    expect(run.stdout.split('\n')[0]).toBe('0');
    for (const marker of ['REMOUNTED', 'WROTE', 'UNHID', 'UNMOUNTED'])
      expect(run.stdout).not.toContain(marker);
    expect(existsSync(planted)).toBe(false);
    // Its own host name, in its own UTS namespace: the host's is untouched.
    expect(hostname()).not.toBe('jail-probe');
    // Only stdin, stdout, stderr, the shell's script (255) and the folder the glob reads (3):
    // nothing the sandbox happened to hold open.
    const fds = (run.stdout.split('\n').find((line) => line.startsWith('FDS')) ?? '').split(' ').slice(1);
    expect(fds.length).toBeGreaterThanOrEqual(3);
    for (const fd of fds) expect(['0', '1', '2', '3', '255']).toContain(fd);
  });

  it("runs as an unprivileged user on the host when the sandbox runs as root, owning only its instance's files", async () => {
    const run = await attempt(['echo hi > /tmp/owned']);
    const root = await rootOf(run.id);
    const owner = statSync(join(root, 'tmp/owned')).uid;
    if (process.getuid?.() === 0) {
      expect(owner).toBe(JAIL_ID);
    } else {
      expect(owner).toBe(process.getuid?.());
    }
  });

  describe('has no network', () => {
    let listener: Server;
    let connections = 0;
    beforeAll(async () => {
      listener = createServer((socket) => {
        connections += 1;
        socket.destroy();
      });
      await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    });
    afterAll(() => new Promise<void>((resolve) => listener.close(() => resolve())));

    it('cannot open 127.0.0.1 to the sandbox or any other listener', async () => {
      const address = listener.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      sandbox.calls.clear();
      const run = await attempt([
        `(exec 3<>/dev/tcp/127.0.0.1/${sandbox.port} && printf 'POST /_sandbox/reset HTTP/1.0\\r\\nContent-Type: application/json\\r\\nContent-Length: 2\\r\\n\\r\\n{}' >&3 && echo "reached sandbox") 2>&1`,
        `(exec 3<>/dev/tcp/127.0.0.1/${port} && echo "reached listener") 2>&1`,
        `(exec 3<>/dev/tcp/10.0.0.1/80 && echo "reached outside") 2>&1`,
        'echo end',
      ]);
      expect(run.stdout).toContain('end');
      expect(run.stdout).not.toMatch(/reached/);
      expect(run.stdout).toMatch(/Network is unreachable/);
      expect(connections).toBe(0);
      // The world is still the one this test made: the reset never arrived.
      expect(sandbox.world.region('us-west-2').instances.has(run.id)).toBe(true);
    });
  });
});
