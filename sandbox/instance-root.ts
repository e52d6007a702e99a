/**
 * Instance filesystems. Each image says what it holds (`ImageContents`); each instance gets its
 * own root directory under one temporary folder, materialised from its image at launch, and
 * removed with the sandbox (reset or close). A healthy Pulsar image holds everything
 * packer/checks/run-checks.sh looks for; other images have an empty /opt and no java.
 *
 * Layout of a root (the paths Run Command sees, see ssm/executor.ts):
 *   opt/            → /opt            (pulsar, pulsar-templates, openmessaging-benchmark)
 *   usr/local/bin/  → /usr/local/bin  (java: a stand-in that answers like Corretto)
 *   tmp/            → /tmp
 *   var/lib/amazon/ssm/<instance>/document/orchestration/<command>/  (scripts and output;
 *                     reached by its host path, as the agent's working directory)
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
  /** A Pulsar image (the pulsar-base template's output) or anything else (empty /opt, no java). */
  kind: 'pulsar' | 'plain';
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

function javaStandIn(major: number): string {
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

function executable(path: string, body: string): void {
  writeFileSync(path, body);
  chmodSync(path, 0o755);
}

/** Writes an image's files into `root` (an empty directory). */
export function materialise(root: string, contents: ImageContents, version: string | undefined): void {
  const opt = join(root, 'opt');
  const localBin = join(root, 'usr/local/bin');
  for (const dir of [opt, localBin, join(root, 'tmp'), join(root, 'var/lib/amazon/ssm')]) {
    mkdirSync(dir, { recursive: true });
  }
  chmodSync(join(root, 'tmp'), 0o1777);
  const missing = new Set(contents.missing);
  if (contents.kind === 'pulsar') {
    const pulsarVersion = contents.pulsarVersion ?? version ?? '0.0.0';
    if (!missing.has('pulsar-dir')) {
      const home = join(opt, 'pulsar');
      mkdirSync(join(home, 'bin'), { recursive: true });
      mkdirSync(join(home, 'lib'), { recursive: true });
      mkdirSync(join(home, 'conf'), { recursive: true });
      if (!missing.has('pulsar-binaries')) {
        for (const bin of ['pulsar', 'bookkeeper', 'pulsar-admin', 'pulsar-client']) {
          executable(join(home, 'bin', bin), `#!/bin/sh\necho "Apache Pulsar ${pulsarVersion} (${bin})"\n`);
        }
      }
      if (!missing.has('pulsar-version')) {
        writeFileSync(join(home, 'lib', `org.apache.pulsar-pulsar-broker-${pulsarVersion}.jar`), '');
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
      executable(join(omb, 'benchmark'), '#!/bin/sh\necho "OpenMessaging Benchmark"\n');
    }
  }
  if (contents.javaMajor > 0 && !missing.has('java')) {
    executable(join(localBin, 'java'), javaStandIn(contents.javaMajor));
  }
}

/** The temporary folder that holds every instance's root; created on first use. */
export class InstanceRoots {
  private base: string | undefined;

  /** Creates and fills the root of one instance; returns its path. */
  create(instanceId: string, contents: ImageContents, version: string | undefined): string {
    this.base ??= mkdtempSync(join(tmpdir(), 'pulsar-ami-sandbox-'));
    const root = join(this.base, instanceId);
    mkdirSync(root);
    materialise(root, contents, version);
    return root;
  }

  remove(root: string): void {
    rmSync(root, { recursive: true, force: true });
  }

  /** Removes every root (reset, close). */
  clear(): void {
    if (this.base) rmSync(this.base, { recursive: true, force: true });
    this.base = undefined;
  }
}
