import {
  DescribeImageReferencesCommand,
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  EC2Client,
  type ImageReferenceResourceType,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  findImageReferences,
  LAUNCH_TEMPLATE_VERSION_DEPTH,
  ownParameters,
  parameterNameOf,
} from '../../functions/lib/image-references';

const ec2Mock = mockClient(EC2Client);
const ec2 = new EC2Client({ region: 'us-west-2' });
const ACCOUNT = 'arn:aws:ec2:us-west-2:123456789012';
const ami = (n: number) => `ami-0${n.toString(16).padStart(16, '0')}`;

beforeEach(() => {
  ec2Mock.reset();
  ec2Mock.on(DescribeImageReferencesCommand).resolves({ ImageReferences: [] });
});

describe('findImageReferences', () => {
  it('asks ten ids a call, each id once, with every resource type and the instance states that hold an image', async () => {
    const ids = Array.from({ length: 25 }, (_, i) => ami(i + 1));
    const found = await findImageReferences(ec2, [...ids, ids[0] ?? '']);
    const calls = ec2Mock.commandCalls(DescribeImageReferencesCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.ImageIds?.length)).toEqual([10, 10, 5]);
    expect(calls.flatMap((c) => c.ImageIds)).toEqual(ids);
    expect(calls[0]?.ResourceTypes).toEqual([
      {
        ResourceType: 'ec2:Instance',
        ResourceTypeOptions: [
          {
            OptionName: 'state-name',
            OptionValues: ['pending', 'running', 'shutting-down', 'stopping', 'stopped'],
          },
        ],
      },
      {
        ResourceType: 'ec2:LaunchTemplate',
        ResourceTypeOptions: [
          { OptionName: 'version-depth', OptionValues: [String(LAUNCH_TEMPLATE_VERSION_DEPTH)] },
        ],
      },
      { ResourceType: 'ssm:Parameter' },
      { ResourceType: 'imagebuilder:ImageRecipe' },
      { ResourceType: 'imagebuilder:ContainerRecipe' },
    ]);
    expect([...found.keys()]).toEqual(ids);
    expect([...found.values()].every((refs) => refs.length === 0)).toBe(true);
  });

  it('follows NextToken to the last page', async () => {
    ec2Mock
      .on(DescribeImageReferencesCommand)
      .resolvesOnce({
        ImageReferences: [{ ImageId: ami(1), ResourceType: 'ec2:Instance', Arn: `${ACCOUNT}:instance/i-01` }],
        NextToken: 'page-2',
      })
      .resolvesOnce({
        ImageReferences: [{ ImageId: ami(1), ResourceType: 'ec2:Instance', Arn: `${ACCOUNT}:instance/i-02` }],
      });
    const found = await findImageReferences(ec2, [ami(1)]);
    const calls = ec2Mock.commandCalls(DescribeImageReferencesCommand).map((c) => c.args[0].input.NextToken);
    expect(calls).toEqual([undefined, 'page-2']);
    expect(found.get(ami(1))?.map((r) => r.id)).toEqual(['i-01', 'i-02']);
  });

  it('maps each kind, naming the launch template versions that hold the image and which is default or latest', async () => {
    const [a, b] = [ami(1), ami(2)];
    ec2Mock.on(DescribeImageReferencesCommand).resolves({
      ImageReferences: [
        { ImageId: a, ResourceType: 'ec2:Instance', Arn: `${ACCOUNT}:instance/i-0aaaaaaaaaaaaaaa1` },
        {
          ImageId: a,
          ResourceType: 'ec2:LaunchTemplate',
          Arn: `${ACCOUNT}:launch-template/lt-0aaaaaaaaaaaaaaa1`,
        },
        {
          ImageId: b,
          ResourceType: 'ec2:LaunchTemplate',
          Arn: `${ACCOUNT}:launch-template/lt-0aaaaaaaaaaaaaaa1`,
        },
        {
          ImageId: a,
          ResourceType: 'ssm:Parameter',
          Arn: 'arn:aws:ssm:us-west-2:123456789012:parameter/team/web/ami',
        },
        {
          ImageId: b,
          ResourceType: 'ssm:Parameter',
          Arn: 'arn:aws:ssm:us-west-2:123456789012:parameter/flat',
        },
        {
          ImageId: a,
          ResourceType: 'imagebuilder:ImageRecipe',
          Arn: 'arn:aws:imagebuilder:us-west-2:123456789012:image-recipe/derived/1.0.0',
        },
        {
          ImageId: b,
          ResourceType: 'imagebuilder:ContainerRecipe',
          Arn: 'arn:aws:imagebuilder:us-west-2:123456789012:container-recipe/ctr/2.1.0',
        },
        { ImageId: b, ResourceType: 'something:New' as ImageReferenceResourceType, Arn: 'arn:aws:x' },
      ],
    });
    ec2Mock.on(DescribeLaunchTemplatesCommand).resolves({
      LaunchTemplates: [
        {
          LaunchTemplateId: 'lt-0aaaaaaaaaaaaaaa1',
          LaunchTemplateName: 'web',
          DefaultVersionNumber: 2,
          LatestVersionNumber: 5,
        },
      ],
    });
    ec2Mock.on(DescribeLaunchTemplateVersionsCommand).resolves({
      LaunchTemplateVersions: [
        { VersionNumber: 2, DefaultVersion: true, LaunchTemplateData: { ImageId: a } },
        { VersionNumber: 4, DefaultVersion: false, LaunchTemplateData: { ImageId: a } },
        { VersionNumber: 5, DefaultVersion: false, LaunchTemplateData: { ImageId: b } },
      ],
    });
    const found = await findImageReferences(ec2, [a, b]);
    expect(found.get(a)?.map((r) => [r.kind, r.id, r.detail])).toEqual([
      ['instance', 'i-0aaaaaaaaaaaaaaa1', 'instance i-0aaaaaaaaaaaaaaa1'],
      [
        'launch-template',
        'lt-0aaaaaaaaaaaaaaa1',
        'launch template web (lt-0aaaaaaaaaaaaaaa1) versions 2 (default), 4',
      ],
      ['ssm-parameter', '/team/web/ami', 'SSM parameter /team/web/ami'],
      ['image-recipe', 'derived/1.0.0', 'Image Builder image recipe derived/1.0.0'],
    ]);
    expect(found.get(b)?.map((r) => [r.kind, r.id, r.detail])).toEqual([
      [
        'launch-template',
        'lt-0aaaaaaaaaaaaaaa1',
        'launch template web (lt-0aaaaaaaaaaaaaaa1) version 5 (latest)',
      ],
      ['ssm-parameter', 'flat', 'SSM parameter flat'],
      ['container-recipe', 'ctr/2.1.0', 'Image Builder container recipe ctr/2.1.0'],
    ]);
    expect(found.get(a)?.[1]?.versions).toEqual([
      { version: 2, default: true, latest: false },
      { version: 4, default: false, latest: false },
    ]);
    // One template lookup and one versions lookup, for both images.
    expect(ec2Mock.commandCalls(DescribeLaunchTemplatesCommand)).toHaveLength(1);
    const versionCalls = ec2Mock.commandCalls(DescribeLaunchTemplateVersionsCommand);
    expect(versionCalls.map((c) => c.args[0].input)).toEqual([
      expect.objectContaining({
        LaunchTemplateId: 'lt-0aaaaaaaaaaaaaaa1',
        Filters: [{ Name: 'image-id', Values: [a, b] }],
      }),
    ]);
  });

  it('keeps a launch template reference whose template went away meanwhile, without versions', async () => {
    ec2Mock.on(DescribeImageReferencesCommand).resolves({
      ImageReferences: [
        {
          ImageId: ami(1),
          ResourceType: 'ec2:LaunchTemplate',
          Arn: `${ACCOUNT}:launch-template/lt-0aaaaaaaaaaaaaaa9`,
        },
      ],
    });
    ec2Mock
      .on(DescribeLaunchTemplatesCommand)
      .rejects(
        Object.assign(new Error('gone'), { name: 'InvalidLaunchTemplateId.NotFound', $fault: 'client' }),
      );
    const found = await findImageReferences(ec2, [ami(1)]);
    expect(found.get(ami(1))).toMatchObject([
      {
        kind: 'launch-template',
        detail: 'launch template lt-0aaaaaaaaaaaaaaa9 a version that could not be read',
      },
    ]);
  });

  it("leaves out parameters under the stack's own paths, and only those", async () => {
    const param = (name: string) => ({
      ImageId: ami(1),
      ResourceType: 'ssm:Parameter' as const,
      Arn: `arn:aws:ssm:us-west-2:123456789012:parameter${name}`,
    });
    ec2Mock.on(DescribeImageReferencesCommand).resolves({
      ImageReferences: [
        param('/pulsar-ami/dev/latest-ami-id'),
        param('/pulsar-ami/dev/versions/3.0.0/latest-ami-id'),
        param('/pulsar-ami/dev/versions/3.0.0/arm64/latest-ami-id'),
        param('/pulsar-ami/dev/pinned/prod-ami-id'),
        param('/pulsar-ami/dev/versions/3.0.0/pinned'),
        param('/pulsar-ami/dev/versions/3.0.0/i386/latest-ami-id'),
        param('/pulsar-ami/devx/latest-ami-id'),
        param('/pulsar-ami/prod/latest-ami-id'),
        param('/other-app/ami'),
      ],
    });
    const own = ownParameters({
      latestAmiParameter: '/pulsar-ami/dev/latest-ami-id',
      versionParameterPrefix: '/pulsar-ami/dev/versions',
    });
    const found = await findImageReferences(ec2, [ami(1)], { isOwnParameter: own });
    // Only the stack's exact latest and version parameters are its own; the rest of its folder is a use.
    expect(found.get(ami(1))?.map((r) => r.id)).toEqual([
      '/pulsar-ami/dev/pinned/prod-ami-id',
      '/pulsar-ami/dev/versions/3.0.0/pinned',
      '/pulsar-ami/dev/versions/3.0.0/i386/latest-ami-id',
      '/pulsar-ami/devx/latest-ami-id',
      '/pulsar-ami/prod/latest-ami-id',
      '/other-app/ami',
    ]);
  });
});

describe('ownParameters and parameterNameOf', () => {
  it('a custom latest parameter makes only itself own, not its folder', () => {
    const own = ownParameters({
      latestAmiParameter: '/shared/amis/pulsar',
      versionParameterPrefix: '/b/versions',
    });
    expect(own('/shared/amis/pulsar')).toBe(true);
    expect(own('/shared/amis/kafka')).toBe(false);
    expect(own('/b/versions/3.0.0/latest-ami-id')).toBe(true);
    expect(own('/b/versions/3.0.0/arm64/latest-ami-id')).toBe(true);
    expect(own('/b/versions/3.0.0/other')).toBe(false);
    expect(own('/b/versionsX/3.0.0/latest-ami-id')).toBe(false);
    expect(ownParameters({ latestAmiParameter: '/a/latest' })('/b/versions/3.0.0/latest-ami-id')).toBe(false);
  });

  it('reads a parameter name from its ARN', () => {
    expect(parameterNameOf('arn:aws:ssm:us-west-2:1:parameter/a/b')).toBe('/a/b');
    expect(parameterNameOf('arn:aws:ssm:us-west-2:1:parameter/flat')).toBe('flat');
  });
});
