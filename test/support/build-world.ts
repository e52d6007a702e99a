/**
 * A small in-memory AWS for the BuildAmi machine's tests: images, snapshots and instances per
 * region (EC2), parameters per region (SSM) and builds (CodeBuild), answering the commands the
 * machine's Lambdas send, through `send` like the SDK clients. Errors are thrown as the SDK
 * throws them (`name` = the AWS code). Filters understood: tag:K, name, state, architecture,
 * image-id, block-device-mapping.snapshot-id, instance-state-name (values may use `*`).
 */
import {
  BatchGetBuildsCommand,
  type Build,
  ListBuildsForProjectCommand,
  StopBuildCommand,
} from '@aws-sdk/client-codebuild';
import {
  CopyImageCommand,
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImageReferencesCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  type Filter,
  type Image,
  type Instance,
  type Tag,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { DeleteParameterCommand, GetParameterCommand, PutParameterCommand } from '@aws-sdk/client-ssm';

export const HOME = 'us-west-2';
export const ACCOUNT = '123456789012';

interface WorldImage {
  imageId: string;
  name: string;
  state: string;
  architecture: string;
  createdAt: string;
  tags: Record<string, string>;
  snapshotIds: string[];
}

interface WorldInstance {
  instanceId: string;
  state: string;
  imageId: string;
  tags: Record<string, string>;
}

interface RegionWorld {
  images: Map<string, WorldImage>;
  snapshots: Map<string, Record<string, string>>;
  instances: Map<string, WorldInstance>;
  parameters: Map<string, string>;
  copyTokens: Map<string, string>;
}

export class AwsError extends Error {
  readonly $fault = 'client';
  readonly $metadata = {};
  constructor(
    readonly Code: string,
    message: string,
  ) {
    super(message);
    this.name = Code;
  }
}

const hex = (n: number, width = 17) => n.toString(16).padStart(width, '0');

function wildcard(pattern: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  const regex = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return regex.test(value);
}

const toTags = (record: Record<string, string>): Tag[] =>
  Object.entries(record).map(([Key, Value]) => ({ Key, Value }));

export class BuildWorld {
  private readonly regions = new Map<string, RegionWorld>();
  private next = 1;
  readonly builds = new Map<string, Build>();
  /** Region → how many DescribeImages of a copy answer `pending` before it is `available` (Infinity: never). */
  copyPendingChecks = new Map<string, number>();
  private readonly copyChecks = new Map<string, number>();
  /** Image id → how many more deletion attempts find it used by a (terminating) instance. */
  inUseFor = new Map<string, number>();

  /** Forgets everything (one world per test file, reset before each test). */
  reset(): void {
    this.regions.clear();
    this.builds.clear();
    this.copyPendingChecks.clear();
    this.copyChecks.clear();
    this.inUseFor.clear();
  }

  region(name: string): RegionWorld {
    let world = this.regions.get(name);
    if (!world) {
      world = {
        images: new Map(),
        snapshots: new Map(),
        instances: new Map(),
        parameters: new Map(),
        copyTokens: new Map(),
      };
      this.regions.set(name, world);
    }
    return world;
  }

  id(prefix: string): string {
    return `${prefix}-${hex(this.next++)}`;
  }

  /** Registers an image (with one snapshot tagged as the image is) and returns its id. */
  addImage(
    region: string,
    image: Partial<Omit<WorldImage, 'imageId' | 'snapshotIds'>> & { version: string },
  ): string {
    const imageId = this.id('ami');
    const snapshotId = this.id('snap');
    const name = image.name ?? `pulsar-base-${image.version}-2026010112${hex(this.next, 4).slice(-4)}`;
    const tags = {
      Name: name,
      PulsarVersion: image.version,
      ManagedBy: 'pulsar-ami',
      ...image.tags,
    };
    this.region(region).images.set(imageId, {
      imageId,
      name,
      state: image.state ?? 'available',
      architecture: image.architecture ?? 'x86_64',
      createdAt: image.createdAt ?? new Date(Date.UTC(2026, 0, 1, 0, this.next)).toISOString(),
      tags,
      snapshotIds: [snapshotId],
    });
    this.region(region).snapshots.set(snapshotId, { ...tags });
    return imageId;
  }

  addInstance(region: string, instance: Omit<WorldInstance, 'instanceId'>): string {
    const instanceId = this.id('i');
    this.region(region).instances.set(instanceId, { instanceId, ...instance });
    return instanceId;
  }

  image(region: string, imageId: string): WorldImage | undefined {
    return this.region(region).images.get(imageId);
  }

  images(region: string): WorldImage[] {
    return [...this.region(region).images.values()];
  }

  snapshots(region: string): string[] {
    return [...this.region(region).snapshots.keys()];
  }

  parameter(region: string, name: string): string | undefined {
    return this.region(region).parameters.get(name);
  }

  setParameter(region: string, name: string, value: string): void {
    this.region(region).parameters.set(name, value);
  }

  private imageMatches(image: WorldImage, filters: Filter[]): boolean {
    return filters.every(({ Name = '', Values = [] }) => {
      const value = Name.startsWith('tag:')
        ? image.tags[Name.slice(4)]
        : Name === 'name'
          ? image.name
          : Name === 'state'
            ? image.state
            : Name === 'architecture'
              ? image.architecture
              : Name === 'image-id'
                ? image.imageId
                : undefined;
      if (Name === 'block-device-mapping.snapshot-id')
        return image.snapshotIds.some((s) => Values.some((v) => wildcard(v, s)));
      return Values.some((v) => wildcard(v, value));
    });
  }

  private render(image: WorldImage): Image {
    return {
      ImageId: image.imageId,
      Name: image.name,
      State: image.state as Image['State'],
      Architecture: image.architecture as Image['Architecture'],
      CreationDate: image.createdAt,
      OwnerId: ACCOUNT,
      Tags: toTags(image.tags),
      BlockDeviceMappings: image.snapshotIds.map((SnapshotId) => ({
        DeviceName: '/dev/xvda',
        Ebs: { SnapshotId },
      })),
      ...(image.state === 'failed' ? { StateReason: { Message: 'copy failed' } } : {}),
    };
  }

  /** An EC2 client of `region`. */
  ec2(region: string) {
    return { send: async (command: unknown): Promise<unknown> => this.ec2Send(region, command) };
  }

  private ec2Send(region: string, command: unknown): unknown {
    const world = this.region(region);
    if (command instanceof DescribeImagesCommand) {
      const { ImageIds, Filters = [] } = command.input;
      if (ImageIds) {
        const found = ImageIds.map((id) => world.images.get(id)).filter((i) => i !== undefined);
        // A copy reads pending for its first checks (copyPendingChecks).
        for (const image of found) {
          const pending = this.copyPendingChecks.get(region);
          if (image.tags.SourceAmiId && pending !== undefined && image.state === 'pending') {
            const seen = (this.copyChecks.get(image.imageId) ?? 0) + 1;
            this.copyChecks.set(image.imageId, seen);
            if (seen > pending) image.state = 'available';
          }
        }
        return { Images: found.map((i) => this.render(i)) };
      }
      return {
        Images: [...world.images.values()]
          .filter((i) => this.imageMatches(i, Filters))
          .map((i) => this.render(i)),
      };
    }
    if (command instanceof DescribeSnapshotsCommand) {
      return {
        Snapshots: (command.input.SnapshotIds ?? []).flatMap((SnapshotId) => {
          const tags = world.snapshots.get(SnapshotId);
          return tags ? [{ SnapshotId, Tags: toTags(tags) }] : [];
        }),
      };
    }
    if (command instanceof DescribeImageReferencesCommand) {
      // Instances in the states asked (a test instance still terminating: `inUseFor` lookups)
      // and parameters holding the id; this fake has no launch templates or recipes.
      const states = command.input.ResourceTypes?.find(
        (t) => t.ResourceType === 'ec2:Instance',
      )?.ResourceTypeOptions?.find((o) => o.OptionName === 'state-name')?.OptionValues;
      const arn = `arn:aws:ec2:${region}:${ACCOUNT}`;
      const ImageReferences = (command.input.ImageIds ?? []).flatMap((imageId) => {
        const refs: { ImageId: string; ResourceType: 'ec2:Instance' | 'ssm:Parameter'; Arn: string }[] = [];
        const left = this.inUseFor.get(imageId) ?? 0;
        if (left > 0) {
          this.inUseFor.set(imageId, left - 1);
          refs.push({
            ImageId: imageId,
            ResourceType: 'ec2:Instance',
            Arn: `${arn}:instance/i-0feed0000000000001`,
          });
        }
        for (const i of world.instances.values()) {
          if (i.imageId === imageId && (!states || states.includes(i.state))) {
            refs.push({
              ImageId: imageId,
              ResourceType: 'ec2:Instance',
              Arn: `${arn}:instance/${i.instanceId}`,
            });
          }
        }
        for (const [name, value] of world.parameters) {
          if (value === imageId) {
            refs.push({
              ImageId: imageId,
              ResourceType: 'ssm:Parameter',
              Arn: `arn:aws:ssm:${region}:${ACCOUNT}:parameter/${name.replace(/^\//, '')}`,
            });
          }
        }
        return refs;
      });
      return { ImageReferences };
    }
    if (command instanceof DescribeInstancesCommand) {
      const filters = command.input.Filters ?? [];
      const imageFilter = filters.find((f) => f.Name === 'image-id')?.Values?.[0];
      if (imageFilter) {
        const left = this.inUseFor.get(imageFilter) ?? 0;
        if (left > 0) {
          this.inUseFor.set(imageFilter, left - 1);
          return { Reservations: [{ Instances: [{ InstanceId: 'i-0feed0000000000001' }] }] };
        }
      }
      const instances: Instance[] = [...world.instances.values()]
        .filter((i) =>
          filters.every(({ Name = '', Values = [] }) => {
            const value = Name.startsWith('tag:')
              ? i.tags[Name.slice(4)]
              : Name === 'instance-state-name'
                ? i.state
                : Name === 'image-id'
                  ? i.imageId
                  : undefined;
            return Values.some((v) => wildcard(v, value));
          }),
        )
        .map((i) => ({ InstanceId: i.instanceId, State: { Name: i.state as never }, Tags: toTags(i.tags) }));
      return { Reservations: instances.length > 0 ? [{ Instances: instances }] : [] };
    }
    if (command instanceof TerminateInstancesCommand) {
      for (const id of command.input.InstanceIds ?? []) {
        const instance = world.instances.get(id);
        if (!instance)
          throw new AwsError('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
        instance.state = 'shutting-down';
      }
      return { TerminatingInstances: [] };
    }
    if (command instanceof CreateTagsCommand) {
      for (const id of command.input.Resources ?? []) {
        const target = world.images.get(id)?.tags ?? world.snapshots.get(id);
        if (!target) throw new AwsError('InvalidID', `The ID '${id}' is not valid`);
        for (const { Key, Value } of command.input.Tags ?? []) if (Key) target[Key] = Value ?? '';
      }
      return {};
    }
    if (command instanceof DeregisterImageCommand) {
      const id = command.input.ImageId ?? '';
      if (!world.images.delete(id))
        throw new AwsError('InvalidAMIID.NotFound', `The image id '[${id}]' does not exist`);
      return {};
    }
    if (command instanceof DeleteSnapshotCommand) {
      const id = command.input.SnapshotId ?? '';
      if (!world.snapshots.delete(id))
        throw new AwsError('InvalidSnapshot.NotFound', `The snapshot '${id}' does not exist`);
      return {};
    }
    if (command instanceof CopyImageCommand) {
      const {
        SourceImageId = '',
        SourceRegion = '',
        Name = '',
        ClientToken,
        TagSpecifications = [],
      } = command.input;
      const known = ClientToken ? world.copyTokens.get(ClientToken) : undefined;
      if (known) return { ImageId: known };
      const source = this.region(SourceRegion).images.get(SourceImageId);
      if (!source)
        throw new AwsError('InvalidAMIID.NotFound', `The image id '[${SourceImageId}]' does not exist`);
      const imageTags = Object.fromEntries(
        (TagSpecifications.find((t) => t.ResourceType === 'image')?.Tags ?? []).map((t) => [t.Key, t.Value]),
      ) as Record<string, string>;
      const snapshotTags = Object.fromEntries(
        (TagSpecifications.find((t) => t.ResourceType === 'snapshot')?.Tags ?? []).map((t) => [
          t.Key,
          t.Value,
        ]),
      ) as Record<string, string>;
      const imageId = this.id('ami');
      const snapshotId = this.id('snap');
      world.images.set(imageId, {
        imageId,
        name: Name,
        state: 'pending',
        architecture: source.architecture,
        createdAt: new Date().toISOString(),
        tags: imageTags,
        snapshotIds: [snapshotId],
      });
      world.snapshots.set(snapshotId, snapshotTags);
      if (ClientToken) world.copyTokens.set(ClientToken, imageId);
      return { ImageId: imageId };
    }
    throw new Error(`the fake EC2 does not answer ${(command as object).constructor.name}`);
  }

  /** An SSM client of `region`. */
  ssm(region: string) {
    return {
      send: async (command: unknown): Promise<unknown> => {
        const parameters = this.region(region).parameters;
        if (command instanceof GetParameterCommand) {
          const value = parameters.get(command.input.Name ?? '');
          if (value === undefined) throw new AwsError('ParameterNotFound', 'Parameter not found');
          return { Parameter: { Name: command.input.Name, Value: value } };
        }
        if (command instanceof PutParameterCommand) {
          parameters.set(command.input.Name ?? '', command.input.Value ?? '');
          return { Version: 1 };
        }
        if (command instanceof DeleteParameterCommand) {
          parameters.delete(command.input.Name ?? '');
          return {};
        }
        throw new Error(`the fake SSM does not answer ${(command as object).constructor.name}`);
      },
    };
  }

  /** A build of the project, as BatchGetBuilds reports it. */
  addBuild(build: { executionArn: string; status: string }): string {
    const id = `pulsar-ami-test-build-ami:${this.id('uuid')}`;
    this.builds.set(id, {
      id,
      buildStatus: build.status as Build['buildStatus'],
      environment: {
        type: 'LINUX_CONTAINER',
        image: 'aws/codebuild/amazonlinux-x86_64-standard:5.0',
        computeType: 'BUILD_GENERAL1_SMALL',
        environmentVariables: [{ name: 'BUILD_EXECUTION_ARN', value: build.executionArn, type: 'PLAINTEXT' }],
      },
    });
    return id;
  }

  codebuild() {
    return {
      send: async (command: unknown): Promise<unknown> => {
        if (command instanceof ListBuildsForProjectCommand) return { ids: [...this.builds.keys()].reverse() };
        if (command instanceof BatchGetBuildsCommand) {
          return { builds: (command.input.ids ?? []).flatMap((id) => this.builds.get(id) ?? []) };
        }
        if (command instanceof StopBuildCommand) {
          const build = this.builds.get(command.input.id ?? '');
          if (build) build.buildStatus = 'STOPPED';
          return { build };
        }
        throw new Error(`the fake CodeBuild does not answer ${(command as object).constructor.name}`);
      },
    };
  }
}

/** The world the tests' mocked clients (functions/lib/clients/*) answer from. */
export const world = new BuildWorld();
