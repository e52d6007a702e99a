/**
 * The sandbox's in-memory world: per region, the images, snapshots, instances, SSM parameters
 * and default network that the AWS handlers read and change.
 */
import { SANDBOX_ACCOUNT_ID } from './credentials';
import { IdFactory } from './ids';

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

/** Everything the sandbox knows, keyed by region; regions come into being on first use. */
export class World {
  readonly ids = new IdFactory();
  readonly accountId = SANDBOX_ACCOUNT_ID;
  private readonly regions = new Map<string, RegionState>();

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

  clear(): void {
    this.regions.clear();
  }

  /** A JSON-ready dump, for `GET /_sandbox/state`. */
  dump(): Record<string, unknown> {
    const regions: Record<string, unknown> = {};
    for (const [name, r] of this.regions) {
      regions[name] = {
        images: [...r.images.values()],
        snapshots: [...r.snapshots.values()],
        instances: [...r.instances.values()],
        parameters: [...r.parameters.values()].map((p) => ({
          ...p,
          lastModifiedDate: p.lastModifiedDate.toISOString(),
        })),
        vpcs: [...r.vpcs.values()],
        subnets: [...r.subnets.values()],
      };
    }
    return { accountId: this.accountId, regions };
  }
}
