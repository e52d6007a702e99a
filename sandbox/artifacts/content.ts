/**
 * What the artifact store serves, made small and real: the Apache Pulsar binary distribution
 * (a gzip tarball in Apache's layout, with its `.sha512`), OpenMessaging Benchmark's source
 * archive at a commit (as GitHub serves `archive/<commit>.tar.gz`), HashiCorp's Packer release
 * (zip + SHA256SUMS; the zip's `packer` is the sandbox's shim) and the Session Manager plugin's
 * package. Every program in them is a shell script that says what it is.
 */
import { createHash } from 'node:crypto';
import { type ArchiveEntry, tarGz, zip } from './archive-writers';

/** How a `.sha512` is written: sha512sum's line, or Apache's older `gpg --print-md` blocks. */
export type ChecksumFormat = 'sha512sum' | 'apache';

export const sha512 = (data: Buffer): string => createHash('sha512').update(data).digest('hex');
export const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** A jar: a real (stored) zip with a manifest, so `unzip -l` and `jar tf` would read it. */
function jar(title: string, version: string): Buffer {
  return zip([
    { path: 'META-INF/' },
    {
      path: 'META-INF/MANIFEST.MF',
      content: `Manifest-Version: 1.0\r\nImplementation-Title: ${title}\r\nImplementation-Version: ${version}\r\nCreated-By: pulsar-ami sandbox\r\n\r\n`,
    },
  ]);
}

function pulsarScript(version: string, name: string): string {
  return `#!/bin/sh
# Apache Pulsar ${version} ${name}: a stand-in from the pulsar-ami sandbox's artifact store.
# Like the real script it needs a JVM; it starts nothing.
if [ -z "\${JAVA_HOME:-}" ] && ! command -v java >/dev/null 2>&1; then
  echo "Error: JAVA_HOME not set, and no java executable found in PATH." >&2
  exit 1
fi
case "\${1:-}" in
  version | --version) echo "Current version of pulsar is: ${version}" ;;
  *) echo "Apache Pulsar ${version} (${name}\${1:+ $1}) [sandbox stand-in: nothing started]" ;;
esac
`;
}

const PULSAR_BINS = ['pulsar', 'bookkeeper', 'pulsar-admin', 'pulsar-client', 'pulsar-daemon', 'pulsar-perf'];

/** `apache-pulsar-V-bin.tar.gz`; `tampered` adds a file, so the bytes no longer match the checksum. */
export function pulsarTarball(version: string, tampered = false): Buffer {
  const top = `apache-pulsar-${version}`;
  const entries: ArchiveEntry[] = [
    { path: `${top}/` },
    { path: `${top}/LICENSE`, content: 'Apache License, Version 2.0\n' },
    {
      path: `${top}/NOTICE`,
      content: `Apache Pulsar ${version}\nCopyright The Apache Software Foundation\n`,
    },
    { path: `${top}/README`, content: `Apache Pulsar ${version} (pulsar-ami sandbox stand-in)\n` },
    { path: `${top}/bin/` },
    ...PULSAR_BINS.map((name) => ({
      path: `${top}/bin/${name}`,
      content: pulsarScript(version, name),
      mode: 0o755,
    })),
    { path: `${top}/conf/` },
    { path: `${top}/conf/broker.conf`, content: 'clusterName=\nmetadataStoreUrl=\nbrokerServicePort=6650\n' },
    { path: `${top}/conf/bookkeeper.conf`, content: 'bookiePort=3181\n' },
    {
      path: `${top}/conf/zookeeper.conf`,
      content: 'tickTime=2000\ndataDir=data/zookeeper\nclientPort=2181\n',
    },
    { path: `${top}/conf/standalone.conf`, content: 'clusterName=standalone\n' },
    { path: `${top}/conf/client.conf`, content: 'webServiceUrl=http://localhost:8080/\n' },
    { path: `${top}/lib/` },
    ...['pulsar-broker', 'pulsar-broker-common', 'pulsar-common', 'pulsar-client-original'].map(
      (artifact) => ({
        path: `${top}/lib/org.apache.pulsar-${artifact}-${version}.jar`,
        content: jar(`org.apache.pulsar:${artifact}`, version),
      }),
    ),
  ];
  if (tampered) {
    entries.push({
      path: `${top}/bin/.payload`,
      content: '#!/bin/sh\necho "not what Apache published"\n',
      mode: 0o755,
    });
  }
  return tarGz(entries);
}

/** The `.sha512` of a tarball named `name`. */
export function sha512File(name: string, data: Buffer, format: ChecksumFormat): string {
  const hex = sha512(data);
  if (format === 'sha512sum') return `${hex}  ${name}\n`;
  const groups = (hex.toUpperCase().match(/.{8}/g) ?? []) as string[];
  const lines: string[] = [];
  for (let i = 0; i < groups.length; i += 6) lines.push(groups.slice(i, i + 6).join(' '));
  const indent = ' '.repeat(name.length + 2);
  return `${name}: ${lines.join(`\n${indent}`)}\n`;
}

const OMB_BENCHMARK = `#!/bin/sh
# OpenMessaging Benchmark driver (pulsar-ami sandbox stand-in): needs a JVM, runs nothing.
if ! command -v java >/dev/null 2>&1; then
  echo "Error: java could not be found in PATH." >&2
  exit 1
fi
if [ -d "./lib" ]; then CLASSPATH="lib/*"; else CLASSPATH="benchmark-framework/target/classes"; fi
echo "OpenMessaging Benchmark (classpath $CLASSPATH) [sandbox stand-in: nothing run]"
`;

const OMB_WORKER = `#!/bin/sh
# OpenMessaging Benchmark worker (pulsar-ami sandbox stand-in): needs a JVM, serves nothing.
command -v java >/dev/null 2>&1 || { echo "Error: java could not be found in PATH." >&2; exit 1; }
echo "OpenMessaging Benchmark worker [sandbox stand-in: nothing served]"
`;

function pom(artifactId: string, packaging: string, modules: string[] = []): string {
  const parent =
    artifactId === 'messaging-benchmark'
      ? ''
      : '  <parent>\n    <groupId>io.openmessaging.benchmark</groupId>\n    <artifactId>messaging-benchmark</artifactId>\n    <version>0.0.1-SNAPSHOT</version>\n  </parent>\n';
  const mods =
    modules.length > 0
      ? `  <modules>\n${modules.map((m) => `    <module>${m}</module>\n`).join('')}  </modules>\n`
      : '';
  return `<?xml version="1.0" encoding="UTF-8"?>\n<project xmlns="http://maven.apache.org/POM/4.0.0">\n  <modelVersion>4.0.0</modelVersion>\n${parent}  <groupId>io.openmessaging.benchmark</groupId>\n  <artifactId>${artifactId}</artifactId>\n  <version>0.0.1-SNAPSHOT</version>\n  <packaging>${packaging}</packaging>\n${mods}</project>\n`;
}

/** GitHub's `archive/<commit>.tar.gz` of OpenMessaging Benchmark: one folder `benchmark-<commit>/`. */
export function ombSourceArchive(commit: string): Buffer {
  const top = `benchmark-${commit}`;
  return tarGz([
    { path: `${top}/` },
    {
      path: `${top}/README.md`,
      content: `# OpenMessaging Benchmark Framework\n\nSource at ${commit} (pulsar-ami sandbox stand-in).\n\nBuild: mvn install\n`,
    },
    { path: `${top}/LICENSE`, content: 'Apache License, Version 2.0\n' },
    {
      path: `${top}/pom.xml`,
      content: pom('messaging-benchmark', 'pom', [
        'benchmark-framework',
        'driver-api',
        'driver-pulsar',
        'package',
      ]),
    },
    { path: `${top}/bin/` },
    { path: `${top}/bin/benchmark`, content: OMB_BENCHMARK, mode: 0o755 },
    { path: `${top}/bin/benchmark-worker`, content: OMB_WORKER, mode: 0o755 },
    { path: `${top}/benchmark-framework/` },
    { path: `${top}/benchmark-framework/pom.xml`, content: pom('benchmark-framework', 'jar') },
    { path: `${top}/benchmark-framework/src/main/java/io/openmessaging/benchmark/` },
    {
      path: `${top}/benchmark-framework/src/main/java/io/openmessaging/benchmark/Benchmark.java`,
      content:
        'package io.openmessaging.benchmark;\n\npublic class Benchmark {\n  public static void main(String[] args) {}\n}\n',
    },
    { path: `${top}/driver-api/` },
    { path: `${top}/driver-api/pom.xml`, content: pom('driver-api', 'jar') },
    { path: `${top}/driver-pulsar/` },
    { path: `${top}/driver-pulsar/pom.xml`, content: pom('driver-pulsar', 'jar') },
    {
      path: `${top}/driver-pulsar/pulsar.yaml`,
      content: 'name: Pulsar\ndriverClass: io.openmessaging.benchmark.driver.pulsar.PulsarBenchmarkDriver\n',
    },
    { path: `${top}/package/` },
    { path: `${top}/package/pom.xml`, content: pom('package', 'pom') },
    { path: `${top}/workloads/` },
    {
      path: `${top}/workloads/1-topic-1-partition-1kb.yaml`,
      content: 'name: 1 topic / 1 partition / 1Kb\ntopics: 1\npartitionsPerTopic: 1\nmessageSize: 1024\n',
    },
  ]);
}

/** HashiCorp's `packer_<V>_linux_<arch>.zip`: one file, `packer`, here the sandbox's shim. */
export function packerZip(shim: Buffer): Buffer {
  return zip([{ path: 'packer', content: shim, mode: 0o755 }]);
}

/** `packer_<V>_SHA256SUMS`: one sha256sum line per file, sorted by name. */
export function sha256Sums(files: Record<string, Buffer>): string {
  return Object.keys(files)
    .sort()
    .map((name) => `${sha256(files[name] ?? Buffer.alloc(0))}  ${name}\n`)
    .join('');
}

/** The Session Manager plugin's "rpm": a marker the dnf stand-in installs from. */
export function sessionManagerPackage(version: string): Buffer {
  return Buffer.from(
    `# pulsar-ami sandbox package: session-manager-plugin ${version}\n` +
      'A stand-in for the AWS Session Manager plugin RPM; the sandbox dnf installs it.\n',
  );
}
