/**
 * The records the models keep in the world store (world.ts): images, snapshots, instances,
 * volumes, Run Command commands and invocations, SSM parameters and the default network.
 * Plain data, no wire format.
 */
import type { ImageContents } from './instance-root';

export type Tags = Record<string, string>;

export type ImageState =
  | 'available'
  | 'pending'
  | 'failed'
  | 'invalid'
  | 'deregistered'
  | 'error'
  | 'transient'
  | 'disabled';

export const IMAGE_STATES: readonly ImageState[] = [
  'available',
  'pending',
  'failed',
  'invalid',
  'deregistered',
  'error',
  'transient',
  'disabled',
];

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
  /** Deregistration protection is on (EnableImageDeregistrationProtection). */
  deregistrationProtection: boolean;
  /** It was enabled WithCooldown: switching it off keeps it for 24 hours more. */
  protectionCooldown?: boolean;
  /** Switched off with a cooldown: still refused until this time (epoch ms). */
  protectionUntil?: number;
  sourceImageId?: string;
  sourceImageRegion?: string;
  /** When an instance was last launched from it (ISO 8601), as DescribeImageAttribute lastLaunchedTime says. */
  lastLaunchedTime?: string;
  /** EnableImageDeprecation's time (ISO 8601, whole minutes); gone with DisableImageDeprecation. */
  deprecationTime?: string;
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
  /** Its security groups (RunInstances SecurityGroupId.N, else the VPC's default group). */
  securityGroupIds?: string[];
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
  /** What runs, when not `parameters.commands`: a document's commands, parameters substituted. */
  commands?: string[];
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

/** One version of a launch template: what it launches (only the fields the sandbox reads). */
export interface LaunchTemplateVersionRecord {
  versionNumber: number;
  description?: string;
  createTime: string;
  /** LaunchTemplateData: ImageId, InstanceType (the rest is kept as given, unread). */
  data: { imageId?: string; instanceType?: string };
}

export interface LaunchTemplateRecord {
  launchTemplateId: string;
  name: string;
  createTime: string;
  createdBy: string;
  defaultVersion: number;
  /** In version order; versions are never renumbered. */
  versions: LaunchTemplateVersionRecord[];
  tags: Tags;
}

/** An Auto Scaling launch configuration (only what the sandbox reads: its image and type). */
export interface LaunchConfigurationRecord {
  name: string;
  arn: string;
  imageId: string;
  instanceType: string;
  /** ISO 8601. */
  createdTime: string;
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

/** A RunInstances with a ClientToken: what it was asked (fingerprint) and what it launched. */
export interface LaunchRecord {
  fingerprint: string;
  instanceIds: string[];
}
