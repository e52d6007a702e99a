/**
 * The world store: everything the sandbox knows and everything that runs behind it. Per region
 * (`RegionState`, LocalStack's store per account and region), the images, snapshots, instances
 * (with their volumes and root directories), Run Command commands, SSM parameters and default
 * network; and, for the whole world, the ids, the faults, compressed time (timers), the
 * instance roots on disk, each instance's lifecycle timers, each invocation's running process
 * and the engines attached to it (Step Functions, the event bus). Handlers reach it through
 * the request context (`ctx.world.region(ctx.regionName)`). Nothing of this lives in module
 * state: `clear()` (reset) and `dispose()` (close) are one call each.
 */

import { ArtifactStore } from './artifacts/store';
import type { CodeBuild } from './codebuild/engine';
import type { BuildRecord, BuildTokenRecord } from './codebuild/models/records';
import { SANDBOX_ACCOUNT_ID } from './credentials';
import { Faults } from './faults';
import { IdFactory } from './ids';
import { InstanceRoots } from './instance-root';
import type { LogGroupRecord } from './logs/models';
import type { ServerlessApp } from './serverless-config';
import type {
  CommandRecord,
  ImageRecord,
  InstanceRecord,
  InvocationRecord,
  LaunchConfigurationRecord,
  LaunchRecord,
  LaunchTemplateRecord,
  ParameterRecord,
  SnapshotRecord,
  SubnetRecord,
  VolumeRecord,
  VpcRecord,
} from './state';
import type { StepFunctions } from './stepfunctions/engine';
import { resolveTimeScale, Timeline, type TimerHandle } from './timeline';

export class RegionState {
  readonly images = new Map<string, ImageRecord>();
  readonly snapshots = new Map<string, SnapshotRecord>();
  readonly instances = new Map<string, InstanceRecord>();
  readonly volumes = new Map<string, VolumeRecord>();
  /** RunInstances ClientToken → the launch it made (idempotency). */
  readonly launchesByToken = new Map<string, LaunchRecord>();
  readonly commands = new Map<string, CommandRecord>();
  readonly parameters = new Map<string, ParameterRecord>();
  /** EC2 launch templates by id, each with its versions. */
  readonly launchTemplates = new Map<string, LaunchTemplateRecord>();
  /** Auto Scaling launch configurations by name. */
  readonly launchConfigurations = new Map<string, LaunchConfigurationRecord>();
  readonly vpcs = new Map<string, VpcRecord>();
  readonly subnets = new Map<string, SubnetRecord>();
  /**
   * Deregistered images that still hold their snapshots: EC2 finishes a deregistration
   * asynchronously, and DeleteSnapshot answers InUse naming the image until then.
   */
  readonly releasing = new Map<string, { snapshotIds: string[]; until: number }>();
  /** CodeBuild builds by id (`<project>:<uuid>`), in start order. */
  readonly builds = new Map<string, BuildRecord>();
  /** StartBuild idempotency tokens → the build they started. */
  readonly buildTokens = new Map<string, BuildTokenRecord>();
  /** The last build number of each project. */
  readonly buildNumbers = new Map<string, number>();
  /** CopyImage ClientToken → what it was asked and the image it made (idempotency). */
  readonly copyImageTokens = new Map<string, { fingerprint: string; imageId: string }>();
  /** CloudWatch Logs groups by name (their streams and events inside). */
  readonly logGroups = new Map<string, LogGroupRecord>();

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

  /** Every image id still holding a snapshot: registered ones, and deregistered ones not yet released. */
  snapshotHolders(snapshotId: string, now = Date.now()): string[] {
    const holders = this.imagesUsingSnapshot(snapshotId).map((image) => image.imageId);
    for (const [imageId, release] of this.releasing) {
      if (release.until <= now) this.releasing.delete(imageId);
      else if (release.snapshotIds.includes(snapshotId)) holders.push(imageId);
    }
    return holders;
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

/** Something running that a reset or close must stop (a command's process or hang timer). */
export interface Stoppable {
  stop(): void;
}

/** An engine attached to the world (Step Functions, the event bus): cleared on reset, closed on close. */
export interface WorldEngine {
  clear(): void;
  close?(): void;
}

/** Everything the sandbox knows, keyed by region; regions come into being on first use. */
export class World {
  readonly ids = new IdFactory();
  readonly accountId = SANDBOX_ACCOUNT_ID;
  readonly faults: Faults;
  readonly timeline: Timeline;
  readonly roots = new InstanceRoots();
  /** The downloads builds make (sandbox/artifacts/), in the same temporary folder as the roots. */
  readonly artifacts: ArtifactStore;
  /** Each instance's pending lifecycle timers (boot, self-shutdown, shutting-down → terminated). */
  readonly instanceTimers = new Map<InstanceRecord, TimerHandle[]>();
  /** What runs now for each invocation (its process or hang timer), to stop it early. */
  readonly running = new Map<InvocationRecord, Stoppable>();
  private readonly regions = new Map<string, RegionState>();
  /** What every region has from the start (AWS's public images and parameters), once seeded. */
  private readonly regionSetups: ((region: RegionState) => void)[] = [];
  private readonly engines: WorldEngine[] = [];
  private stepFunctionsEngine: StepFunctions | undefined;
  private codeBuildEngine: CodeBuild | undefined;
  private deploymentSource: (() => ServerlessApp | null) | undefined;

  constructor(options: WorldOptions = {}) {
    this.faults = options.faults ?? new Faults();
    this.timeline = new Timeline(resolveTimeScale(options.timeScale));
    this.artifacts = new ArtifactStore({
      folder: () => this.roots.folderFor('.artifacts', 0o755),
      faults: this.faults,
    });
  }

  region(name: string): RegionState {
    let region = this.regions.get(name);
    if (!region) {
      region = new RegionState(name, this.ids);
      this.regions.set(name, region);
      for (const setup of this.regionSetups) setup(region);
    }
    return region;
  }

  /**
   * Gives every region what AWS has in each from the start (the seed's public images and
   * parameters): the regions there are now, and each that comes into being later, until cleared.
   */
  everyRegion(setup: (region: RegionState) => void): void {
    this.regionSetups.push(setup);
    for (const region of [...this.regions.values()]) setup(region);
  }

  regionNames(): string[] {
    return [...this.regions.keys()];
  }

  /** Makes an engine part of this world: `clear()` clears it, `dispose()` closes it. */
  attach<T extends WorldEngine>(engine: T): T {
    this.engines.push(engine);
    return engine;
  }

  /** Attaches the Step Functions engine, where its API finds it (`world.stepFunctions`). */
  attachStepFunctions(engine: StepFunctions): StepFunctions {
    this.stepFunctionsEngine = this.attach(engine);
    return engine;
  }

  get stepFunctions(): StepFunctions | undefined {
    return this.stepFunctionsEngine;
  }

  /** Attaches the CodeBuild engine (projects, running builds), where its API finds it. */
  attachCodeBuild(engine: CodeBuild): CodeBuild {
    this.codeBuildEngine = this.attach(engine);
    return engine;
  }

  get codeBuild(): CodeBuild | undefined {
    return this.codeBuildEngine;
  }

  /**
   * The deployed application (serverless.yml as the sandbox reads it), where the services find
   * what its template creates: SSM documents, security groups. Read on first use.
   */
  attachDeployment(deployment: () => ServerlessApp | null): void {
    this.deploymentSource = deployment;
  }

  /** The deployed application, in its region; null when there is none (or it cannot be read). */
  deployment(): ServerlessApp | null {
    return this.deploymentSource?.() ?? null;
  }

  /**
   * Empties the world: engines cleared (executions stopped, deliveries forgotten), timers
   * cleared, command processes killed, instance roots removed, every region forgotten.
   */
  clear(): void {
    for (const engine of this.engines) engine.clear();
    this.timeline.clear();
    this.instanceTimers.clear();
    for (const run of [...this.running.values()]) run.stop();
    this.running.clear();
    this.artifacts.clear();
    this.roots.clear();
    this.regionSetups.length = 0;
    this.regions.clear();
  }

  /** For close: clears everything, then closes the engines (their SDK clients). */
  dispose(): void {
    this.clear();
    for (const engine of this.engines) engine.close?.();
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
        launchTemplates: [...r.launchTemplates.values()],
        launchConfigurations: [...r.launchConfigurations.values()],
        vpcs: [...r.vpcs.values()],
        builds: [...r.builds.values()],
        logGroups: [...r.logGroups.values()].map((g) => ({
          logGroupName: g.name,
          logStreams: [...g.streams.values()].map((st) => ({
            logStreamName: st.name,
            events: st.events.length,
          })),
        })),
        subnets: [...r.subnets.values()],
      };
    }
    return { accountId: this.accountId, timeScale: this.timeline.scale, regions };
  }
}
