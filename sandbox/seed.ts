/**
 * The default world: in the API region, three Pulsar AMIs as the guide shows them (3.0.0
 * newest and validated, 2.11.0, 2.10.0), one legacy image without the ManagedBy tag, one
 * account image that is not ours, and the published-latest SSM parameter; in every region,
 * Amazon Linux 2023 as AWS publishes it (an image per architecture, owned by Amazon, and the
 * public parameters `/aws/service/ami-amazon-linux-latest/…` naming them).
 */
import { buildTags, TAG } from '../functions/lib/ami';
import { createImage } from './factory';
import type { RegionState, World } from './world';

/** The Amazon Linux 2023 release every region has. */
export const AL2023_RELEASE = '2023.6.20250101.0';
export const AL2023_PARAMETER_PATH = '/aws/service/ami-amazon-linux-latest';

/** Amazon's Amazon Linux 2023 images and the public parameters naming them, in one region. */
export function seedAmazonLinux(world: World, region: RegionState): Record<'x86_64' | 'arm64', string> {
  const ids = { x86_64: '', arm64: '' };
  for (const architecture of ['x86_64', 'arm64'] as const) {
    const imageId = createImage(world, region.name, {
      name: `al2023-ami-${AL2023_RELEASE}-kernel-6.1-${architecture}`,
      owner: 'amazon',
      architecture,
      createdAt: '2025-01-02T00:00:00.000Z',
      tags: {},
      description: `Amazon Linux 2023 AMI ${AL2023_RELEASE} ${architecture} HVM kernel-6.1`,
    }).imageId;
    ids[architecture] = imageId;
    for (const kernel of ['default', '6.1']) {
      const name = `${AL2023_PARAMETER_PATH}/al2023-ami-kernel-${kernel}-${architecture}`;
      region.parameters.set(name, {
        name,
        type: 'String',
        value: imageId,
        version: 1,
        lastModifiedDate: new Date('2025-01-02T00:00:00.000Z'),
        dataType: 'text',
      });
    }
  }
  return ids;
}

export interface SeedOptions {
  region: string;
  stage: string;
}

export interface SeededIds {
  latest: string;
  previous: string;
  oldest: string;
  legacy: string;
  foreign: string;
  amazon: string;
}

export function seedWorld(world: World, { region, stage }: SeedOptions): SeededIds {
  const pulsar = (version: string, name: string, createdAt: string, extra: Record<string, string> = {}) =>
    createImage(world, region, {
      name,
      version,
      createdAt,
      tags: { ...buildTags({ name, version, builtAt: new Date(createdAt) }), ...extra },
    }).imageId;
  const oldest = pulsar('2.10.0', 'pulsar-base-2.10.0-20250120093000', '2025-01-20T09:30:00.000Z');
  const previous = pulsar('2.11.0', 'pulsar-base-2.11.0-20250310141500', '2025-03-10T14:15:00.000Z');
  const latest = pulsar('3.0.0', 'pulsar-base-3.0.0-20250615103000', '2025-06-15T10:30:00.000Z', {
    [TAG.validated]: 'true',
    [TAG.validationDate]: '2025-06-15',
  });
  const legacy = createImage(world, region, {
    name: 'pulsar-base-2.9.0-20250101120000',
    createdAt: '2025-01-01T12:00:00.000Z',
    tags: { Name: 'pulsar-base-2.9.0-20250101120000' },
  }).imageId;
  const foreign = createImage(world, region, {
    name: 'ubuntu-jammy-custom',
    createdAt: '2025-02-02T08:00:00.000Z',
    tags: { Name: 'ubuntu-jammy-custom', Team: 'platform' },
    description: 'Team image, not built by pulsar-ami',
  }).imageId;
  world.everyRegion((r) => seedAmazonLinux(world, r));
  const amazon = world
    .region(region)
    .parameters.get(`${AL2023_PARAMETER_PATH}/al2023-ami-kernel-default-x86_64`)?.value as string;
  world.region(region).parameters.set(`/pulsar-ami/${stage}/latest-ami-id`, {
    name: `/pulsar-ami/${stage}/latest-ami-id`,
    type: 'String',
    value: latest,
    version: 1,
    lastModifiedDate: new Date('2025-06-15T11:00:00.000Z'),
    dataType: 'aws:ec2:image',
    description: 'The latest validated Pulsar AMI',
  });
  return { latest, previous, oldest, legacy, foreign, amazon };
}
