/**
 * Instance filesystems. Each image says what it holds (`ImageContents`); each instance gets its
 * own root directory under one temporary folder, materialised from its image at launch, and
 * removed with the sandbox (reset or close). A healthy Pulsar image holds everything
 * packer/checks/run-checks.sh looks for; other images have an empty /opt and no java.
 *
 * Layout of a root (each folder is what Run Command sees at the same path; see ssm/executor.ts):
 *   opt/                → /opt            (pulsar, pulsar-templates, openmessaging-benchmark)
 *   usr/local/bin/      → /usr/local/bin  (java: a stand-in that answers like Corretto)
 *   tmp/, var/tmp/      → /tmp, /var/tmp
 *   var/lib/amazon/ssm/ → /var/lib/amazon/ssm (the agent's orchestration folders, made inside)
 *
 * Every path written here is built from checked names and verified to stay inside its root; an
 * image whose Pulsar version is not MAJOR.MINOR.PATCH installs no versioned broker jar.
 *
 * A built image (`kind: 'built'`, registered by the Packer stand-in) holds exactly the files its
 * build instance's root had: they are kept in the image store (`<temp>/.images/<ami>/`, the
 * sandbox's alone) and each instance launched from it gets a copy. Symlinks are copied as they
 * are and never followed on the sandbox's side; the `imageMissing` fault removes a component's
 * path as the instance would resolve it (see packer/untrusted-fs.ts).
 */
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { AMI_ID_PATTERN, INSTANCE_ID_PATTERN, VERSION_PATTERN } from '../functions/lib/validation';
import { copyTreeOut, matchIn, removeIn, type TreeLimits } from './packer/untrusted-fs';
import { INSTANCE_DIRS, jailOwner } from './ssm/executor';

export const IMAGE_COMPONENTS = [
  'pulsar-dir',
  'pulsar-binaries',
  'pulsar-version',
  'systemd-templates',
  'java',
  'openmessaging-benchmark',
] as const;

export type ImageComponent = (typeof IMAGE_COMPONENTS)[number];

export interface ImageContents {
  /**
   * A Pulsar image as the seed makes it (the pulsar-base template's output), anything else
   * (empty /opt, no java), or an image built in the sandbox (its files, from the image store).
   */
  kind: 'pulsar' | 'plain' | 'built';
  /** `built`: the image store folder with the image's files (a root's layout, without tmp). */
  files?: string;
  /** The installed Pulsar (broker jar name); default the image's version. */
  pulsarVersion?: string;
  /** Java's major version (17 = Corretto 17); 0 = no java. */
  javaMajor: number;
  /** Components left out of an otherwise healthy Pulsar image. */
  missing: ImageComponent[];
}

export const CORRETTO_17 = '17.0.13';

function javaVersionString(major: number): string {
  if (major === 17) return CORRETTO_17;
  if (major === 8) return '1.8.0_432';
  return `${major}.0.5`;
}

/** The `java` an image with Corretto `major` has: a script answering -version like that JVM. */
export function correttoStandIn(major: number): string {
  const version = javaVersionString(major);
  const build = `${version.replace('1.8.0_', '8.')}.11.1`;
  return [
    '#!/bin/sh',
    '# Amazon Corretto stand-in (pulsar-ami sandbox): answers -version like the real JVM.',
    'fd=2',
    '[ "$#" -gt 0 ] && [ "$1" = "--version" ] && fd=1',
    '{',
    `  echo 'openjdk version "${version}" 2024-10-15 LTS'`,
    `  echo 'OpenJDK Runtime Environment Corretto-${build} (build ${version}+11-LTS)'`,
    `  echo 'OpenJDK 64-Bit Server VM Corretto-${build} (build ${version}+11-LTS, mixed mode, sharing)'`,
    '} >&"$fd"',
    '',
  ].join('\n');
}

/** chown -R, never following a symlink (a fresh root has none; lchown is used all the same). */
export function chownTree(path: string, uid: number, gid: number): void {
  const stat = lstatSync(path);
  if (stat.isDirectory()) {
    for (const entry of readdirSync(path)) chownTree(join(path, entry), uid, gid);
  }
  if (!stat.isSymbolicLink()) chownSync(path, uid, gid);
}

/** `path` is `root` or below it, after resolving `..` (no symlinks exist in a fresh root). */
export function isInside(root: string, path: string): boolean {
  const rel = relative(resolve(root), resolve(path));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

function checkedInside(root: string, path: string): string {
  if (!isInside(root, path)) throw new Error(`refusing to write outside the instance root: ${path}`);
  return path;
}

function executable(root: string, path: string, body: string): void {
  writeFileSync(checkedInside(root, path), body);
  chmodSync(path, 0o755);
}

/** What a component is on disk, as an instance sees it (for the `imageMissing` fault on built images). */
function removeComponent(root: string, component: ImageComponent): void {
  switch (component) {
    case 'pulsar-dir':
      removeIn(root, '/opt/pulsar');
      return;
    case 'pulsar-binaries':
      removeIn(root, '/opt/pulsar/bin/pulsar');
      removeIn(root, '/opt/pulsar/bin/bookkeeper');
      return;
    case 'pulsar-version':
      removeIn(root, '/opt/pulsar/VERSION');
      for (const jar of matchIn(root, '/opt/pulsar/lib', 'org.apache.pulsar-pulsar-broker-', '.jar')) {
        removeIn(root, `/opt/pulsar/lib/${jar}`);
      }
      return;
    case 'systemd-templates':
      removeIn(root, '/opt/pulsar-templates/systemd');
      return;
    case 'java':
      removeIn(root, '/usr/local/bin/java');
      return;
    case 'openmessaging-benchmark':
      removeIn(root, '/opt/openmessaging-benchmark');
      return;
  }
}

/** Bounds of a built image (the sandbox's disk is the host's). */
export const IMAGE_LIMITS: TreeLimits = { maxFiles: 200_000, maxBytes: 2 * 1024 ** 3 };

/** A built image's files into `root` (an empty directory), then the fault's missing components. */
function materialiseBuilt(root: string, contents: ImageContents): void {
  if (!contents.files || !existsSync(contents.files)) {
    throw new Error(`the files of this built image are gone (${contents.files ?? 'none'})`);
  }
  copyTreeOut(contents.files, root, { limits: IMAGE_LIMITS });
  for (const dir of INSTANCE_DIRS) {
    const path = join(root, dir);
    // A folder the image has as something else (a symlink) is replaced: the jail mounts each.
    const stat = lstatSync(path, { throwIfNoEntry: false });
    if (stat && !stat.isDirectory()) rmSync(path, { force: true });
    mkdirSync(path, { recursive: true });
  }
  chmodSync(join(root, 'tmp'), 0o1777);
  for (const component of contents.missing) removeComponent(root, component);
}

/** Writes an image's files into `root` (an empty directory). */
export function materialise(root: string, contents: ImageContents, version: string | undefined): void {
  if (contents.kind === 'built') {
    materialiseBuilt(root, contents);
    return;
  }
  const opt = join(root, 'opt');
  const localBin = join(root, 'usr/local/bin');
  for (const dir of INSTANCE_DIRS) mkdirSync(join(root, dir), { recursive: true });
  chmodSync(join(root, 'tmp'), 0o1777);
  chmodSync(join(root, 'var/tmp'), 0o1777);
  const missing = new Set(contents.missing);
  if (contents.kind === 'pulsar') {
    const declared = contents.pulsarVersion ?? version ?? '0.0.0';
    // Names written below come from here: anything but MAJOR.MINOR.PATCH installs no versioned jar.
    const pulsarVersion = VERSION_PATTERN.test(declared) ? declared : undefined;
    if (!missing.has('pulsar-dir')) {
      const home = join(opt, 'pulsar');
      mkdirSync(join(home, 'bin'), { recursive: true });
      mkdirSync(join(home, 'lib'), { recursive: true });
      mkdirSync(join(home, 'conf'), { recursive: true });
      if (!missing.has('pulsar-binaries')) {
        for (const bin of ['pulsar', 'bookkeeper', 'pulsar-admin', 'pulsar-client']) {
          executable(
            root,
            join(home, 'bin', bin),
            `#!/bin/sh\necho "Apache Pulsar ${pulsarVersion ?? ''} (${bin})"\n`,
          );
        }
      }
      if (!missing.has('pulsar-version') && pulsarVersion !== undefined) {
        const jar = join(home, 'lib', `org.apache.pulsar-pulsar-broker-${pulsarVersion}.jar`);
        writeFileSync(checkedInside(root, jar), '');
      }
      writeFileSync(join(home, 'conf', 'broker.conf'), 'clusterName=pulsar-cluster\n');
    }
    if (!missing.has('systemd-templates')) {
      const templates = join(opt, 'pulsar-templates/systemd');
      mkdirSync(templates, { recursive: true });
      for (const unit of ['zookeeper', 'bookkeeper', 'broker']) {
        writeFileSync(
          join(templates, `${unit}.service.tpl`),
          `[Unit]\nDescription=Apache Pulsar ${unit}\n\n[Service]\nExecStart=/opt/pulsar/bin/pulsar ${unit}\n`,
        );
      }
    }
    if (!missing.has('openmessaging-benchmark')) {
      const omb = join(opt, 'openmessaging-benchmark/bin');
      mkdirSync(omb, { recursive: true });
      executable(root, join(omb, 'benchmark'), '#!/bin/sh\necho "OpenMessaging Benchmark"\n');
    }
  }
  if (contents.javaMajor > 0 && !missing.has('java')) {
    executable(root, join(localBin, 'java'), correttoStandIn(contents.javaMajor));
  }
}

/**
 * A new temporary folder for jail roots (`$TMPDIR/<prefix>…`) with the empty `.mnt` each run's
 * private root is built on. Under a root sandbox the jail user may pass through (not list) it
 * to reach its own root, and owns `.mnt`.
 */
export function makeJailBase(prefix: string): string {
  const base = mkdtempSync(join(tmpdir(), prefix));
  const mnt = join(base, '.mnt');
  mkdirSync(mnt, { mode: 0o700 });
  const owner = jailOwner();
  if (owner) {
    chmodSync(base, 0o711);
    chownSync(mnt, owner.uid, owner.gid);
  }
  return base;
}

/**
 * The temporary folder that holds every instance's root, created on first use, and one empty
 * directory (`.mnt`) that each command's private root is built on, in its own mount namespace.
 */
export class InstanceRoots {
  private base: string | undefined;

  private folder(): string {
    // Recreated when something removed it (a temp cleaner), rather than failing every launch.
    if (this.base !== undefined && !existsSync(this.base)) this.base = undefined;
    this.base ??= makeJailBase('pulsar-ami-sandbox-');
    return this.base;
  }

  /** Creates and fills the root of one instance; returns its path. */
  create(instanceId: string, contents: ImageContents, version: string | undefined): string {
    if (!INSTANCE_ID_PATTERN.test(instanceId)) throw new Error(`not an instance id: '${instanceId}'`);
    const base = this.folder();
    const root = checkedInside(base, join(base, instanceId));
    mkdirSync(root, { mode: 0o755 });
    materialise(root, contents, version);
    const owner = jailOwner();
    if (owner) {
      // The instance's files are its root's (the jail user's), and no one else may enter them.
      chownTree(root, owner.uid, owner.gid);
      chmodSync(root, 0o700);
    }
    return root;
  }

  /** The empty directory a command's own root is mounted on (see ssm/executor.ts). */
  mountPoint(): string {
    return join(this.folder(), '.mnt');
  }

  /**
   * A folder of the sandbox's own in the temporary folder (`.artifacts`, `.images`), created on
   * first use with `mode`, removed with everything else.
   */
  folderFor(name: '.artifacts' | '.images', mode: number): string {
    const path = join(this.folder(), name);
    if (!existsSync(path)) mkdirSync(path, { mode });
    chmodSync(path, mode);
    return path;
  }

  /**
   * Keeps the files of an instance's root as a built image's (all but /tmp, which Amazon Linux
   * 2023 mounts as a tmpfs), in the image store; answers the folder for `ImageContents.files`.
   */
  saveImage(imageId: string, fromRoot: string): string {
    if (!AMI_ID_PATTERN.test(imageId)) throw new Error(`not an image id: '${imageId}'`);
    const store = this.folderFor('.images', 0o700);
    const files = checkedInside(store, join(store, imageId));
    try {
      copyTreeOut(fromRoot, files, { skip: ['tmp'], limits: IMAGE_LIMITS });
      mkdirSync(join(files, 'tmp'), { mode: 0o1777 });
    } catch (error) {
      rmSync(files, { recursive: true, force: true });
      throw error;
    }
    return files;
  }

  /** Removes a built image's files from the image store (its image is gone). */
  removeImage(files: string): void {
    if (this.base === undefined) return;
    const store = join(this.base, '.images');
    if (files === store || !isInside(store, files)) return;
    void rm(files, { recursive: true, force: true }).catch(() => undefined);
  }

  /** Removes one instance's root in the background (a large tree must not stall the sandbox). */
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
