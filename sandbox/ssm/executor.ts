/**
 * Runs a Run Command script inside its instance, for real, and nowhere else: each run gets its
 * own root, built in private user, mount, PID and network namespaces (`unshare --user
 * --map-root-user --mount --pid --net --fork --kill-child --mount-proc`, no privileges needed)
 * and entered with `pivot_root`, so the script sees
 *
 *   /opt /usr/local/bin /tmp /var/tmp /var/lib/amazon/ssm   the instance's own files, read-write
 *   /usr (and /bin /sbin /lib* as the host lays them out)  the host's programs, read-only
 *   /etc                                                  a minimal one of its own (root, localhost)
 *   /dev                                                  null zero full random urandom, fd links,
 *                                                         a private /dev/shm
 *   /proc                                                 its own PID namespace only
 *
 * and nothing else of the host: no home, no host /tmp, /var/tmp or /dev/shm, no other instance,
 * no /sys, and no network (a fresh namespace whose only interface, lo, is down). The host's java
 * is hidden (an empty tmpfs over /usr/lib/jvm, /dev/null over any java left on PATH), so only
 * the image's own answers. The root itself is read-only.
 *
 * Nothing is written on the host's side of an instance root: the script travels on a pipe
 * (fd 3) and the agent's orchestration folder and `_script.sh` are made inside the new root, so a
 * symlink the instance planted can never steer a write onto the host.
 *
 * The script runs as the agent runs it on Amazon Linux 2023: `sh` (bash in POSIX mode) with the
 * agent's PATH and no HOME, in the orchestration folder. Never synchronous: the sandbox serves the
 * SDK calls of the process it runs in. Killing the process group ends the namespace's init and
 * with it every process the script started.
 *
 * Other jails (CodeBuild's builds) choose their root's folders (`dirs`, read-write, each a
 * normalised relative path that resolves inside the root through no symlink) and add host folders
 * read-only under /sandbox (`readOnly`), locked like /usr; `onOutput` streams what the script
 * prints as it comes (the returned strings keep their capture limit).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { isAbsolute, normalize } from 'node:path';

export const AGENT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const UNSHARE_ARGS = [
  '--user',
  '--map-root-user',
  '--mount',
  '--pid',
  '--net',
  '--ipc',
  '--uts',
  '--fork',
  '--kill-child',
  '--mount-proc',
];

/**
 * Who the jail runs as on the host. Root inside a user namespace is whoever started it outside:
 * when the sandbox runs as root, that would be the host's root (able to write /proc/sys, and
 * any file a mount lets it reach). So a root sandbox starts every jail as `nobody` (65534)
 * and gives the instance's files to that user; any other user runs jails as itself.
 */
export const JAIL_ID = 65_534;

export function jailOwner(): { uid: number; gid: number } | undefined {
  return process.getuid?.() === 0 ? { uid: JAIL_ID, gid: JAIL_ID } : undefined;
}

/** util-linux's unshare by absolute path when it is in its usual place, never by a writable PATH. */
const UNSHARE = ['/usr/bin/unshare', '/bin/unshare'].find((path) => existsSync(path)) ?? 'unshare';

/** The instance's own folders, bind-mounted read-write at the same path inside its root. */
export const INSTANCE_DIRS = ['opt', 'usr/local/bin', 'tmp', 'var/tmp', 'var/lib/amazon/ssm'] as const;

/**
 * Runs inside the namespaces. $1 instance root (host path), $2 an empty directory to build the new
 * root on (host path), $3 the agent's working directory and $4 the user's workingDirectory (both
 * paths inside the instance), $5 how many of the root's folders follow, then those folders
 * (relative paths), then pairs of a host path and the jail path it is shown read-only at; the
 * script arrives on fd 3 and its environment on fd 4. Every value is an argument or on a pipe,
 * never part of this text; this runs with PATH and LANG only.
 */
const PRELUDE = `
set -f
fail() { echo "pulsar-ami sandbox: $*" >&2; exit 125; }
# Nothing the sandbox process happened to hold open reaches the command: only 0-2 and the script.
for fd in $(ls /proc/$$/fd); do
  case "$fd" in 0|1|2|3|4) ;; *) eval "exec $fd>&-" 2>/dev/null ;; esac
done
# The script's environment (NUL-separated NAME=VALUE on fd 4) is given to the script alone, past
# the last user namespace: nothing in it (BASH_ENV, LD_PRELOAD, …) touches the building of the root.
mapfile -d '' -t script_env <&4 || fail "cannot read the command's environment"
exec 4<&-
bash_bin="$(command -v bash)" || fail "the host has no bash"
ro_bind() {
  mount --bind "$1" "$2" || fail "cannot bind the host's $1 into the instance's root"
  mount -o remount,bind,ro "$2" || fail "cannot make the instance's view of $1 read-only"
}
root="$1"; jail="$2"; workdir="$3"; userdir="$4"; ndirs="$5"; shift 5
dirs=("\${@:1:$ndirs}"); shift "$ndirs"
realroot="$(realpath -e -- "$root")" || fail "the instance's root is missing"
mount -t tmpfs -o size=1m,mode=755 tmpfs "$jail" || fail "cannot create the instance's root (tmpfs on $jail)"
cd "$jail" || fail "cannot enter the instance's root"
mkdir -p usr proc dev etc root || fail "cannot lay out the instance's root"
for dir in bin sbin lib lib32 lib64 libx32; do
  if [ -L "/$dir" ]; then ln -s "$(readlink "/$dir")" "$dir"
  elif [ -d "/$dir" ]; then mkdir "$dir" && ro_bind "/$dir" "$dir"
  fi
done
ro_bind /usr usr
for dir in "\${dirs[@]}"; do
  # The folder itself and every folder above it inside the root: no symlink anywhere on the way.
  if [ ! -d "$realroot/$dir" ] || [ "$(realpath -e -- "$realroot/$dir" 2>/dev/null)" != "$realroot/$dir" ]; then
    fail "the instance has no $dir folder"
  fi
  mkdir -p "$dir" 2>/dev/null || [ -d "$dir" ] || fail "the host has no /$dir to mount the instance's $dir on"
  mount --bind "$realroot/$dir" "$dir" || fail "cannot mount the instance's $dir"
done
while [ "$#" -ge 2 ]; do
  from="$1"; to="\${2#/}"; shift 2
  if [ -d "$from" ]; then mkdir -p "$to" || fail "cannot create /$to"
  else mkdir -p "\${to%/*}" && : > "$to" || fail "cannot create /$to"
  fi
  mount --bind "$from" "$to" || fail "cannot show $from read-only at /$to"
  mount -o remount,bind,ro,nosuid,nodev "$to" || fail "cannot make /$to read-only"
done
mount -t tmpfs -o size=64k,mode=755 tmpfs dev || fail "cannot create the instance's /dev"
for node in null zero full random urandom; do
  : > "dev/$node" && mount --bind "/dev/$node" "dev/$node" || fail "cannot provide /dev/$node"
done
ln -s /proc/self/fd dev/fd && ln -s /proc/self/fd/0 dev/stdin && ln -s /proc/self/fd/1 dev/stdout \
  && ln -s /proc/self/fd/2 dev/stderr || fail "cannot provide /dev/fd"
mkdir dev/shm && mount -t tmpfs -o size=16m,mode=1777 tmpfs dev/shm || fail "cannot provide /dev/shm"
mount -t proc proc proc || fail "cannot mount the instance's /proc"
ro_bind proc/sys proc/sys
printf 'root:x:0:0:root:/root:/bin/bash\n' > etc/passwd
printf 'root:x:0:\n' > etc/group
printf '127.0.0.1 localhost\n::1 localhost\n' > etc/hosts
mkdir .old && pivot_root . .old || fail "cannot enter the instance's root (pivot_root)"
cd / && umount -l /.old && rmdir /.old || fail "cannot detach the host's filesystem"
mount -o remount,bind,ro / || fail "cannot make the instance's root read-only"
if [ -d /usr/lib/jvm ]; then
  mount -t tmpfs -o size=64k,mode=755 tmpfs /usr/lib/jvm || fail "cannot hide the host's /usr/lib/jvm"
fi
for f in /usr/local/sbin/java /usr/sbin/java /usr/bin/java /sbin/java /bin/java; do
  if [ -e "$f" ]; then mount --bind /dev/null "$f" || fail "cannot hide the host's $f"; fi
done
mkdir -p "$workdir" && cd "$workdir" || fail "cannot create the agent's working directory $workdir"
cat <&3 > _script.sh && chmod 700 _script.sh || fail "cannot write the command script"
exec 3<&-
if [ -n "$userdir" ]; then cd "$userdir" || fail "workingDirectory $userdir does not exist"; fi
# The command runs one user namespace further in: every mount above is locked as it is (read-only
# stays read-only, hidden stays hidden), whatever the command does as its own root.
exec unshare --user --map-root-user --mount -- /usr/bin/env -i "\${script_env[@]}" \
  "$bash_bin" -c 'exec -a sh "$0" "$1"' "$bash_bin" "$workdir/_script.sh"
`;

export interface RunRequest {
  /** The instance's root directory (host path). */
  root: string;
  /** An empty directory the run's own root is built on (host path; see InstanceRoots.mountPoint). */
  mountPoint: string;
  /** The script to run. */
  script: string;
  /** The agent's working directory for the command: an absolute path inside the instance. */
  workDir: string;
  /** AWS-RunShellScript's workingDirectory, an instance path; none when empty. */
  workingDirectory?: string;
  /**
   * The script's environment (names are shell names). Given to the script only, past the last
   * user namespace: building the root runs with a fixed PATH, whatever this holds.
   */
  env: Record<string, string>;
  /**
   * The root's folders shown read-write at the same path (default INSTANCE_DIRS): normalised
   * relative paths ('codebuild', 'usr/local/bin'), not the jail's own /proc, /dev, /etc, /usr (but
   * /usr/local/…), the host's program folders or /sandbox. Each must exist in the root and
   * resolve there through no symlink, or the run fails (exit 125) before the script starts.
   */
  dirs?: readonly string[];
  /**
   * Host files or folders shown read-only (nosuid, nodev, locked like /usr) at absolute jail
   * paths under /sandbox. The jail's user must be able to reach `from` (a root sandbox runs
   * jails as `nobody`).
   */
  readOnly?: readonly ReadOnlyMount[];
  /** Everything the script prints, as it comes (chunks, not lines), besides the captured strings. */
  onOutput?: (stream: 'stdout' | 'stderr', text: string) => void;
}

export interface ReadOnlyMount {
  /** Host path (absolute). */
  from: string;
  /** Absolute, normalised path inside the jail, under /sandbox. */
  to: string;
}

export interface RunOutcome {
  /** Exit status; null when killed by a signal. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The process could not be started at all. */
  error?: string;
}

export interface RunningScript {
  /** Kills the script and everything it started. Idempotent. */
  stop(): void;
  readonly done: Promise<RunOutcome>;
}

/** Keeps at most this many characters of each stream (GetCommandInvocation shows 24,000 / 8,000). */
const CAPTURE_LIMIT = 64 * 1024;

let probe: Promise<string | null> | undefined;

/** Why isolated runs are impossible here, or null when `unshare` works. Probed once. */
export function isolationProblem(): Promise<string | null> {
  probe ??= new Promise((resolve) => {
    let stderr = '';
    const child = spawn(
      UNSHARE,
      [...UNSHARE_ARGS, 'unshare', '--user', '--map-root-user', '--mount', 'true'],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { PATH: AGENT_PATH },
        ...(jailOwner() ?? {}),
      },
    );
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', (error: NodeJS.ErrnoException) =>
      resolve(
        error.code === 'ENOENT'
          ? 'unshare (util-linux) is not installed'
          : `unshare could not be started: ${error.message}`,
      ),
    );
    child.on('close', (code) =>
      resolve(
        code === 0
          ? null
          : `unshare ${UNSHARE_ARGS.join(' ')} failed (${stderr.trim() || `exit status ${code}`}); user namespaces may be disabled (sysctl kernel.unprivileged_userns_clone / user.max_user_namespaces)`,
      ),
    );
  });
  return probe;
}

/** Whether `path` is an absolute, normalised path with no `..` (a path inside an instance). */
function isInstancePath(path: string): boolean {
  return isAbsolute(path) && normalize(path) === path && !path.split('/').includes('..');
}

/** A path segment the jail's folders may use: no '.', '..', slash, space or control character. */
const SEGMENT = /^(?!\.{1,2}$)[A-Za-z0-9._@+-]{1,128}$/;

/** Folders of the jail that are never a root's: its own system mounts and the host's programs. */
const RESERVED = new Set([
  'proc',
  'dev',
  'sys',
  'etc',
  'sandbox',
  'usr',
  'bin',
  'sbin',
  'lib',
  'lib32',
  'lib64',
  'libx32',
  '.old',
]);

/** A root folder the jail may show read-write: a normalised relative path outside RESERVED. */
export function checkRootDir(dir: string): string {
  const segments = dir.split('/');
  const ok =
    dir.length <= 1024 &&
    segments.every((segment) => SEGMENT.test(segment)) &&
    (!RESERVED.has(segments[0] ?? '') ||
      (segments[0] === 'usr' && segments[1] === 'local' && segments.length > 2));
  if (!ok) throw new Error(`not a folder a jail may mount from its root: '${dir}'`);
  return dir;
}

function checkReadOnly(mount: ReadOnlyMount): ReadOnlyMount {
  const segments = mount.to.split('/').slice(1);
  if (
    !isInstancePath(mount.to) ||
    segments[0] !== 'sandbox' ||
    segments.length < 2 ||
    !segments.every((segment) => SEGMENT.test(segment))
  ) {
    throw new Error(`a read-only mount must be shown under /sandbox, got '${mount.to}'`);
  }
  if (!isAbsolute(mount.from) || mount.from.includes('\0')) {
    throw new Error(`a read-only mount needs an absolute host path, got '${mount.from}'`);
  }
  return mount;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,254}$/;

/** The script's environment as NUL-separated NAME=VALUE; a name that is not a shell name is refused. */
function environmentBlock(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([name, value]) => {
      if (!ENV_NAME.test(name)) throw new Error(`not an environment variable name: '${name}'`);
      if (typeof value !== 'string' || value.includes('\0')) {
        throw new Error(`environment variable ${name} must be a string without NUL`);
      }
      return `${name}=${value}\0`;
    })
    .join('');
}

export function runIsolated(request: RunRequest): RunningScript {
  if (!isInstancePath(request.workDir)) {
    throw new Error(`the agent's working directory must be an absolute path, got '${request.workDir}'`);
  }
  const dirs = (request.dirs ?? INSTANCE_DIRS).map(checkRootDir);
  const scriptEnv = environmentBlock(request.env);
  const readOnly = (request.readOnly ?? []).map(checkReadOnly);
  const { onOutput } = request;
  let child: ChildProcess | undefined;
  let stopped = false;
  const kill = () => {
    if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  };
  const done = new Promise<RunOutcome>((resolve) => {
    const out: string[] = [];
    const err: string[] = [];
    let outSize = 0;
    let errSize = 0;
    child = spawn(
      UNSHARE,
      [
        ...UNSHARE_ARGS,
        'bash',
        '-c',
        PRELUDE,
        'sandbox-prelude',
        request.root,
        request.mountPoint,
        request.workDir,
        request.workingDirectory ?? '',
        String(dirs.length),
        ...dirs,
        ...readOnly.flatMap((mount) => [mount.from, mount.to]),
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
        // Building the root sees only this; the script's own environment travels on fd 4.
        env: { PATH: AGENT_PATH, LANG: 'C.UTF-8' },
        detached: true,
        ...(jailOwner() ?? {}),
      },
    );
    const envPipe = child.stdio[4];
    if (envPipe && 'end' in envPipe) {
      envPipe.on('error', () => undefined);
      envPipe.end(scriptEnv);
    }
    const scriptPipe = child.stdio[3];
    if (scriptPipe && 'end' in scriptPipe) {
      // The script ends the moment the prelude fails or the run is killed: nothing to report.
      scriptPipe.on('error', () => undefined);
      scriptPipe.end(request.script);
    }
    // Decoded as a stream, so a character split between two reads stays whole.
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stdout?.on('data', (text: string) => {
      onOutput?.('stdout', text);
      if (outSize >= CAPTURE_LIMIT) return;
      out.push(text);
      outSize += text.length;
    });
    child.stderr?.on('data', (text: string) => {
      onOutput?.('stderr', text);
      if (errSize >= CAPTURE_LIMIT) return;
      err.push(text);
      errSize += text.length;
    });
    child.on('error', (error) =>
      resolve({ exitCode: null, signal: null, stdout: '', stderr: '', error: error.message }),
    );
    child.on('close', (code, signal) =>
      resolve({ exitCode: code, signal, stdout: out.join(''), stderr: err.join('') }),
    );
    if (stopped) kill();
  });
  return {
    done,
    stop: () => {
      stopped = true;
      kill();
    },
  };
}
