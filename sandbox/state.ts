/**
 * The sandbox's in-memory world: per region, the images, snapshots, instances (with their
 * volumes and root directories), Run Command commands, SSM parameters and default network
 * that the AWS handlers read and change; and what runs behind them: the faults, compressed
 * time (timers), instance roots on disk and running command processes, all stopped and
 * removed by `clear()` (reset) and `dispose()` (close).
 */
import { SANDBOX_ACCOUNT_ID } from './credentials';
import { Faults } from './faults';
import { IdFactory } from './ids';
import type { ImageContents } from './instance-root';
import { InstanceRoots } from './instance-root';
import { resolveTimeScale, Timeline } from './timeline';

export type Tags = Record<string, string>;

export type ImageState = 'available' | 'pending' | 'failed' | 'invalid' | 'deregistered' | 'error';

export interface BlockDevice {
  deviceName: string;
  snapshotId: string;
  volumeSize: number;
  volumeType: string;
  deleteOnTermination: boolean;
  encrypted: boolean;
}

export interface ImageRecord {
  imageId: string;
  name: string;
  description?: string;
  state: ImageState;
  ownerId: string;
  ownerAlias?: string;
  isPublic: boolean;
  /** ISO 8601 with milliseconds, as EC2 answers it. */
  creationDate: string;
  architecture: 'x86_64' | 'arm64';
  rootDeviceName: string;
  virtualizationType: 'hvm';
  blockDevices: BlockDevice[];
  tags: Tags;
  deregistrationProtection: boolean;
  sourceImageId?: string;
  sourceImageRegion?: string;
  /** What an instance launched from it finds on disk (see instance-root.ts). */
  contents?: ImageContents;
}

export interface SnapshotRecord {
  snapshotId: string;
  volumeId: string;
  ownerId: string;
  ownerAlias?: string;
  state: 'pending' | 'completed' | 'error';
  startTime: string;
  volumeSize: number;
  description: string;
  encrypted: boolean;
  tags: Tags;
}

export type InstanceStateName =
  | 'pending'
  | 'running'
  | 'shutting-down'
  | 'terminated'
  | 'stopping'
  | 'stopped';

export const INSTANCE_STATE_CODES: Record<InstanceStateName, number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

export interface InstanceRecord {
  instanceId: string;
  reservationId: string;
  imageId: string;
  instanceType: string;
  state: InstanceStateName;
  launchTime: string;
  availabilityZone: string;
  subnetId: string;
  vpcId: string;
  privateIpAddress: string;
  architecture: 'x86_64' | 'arm64';
  clientToken?: string;
  tags: Tags;
  iamInstanceProfile?: { arn: string; id: string };
  /** Base64, as given to RunInstances. */
  userData?: string;
  shutdownBehavior: 'stop' | 'terminate';
  stateTransitionReason: string;
  stateReason?: { code: string; message: string };
  /** When it last became running (epoch ms): the SSM agent and status checks count from here. */
  runningSince?: number;
  /** The SSM agent can register: the instance has an instance profile. */
  ssmAgent: boolean;
  /** Its root directory on the host (see instance-root.ts); gone once terminated. */
  rootDir?: string;
  volumeIds: string[];
  metadataOptions?: { httpTokens: string; httpEndpoint: string };
}

export interface VolumeRecord {
  volumeId: string;
  instanceId: string;
  deviceName: string;
  size: number;
  volumeType: string;
  attachTime: string;
  tags: Tags;
}

export type InvocationStatus = 'Pending' | 'InProgress' | 'Success' | 'Failed' | 'TimedOut' | 'Cancelled';

export const FINAL_INVOCATION_STATUSES: ReadonlySet<InvocationStatus> = new Set([
  'Success',
  'Failed',
  'TimedOut',
  'Cancelled',
]);

export interface InvocationRecord {
  commandId: string;
  instanceId: string;
  status: InvocationStatus;
  statusDetails: string;
  /** Epoch ms. */
  requestedAt: number;
  /** GetCommandInvocation answers InvocationDoesNotExist before this (epoch ms). */
  visibleAt: number;
  startedAt?: number;
  endedAt?: number;
  responseCode: number;
  stdout: string;
  stderr: string;
}

export interface CommandRecord {
  commandId: string;
  documentName: string;
  comment: string;
  parameters: Record<string, string[]>;
  instanceIds: string[];
  /** Epoch ms. */
  requestedAt: number;
  /** Delivery timeout (SendCommand TimeoutSeconds). */
  timeoutSeconds: number;
  /** Parameters.executionTimeout, in real seconds. */
  executionTimeoutSeconds: number;
  maxConcurrency: string;
  maxErrors: string;
  invocations: Map<string, InvocationRecord>;
}

export interface ParameterRecord {
  name: string;
  type: 'String' | 'StringList' | 'SecureString';
  value: string;
  version: number;
  lastModifiedDate: Date;
  dataType: string;
  description?: string;
}

export interface VpcRecord {
  vpcId: string;
  cidrBlock: string;
  isDefault: boolean;
  state: 'available';
  dhcpOptionsId: string;
}

export interface SubnetRecord {
  subnetId: string;
  vpcId: string;
  availabilityZone: string;
  availabilityZoneId: string;
  cidrBlock: string;
  defaultForAz: boolean;
  mapPublicIpOnLaunch: boolean;
  availableIpAddressCount: number;
  state: 'available';
}

export class RegionState {
  readonly images = new Map<string, ImageRecord>();
  readonly snapshots = new Map<string, SnapshotRecord>();
  readonly instances = new Map<string, InstanceRecord>();
  readonly volumes = new Map<string, VolumeRecord>();
  /** RunInstances ClientToken → the launch it made (idempotency). */
  readonly launchesByToken = new Map<string, { fingerprint: string; instanceIds: string[] }>();
  readonly commands = new Map<string, CommandRecord>();
  readonly parameters = new Map<string, ParameterRecord>();
  readonly vpcs = new Map<string, VpcRecord>();
  readonly subnets = new Map<string, SubnetRecord>();

  constructor(
    readonly name: string,
    ids: IdFactory,
  ) {
    const vpcId = ids.next('vpc');
    this.vpcs.set(vpcId, {
      vpcId,
      cidrBlock: '172.31.0.0/16',
      isDefault: true,
      state: 'available',
      dhcpOptionsId: 'dopt-0a1b2c3d',
    });
    ['a', 'b', 'c'].forEach((letter, index) => {
      const subnetId = ids.next('subnet');
      this.subnets.set(subnetId, {
        subnetId,
        vpcId,
        availabilityZone: `${name}${letter}`,
        availabilityZoneId: `${zoneIdPrefix(name)}-az${index + 1}`,
        cidrBlock: `172.31.${index * 16}.0/20`,
        defaultForAz: true,
        mapPublicIpOnLaunch: true,
        availableIpAddressCount: 4091,
        state: 'available',
      });
    });
  }

  /** Images that reference a snapshot (a snapshot in use cannot be deleted). */
  imagesUsingSnapshot(snapshotId: string): ImageRecord[] {
    return [...this.images.values()].filter((image) =>
      image.blockDevices.some((device) => device.snapshotId === snapshotId),
    );
  }

  defaultSubnet(): SubnetRecord | undefined {
    return [...this.subnets.values()].find((s) => s.defaultForAz);
  }
}

function zoneIdPrefix(region: string): string {
  const [area = 'xx', direction = 'x', number = '1'] = region.split('-');
  return `${area.slice(0, 2)}${direction.slice(0, 1)}${number}`;
}

export interface WorldOptions {
  faults?: Faults;
  /** See timeline.ts: AWS seconds × scale = real seconds. */
  timeScale?: number;
}

/** Something running that a reset or close must stop (a command's process). */
export interface Stoppable {
  stop(): void;
}

/** Everything the sandbox knows, keyed by region; regions come into being on first use. */
export class World {
  readonly ids = new IdFactory();
  readonly accountId = SANDBOX_ACCOUNT_ID;
  readonly faults: Faults;
  readonly timeline: Timeline;
  readonly roots = new InstanceRoots();
  /** Running command processes. */
  readonly running = new Set<Stoppable>();
  private readonly regions = new Map<string, RegionState>();

  constructor(options: WorldOptions = {}) {
    this.faults = options.faults ?? new Faults();
    this.timeline = new Timeline(resolveTimeScale(options.timeScale));
  }

  region(name: string): RegionState {
    let region = this.regions.get(name);
    if (!region) {
      region = new RegionState(name, this.ids);
      this.regions.set(name, region);
    }
    return region;
  }

  regionNames(): string[] {
    return [...this.regions.keys()];
  }

  /** Empties every region: timers cleared, command processes killed, instance roots removed. */
  clear(): void {
    this.timeline.clear();
    for (const process of this.running) process.stop();
    this.running.clear();
    this.roots.clear();
    this.regions.clear();
  }

  /** For close: the same as clear. */
  dispose(): void {
    this.clear();
  }

  /** A JSON-ready dump, for `GET /_sandbox/state`. */
  dump(): Record<string, unknown> {
    const regions: Record<string, unknown> = {};
    for (const [name, r] of this.regions) {
      regions[name] = {
        images: [...r.images.values()],
        snapshots: [...r.snapshots.values()],
        instances: [...r.instances.values()],
        volumes: [...r.volumes.values()],
        commands: [...r.commands.values()].map((c) => ({
          ...c,
          requestedAt: new Date(c.requestedAt).toISOString(),
          invocations: [...c.invocations.values()].map((i) => ({
            ...i,
            requestedAt: new Date(i.requestedAt).toISOString(),
            visibleAt: new Date(i.visibleAt).toISOString(),
            startedAt: i.startedAt === undefined ? undefined : new Date(i.startedAt).toISOString(),
            endedAt: i.endedAt === undefined ? undefined : new Date(i.endedAt).toISOString(),
          })),
        })),
        parameters: [...r.parameters.values()].map((p) => ({
          ...p,
          lastModifiedDate: p.lastModifiedDate.toISOString(),
        })),
        vpcs: [...r.vpcs.values()],
        subnets: [...r.subnets.values()],
      };
    }
    return { accountId: this.accountId, timeScale: this.timeline.scale, regions };
  }
}
