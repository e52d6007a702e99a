/**
 * The packer bridge: how the `packer` a build installs (packer-shim.sh, from the sandbox's Packer
 * release zip) reaches the sandbox's Packer stand-in (sandbox/packer, `runPacker`).
 *
 * The shim runs inside the build's jail. For each invocation it claims a number n, writes
 * `{args, cwd, env}` as JSON to /codebuild/.sandbox-bridge/<n>.request (through a temporary name
 * and a rename, so it is whole when it appears), prints whatever appears in <n>.out as it comes
 * and exits with the code in <n>.exit. The CodeBuild runner watches that folder from the host
 * (bridge-watcher in runner.ts), and for each request calls the Packer runner with a
 * `PackerContext`; every line the runner logs is appended to <n>.out, so Packer's output is the
 * shim's own stdout (in the build's log in order, and through any pipe the buildspec puts it).
 *
 * Everything in the request is untrusted (the build can write anything there): size-limited,
 * checked with zod, names from a fixed set, paths resolved inside the build root only and
 * never through a symlink. The bridge folder is a mount point of the jail on a read-only
 * /codebuild, so the build cannot swap the folder itself for a symlink; entries inside it are
 * opened with O_NOFOLLOW and created exclusively.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fchownSync,
  fstatSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  realpathSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { isAbsolute, normalize, posix } from 'node:path';
import { z } from 'zod';
import type { SandboxInfo } from '../services';
import { jailOwner } from '../ssm/executor';
import type { World } from '../world';

/** What one `packer …` invocation in a build asks for. */
export interface PackerRequest {
  /** The command line after `packer` (`['build', '-color=false', '.']`). */
  args: string[];
  /** The shim's working directory: an absolute path inside the jail. */
  cwd: string;
  /** Only PKR_VAR_*, PACKER_* and AWS_REGION of the shim's environment. */
  env: Record<string, string>;
}

/** The build a Packer run belongs to (tags, log lines). */
export interface PackerBuildInfo {
  /** CodeBuild's build id, `<project>:<uuid>`. */
  id: string;
  /** `arn:aws:codebuild:<region>:<account>:build/<project>:<uuid>`. */
  arn: string;
  /** The Step Functions execution that started the build (BUILD_EXECUTION_ARN), when there is one. */
  executionArn?: string;
}

export interface PackerContext {
  /** Host path mapped at the jail's `/` (only the build's own folders, BUILD_DIRS, exist there). */
  buildRoot: string;
  /**
   * The host path of a jail path inside the build's own folders (BUILD_DIRS). Throws for a path
   * elsewhere (/usr, /sandbox, /etc, `..`) or one that goes through a symlink now. The build keeps
   * running while Packer runs: prefer readFile/writeFile, which check what they opened.
   */
  hostPath(jailPath: string): string;
  /** Reads a regular file of the build (at most `maxBytes`, default 16 MiB), never through a symlink. */
  readFile(jailPath: string, maxBytes?: number): Buffer;
  /** Creates or replaces a regular file of the build (the manifest), never through a symlink. */
  writeFile(jailPath: string, data: string | Buffer): void;
  /** The build's region (the CodeBuild call's signing region). */
  region: string;
  /** The world store: images, snapshots and instances are registered in `world.region(region)`. */
  world: World;
  /** The running sandbox (its URL, stage, API region). */
  sandbox: SandboxInfo;
  build: PackerBuildInfo;
  /** One line of Packer's output (no newline): the shim prints it, so it lands in the build's log. */
  log(line: string): void;
  /** Aborted when the build is stopped (StopBuild, timeout, reset): terminate the build instance. */
  signal: AbortSignal;
}

/** Runs one Packer invocation; resolves to its exit code. B2's `runPacker` (sandbox/packer/index.ts). */
export type PackerRunner = (request: PackerRequest, ctx: PackerContext) => Promise<number>;

/** The folder the shim and the runner meet in (jail path), and its place in the build root. */
export const BRIDGE_JAIL_DIR = '/codebuild/.sandbox-bridge';
export const BRIDGE_DIR = 'codebuild/.sandbox-bridge';

/**
 * The build root's folders the jail shows read-write (everything else of / is read-only).
 * /codebuild itself is not one of them, so neither the bridge folder nor output can be replaced.
 */
export const BUILD_DIRS = ['codebuild/output', BRIDGE_DIR, 'tmp', 'usr/local/bin', 'root'] as const;

export const MAX_REQUEST_BYTES = 256 * 1024;
const MAX_READ = 16 * 1024 * 1024;

/** A request file's name: `<n>.request`. */
export const REQUEST_NAME = /^([1-9][0-9]{0,8})\.request$/;

const ENV_NAME = /^(?:PKR_VAR_[A-Za-z0-9_]{1,128}|PACKER_[A-Z0-9_]{1,64}|AWS_REGION)$/;

const requestSchema = z
  .object({
    args: z.array(z.string().max(4096)).max(256),
    cwd: z
      .string()
      .max(4096)
      .refine((cwd) => isJailPath(cwd), 'cwd must be an absolute path without ..'),
    env: z
      .record(z.string(), z.string().max(16 * 1024))
      .refine((env) => Object.keys(env).length <= 256, 'too many variables')
      .refine(
        (env) => Object.keys(env).every((name) => ENV_NAME.test(name)),
        'only PKR_VAR_*, PACKER_* and AWS_REGION may be passed',
      ),
  })
  .strict();

/** Parses a request file's text; throws with a reason the shim can print. */
export function parsePackerRequest(text: string): PackerRequest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error('the request is not JSON');
  }
  // Names are checked on the object as parsed, before anything copies it (`__proto__` included).
  const env = (json as { env?: unknown } | null)?.env;
  if (env !== null && typeof env === 'object' && Object.keys(env).some((name) => !ENV_NAME.test(name))) {
    throw new Error('the request is not valid: env: only PKR_VAR_*, PACKER_* and AWS_REGION may be passed');
  }
  const parsed = requestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `the request is not valid: ${issue?.path.join('.') || 'request'}: ${issue?.message ?? ''}`,
    );
  }
  // A prototype-free copy: names like __proto__ are refused by ENV_NAME already.
  return { args: parsed.data.args, cwd: parsed.data.cwd, env: { ...parsed.data.env } };
}

/** An absolute, normalised jail path with no `..` and no NUL. */
function isJailPath(path: string): boolean {
  return (
    isAbsolute(path) &&
    !path.includes('\0') &&
    posix.normalize(path) === path &&
    (path === '/' || !path.endsWith('/')) &&
    !path.split('/').includes('..')
  );
}

/** The build root's files as seen from the host, for jail paths inside BUILD_DIRS only. */
export class BuildFiles {
  /** The build root, symlinks resolved (what /proc/self/fd answers). */
  readonly root: string;

  constructor(buildRoot: string) {
    this.root = realpathSync(buildRoot);
  }

  /** The relative path of a jail path inside one of BUILD_DIRS, or an error. */
  private relative(jailPath: string): string {
    if (typeof jailPath !== 'string' || !isJailPath(jailPath)) {
      throw new Error(`not an absolute path inside the build: '${String(jailPath)}'`);
    }
    const rel = normalize(jailPath).replace(/^\/+/, '').replace(/\/+$/, '');
    if (!BUILD_DIRS.some((dir) => rel === dir || rel.startsWith(`${dir}/`))) {
      throw new Error(`'${jailPath}' is not in the build's own folders`);
    }
    return rel;
  }

  /** The host path, checked now: every existing component is a real folder or file, no symlink. */
  hostPath(jailPath: string): string {
    const rel = this.relative(jailPath);
    const host = `${this.root}/${rel}`;
    let resolved: string;
    try {
      resolved = realpathSync(host);
    } catch {
      // Not there (yet): its existing parent must resolve to itself.
      const parent = posix.dirname(host);
      let parentResolved: string;
      try {
        parentResolved = realpathSync(parent);
      } catch {
        throw new Error(`'${posix.dirname(jailPath)}' does not exist in the build`);
      }
      if (parentResolved !== parent) throw new Error(`'${jailPath}' goes through a symlink`);
      return host;
    }
    if (resolved !== host) throw new Error(`'${jailPath}' goes through a symlink`);
    return host;
  }

  /** What an open descriptor really is, on the host. */
  private static opened(fd: number): string {
    return readlinkSync(`/proc/self/fd/${fd}`);
  }

  readFile(jailPath: string, maxBytes = MAX_READ): Buffer {
    const host = `${this.root}/${this.relative(jailPath)}`;
    const fd = openSync(host, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      // Whatever the path led to, it must be exactly the file asked for (no symlink on the way).
      if (BuildFiles.opened(fd) !== host) throw new Error(`'${jailPath}' goes through a symlink`);
      const stat = fstatSync(fd);
      if (!stat.isFile()) throw new Error(`'${jailPath}' is not a regular file`);
      if (stat.size > maxBytes) throw new Error(`'${jailPath}' is larger than ${maxBytes} bytes`);
      const buffer = Buffer.alloc(stat.size);
      let offset = 0;
      while (offset < buffer.length) {
        const n = readSync(fd, buffer, offset, buffer.length - offset, offset);
        if (n === 0) break;
        offset += n;
      }
      return buffer.subarray(0, offset);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Creates `jailPath` afresh (whatever was there, a symlink included, is unlinked first) with
   * `data`, and returns its descriptor open for appending when `keepOpen`; the folder is opened
   * first and checked, then the file is made inside that very folder.
   */
  create(jailPath: string, data: string | Buffer, keepOpen = false): number | undefined {
    const host = `${this.root}/${this.relative(jailPath)}`;
    const parent = posix.dirname(host);
    const name = posix.basename(host);
    const dirFd = openSync(parent, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      if (BuildFiles.opened(dirFd) !== parent) throw new Error(`'${jailPath}' goes through a symlink`);
      const via = `/proc/self/fd/${dirFd}/${name}`;
      try {
        unlinkSync(via);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
      const fd = openSync(
        via,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | constants.O_APPEND,
        0o644,
      );
      try {
        const owner = jailOwner();
        if (owner) fchownSync(fd, owner.uid, owner.gid);
        if (data.length > 0) writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
      } catch (error) {
        closeSync(fd);
        throw error;
      }
      if (keepOpen) return fd;
      closeSync(fd);
      return undefined;
    } finally {
      closeSync(dirFd);
    }
  }

  writeFile(jailPath: string, data: string | Buffer): void {
    this.create(jailPath, data);
  }

  /** Writes `jailPath` whole or not at all: a new file under a temporary name, renamed over it. */
  replace(jailPath: string, data: string | Buffer): void {
    const host = `${this.root}/${this.relative(jailPath)}`;
    const temporary = `${jailPath}.tmp-${randomBytes(6).toString('hex')}`;
    this.create(temporary, data);
    const parent = posix.dirname(host);
    const dirFd = openSync(parent, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      if (BuildFiles.opened(dirFd) !== parent) throw new Error(`'${jailPath}' goes through a symlink`);
      // rename replaces the entry itself (a symlink planted there included), never its target.
      renameSync(
        `/proc/self/fd/${dirFd}/${posix.basename(temporary)}`,
        `/proc/self/fd/${dirFd}/${posix.basename(host)}`,
      );
    } finally {
      closeSync(dirFd);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The host side: watching the bridge folder of a running build and answering its requests.

export interface BridgeOptions {
  files: BuildFiles;
  /** Everything of the PackerContext but the per-request `log`. */
  context: Omit<PackerContext, 'log'>;
  /** The Packer stand-in (undefined: the sandbox has none). */
  runner: () => Promise<PackerRunner | undefined>;
  /** Schedules the next look at the folder (the world's timeline, so a reset ends it). */
  after: (ms: number, fn: () => void) => { cancel(): void };
}

export interface Bridge {
  /** Stops watching; resolves when every request taken has been answered. */
  close(): Promise<void>;
}

/** How often the folder is looked at (real milliseconds). */
export const BRIDGE_POLL_MS = 20;
/** Requests answered per build, and at once. */
const MAX_REQUESTS = 10_000;
const MAX_CONCURRENT_REQUESTS = 4;

/** Watches `<build root>/codebuild/.sandbox-bridge` and answers each `<n>.request` once. */
export function startBridge(options: BridgeOptions): Bridge {
  const { files } = options;
  const folder = `${files.root}/${BRIDGE_DIR}`;
  const seen = new Set<string>();
  const inflight = new Set<Promise<void>>();
  let closed = false;
  let timer: { cancel(): void } | undefined;

  const look = () => {
    timer = undefined;
    if (closed) return;
    let names: string[] = [];
    try {
      names = readdirSync(folder);
    } catch {
      // The folder is a mount point the build cannot replace; gone means the build is over.
    }
    for (const name of names) {
      const match = REQUEST_NAME.exec(name);
      if (!match?.[1] || seen.has(match[1])) continue;
      // A few at a time (a build runs one packer after another); the rest on a later look.
      if (seen.size >= MAX_REQUESTS || inflight.size >= MAX_CONCURRENT_REQUESTS) break;
      seen.add(match[1]);
      // After anything the build printed before asking has been read (pipes are read in the
      // poll phase, before setImmediate's), so Packer's first line follows it in the log.
      const task = new Promise<void>((resolve) => setImmediate(resolve)).then(() =>
        answer(match[1] as string),
      );
      inflight.add(task);
      void task.finally(() => inflight.delete(task));
    }
    timer = options.after(BRIDGE_POLL_MS, look);
  };

  const answer = async (n: string): Promise<void> => {
    const base = `${BRIDGE_JAIL_DIR}/${n}`;
    let out: number | undefined;
    try {
      out = files.create(`${base}.out`, '', true);
    } catch {
      return; // The build broke its own bridge: the shim waits until the build ends.
    }
    const log = (line: string) => {
      if (out === undefined) return;
      try {
        writeSync(out, `${line}\n`);
      } catch {
        // A full disk or a closed file: the line is lost, the run goes on.
      }
    };
    let code = 1;
    try {
      const request = parsePackerRequest(
        files.readFile(`${base}.request`, MAX_REQUEST_BYTES).toString('utf8'),
      );
      files.hostPath(request.cwd);
      const runner = await options.runner();
      if (!runner) {
        log('packer (pulsar-ami sandbox): this sandbox has no Packer stand-in (sandbox/packer)');
      } else if (options.context.signal.aborted) {
        log('packer (pulsar-ami sandbox): the build has been stopped');
      } else {
        const result = await runner(request, { ...options.context, log });
        code = Number.isInteger(result) && result >= 0 && result <= 255 ? result : 1;
      }
    } catch (error) {
      log(`packer (pulsar-ami sandbox): ${(error as Error).message}`);
      code = 1;
    } finally {
      if (out !== undefined) closeSync(out);
      try {
        files.replace(`${base}.exit`, `${code}\n`);
      } catch {
        // As above: the build broke its own bridge.
      }
    }
  };

  timer = options.after(0, look);
  return {
    close: async () => {
      closed = true;
      timer?.cancel();
      await Promise.allSettled([...inflight]);
    },
  };
}
