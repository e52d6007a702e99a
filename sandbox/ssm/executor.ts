/**
 * Runs a Run Command script against an instance's own files, for real, without touching the
 * host's: in a private user + mount + PID namespace (`unshare --user --map-root-user --mount
 * --pid --fork --kill-child --mount-proc`, no privileges needed), the instance root's opt/,
 * usr/local/bin/ and tmp/ are bind-mounted over /opt, /usr/local/bin and /tmp, the host's own
 * java is hidden (an empty tmpfs over /usr/lib/jvm, /dev/null over any java left on PATH),
 * and the script runs as the agent runs it on Amazon Linux 2023: `sh` (bash in POSIX mode)
 * with the agent's PATH and no HOME. Everything else on the host (/usr, /etc) stays visible,
 * read-only to the script in effect (it is root only inside its namespace).
 *
 * Never synchronous: the sandbox serves the SDK calls of the process it runs in. Killing
 * the process group ends the namespace's init and with it every process the script started.
 */
import { type ChildProcess, spawn } from 'node:child_process';

export const AGENT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const UNSHARE_ARGS = [
  '--user',
  '--map-root-user',
  '--mount',
  '--pid',
  '--fork',
  '--kill-child',
  '--mount-proc',
];

/** Runs inside the namespace: $1 instance root, $2 script, $3 agent working directory, $4 workingDirectory. */
const PRELUDE = `
fail() { echo "pulsar-ami sandbox: $*" >&2; exit 125; }
root="$1"; script="$2"; workdir="$3"; userdir="$4"
cd "$workdir" || fail "no working directory $workdir"
exec 3<"$script" || fail "cannot read the command script $script"
for dir in opt usr/local/bin tmp; do
  [ -d "/$dir" ] || fail "the host has no /$dir to mount the instance's $dir over"
  mount --bind "$root/$dir" "/$dir" || fail "cannot bind-mount the instance's $dir over /$dir"
done
if [ -d /usr/lib/jvm ]; then
  mount -t tmpfs -o size=64k,mode=755 tmpfs /usr/lib/jvm || fail "cannot hide the host's /usr/lib/jvm"
fi
for f in /usr/local/sbin/java /usr/sbin/java /usr/bin/java /sbin/java /bin/java; do
  if [ -e "$f" ]; then mount --bind /dev/null "$f" || fail "cannot hide the host's $f"; fi
done
if [ -n "$userdir" ]; then cd "$userdir" || fail "workingDirectory $userdir does not exist"; fi
exec -a sh bash /dev/fd/3
`;

export interface RunRequest {
  /** The instance's root directory (host path). */
  root: string;
  /** The script to run (host path). */
  scriptPath: string;
  /** The agent's working directory for the command (host path). */
  workDir: string;
  /** AWS-RunShellScript's workingDirectory, an instance path; none when empty. */
  workingDirectory?: string;
  env: Record<string, string>;
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
    const child = spawn('unshare', [...UNSHARE_ARGS, 'true'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { PATH: AGENT_PATH },
    });
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

export function runIsolated(request: RunRequest): RunningScript {
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
      'unshare',
      [
        ...UNSHARE_ARGS,
        'bash',
        '-c',
        PRELUDE,
        'sandbox-prelude',
        request.root,
        request.scriptPath,
        request.workDir,
        request.workingDirectory ?? '',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: request.env, detached: true },
    );
    child.stdout?.on('data', (chunk: Buffer) => {
      if (outSize >= CAPTURE_LIMIT) return;
      const text = chunk.toString('utf8');
      out.push(text);
      outSize += text.length;
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      if (errSize >= CAPTURE_LIMIT) return;
      const text = chunk.toString('utf8');
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
