/**
 * Makes images (with their snapshots) and instances the way AWS would have them, for the seed,
 * the control interface and the AWS actions that create resources.
 */
import { amiName, buildTags, NAME_PREFIX, TAG, versionFromName } from '../functions/lib/ami';
import { AMAZON_OWNER_ID } from './credentials';
import { scheduleBoot, scheduleSelfShutdown } from './ec2/models/lifecycle';
import { MissingInput } from './errors/common';
import { InvalidAmiIdNotFound, InvalidParameterValue } from './errors/ec2';
import type { ImageComponent, ImageContents } from './instance-root';
import type { ImageRecord, InstanceRecord, InstanceStateName, Tags } from './state';
import { AWS_SECONDS } from './timeline';
import type { World } from './world';

/** What an image holds, as given when seeding; see instance-root.ts. */
export interface ImageContentsSpec {
  kind?: 'pulsar' | 'plain';
  pulsarVersion?: string;
  javaMajor?: number;
  missing?: ImageComponent[];
}

export const SEEDABLE_IMAGE_STATES = [
  'available',
  'pending',
  'failed',
  'disabled',
  'invalid',
  'error',
  'transient',
] as const;

function protectionOf(
  spec: ImageSpec['deregistrationProtection'],
): Pick<ImageRecord, 'deregistrationProtection' | 'protectionCooldown' | 'protectionUntil'> {
  if (spec === true || spec === 'enabled') return { deregistrationProtection: true };
  if (spec === 'enabled-with-cooldown') return { deregistrationProtection: true, protectionCooldown: true };
  if (spec && typeof spec === 'object') {
    return { deregistrationProtection: false, protectionUntil: Date.parse(spec.disabledUntil) };
  }
  return { deregistrationProtection: false };
}

export interface ImageSpec {
  name: string;
  version?: string;
  /** Any state EC2 has but `deregistered` (a deregistered image is gone). */
  state?: (typeof SEEDABLE_IMAGE_STATES)[number];
  /** ISO 8601; defaults to the name's timestamp for `pulsar-base-*` names, else now. */
  createdAt?: string;
  /** Exactly these tags on the image and its snapshots. */
  tags?: Tags;
  /** `self` (default), `amazon`, or a 12-digit account id. */
  owner?: string;
  /** Snapshots (EBS block devices); default 1. */
  snapshots?: number;
  /**
   * `true`/`enabled`, `enabled-with-cooldown`, or `{ disabledUntil }`: switched off, in its
   * cooldown until then.
   */
  deregistrationProtection?: boolean | 'enabled' | 'enabled-with-cooldown' | { disabledUntil: string };
  /** With no `tags`: give `pulsar-base-*` images the standard build tags unless false. */
  managed?: boolean;
  architecture?: 'x86_64' | 'arm64';
  description?: string;
  sourceImageId?: string;
  sourceImageRegion?: string;
  /** Default: a healthy Pulsar image when the image has a Pulsar version, else plain. */
  contents?: ImageContentsSpec;
}

export interface CreatedImage {
  imageId: string;
  snapshotIds: string[];
}

/** `pulsar-base-3.0.0-20250615103000` → 2025-06-15T10:30:00.000Z */
export function dateFromName(name: string): Date | null {
  const m = /-(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(name);
  if (!m) return null;
  const d = new Date(
    Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])),
  );
  return Number.isNaN(d.getTime()) ? null : d;
}

function ownerOf(world: World, owner: string | undefined): { ownerId: string; ownerAlias?: string } {
  if (owner === undefined || owner === 'self') return { ownerId: world.accountId };
  if (owner === 'amazon') return { ownerId: AMAZON_OWNER_ID, ownerAlias: 'amazon' };
  if (/^\d{12}$/.test(owner)) return { ownerId: owner };
  throw new InvalidParameterValue(`owner must be self, amazon or a 12-digit account id, got '${owner}'`);
}

/** A Pulsar image has a version (PulsarVersion tag or pulsar-base-* name); anything else is plain. */
export function pulsarVersionOf(image: Pick<ImageRecord, 'name' | 'tags'>): string | undefined {
  return image.tags[TAG.version] ?? versionFromName(image.name) ?? undefined;
}

export function imageContents(
  image: Pick<ImageRecord, 'name' | 'tags' | 'contents'>,
  spec: ImageContentsSpec = {},
): ImageContents {
  if (image.contents && Object.keys(spec).length === 0) return image.contents;
  const version = pulsarVersionOf(image);
  const kind = spec.kind ?? (version !== undefined ? 'pulsar' : 'plain');
  return {
    kind,
    pulsarVersion: spec.pulsarVersion ?? (kind === 'pulsar' ? version : undefined),
    javaMajor: spec.javaMajor ?? (kind === 'pulsar' ? 17 : 0),
    missing: [...(spec.missing ?? [])],
  };
}

function tagsFor(spec: ImageSpec, createdAt: Date): Tags {
  if (spec.tags) return { ...spec.tags };
  const version = spec.version ?? versionFromName(spec.name);
  const managed = spec.managed ?? spec.name.startsWith(NAME_PREFIX);
  if (managed && version) return buildTags({ name: spec.name, version, builtAt: createdAt });
  return {};
}

/** The instance a made image's snapshots say CreateImage was called on (EC2's description format). */
const FACTORY_INSTANCE = 'i-ffffffff';

export function createImage(world: World, regionName: string, spec: ImageSpec): CreatedImage {
  const region = world.region(regionName);
  const createdAt = spec.createdAt ? new Date(spec.createdAt) : (dateFromName(spec.name) ?? new Date());
  if (Number.isNaN(createdAt.getTime())) {
    throw new InvalidParameterValue(`createdAt must be an ISO 8601 time, got '${spec.createdAt}'`);
  }
  const owner = ownerOf(world, spec.owner);
  const tags = tagsFor(spec, createdAt);
  const count = spec.snapshots ?? 1;
  const imageId = world.ids.next('ami');
  const blockDevices = Array.from({ length: count }, (_, index) => {
    const snapshotId = world.ids.next('snap');
    const volumeSize = index === 0 ? 8 : 20;
    region.snapshots.set(snapshotId, {
      snapshotId,
      volumeId: 'vol-ffffffff',
      ownerId: owner.ownerId,
      ownerAlias: owner.ownerAlias,
      state: spec.state === 'pending' ? 'pending' : 'completed',
      startTime: createdAt.toISOString(),
      volumeSize,
      description: `Created by CreateImage(${FACTORY_INSTANCE}) for ${imageId}`,
      encrypted: false,
      tags: { ...tags },
    });
    return {
      deviceName: index === 0 ? '/dev/xvda' : `/dev/sd${String.fromCharCode(98 + index - 1)}`,
      snapshotId,
      volumeSize,
      volumeType: 'gp3',
      deleteOnTermination: true,
      encrypted: false,
    };
  });
  const image: ImageRecord = {
    imageId,
    name: spec.name,
    description: spec.description,
    state: spec.state ?? 'available',
    ownerId: owner.ownerId,
    ownerAlias: owner.ownerAlias,
    isPublic: owner.ownerAlias === 'amazon',
    creationDate: createdAt.toISOString(),
    architecture: spec.architecture ?? 'x86_64',
    rootDeviceName: '/dev/xvda',
    virtualizationType: 'hvm',
    blockDevices,
    tags,
    ...protectionOf(spec.deregistrationProtection),
    sourceImageId: spec.sourceImageId,
    sourceImageRegion: spec.sourceImageRegion,
  };
  image.contents = imageContents(
    { name: spec.name, tags: spec.version ? { [TAG.version]: spec.version, ...tags } : tags },
    spec.contents ?? {},
  );
  region.images.set(image.imageId, image);
  return { imageId: image.imageId, snapshotIds: blockDevices.map((d) => d.snapshotId) };
}

const BULK_VERSIONS = ['2.10.0', '2.10.1', '2.10.2', '2.11.0', '2.11.1', '3.0.0', '3.0.1', '3.1.0'];

/**
 * `count` images from one template: names `pulsar-base-{version}-{timestamp}` one minute apart,
 * going back from the template's `createdAt` (default now); versions cycle unless given.
 */
export function createImageBatch(
  world: World,
  regionName: string,
  template: Omit<ImageSpec, 'name'> & { name?: string },
  count: number,
): CreatedImage[] {
  const newest = template.createdAt ? new Date(template.createdAt) : new Date();
  newest.setUTCSeconds(0, 0);
  const created: CreatedImage[] = [];
  for (let i = 0; i < count; i++) {
    const at = new Date(newest.getTime() - i * 60_000);
    const version = template.version ?? BULK_VERSIONS[i % BULK_VERSIONS.length] ?? '3.0.0';
    created.push(
      createImage(world, regionName, {
        ...template,
        name: amiName(version, at),
        version,
        createdAt: at.toISOString(),
      }),
    );
  }
  return created;
}

export interface InstanceSpec {
  imageId: string;
  /** Default `pending` (boots on its own); `running` starts with its SSM agent registered. */
  state?: InstanceStateName;
  instanceType?: string;
  tags?: Tags;
  volumeTags?: Tags;
  clientToken?: string;
  subnetId?: string;
  reservationId?: string;
  iamInstanceProfile?: { arn: string; id: string };
  userData?: string;
  shutdownBehavior?: 'stop' | 'terminate';
  metadataOptions?: { httpTokens: string; httpEndpoint: string };
  /** Whether its SSM agent can register (default: it has an instance profile, or was made by the control interface). */
  ssmAgent?: boolean;
  /** A launch time this many minutes in the past (seeding instances a sweep should find old). */
  launchedMinutesAgo?: number;
}

/**
 * Makes one instance and its root volume, materialises its filesystem from the image (with
 * the `imageMissing` fault applied), and starts its lifecycle: a pending instance boots after
 * AWS_SECONDS.boot; a running one schedules the shutdown its user data asks for.
 */
export function launchInstance(world: World, regionName: string, spec: InstanceSpec): InstanceRecord {
  const region = world.region(regionName);
  const image = region.images.get(spec.imageId);
  if (!image) throw new InvalidAmiIdNotFound([spec.imageId]);
  const subnet = spec.subnetId !== undefined ? region.subnets.get(spec.subnetId) : region.defaultSubnet();
  if (!subnet) throw new MissingInput('No default subnet');
  const n = region.instances.size + 10;
  const base = Number(subnet.cidrBlock.split('.')[2] ?? 0);
  const state = spec.state ?? 'pending';
  const now = new Date();
  const instanceId = world.ids.next('i');
  const volumeId = world.ids.next('vol');
  const rootSize = image.blockDevices[0]?.volumeSize ?? 8;
  region.volumes.set(volumeId, {
    volumeId,
    instanceId,
    deviceName: image.rootDeviceName,
    size: rootSize,
    volumeType: 'gp3',
    attachTime: now.toISOString(),
    tags: { ...(spec.volumeTags ?? {}) },
  });
  const contents = imageContents(image);
  const missing = [...new Set([...contents.missing, ...world.faults.missingComponents(image.imageId)])];
  const instance: InstanceRecord = {
    instanceId,
    reservationId: spec.reservationId ?? world.ids.next('r'),
    imageId: image.imageId,
    instanceType: spec.instanceType ?? 't3.micro',
    state,
    launchTime: new Date(now.getTime() - (spec.launchedMinutesAgo ?? 0) * 60_000).toISOString(),
    availabilityZone: subnet.availabilityZone,
    subnetId: subnet.subnetId,
    vpcId: subnet.vpcId,
    privateIpAddress: `172.31.${base + Math.floor(n / 256)}.${n % 256}`,
    architecture: image.architecture,
    clientToken: spec.clientToken,
    tags: { ...(spec.tags ?? {}) },
    iamInstanceProfile: spec.iamInstanceProfile,
    userData: spec.userData,
    shutdownBehavior: spec.shutdownBehavior ?? 'stop',
    stateTransitionReason: '',
    ssmAgent: spec.ssmAgent ?? spec.iamInstanceProfile !== undefined,
    volumeIds: [volumeId],
    metadataOptions: spec.metadataOptions,
  };
  if (state !== 'terminated') {
    instance.rootDir = world.roots.create(instanceId, { ...contents, missing }, pulsarVersionOf(image));
  }
  region.instances.set(instance.instanceId, instance);
  // EC2 records the image's last launch (DescribeImageAttribute lastLaunchedTime).
  if (image.lastLaunchedTime === undefined || image.lastLaunchedTime < instance.launchTime) {
    image.lastLaunchedTime = instance.launchTime;
  }
  if (state === 'pending') scheduleBoot(world, region, instance);
  if (state === 'running') {
    // Already up for a while: agent registered, status checks passed.
    instance.runningSince =
      now.getTime() - world.timeline.ms(AWS_SECONDS.agentRegistration + AWS_SECONDS.statusChecks);
    scheduleSelfShutdown(world, region, instance);
  }
  return instance;
}
