/**
 * The artifact store: the downloads a build makes, served from the sandbox's own temporary
 * folder (generated at first use, removed with it on reset and close) and laid out
 * `<host>/<path>` as the URLs name them:
 *
 *   archive.apache.org/dist/pulsar/pulsar-V/apache-pulsar-V-bin.tar.gz (+ .sha512)
 *   github.com/openmessaging/benchmark/archive/<commit>.tar.gz
 *   releases.hashicorp.com/packer/PV/packer_PV_linux_{amd64,arm64}.zip + packer_PV_SHA256SUMS
 *   s3.amazonaws.com/session-manager-downloads/plugin/SV/linux_{64bit,arm64}/session-manager-plugin.rpm
 *
 * (hosts and bases as the project's template and buildspec name them, see pins.ts). A jail sees
 * the files read-only at /sandbox/artifacts and the stand-in tools (curl, dnf, yum, sudo,
 * systemctl; bin/*.sh here) read-only at /sandbox/bin; the sandbox serves the same files at
 * `GET /_sandbox/artifacts/<host>/<path>` (http.ts). Only files this store made are ever
 * served: a path is looked up, never resolved on disk.
 *
 * The `tamperedArchive` fault (all versions, or some) makes a version's tarball other bytes
 * than its `.sha512` names: the files on disk follow the fault whenever the store is used.
 */
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VERSION_PATTERN } from '../../functions/lib/validation';
import type { Faults } from '../faults';
import { correttoStandIn } from '../instance-root';
import type { ReadOnlyMount } from '../ssm/executor';
import {
  type ChecksumFormat,
  ombSourceArchive,
  packerZip,
  pulsarTarball,
  sessionManagerPackage,
  sha256Sums,
  sha512File,
} from './content';
import { type Pins, readPins } from './pins';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN_SOURCES = fileURLToPath(new URL('./bin/', import.meta.url));

/** The Pulsar versions every fresh store has (the guide's three, and two for demos). */
export const DEFAULT_PULSAR_VERSIONS = ['2.10.0', '2.11.0', '2.11.1', '3.0.0', '3.1.0'] as const;

/** Where a jail sees the store and the tools. */
export const ARTIFACTS_MOUNT = '/sandbox/artifacts';
export const TOOLS_MOUNT = '/sandbox/bin';

/** The stand-in tools on a jail's PATH, and the packages the dnf stand-in installs from. */
const TOOLS: Record<string, string> = {
  curl: 'curl.sh',
  dnf: 'dnf.sh',
  yum: 'dnf.sh',
  sudo: 'sudo.sh',
  systemctl: 'systemctl.sh',
};
const PACKAGES: Record<string, string> = {
  mvn: 'mvn.sh',
  'session-manager-plugin': 'session-manager-plugin.sh',
};
const JAVA_MAJORS = [8, 11, 17, 21];

export interface ArtifactStoreOptions {
  /** The folder to generate into, created by the caller (inside the sandbox's temporary folder). */
  folder: () => string;
  faults: Faults;
  /** Where packer/, buildspec/ and sandbox/codebuild/packer-shim.sh are (default: this repository). */
  repoRoot?: string;
  /** The file the Packer zip holds as `packer` (default sandbox/codebuild/packer-shim.sh). */
  packerShim?: string;
}

export interface PulsarRelease {
  version: string;
  checksumFormat: ChecksumFormat;
}

export interface StoreListing {
  pulsar: (PulsarRelease & { tampered: boolean })[];
  ombCommits: string[];
  packerVersions: string[];
  ssmPluginVersions: string[];
}

interface Generated {
  /** Host folder shown at /sandbox/artifacts. */
  files: string;
  /** Host folder shown at /sandbox/bin. */
  bin: string;
  pins: Pins;
}

/** `https://archive.apache.org/dist/` → `archive.apache.org/dist` (the store's relative path). */
export function storePathOfUrl(url: string): string | undefined {
  const m = /^https?:\/\/([a-z0-9.-]+)(?::\d+)?((?:\/[A-Za-z0-9._+~-]+)*)\/?$/.exec(url);
  if (!m || m[1] === undefined) return undefined;
  return `${m[1]}${m[2] ?? ''}`;
}

function writeAtomically(path: string, data: Buffer | string, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  const temp = `${path}.tmp-${process.pid}`;
  writeFileSync(temp, data, { mode });
  chmodSync(temp, mode);
  renameSync(temp, path);
}

export class ArtifactStore {
  private generated: Promise<Generated> | undefined;
  private epoch = 0;
  private readonly releases = new Map<string, ChecksumFormat>();
  /** Relative path → the version whose tarball it is (tampering applies) or null. */
  private readonly known = new Map<string, string | null>();
  /** What each version's tarball on disk is now. */
  private readonly written = new Map<string, boolean>();
  private readonly tarballs = new Map<string, { original: Buffer; tampered?: Buffer }>();

  constructor(private readonly options: ArtifactStoreOptions) {
    this.resetReleases();
  }

  private resetReleases(): void {
    this.releases.clear();
    for (const version of DEFAULT_PULSAR_VERSIONS) this.releases.set(version, 'sha512sum');
  }

  private get repoRoot(): string {
    return this.options.repoRoot ?? REPO_ROOT;
  }

  /** Forgets everything (the folder itself goes with the sandbox's temporary folder). */
  clear(): void {
    this.epoch += 1;
    this.generated = undefined;
    this.known.clear();
    this.written.clear();
    this.tarballs.clear();
    this.resetReleases();
  }

  /** Generates the store (once) and brings the tarballs in line with the faults. */
  private async ready(): Promise<Generated> {
    for (;;) {
      const epoch = this.epoch;
      this.generated ??= this.generate(epoch);
      const generated = await this.generated;
      if (epoch === this.epoch) {
        this.syncTampering(generated);
        return generated;
      }
    }
  }

  private async generate(epoch: number): Promise<Generated> {
    const pins = await readPins(this.repoRoot);
    if (epoch !== this.epoch) return { files: '', bin: '', pins };
    const base = this.options.folder();
    const files = join(base, 'files');
    const bin = join(base, 'bin');
    mkdirSync(files, { recursive: true, mode: 0o755 });
    mkdirSync(join(bin, '.packages'), { recursive: true, mode: 0o755 });
    chmodSync(base, 0o755);
    for (const [tool, source] of Object.entries(TOOLS)) {
      copyFileSync(join(BIN_SOURCES, source), join(bin, tool));
      chmodSync(join(bin, tool), 0o755);
    }
    for (const [name, source] of Object.entries(PACKAGES)) {
      copyFileSync(join(BIN_SOURCES, source), join(bin, '.packages', name));
      chmodSync(join(bin, '.packages', name), 0o755);
    }
    for (const major of JAVA_MAJORS) {
      writeAtomically(join(bin, '.packages', `java-${major}`), correttoStandIn(major), 0o755);
    }
    const generated = { files, bin, pins };
    for (const [version, format] of this.releases) this.writeRelease(generated, version, format);
    this.writeStatic(generated);
    return generated;
  }

  private put(
    generated: Generated,
    relative: string,
    data: Buffer | string,
    version: string | null = null,
  ): void {
    writeAtomically(join(generated.files, relative), data);
    this.known.set(relative, version);
  }

  private pulsarPaths(pins: Pins, version: string): { dir: string; name: string } | undefined {
    const base = storePathOfUrl(pins.archiveBaseUrl);
    if (!base) return undefined;
    return { dir: `${base}/pulsar/pulsar-${version}`, name: `apache-pulsar-${version}-bin.tar.gz` };
  }

  private tarball(version: string, tampered: boolean): Buffer {
    let cached = this.tarballs.get(version);
    if (!cached) {
      cached = { original: pulsarTarball(version) };
      this.tarballs.set(version, cached);
    }
    if (!tampered) return cached.original;
    cached.tampered ??= pulsarTarball(version, true);
    return cached.tampered;
  }

  private writeRelease(generated: Generated, version: string, format: ChecksumFormat): void {
    const paths = this.pulsarPaths(generated.pins, version);
    if (!paths) return;
    const tampered = this.options.faults.tamperedArchive(version);
    this.put(generated, `${paths.dir}/${paths.name}`, this.tarball(version, tampered), version);
    this.put(
      generated,
      `${paths.dir}/${paths.name}.sha512`,
      sha512File(paths.name, this.tarball(version, false), format),
    );
    this.written.set(version, tampered);
  }

  private writeStatic(generated: Generated): void {
    const { pins } = generated;
    const omb = storePathOfUrl(pins.ombArchiveBaseUrl);
    for (const commit of omb ? pins.ombCommits : [])
      this.put(generated, `${omb}/${commit}.tar.gz`, ombSourceArchive(commit));
    const releases = storePathOfUrl(pins.packerReleasesUrl);
    const shimPath = this.options.packerShim ?? join(this.repoRoot, 'sandbox/codebuild/packer-shim.sh');
    if (releases && existsSync(shimPath)) {
      const zipped = packerZip(readFileSync(shimPath));
      for (const version of pins.packerVersions) {
        const zips: Record<string, Buffer> = {};
        for (const arch of ['amd64', 'arm64']) zips[`packer_${version}_linux_${arch}.zip`] = zipped;
        for (const [name, data] of Object.entries(zips))
          this.put(generated, `${releases}/packer/${version}/${name}`, data);
        this.put(generated, `${releases}/packer/${version}/packer_${version}_SHA256SUMS`, sha256Sums(zips));
      }
    }
    const plugin = storePathOfUrl(pins.ssmPluginUrl);
    for (const version of plugin ? pins.ssmPluginVersions : []) {
      for (const dir of ['linux_64bit', 'linux_arm64']) {
        this.put(
          generated,
          `${plugin}/${version}/${dir}/session-manager-plugin.rpm`,
          sessionManagerPackage(version),
        );
      }
    }
  }

  /** Rewrites each tarball whose tampering no longer matches the faults (atomically). */
  private syncTampering(generated: Generated): void {
    for (const [version, wasTampered] of this.written) {
      const tampered = this.options.faults.tamperedArchive(version);
      if (tampered === wasTampered) continue;
      const paths = this.pulsarPaths(generated.pins, version);
      if (!paths) continue;
      writeAtomically(join(generated.files, paths.dir, paths.name), this.tarball(version, tampered));
      this.written.set(version, tampered);
    }
  }

  /** The read-only mounts that show the store and the tools to a jail. */
  async mounts(): Promise<ReadOnlyMount[]> {
    const { files, bin } = await this.ready();
    return [
      { from: bin, to: TOOLS_MOUNT },
      { from: files, to: ARTIFACTS_MOUNT },
    ];
  }

  /** The host file of a store path (`<host>/<path>`), or undefined when the store has no such file. */
  async lookup(relative: string): Promise<string | undefined> {
    const { files } = await this.ready();
    return this.known.has(relative) ? join(files, relative) : undefined;
  }

  /** Adds (or changes the checksum format of) a Pulsar version. */
  async addPulsarVersion(version: string, checksumFormat: ChecksumFormat = 'sha512sum'): Promise<void> {
    if (!VERSION_PATTERN.test(version)) throw new Error(`not a Pulsar version: '${version}'`);
    this.releases.set(version, checksumFormat);
    const generated = await this.ready();
    this.writeRelease(generated, version, checksumFormat);
  }

  async list(): Promise<StoreListing> {
    const { pins } = await this.ready();
    return {
      pulsar: [...this.releases].map(([version, checksumFormat]) => ({
        version,
        checksumFormat,
        tampered: this.options.faults.tamperedArchive(version),
      })),
      ombCommits: [...pins.ombCommits],
      packerVersions: [...pins.packerVersions],
      ssmPluginVersions: [...pins.ssmPluginVersions],
    };
  }

  /** The Packer version the store serves (what the stand-in `packer version` answers). */
  async packerVersion(): Promise<string | undefined> {
    return (await this.ready()).pins.packerVersions[0];
  }
}
