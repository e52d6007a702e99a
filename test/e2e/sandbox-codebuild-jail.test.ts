/**
 * The jail other sandbox services build on (CodeBuild's builds, the Packer stand-in's
 * provisioners): `runIsolated` with its own choice of the root's folders (`dirs`), host folders
 * shown read-only under /sandbox (`readOnly`) and streamed output (`onOutput`). Tried as an
 * attacker would: the read-only folder cannot be written, remounted or unmounted; one root's
 * folders are its own and no other root's; a symlink anywhere on a folder's way is refused;
 * nothing else of the host is there; no descriptor of the sandbox reaches the script.
 */
import { randomUUID } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AGENT_PATH,
  checkRootDir,
  isolationProblem,
  jailOwner,
  type RunRequest,
  runIsolated,
} from '../../sandbox/ssm/executor';

const isolation = await isolationProblem();
if (isolation) console.warn(`sandbox jail tests skipped: ${isolation}`);

const DIRS = ['codebuild', 'tmp', 'usr/local/bin', 'root'] as const;

let base: string;
let mountPoint: string;
/** A host folder shown read-only in the jail. */
let shared: string;
const hostSecret = `pulsar-ami-host-${randomUUID()}`;

/** chown -R to the jail's user when the sandbox runs as root (as InstanceRoots does). */
function giveToJail(path: string): void {
  const owner = jailOwner();
  if (!owner) return;
  const stat = lstatSync(path);
  if (stat.isDirectory()) for (const entry of readdirSync(path)) giveToJail(join(path, entry));
  if (!stat.isSymbolicLink()) chownSync(path, owner.uid, owner.gid);
}

function makeRoot(name: string): string {
  const root = join(base, name);
  for (const dir of DIRS) mkdirSync(join(root, dir), { recursive: true });
  giveToJail(root);
  return root;
}

async function run(root: string, script: string, extra: Partial<RunRequest> = {}) {
  const outcome = await runIsolated({
    root,
    mountPoint,
    script,
    workDir: '/codebuild/output/tmp',
    env: { PATH: AGENT_PATH, LANG: 'C.UTF-8' },
    dirs: DIRS,
    readOnly: [{ from: shared, to: '/sandbox/shared' }],
    ...extra,
  }).done;
  return outcome;
}

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'pulsar-ami-jail-test-'));
  mountPoint = join(base, '.mnt');
  mkdirSync(mountPoint, { mode: 0o700 });
  shared = join(base, 'shared');
  mkdirSync(join(shared, 'bin'), { recursive: true });
  writeFileSync(join(shared, 'file'), 'original\n');
  writeFileSync(join(shared, 'bin/tool'), '#!/bin/sh\necho "tool ran"\n', { mode: 0o755 });
  chmodSync(shared, 0o755);
  if (jailOwner()) {
    chmodSync(base, 0o711);
    giveToJail(mountPoint);
  }
  // Something of the host's in the host's temp folder, that no jail may see.
  writeFileSync(join(tmpdir(), hostSecret), 'secret\n');
});

afterAll(() => {
  rmSync(base, { recursive: true, force: true });
  rmSync(join(tmpdir(), hostSecret), { force: true });
});

describe('the folders a jail may be given', () => {
  it.each([
    '../x',
    '/codebuild',
    'a/../b',
    'a/./b',
    'a//b',
    '',
    'proc',
    'dev/x',
    'etc',
    'usr',
    'usr/bin',
    'usr/local',
    'lib64/x',
    'sandbox/x',
    'a b',
    'a\nb',
  ])('refuses %j', (dir) => {
    expect(() => checkRootDir(dir)).toThrow(/not a folder a jail may mount/);
    expect(() =>
      runIsolated({ root: base, mountPoint, script: '', workDir: '/tmp', env: {}, dirs: [dir] }),
    ).toThrow();
  });

  it.each(['codebuild', 'usr/local/bin', 'var/lib/amazon/ssm', 'codebuild/output/src'])('takes %j', (dir) => {
    expect(checkRootDir(dir)).toBe(dir);
  });

  it.each(['/opt/x', '/sandbox', '/sandbox/../etc', '/sandbox/a b', 'sandbox/x'])(
    'refuses a read-only mount at %j',
    (to) => {
      expect(() =>
        runIsolated({
          root: base,
          mountPoint,
          script: '',
          workDir: '/tmp',
          env: {},
          readOnly: [{ from: shared, to }],
        }),
      ).toThrow(/under \/sandbox/);
    },
  );
});

describe.skipIf(isolation !== null)('a jail with its own folders and read-only host folders', () => {
  it('shows the read-only folder and refuses every way of writing it, as its own root', async () => {
    const root = makeRoot(`ro-${randomUUID()}`);
    const outcome = await run(
      root,
      [
        'cat /sandbox/shared/file',
        '/sandbox/shared/bin/tool',
        'echo changed > /sandbox/shared/file 2>/dev/null && echo "WROTE file"',
        'touch /sandbox/shared/new 2>/dev/null && echo "WROTE new"',
        'rm -f /sandbox/shared/file 2>/dev/null; [ -e /sandbox/shared/file ] || echo "REMOVED"',
        'mount -o remount,rw /sandbox/shared 2>/dev/null && echo "REMOUNTED"',
        'mount -o remount,bind,rw /sandbox/shared 2>/dev/null && echo "REMOUNTED bind"',
        'umount /sandbox/shared 2>/dev/null && echo "UNMOUNTED"',
        'umount -l /sandbox/shared 2>/dev/null && echo "UNMOUNTED lazily"',
        'mkdir /sandbox/other 2>/dev/null && echo "WROTE sandbox"',
        'echo done',
      ].join('\n'),
    );
    // The shell's own redirection says why it failed; nothing else complains.
    expect(outcome.stderr).toMatch(/^(.*: Read-only file system\n)+$/);
    expect(outcome.stdout).toBe('original\ntool ran\ndone\n');
    expect(readFileSync(join(shared, 'file'), 'utf8')).toBe('original\n');
    expect(readdirSync(shared).sort()).toEqual(['bin', 'file']);
  });

  it("gives the script its root's folders read-write, and no other root's", async () => {
    const first = makeRoot(`a-${randomUUID()}`);
    const second = makeRoot(`b-${randomUUID()}`);
    const mark = `mark-${randomUUID()}`;
    const wrote = await run(
      first,
      [
        `echo one > /codebuild/${mark}`,
        `echo two > /tmp/${mark}`,
        `echo three > /root/${mark}`,
        `echo four > /usr/local/bin/${mark}`,
        // Not one of its folders: the read-only root.
        `echo five > /opt/${mark} 2>/dev/null || echo "no opt"`,
      ].join('\n'),
    );
    expect(wrote.stdout).toBe('no opt\n');
    expect(readFileSync(join(first, 'codebuild', mark), 'utf8')).toBe('one\n');
    expect(readFileSync(join(first, 'tmp', mark), 'utf8')).toBe('two\n');
    expect(readFileSync(join(first, 'root', mark), 'utf8')).toBe('three\n');
    expect(readFileSync(join(first, 'usr/local/bin', mark), 'utf8')).toBe('four\n');
    // The agent's working folder was made inside the root's own codebuild folder.
    expect(existsSync(join(first, 'codebuild/output/tmp/_script.sh'))).toBe(true);

    const looked = await run(
      second,
      [
        `cat /codebuild/${mark} /tmp/${mark} /root/${mark} /usr/local/bin/${mark} 2>/dev/null || echo "not here"`,
        `ls '${first}' 2>/dev/null || echo "no host path"`,
        `echo pwned > '${first}/codebuild/pwned' 2>/dev/null || echo "cannot write there"`,
        `cd -P /codebuild/.. && ls -a | tr '\\n' ' '`,
      ].join('\n'),
    );
    expect(looked.stdout).toContain('not here');
    expect(looked.stdout).toContain('no host path');
    expect(looked.stdout).toContain('cannot write there');
    expect(looked.stdout).not.toContain(mark);
    expect(existsSync(join(first, 'codebuild/pwned'))).toBe(false);
    expect(readdirSync(join(second, 'codebuild')).filter((f) => f !== 'output')).toEqual([]);
  });

  it('shows nothing else of the host: its root holds the programs, its folders and /sandbox only', async () => {
    const root = makeRoot(`view-${randomUUID()}`);
    const outcome = await run(
      root,
      [
        `ls -A / | tr '\\n' ' '; echo`,
        `ls -A /tmp /root | tr '\\n' ' '; echo`,
        `cat '${join(tmpdir(), hostSecret)}' 2>/dev/null || echo "no host tmp"`,
        `ls /proc | grep -c '^[0-9]'`,
        // Builtins only (no fork, no pipe): the shell's own descriptors.
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion
        'printf "FDS"; for f in /proc/$$/fd/*; do printf " %s" "${f##*/}"; done; echo',
        `(exec 3<>/dev/tcp/127.0.0.1/22 && echo "reached") 2>&1 | head -c 200; echo`,
      ].join('\n'),
    );
    const [top = '', tmpAndRoot = '', secret = '', processes = '', fdLine = '', net = ''] =
      outcome.stdout.split('\n');
    const allowed = new Set([
      ...['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32', 'usr', 'proc', 'dev', 'etc', 'root'],
      ...['codebuild', 'tmp', 'sandbox'],
    ]);
    const entries = top.trim().split(' ');
    expect(entries).toContain('sandbox');
    for (const entry of entries) expect(allowed, `/${entry} in the jail`).toContain(entry);
    expect(tmpAndRoot.trim()).toMatch(/^\/root: \/tmp:$|^\/root:\s+\/tmp:$/);
    expect(secret).toBe('no host tmp');
    expect(Number(processes)).toBeLessThan(10);
    const fds = fdLine.split(' ').slice(1);
    for (const fd of fds) expect(['0', '1', '2', '3', '255']).toContain(fd);
    expect(net).not.toContain('reached');
  });

  it('refuses a folder that is a symlink, or lies below one, before the script runs', async () => {
    const hostDir = mkdtempSync(join(tmpdir(), 'pulsar-ami-jail-target-'));
    try {
      const direct = makeRoot(`link-${randomUUID()}`);
      rmSync(join(direct, 'root'), { recursive: true });
      symlinkSync(hostDir, join(direct, 'root'));
      const first = await run(direct, `echo pwned > /root/pwned; echo ran`);
      expect(first.exitCode).toBe(125);
      expect(first.stderr).toContain('the instance has no root folder');
      expect(first.stdout).toBe('');

      const below = makeRoot(`below-${randomUUID()}`);
      mkdirSync(join(hostDir, 'output'));
      rmSync(join(below, 'codebuild'), { recursive: true });
      symlinkSync(hostDir, join(below, 'codebuild'));
      const second = await run(below, 'echo pwned > /codebuild/output/pwned; echo ran', {
        dirs: ['codebuild/output', 'tmp'],
        workDir: '/tmp/agent',
      });
      expect(second.exitCode).toBe(125);
      expect(second.stderr).toContain('the instance has no codebuild/output folder');
      expect(readdirSync(hostDir)).toEqual(['output']);
      expect(readdirSync(join(hostDir, 'output'))).toEqual([]);
    } finally {
      rmSync(hostDir, { recursive: true, force: true });
    }
  });

  it("keeps the script's environment away from the building of its root", async () => {
    const root = makeRoot(`env-${randomUUID()}`);
    const planted = join(tmpdir(), `pulsar-ami-escape-${randomUUID()}`);
    const outcome = await run(
      root,
      [
        'echo "BASH_ENV=$BASH_ENV"',
        'echo "MARK=$MARK"',
        'mount -o remount,bind,rw /sandbox/shared 2>/dev/null && echo "REMOUNTED"',
        'echo changed > /sandbox/shared/file 2>/dev/null && echo "WROTE"',
        'echo done',
      ].join('\n'),
      {
        env: {
          PATH: AGENT_PATH,
          // Each would run code where the root is built (host files in view) if it reached there.
          BASH_ENV: `$(touch '${planted}')`,
          ENV: `$(touch '${planted}')`,
          SHELLOPTS: 'xtrace',
          PS4: `$(touch '${planted}')`,
          LD_PRELOAD: '/nonexistent/preload.so',
          MARK: 'multi\nline value',
        },
      },
    );
    expect(existsSync(planted), 'the environment ran code on the host').toBe(false);
    expect(outcome.stdout).toContain('MARK=multi\nline value\n');
    expect(outcome.stdout).toContain('done');
    expect(outcome.stdout).not.toMatch(/REMOUNTED|WROTE/);
    expect(readFileSync(join(shared, 'file'), 'utf8')).toBe('original\n');
  });

  it('refuses an environment name that is not a shell name (no exported functions)', () => {
    for (const name of ['BASH_FUNC_mount%%', 'A=B', '1X', '']) {
      expect(() =>
        runIsolated({ root: base, mountPoint, script: '', workDir: '/tmp', env: { [name]: '() { :; }' } }),
      ).toThrow(/not an environment variable name/);
    }
  });

  it('streams what the script prints while it runs, beyond the capture limit', async () => {
    const root = makeRoot(`stream-${randomUUID()}`);
    const seen: string[] = [];
    let release: (() => void) | undefined;
    const outcome = await new Promise<Awaited<ReturnType<typeof run>>>((resolve) => {
      const running = runIsolated({
        root,
        mountPoint,
        // Waits for the test to answer the first line: only a streamed line can be answered.
        script: [
          'echo first',
          'echo to-stderr >&2',
          'while [ ! -e /codebuild/go ]; do sleep 0.01; done',
          'head -c 100000 /dev/zero | tr "\\0" x',
          'echo',
          'echo last',
        ].join('\n'),
        workDir: '/codebuild/output/tmp',
        env: { PATH: AGENT_PATH },
        dirs: DIRS,
        onOutput: (stream, text) => {
          seen.push(`${stream}:${text}`);
          if (text.includes('first')) release?.();
        },
      });
      release = () => {
        writeFileSync(join(root, 'codebuild/go'), '');
        release = undefined;
      };
      void running.done.then(resolve);
    });
    expect(outcome.exitCode).toBe(0);
    const streamed = seen
      .filter((s) => s.startsWith('stdout:'))
      .map((s) => s.slice('stdout:'.length))
      .join('');
    expect(streamed).toBe(`first\n${'x'.repeat(100_000)}\nlast\n`);
    expect(seen.filter((s) => s.startsWith('stderr:')).join('')).toBe('stderr:to-stderr\n');
    // The returned strings keep their limit.
    expect(outcome.stdout.length).toBeLessThan(streamed.length);
    expect(outcome.stdout.startsWith('first\n')).toBe(true);
  });
});
