/**
 * Build roots: one fresh folder per build under one temporary folder
 * (`$TMPDIR/pulsar-ami-sandbox-builds-*`), laid out as the build's jail shows it (BUILD_DIRS):
 *
 *   codebuild/output/src/   → /codebuild/output/src  (a copy of the repository's packer/ and buildspec/)
 *   codebuild/output/tmp/   → /codebuild/output/tmp  (the agent's folder: env.sh, the driver script)
 *   codebuild/.sandbox-bridge/ → the packer bridge (bridge.ts)
 *   tmp/ usr/local/bin/ root/
 *
 * The copy takes regular files and folders only: a symlink in the repository is left out (and
 * named in the build's log), so nothing outside packer/ and buildspec/ ever reaches a build.
 * Removed when the build ends, and all of them on reset and close.
 */
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { chownTree, isInside, makeJailBase } from '../instance-root';
import { jailOwner } from '../ssm/executor';
import { BUILD_DIRS } from './bridge';

/** What of the repository a build gets. */
export const SOURCE_FOLDERS = ['packer', 'buildspec'] as const;

const MAX_SOURCE_FILES = 20_000;
const MAX_SOURCE_BYTES = 256 * 1024 * 1024;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface CopyReport {
  files: number;
  bytes: number;
  /** Repository paths left out (symlinks, sockets, …). */
  skipped: string[];
}

export class BuildRoots {
  private base: string | undefined;

  private folder(): string {
    if (this.base !== undefined && !existsSync(this.base)) this.base = undefined;
    this.base ??= makeJailBase('pulsar-ami-sandbox-builds-');
    return this.base;
  }

  /** The folder every build root is in, once there is one. */
  get path(): string | undefined {
    return this.base;
  }

  /** The empty directory each build's jail is built on (in its own mount namespace). */
  mountPoint(): string {
    return join(this.folder(), '.mnt');
  }

  /**
   * Makes the root of build `uuid` with the repository's packer/ and buildspec/ from
   * `sourceRoot` copied into codebuild/output/src; answers the root and what was copied.
   */
  create(uuid: string, sourceRoot: string): { root: string; copied: CopyReport } {
    if (!UUID.test(uuid)) throw new Error(`not a build uuid: '${uuid}'`);
    const base = this.folder();
    const root = join(base, uuid);
    mkdirSync(root, { mode: 0o755 });
    for (const dir of [...BUILD_DIRS, 'codebuild/output/src', 'codebuild/output/tmp']) {
      mkdirSync(join(root, dir), { recursive: true, mode: 0o755 });
    }
    chmodSync(join(root, 'tmp'), 0o1777);
    chmodSync(join(root, 'root'), 0o700);
    const copied: CopyReport = { files: 0, bytes: 0, skipped: [] };
    for (const folder of SOURCE_FOLDERS) {
      const from = join(sourceRoot, folder);
      if (!existsSync(from)) continue;
      copyTree(sourceRoot, from, join(root, 'codebuild/output/src', folder), copied);
    }
    const owner = jailOwner();
    if (owner) {
      chownTree(root, owner.uid, owner.gid);
      chmodSync(root, 0o700);
    }
    return { root, copied };
  }

  /** Removes one build's root in the background. */
  remove(root: string): void {
    if (this.base === undefined || root === this.base || !isInside(this.base, root)) return;
    void rm(root, { recursive: true, force: true }).catch(() => undefined);
  }

  /** Removes every root (reset, close). */
  clear(): void {
    if (this.base) rmSync(this.base, { recursive: true, force: true });
    this.base = undefined;
  }
}

/** Copies folders and regular files (their permission bits), never through a symlink. */
function copyTree(sourceRoot: string, from: string, to: string, report: CopyReport): void {
  const stat = lstatSync(from);
  if (!stat.isDirectory()) {
    report.skipped.push(relative(sourceRoot, from));
    return;
  }
  mkdirSync(to, { recursive: true, mode: 0o755 });
  for (const entry of readdirSync(from).sort()) {
    const source = join(from, entry);
    const target = join(to, entry);
    const entryStat = lstatSync(source);
    if (entryStat.isDirectory()) {
      copyTree(sourceRoot, source, target, report);
    } else if (entryStat.isFile()) {
      report.files += 1;
      report.bytes += entryStat.size;
      if (report.files > MAX_SOURCE_FILES || report.bytes > MAX_SOURCE_BYTES) {
        throw new Error(`the source is larger than ${MAX_SOURCE_FILES} files or ${MAX_SOURCE_BYTES} bytes`);
      }
      // COPYFILE_EXCL: the target is new; the source was checked to be a regular file.
      copyFileSync(source, target, 1);
      chmodSync(target, entryStat.mode & 0o755);
    } else {
      report.skipped.push(relative(sourceRoot, source));
    }
  }
}
