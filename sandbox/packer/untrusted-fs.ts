/**
 * Reading and writing a folder tree that a jail controls (a build's root, an instance's root)
 * from the sandbox's side without ever touching anything outside it. A jail can plant symlinks
 * (`packer/scripts -> /etc`), FIFOs and races; so every path is walked one name at a time
 * through open directory descriptors (`/proc/self/fd/N/<name>`, Linux's openat), each name
 * opened with O_NOFOLLOW, and a symlink is resolved the way the jail would see it, inside the
 * root (an absolute target starts again at the root, `..` stops at it). Files are opened
 * non-blocking and must be regular files; sizes are bounded.
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  rmSync,
  symlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

// libuv opens every descriptor close-on-exec.
const { O_RDONLY, O_WRONLY, O_CREAT, O_TRUNC, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = constants;
const DIR_FLAGS = O_RDONLY | O_DIRECTORY | O_NOFOLLOW;
const FILE_FLAGS = O_RDONLY | O_NOFOLLOW | O_NONBLOCK;
const MAX_LINKS = 40;

/** The path of `name` inside the directory open as `fd`. */
const at = (fd: number, name: string): string => `/proc/self/fd/${fd}/${name}`;

/** A path a jail named could not be used; the message says why, in the jail's terms. */
export class UntrustedPathError extends Error {
  constructor(
    message: string,
    readonly code: 'ENOENT' | 'ENOTDIR' | 'EISDIR' | 'ELOOP' | 'EINVAL' | 'EFBIG',
  ) {
    super(message);
    this.name = 'UntrustedPathError';
  }
}

function errnoOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

function segments(path: string): string[] {
  return path.split('/').filter((s) => s !== '' && s !== '.');
}

/** The directories from the root down to where a walk stands; the first is the root. */
class Walk {
  private readonly stack: number[];

  constructor(root: string) {
    this.stack = [openSync(root, DIR_FLAGS)];
  }

  get fd(): number {
    return this.stack[this.stack.length - 1] as number;
  }

  up(): void {
    if (this.stack.length > 1) closeSync(this.stack.pop() as number);
  }

  toRoot(): void {
    while (this.stack.length > 1) closeSync(this.stack.pop() as number);
  }

  enter(fd: number): void {
    this.stack.push(fd);
  }

  close(): void {
    for (const fd of this.stack.splice(0)) closeSync(fd);
  }
}

interface Resolved {
  walk: Walk;
  /** The last name, in the directory `walk.fd`; null when the path is the root itself. */
  name: string | null;
}

/**
 * Walks every name of `path` but the last (following symlinks inside the root), and the last
 * too when `followLast` and it is a symlink. The caller closes `walk`.
 */
function resolve(root: string, path: string, followLast: boolean): Resolved {
  const walk = new Walk(root);
  try {
    const parts = segments(path);
    let links = 0;
    while (parts.length > 0) {
      const name = parts.shift() as string;
      if (name === '..') {
        walk.up();
        continue;
      }
      const last = parts.length === 0;
      let stat: ReturnType<typeof lstatSync>;
      try {
        stat = lstatSync(at(walk.fd, name));
      } catch (error) {
        if (last && errnoOf(error) === 'ENOENT') return { walk, name };
        throw new UntrustedPathError(`${path}: no such file or directory`, 'ENOENT');
      }
      if (stat.isSymbolicLink() && (!last || followLast)) {
        links += 1;
        if (links > MAX_LINKS)
          throw new UntrustedPathError(`${path}: too many levels of symbolic links`, 'ELOOP');
        const target = readlinkSync(at(walk.fd, name));
        if (target.startsWith('/')) walk.toRoot();
        parts.unshift(...segments(target));
        continue;
      }
      if (last) return { walk, name };
      if (!stat.isDirectory()) throw new UntrustedPathError(`${path}: not a directory`, 'ENOTDIR');
      let fd: number;
      try {
        fd = openSync(at(walk.fd, name), DIR_FLAGS);
      } catch (error) {
        // Changed under us into a symlink (ELOOP) or something else: look again.
        if (errnoOf(error) === 'ELOOP' || errnoOf(error) === 'ENOTDIR') {
          parts.unshift(name);
          links += 1;
          if (links > MAX_LINKS) throw new UntrustedPathError(`${path}: changed while being read`, 'ELOOP');
          continue;
        }
        throw error;
      }
      walk.enter(fd);
    }
    return { walk, name: null };
  } catch (error) {
    walk.close();
    throw error;
  }
}

export type EntryType = 'file' | 'dir' | 'symlink' | 'other' | 'missing';

/** What `path` is inside `root` (symlinks followed inside the root). */
export function typeIn(root: string, path: string): EntryType {
  let resolved: Resolved;
  try {
    resolved = resolve(root, path, true);
  } catch (error) {
    if (error instanceof UntrustedPathError) return 'missing';
    throw error;
  }
  const { walk, name } = resolved;
  try {
    if (name === null) return 'dir';
    const stat = lstatSync(at(walk.fd, name));
    return stat.isFile() ? 'file' : stat.isDirectory() ? 'dir' : stat.isSymbolicLink() ? 'symlink' : 'other';
  } catch {
    return 'missing';
  } finally {
    walk.close();
  }
}

function readFd(fd: number, path: string, maxBytes: number): Buffer {
  const stat = fstatSync(fd);
  if (!stat.isFile()) throw new UntrustedPathError(`${path}: not a regular file`, 'EINVAL');
  if (stat.size > maxBytes) throw new UntrustedPathError(`${path}: larger than ${maxBytes} bytes`, 'EFBIG');
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.alloc(Math.min(1 << 20, maxBytes + 1 - total) || 1);
    const n = readSync(fd, chunk, 0, chunk.length, null);
    if (n === 0) break;
    total += n;
    if (total > maxBytes) throw new UntrustedPathError(`${path}: larger than ${maxBytes} bytes`, 'EFBIG');
    chunks.push(chunk.subarray(0, n));
  }
  return Buffer.concat(chunks);
}

function openFileAt(dirFd: number, name: string, path: string): number {
  try {
    return openSync(at(dirFd, name), FILE_FLAGS);
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'ENOENT') throw new UntrustedPathError(`${path}: no such file or directory`, 'ENOENT');
    if (code === 'ELOOP') throw new UntrustedPathError(`${path}: changed while being read`, 'ELOOP');
    if (code === 'EISDIR') throw new UntrustedPathError(`${path}: is a directory`, 'EISDIR');
    throw error;
  }
}

/** The content of the regular file `path` inside `root` (at most `maxBytes`). */
export function readFileIn(root: string, path: string, maxBytes = 16 << 20): Buffer {
  const { walk, name } = resolve(root, path, true);
  try {
    if (name === null) throw new UntrustedPathError(`${path}: is a directory`, 'EISDIR');
    const fd = openFileAt(walk.fd, name, path);
    try {
      return readFd(fd, path, maxBytes);
    } finally {
      closeSync(fd);
    }
  } finally {
    walk.close();
  }
}

/** The names in the directory `path` inside `root`, sorted. */
export function listIn(root: string, path: string): string[] {
  const { walk, name } = resolve(root, path, true);
  try {
    if (name === null) return readdirSync(at(walk.fd, '.')).sort();
    let fd: number;
    try {
      fd = openSync(at(walk.fd, name), DIR_FLAGS);
    } catch (error) {
      if (errnoOf(error) === 'ENOENT')
        throw new UntrustedPathError(`${path}: no such file or directory`, 'ENOENT');
      throw new UntrustedPathError(`${path}: not a directory`, 'ENOTDIR');
    }
    try {
      return readdirSync(at(fd, '.')).sort();
    } finally {
      closeSync(fd);
    }
  } finally {
    walk.close();
  }
}

/**
 * Writes `data` to the file `path` inside `root`: its folder must exist; an existing file is
 * replaced, a symlink or anything but a regular file there is refused. Owned by `owner` when given.
 */
export function writeFileIn(
  root: string,
  path: string,
  data: Buffer | string,
  owner?: { uid: number; gid: number },
): void {
  const { walk, name } = resolve(root, path, false);
  try {
    if (name === null) throw new UntrustedPathError(`${path}: is a directory`, 'EISDIR');
    let fd: number;
    try {
      fd = openSync(at(walk.fd, name), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK, 0o644);
    } catch (error) {
      const code = errnoOf(error);
      if (code === 'ELOOP') throw new UntrustedPathError(`${path}: is a symbolic link`, 'ELOOP');
      if (code === 'EISDIR') throw new UntrustedPathError(`${path}: is a directory`, 'EISDIR');
      if (code === 'ENXIO' || code === 'ENOENT') {
        throw new UntrustedPathError(`${path}: cannot be written`, 'EINVAL');
      }
      throw error;
    }
    try {
      if (!fstatSync(fd).isFile()) throw new UntrustedPathError(`${path}: not a regular file`, 'EINVAL');
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
      if (owner) fchownSync(fd, owner.uid, owner.gid);
    } finally {
      closeSync(fd);
    }
  } finally {
    walk.close();
  }
}

/** One entry of a tree read from a jail's folder. */
export interface TreeEntry {
  /** Relative path, `/`-separated. */
  path: string;
  type: 'dir' | 'file';
  mode: number;
  content?: Buffer;
}

export interface TreeLimits {
  maxFiles: number;
  maxBytes: number;
}

/**
 * Every folder and regular file under `path` inside `root` (the path itself may be a file),
 * depth first. A symlink or special file in the tree is refused: an upload copies files.
 */
export function readTreeIn(root: string, path: string, limits: TreeLimits): TreeEntry[] {
  const { walk, name } = resolve(root, path, true);
  const entries: TreeEntry[] = [];
  let bytes = 0;
  const visit = (dirFd: number, entry: string, relative: string, depth: number): void => {
    if (entries.length >= limits.maxFiles) {
      throw new UntrustedPathError(`${path}: more than ${limits.maxFiles} files`, 'EFBIG');
    }
    if (depth > 64) throw new UntrustedPathError(`${path}: nested too deeply`, 'EINVAL');
    const stat = lstatSync(at(dirFd, entry));
    const shown = relative === '' ? path : `${path}/${relative}`;
    if (stat.isDirectory()) {
      const fd = openSync(at(dirFd, entry), DIR_FLAGS);
      try {
        entries.push({ path: relative, type: 'dir', mode: stat.mode & 0o777 });
        for (const child of readdirSync(at(fd, '.')).sort()) {
          visit(fd, child, relative === '' ? child : `${relative}/${child}`, depth + 1);
        }
      } finally {
        closeSync(fd);
      }
      return;
    }
    if (!stat.isFile()) {
      throw new UntrustedPathError(
        `${shown}: not a regular file or folder (symbolic links are not uploaded)`,
        'EINVAL',
      );
    }
    const fd = openFileAt(dirFd, entry, shown);
    try {
      const content = readFd(fd, shown, limits.maxBytes - bytes);
      bytes += content.length;
      entries.push({ path: relative, type: 'file', mode: stat.mode & 0o777, content });
    } finally {
      closeSync(fd);
    }
  };
  try {
    if (name === null) {
      entries.push({ path: '', type: 'dir', mode: 0o755 });
      for (const child of readdirSync(at(walk.fd, '.')).sort()) visit(walk.fd, child, child, 1);
    } else {
      try {
        lstatSync(at(walk.fd, name));
      } catch {
        throw new UntrustedPathError(`${path}: no such file or directory`, 'ENOENT');
      }
      visit(walk.fd, name, '', 0);
    }
    return entries;
  } finally {
    walk.close();
  }
}

/**
 * Copies the tree of `root` into `dest` (a new folder the sandbox alone writes): folders,
 * regular files (permission bits only: no set-id bit survives) and symlinks as they are (never
 * followed); anything else is left out, as are the top-level folders in `skip`.
 */
export function copyTreeOut(
  root: string,
  dest: string,
  options: { skip?: readonly string[]; limits: TreeLimits },
): void {
  const skip = new Set(options.skip ?? []);
  let files = 0;
  let bytes = 0;
  const copyDir = (dirFd: number, to: string, depth: number, top: boolean): void => {
    if (depth > 128) throw new UntrustedPathError('the tree is nested too deeply', 'EINVAL');
    for (const name of readdirSync(at(dirFd, '.')).sort()) {
      if (top && skip.has(name)) continue;
      files += 1;
      if (files > options.limits.maxFiles) {
        throw new UntrustedPathError(`more than ${options.limits.maxFiles} files`, 'EFBIG');
      }
      let stat: ReturnType<typeof lstatSync>;
      try {
        stat = lstatSync(at(dirFd, name));
      } catch {
        continue;
      }
      const target = join(to, name);
      if (stat.isSymbolicLink()) {
        symlinkSync(readlinkSync(at(dirFd, name)), target);
      } else if (stat.isDirectory()) {
        let fd: number;
        try {
          fd = openSync(at(dirFd, name), DIR_FLAGS);
        } catch {
          continue;
        }
        try {
          mkdirSync(target, { mode: 0o700 });
          copyDir(fd, target, depth + 1, false);
        } finally {
          closeSync(fd);
        }
        setMode(target, stat.mode & 0o1777);
      } else if (stat.isFile()) {
        let fd: number;
        try {
          fd = openSync(at(dirFd, name), FILE_FLAGS);
        } catch {
          continue;
        }
        try {
          const content = readFd(fd, name, options.limits.maxBytes - bytes);
          bytes += content.length;
          const out = openSync(target, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0o600);
          try {
            let written = 0;
            while (written < content.length)
              written += writeSync(out, content, written, content.length - written);
          } finally {
            closeSync(out);
          }
          setMode(target, stat.mode & 0o777);
        } finally {
          closeSync(fd);
        }
      }
    }
  };
  const rootFd = openSync(root, DIR_FLAGS);
  try {
    mkdirSync(dest, { recursive: true, mode: 0o700 });
    copyDir(rootFd, dest, 0, true);
  } finally {
    closeSync(rootFd);
  }
}

/** chmod through a descriptor of `path` (one this process just made), never through a symlink. */
function setMode(path: string, mode: number): void {
  const fd = openSync(path, O_RDONLY | O_NOFOLLOW);
  try {
    fchmodSync(fd, mode);
  } finally {
    closeSync(fd);
  }
}

/** Removes `path` inside `root` (a folder with everything in it), if it is there. */
export function removeIn(root: string, path: string): void {
  let resolved: Resolved;
  try {
    resolved = resolve(root, path, false);
  } catch (error) {
    if (error instanceof UntrustedPathError) return;
    throw error;
  }
  const { walk, name } = resolved;
  try {
    if (name !== null) rmSync(at(walk.fd, name), { recursive: true, force: true });
  } finally {
    walk.close();
  }
}

/** The names matching `prefix*suffix` in the folder `path` inside `root` (none when it is missing). */
export function matchIn(root: string, path: string, prefix: string, suffix: string): string[] {
  try {
    return listIn(root, path).filter(
      (n) => n.startsWith(prefix) && n.endsWith(suffix) && n.length >= prefix.length + suffix.length,
    );
  } catch (error) {
    if (error instanceof UntrustedPathError) return [];
    throw error;
  }
}

/**
 * `mkdir -p` of `path` inside `root`: each missing folder is made (owned by `owner` when given),
 * an existing symlink is followed inside the root as a jail would, anything else in the way fails.
 */
export function mkdirIn(root: string, path: string, owner?: { uid: number; gid: number }): void {
  const parts = segments(path);
  for (let i = 1; i <= parts.length; i++) {
    const prefix = `/${parts.slice(0, i).join('/')}`;
    const type = typeIn(root, prefix);
    if (type === 'dir') continue;
    if (type !== 'missing') throw new UntrustedPathError(`${prefix}: not a directory`, 'ENOTDIR');
    const { walk, name } = resolve(root, prefix, false);
    try {
      if (name === null) continue;
      mkdirSync(at(walk.fd, name), { mode: 0o755 });
      if (owner) {
        const fd = openSync(at(walk.fd, name), DIR_FLAGS);
        try {
          fchownSync(fd, owner.uid, owner.gid);
        } finally {
          closeSync(fd);
        }
      }
    } finally {
      walk.close();
    }
  }
}
