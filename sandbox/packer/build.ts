/**
 * One amazon-ebs build against the sandbox's EC2 world, in Packer's steps and words: find the
 * source AMI, launch the build instance (run_tags, run_volume_tags, shutdown behaviour, instance
 * profile, subnet), wait for it and for its SSM agent (Session Manager), run each provisioner
 * into its root (a jail per step, see provision.ts), stop it, register the AMI from its root
 * volume (a new snapshot; ami_name, description, tags, snapshot_tags, architecture, gp3 root
 * device; pending until EC2 is done, in compressed time) whose files are exactly what the root
 * holds, then terminate it. The instance is terminated on every path (failure, abort, reset),
 * and an AMI registered by a build that then fails is deregistered with its snapshot.
 */
import { randomUUID } from 'node:crypto';
import { posix } from 'node:path';
import { deregisterImage, findImage, registerImage } from '../ec2/models/images';
import { agentOnline } from '../ec2/models/instance-status';
import { runInstances, terminateInstances } from '../ec2/models/instances';
import { beginStop } from '../ec2/models/lifecycle';
import { isAwsError } from '../errors/aws-error';
import { AGENT_PATH, runIsolated } from '../ssm/executor';
import type { ImageRecord, InstanceRecord } from '../state';
import type { RegionState, World } from '../world';
import type { EbsConfig, Provisioner, ShellProvisioner } from './config';
import { HclError } from './hcl';
import { flattenedVars, inlineBody, shellScript, uploadScript } from './provision';
import { readFileIn, readTreeIn, typeIn, UntrustedPathError } from './untrusted-fs';

/** How long EC2 takes to make an AMI from a stopped instance (AWS seconds, scaled). */
export const AMI_CREATION_SECONDS = 60;
/** Packer's waiter for an instance to run (AWS seconds): 40 attempts of 15 s. */
const INSTANCE_READY_SECONDS = 600;
const UPLOAD_LIMITS = { maxFiles: 10_000, maxBytes: 64 * 1024 * 1024 };

/** Why a build stopped early. */
export class BuildCancelled extends Error {
  constructor() {
    super('Build was cancelled.');
    this.name = 'BuildCancelled';
  }
}

export interface BuildEnvironment {
  world: World;
  region: string;
  /** The build's root on the host (the jail of the CodeBuild build): sources are read from it. */
  buildRoot: string;
  /** Where relative paths start (the jail path packer runs in). */
  cwd: string;
  signal: AbortSignal;
  /** `pulsar-base.amazon-ebs.pulsar` (the UI prefix). */
  displayName: string;
  /** `pulsar` (PACKER_BUILD_NAME). */
  sourceName: string;
  say(line: string): void;
  message(line: string): void;
}

export interface BuiltArtifact {
  imageId: string;
  region: string;
}

export interface SourceInfo {
  image: ImageRecord;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new BuildCancelled());
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new BuildCancelled());
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Polls `done` every few ms until it is true, for at most `awsSeconds` of (scaled) time. */
async function waitUntil(
  env: BuildEnvironment,
  awsSeconds: number,
  done: () => boolean,
  timeoutMessage: string,
): Promise<void> {
  const deadline = Date.now() + Math.max(env.world.timeline.ms(awsSeconds), 50);
  for (;;) {
    if (done()) return;
    if (Date.now() > deadline) throw new HclError(timeoutMessage);
    await sleep(10, env.signal);
  }
}

const scopeOf = (world: World, region: RegionState, regionName: string) => ({
  world,
  region,
  regionName,
  checkpoint: () => undefined,
});

function awsMessage(error: unknown): string {
  if (isAwsError(error)) return `${error.code}: ${error.message}`;
  return (error as Error).message;
}

/** The source AMI: source_ami, or the newest image source_ami_filter selects. */
export function sourceImage(world: World, regionName: string, config: EbsConfig): ImageRecord {
  const region = world.region(regionName);
  if (config.sourceAmi) {
    try {
      const image = findImage(scopeOf(world, region, regionName), config.sourceAmi);
      if (image.state !== 'available')
        throw new HclError(`Error querying AMI: the source AMI ${image.imageId} is ${image.state}`);
      return image;
    } catch (error) {
      if (error instanceof HclError) throw error;
      throw new HclError(`Error querying AMI: ${awsMessage(error)}`);
    }
  }
  const filter = config.sourceAmiFilter ?? {};
  const owners = Array.isArray(filter.owners) ? filter.owners.map(String) : [];
  const filters = (filter.filters ?? {}) as Record<string, string>;
  const glob = (pattern: string) =>
    new RegExp(
      `^${pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
    );
  const matches = [...region.images.values()].filter((image) => {
    if (image.state !== 'available') return false;
    if (
      owners.length > 0 &&
      !owners.some((o) =>
        o === 'self' ? image.ownerId === world.accountId : o === image.ownerId || o === image.ownerAlias,
      )
    ) {
      return false;
    }
    return Object.entries(filters).every(([key, value]) => {
      const field =
        key === 'name'
          ? image.name
          : key === 'architecture'
            ? image.architecture
            : key === 'virtualization-type'
              ? image.virtualizationType
              : key === 'root-device-type'
                ? 'ebs'
                : key.startsWith('tag:')
                  ? image.tags[key.slice(4)]
                  : undefined;
      if (field === undefined && !key.startsWith('tag:')) {
        throw new HclError(`source_ami_filter: the sandbox's Packer does not filter by "${key}"`);
      }
      return field !== undefined && glob(String(value)).test(field);
    });
  });
  if (matches.length === 0) throw new HclError('No AMI was found matching filters');
  if (matches.length > 1 && filter.most_recent !== true) {
    throw new HclError(
      'Your query returned more than one result. Please try a more specific search, or set most_recent to true.',
    );
  }
  return [...matches].sort((a, b) => (a.creationDate < b.creationDate ? 1 : -1))[0] as ImageRecord;
}

/** Splits a stream's chunks into lines, each passed on as it completes. */
class LineSplitter {
  private pending = '';
  constructor(private readonly emit: (line: string) => void) {}
  push(text: string): void {
    this.pending += text;
    const lines = this.pending.split('\n');
    this.pending = lines.pop() ?? '';
    for (const line of lines) this.emit(line.replace(/\r$/, ''));
  }
  flush(): void {
    if (this.pending !== '') this.emit(this.pending);
    this.pending = '';
  }
}

export class AmazonEbsBuild {
  private instance: InstanceRecord | undefined;
  private image: ImageRecord | undefined;
  private readonly runId = randomUUID().replaceAll('-', '').slice(0, 24);
  private source: ImageRecord | undefined;

  constructor(
    private readonly env: BuildEnvironment,
    private readonly config: EbsConfig,
  ) {}

  private get region(): RegionState {
    return this.env.world.region(this.config.region);
  }

  private checkCancelled(): void {
    if (this.env.signal.aborted) throw new BuildCancelled();
  }

  /** `build.*` for provisioners and post-processors. */
  buildVariables(): Record<string, string> {
    return {
      ID: this.instance?.instanceId ?? '',
      Host: 'localhost',
      Port: '22',
      User: this.config.sshUsername,
      Password: '',
      ConnType: 'ssh',
      PackerRunUUID: this.runId,
      PackerHTTPAddr: '',
      SSHPublicKey: '',
      SSHPrivateKey: '',
      SourceAMI: this.source?.imageId ?? '',
      SourceAMIName: this.source?.name ?? '',
      SourceAMIOwner: this.source?.ownerId ?? '',
      SourceAMIOwnerName: this.source?.ownerAlias ?? '',
      SourceAMICreationDate: this.source?.creationDate ?? '',
      BuildRegion: this.config.region,
    };
  }

  /** Finds the source AMI and launches the build instance; resolves once it is reachable. */
  async launch(): Promise<void> {
    const { env, config } = this;
    env.say('Prevalidating any provided VPC information');
    if (config.subnetId && !this.region.subnets.has(config.subnetId)) {
      throw new HclError(
        `Error querying subnet: InvalidSubnetID.NotFound: The subnet ID '${config.subnetId}' does not exist`,
      );
    }
    env.say(`Prevalidating AMI Name: ${config.amiName}`);
    const taken = [...this.region.images.values()].find(
      (i) => i.name === config.amiName && i.ownerId === env.world.accountId,
    );
    if (taken && !config.forceDeregister) {
      throw new HclError(`Error: AMI Name: '${config.amiName}' is used by an existing AMI: ${taken.imageId}`);
    }
    this.source = sourceImage(env.world, config.region, config);
    env.message(`Found Image ID: ${this.source.imageId}`);
    const key = `packer_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
    env.say(`Creating temporary keypair: ${key}`);
    if (config.securityGroupIds.length === 0) {
      env.say(
        `Creating temporary security group for this instance: packer_${randomUUID().replaceAll('-', '').slice(0, 24)}`,
      );
      // Session Manager only: no ingress rule is authorized.
    }
    let profile = config.iamInstanceProfile;
    if (!profile && config.temporaryProfile) {
      profile = `packer-${randomUUID()}`;
      env.say(`Creating temporary instance profile for this instance: ${profile}`);
    }
    env.say('Launching a source AWS instance...');
    this.checkCancelled();
    const [root] = config.launchDevices;
    try {
      const [instance] = runInstances(scopeOf(env.world, this.region, config.region), {
        imageId: this.source.imageId,
        minCount: 1,
        maxCount: 1,
        instanceType: config.instanceType,
        subnetId: config.subnetId,
        profileName: profile,
        userData: config.userData,
        shutdownBehavior: config.shutdownBehavior,
        tagSpecifications: [
          ...(Object.keys(config.runTags).length > 0
            ? [
                {
                  resourceType: 'instance',
                  tags: Object.entries(config.runTags).map(([k, v]) => ({ key: k, value: v })),
                },
              ]
            : []),
          ...(Object.keys(config.runVolumeTags).length > 0
            ? [
                {
                  resourceType: 'volume',
                  tags: Object.entries(config.runVolumeTags).map(([k, v]) => ({ key: k, value: v })),
                },
              ]
            : []),
        ],
        metadataOptions: config.metadataOptions ?? { httpTokens: 'optional', httpEndpoint: 'enabled' },
      });
      this.instance = instance;
    } catch (error) {
      throw new HclError(`Error launching source instance: ${awsMessage(error)}`);
    }
    const instance = this.instance as InstanceRecord;
    if (root?.volumeSize !== undefined) {
      for (const volumeId of instance.volumeIds) {
        const volume = this.region.volumes.get(volumeId);
        if (volume) {
          volume.size = root.volumeSize;
          volume.volumeType = root.volumeType;
        }
      }
    }
    env.message(`Instance ID: ${instance.instanceId}`);
    env.say(`Waiting for instance (${instance.instanceId}) to become ready...`);
    await waitUntil(
      env,
      INSTANCE_READY_SECONDS,
      () => {
        if (instance.state === 'running') return true;
        if (instance.state !== 'pending') {
          throw new HclError(
            `Error waiting for instance (${instance.instanceId}) to become ready: the instance is ${instance.state}`,
          );
        }
        return false;
      },
      `Error waiting for instance (${instance.instanceId}) to become ready: ResourceNotReady: exceeded wait attempts`,
    );
    env.say('Using SSH communicator to connect: localhost');
    env.say('Waiting for SSH to become available...');
    await waitUntil(
      env,
      config.sshTimeoutSeconds,
      () => {
        if (instance.state !== 'running') {
          throw new HclError(`The source instance ${instance.instanceId} is ${instance.state}.`);
        }
        return agentOnline(env.world, instance);
      },
      'Timeout waiting for SSH.',
    );
    env.say('Connected to SSH!');
  }

  /** Runs a script on the instance in its jail, its output shown as Packer's. */
  private async run(script: string, timeoutSeconds: number | undefined): Promise<number> {
    const { env } = this;
    const instance = this.instance as InstanceRecord;
    if (instance.state !== 'running' || !instance.rootDir) {
      throw new HclError(`The source instance ${instance.instanceId} is ${instance.state}.`);
    }
    const stdout = new LineSplitter((line) => env.message(line));
    const stderr = new LineSplitter((line) => env.message(line));
    const running = runIsolated({
      root: instance.rootDir,
      mountPoint: env.world.roots.mountPoint(),
      script,
      workDir: `/var/lib/amazon/ssm/${instance.instanceId}/session/orchestration/${randomUUID()}`,
      workingDirectory: '/tmp',
      env: {
        PATH: `/sandbox/bin:${AGENT_PATH}`,
        LANG: 'C.UTF-8',
        HOME: '/tmp',
        USER: this.config.sshUsername,
        LOGNAME: this.config.sshUsername,
        SHELL: '/bin/bash',
      },
      readOnly: await env.world.artifacts.mounts(),
      onOutput: (stream, text) => (stream === 'stdout' ? stdout : stderr).push(text),
    });
    let why: string | undefined;
    const onAbort = () => running.stop();
    env.signal.addEventListener('abort', onAbort, { once: true });
    const watch = setInterval(() => {
      if (instance.state !== 'running' && why === undefined) {
        why = `The source instance ${instance.instanceId} is ${instance.state}.`;
        running.stop();
      }
    }, 20);
    const timer =
      timeoutSeconds === undefined
        ? undefined
        : setTimeout(() => {
            why = `Script timed out after ${timeoutSeconds} seconds`;
            running.stop();
          }, timeoutSeconds * 1000);
    try {
      const outcome = await running.done;
      stdout.flush();
      stderr.flush();
      this.checkCancelled();
      if (why) throw new HclError(why);
      if (outcome.error) throw new HclError(`Error running the provisioner: ${outcome.error}`);
      const refusal = /^pulsar-ami sandbox: .*$/m.exec(outcome.stderr);
      if (outcome.exitCode === 125 && refusal) {
        throw new HclError(
          `The sandbox could not run the provisioner on ${instance.instanceId}: ${refusal[0]}`,
        );
      }
      return outcome.exitCode ?? 128 + 9;
    } finally {
      clearInterval(watch);
      if (timer) clearTimeout(timer);
      env.signal.removeEventListener('abort', onAbort);
    }
  }

  /** Where a relative path of the template points, as a jail path of the build. */
  private buildPath(path: string): string {
    return posix.normalize(path.startsWith('/') ? path : posix.join(this.env.cwd, path));
  }

  async provision(step: Provisioner, buildName: string): Promise<void> {
    const { env } = this;
    if (step.pauseBefore > 0) {
      env.say(`Pausing ${step.pauseBefore}s before the next provisioner...`);
      await sleep(env.world.timeline.ms(step.pauseBefore), env.signal);
    }
    if (step.type === 'file') {
      const sources: { name: string; entries: ReturnType<typeof readTreeIn> }[] = [];
      if (step.content !== undefined) {
        sources.push({
          name: posix.basename(step.destination) || 'content',
          entries: [{ path: '', type: 'file', mode: 0o644, content: Buffer.from(step.content) }],
        });
      }
      for (const source of step.sources) {
        try {
          sources.push({
            name: source,
            entries: readTreeIn(env.buildRoot, this.buildPath(source), UPLOAD_LIMITS),
          });
        } catch (error) {
          if (error instanceof UntrustedPathError) throw new HclError(`Upload failed: ${error.message}`);
          throw error;
        }
      }
      for (const source of sources) {
        const upload = uploadScript(source.name, source.entries, step.destination, this.config.sshUsername);
        env.say(`Uploading ${upload.shown}`);
        const status = await this.run(upload.script, step.timeout);
        if (status !== 0)
          throw new HclError(`Upload failed: the upload of ${source.name} exited with status ${status}`);
      }
      return;
    }
    await this.shell(step, buildName);
  }

  private async shell(step: ShellProvisioner, buildName: string): Promise<void> {
    const { env } = this;
    const bodies: { shown: string; body: Buffer }[] = [];
    if (step.inline) bodies.push({ shown: 'inline', body: inlineBody(step) });
    for (const script of step.scripts) {
      try {
        bodies.push({ shown: script, body: readFileIn(env.buildRoot, this.buildPath(script), 16 << 20) });
      } catch (error) {
        if (error instanceof UntrustedPathError) throw new HclError(`Error reading script: ${error.message}`);
        throw error;
      }
    }
    const vars = flattenedVars(step, buildName, 'amazon-ebs');
    for (const { shown, body } of bodies) {
      env.say(
        shown === 'inline'
          ? 'Provisioning with shell script: inline'
          : `Provisioning with shell script: ${shown}`,
      );
      const remoteFile = step.remoteFile ?? `script_${Math.floor(Math.random() * 10_000)}.sh`;
      const remotePath = step.remotePath ?? posix.join(step.remoteFolder, remoteFile);
      const status = await this.run(shellScript(step, body, remotePath, vars), step.timeout);
      if (!step.validExitCodes.includes(status)) {
        throw new HclError(
          `Script exited with non-zero exit status: ${status}. Allowed exit codes are: [${step.validExitCodes.join(' ')}]`,
        );
      }
    }
    if (step.pauseAfter > 0) await sleep(env.world.timeline.ms(step.pauseAfter), env.signal);
  }

  /** Stops the instance, registers the AMI from its root, waits until it is available. */
  async createImage(): Promise<BuiltArtifact> {
    const { env, config } = this;
    const instance = this.instance as InstanceRecord;
    const region = this.region;
    env.say('Stopping the source instance...');
    env.message('Stopping instance');
    beginStop(env.world, region, instance);
    env.say('Waiting for the instance to stop...');
    await waitUntil(
      env,
      INSTANCE_READY_SECONDS,
      () => instance.state === 'stopped' || instance.state === 'terminated',
      `Error waiting for instance to stop: ResourceNotReady: exceeded wait attempts`,
    );
    if (instance.state !== 'stopped' || !instance.rootDir) {
      throw new HclError(`Error waiting for instance to stop: the instance is ${instance.state}`);
    }
    if (config.forceDeregister) {
      const taken = [...region.images.values()].find(
        (i) => i.name === config.amiName && i.ownerId === env.world.accountId,
      );
      if (taken) {
        try {
          deregisterImage(scopeOf(env.world, region, config.region), {
            imageId: taken.imageId,
            deleteSnapshots: config.forceDeleteSnapshot,
          });
        } catch (error) {
          throw new HclError(`Error deregistering existing AMI: ${awsMessage(error)}`);
        }
        env.say(`Deregistered AMI id: ${taken.imageId}`);
      }
    }
    env.say(`Creating AMI ${config.amiName} from instance ${instance.instanceId}`);
    const [rootDevice] = config.launchDevices;
    const deviceName = rootDevice?.deviceName ?? this.source?.rootDeviceName ?? '/dev/xvda';
    const volumeId = instance.volumeIds[0] ?? 'vol-ffffffff';
    const volumeSize = rootDevice?.volumeSize ?? region.volumes.get(volumeId)?.size ?? 8;
    const encrypted = config.encryptBoot || rootDevice?.encrypted === true;
    const snapshotId = env.world.ids.next('snap');
    const startTime = new Date().toISOString();
    region.snapshots.set(snapshotId, {
      snapshotId,
      volumeId,
      ownerId: env.world.accountId,
      state: 'pending',
      startTime,
      volumeSize,
      description: `Created by CreateImage(${instance.instanceId}) for ${config.amiName}`,
      encrypted,
      tags: { ...config.snapshotTags },
    });
    let image: ImageRecord;
    try {
      image = registerImage(scopeOf(env.world, region, config.region), {
        name: config.amiName,
        description: config.amiDescription,
        architecture: instance.architecture,
        rootDeviceName: deviceName,
        blockDevices: [{ deviceName, snapshotId, volumeSize, volumeType: rootDevice?.volumeType ?? 'gp3' }],
        tags: config.tags,
      });
    } catch (error) {
      region.snapshots.delete(snapshotId);
      throw new HclError(`Error creating AMI: ${awsMessage(error)}`);
    }
    this.image = image;
    image.state = 'pending';
    for (const device of image.blockDevices) device.encrypted = encrypted;
    const snapshot = region.snapshots.get(snapshotId);
    if (snapshot)
      snapshot.description = `Created by CreateImage(${instance.instanceId}) for ${image.imageId}`;
    try {
      const files = env.world.roots.saveImage(image.imageId, instance.rootDir);
      image.contents = { kind: 'built', files, javaMajor: 0, missing: [] };
    } catch (error) {
      throw new HclError(
        `Error creating AMI: the image's files could not be kept: ${(error as Error).message}`,
      );
    }
    env.message(`AMI: ${image.imageId}`);
    env.say('Waiting for AMI to become ready...');
    env.world.timeline.after(AMI_CREATION_SECONDS, () => {
      if (image.state === 'pending' && region.images.get(image.imageId) === image) image.state = 'available';
      const snap = region.snapshots.get(snapshotId);
      if (snap?.state === 'pending') snap.state = 'completed';
    });
    await waitUntil(
      env,
      AMI_CREATION_SECONDS * 20,
      () => {
        if (region.images.get(image.imageId) !== image)
          throw new HclError(`Error waiting for AMI: ${image.imageId} is gone`);
        return image.state === 'available';
      },
      'Error waiting for AMI. Reason: ResourceNotReady: exceeded wait attempts',
    );
    env.say('Skipping Enable AMI deprecation...');
    env.say(`Adding tags to AMI (${image.imageId})...`);
    env.say(`Tagging snapshot: ${snapshotId}`);
    env.say('Creating AMI tags');
    for (const [key, value] of Object.entries(config.tags)) env.message(`Adding tag: "${key}": "${value}"`);
    env.say('Creating snapshot tags');
    for (const [key, value] of Object.entries(config.snapshotTags))
      env.message(`Adding tag: "${key}": "${value}"`);
    return { imageId: image.imageId, region: config.region };
  }

  /**
   * Terminates the build instance (retrying what EC2 refuses for a while) and, when the build did
   * not succeed, deregisters the AMI it registered with its snapshot. Never throws.
   */
  async cleanup(succeeded: boolean): Promise<void> {
    const { env } = this;
    const region = this.region;
    if (!succeeded && this.image && region.images.get(this.image.imageId) === this.image) {
      env.say('Deregistering the AMI and deleting associated snapshots because of cancellation, or error...');
      const image = this.image;
      region.images.delete(image.imageId);
      for (const device of image.blockDevices) {
        if (region.imagesUsingSnapshot(device.snapshotId).length === 0)
          region.snapshots.delete(device.snapshotId);
      }
      if (image.contents?.files) env.world.roots.removeImage(image.contents.files);
    }
    const instance = this.instance;
    if (instance && instance.state !== 'terminated' && instance.state !== 'shutting-down') {
      env.say('Terminating the source AWS instance...');
      let lastError: unknown;
      for (let attempt = 0; attempt < 10; attempt++) {
        try {
          terminateInstances(scopeOf(env.world, region, this.config.region), [instance.instanceId]);
          lastError = undefined;
          break;
        } catch (error) {
          lastError = error;
          await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** Math.min(attempt, 5)));
        }
      }
      if (lastError !== undefined)
        env.say(`Error terminating instance, may still be around: ${awsMessage(lastError)}`);
    }
    if (instance) {
      const deadline = Date.now() + Math.max(env.world.timeline.ms(INSTANCE_READY_SECONDS), 50);
      while (instance.state === 'shutting-down' && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
    env.say('Cleaning up any extra volumes...');
    env.say('No volumes to clean up, skipping');
    if (this.config.securityGroupIds.length === 0) env.say('Deleting temporary security group...');
    env.say('Deleting temporary keypair...');
  }

  /** The instance (tests and the abort path look at it). */
  get buildInstance(): InstanceRecord | undefined {
    return this.instance;
  }
}

/** Whether `path` (a jail path of the build) names a file or folder the build has. */
export function buildHas(buildRoot: string, path: string): boolean {
  const type = typeIn(buildRoot, path);
  return type === 'file' || type === 'dir';
}
