/**
 * Where an AMI is in use, end to end on the sandbox over the real SDK: launch templates
 * (versions, default, latest), DescribeImageReferences over instances, launch templates and SSM
 * parameters, lastLaunchedTime after RunInstances, EnableImageDeprecation; and `pulsar-ami
 * delete` (the real CLI → the API → the handler → EC2) refusing an AMI a launch template or
 * another application's parameter names, with nothing deleted.
 */
import {
  CreateLaunchTemplateCommand,
  CreateLaunchTemplateVersionCommand,
  DescribeImageAttributeCommand,
  DescribeImageReferencesCommand,
  DescribeImagesCommand,
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DisableImageDeprecationCommand,
  type EC2Client,
  EnableImageDeprecationCommand,
  ModifyLaunchTemplateCommand,
  paginateDescribeImages,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type E2e, startE2e } from '../support/e2e';
import { sandboxSsm } from '../support/sandbox-clients';

let e2e: E2e;
let ec2: EC2Client;
let ssm: SSMClient;

beforeAll(async () => {
  e2e = await startE2e();
  ec2 = e2e.ec2;
  ssm = sandboxSsm(e2e.url);
});
afterAll(async () => {
  await e2e.close();
});
beforeEach(async () => {
  await e2e.control('POST', 'reset', { seed: false });
  await e2e.control('DELETE', 'faults');
});

async function seedImages(count: number): Promise<string[]> {
  const out = await e2e.control<{ images: { imageId: string }[] }>('POST', 'images', {
    images: Array.from({ length: count }, (_, i) => ({ name: `pulsar-base-3.1.${i}-20250701000000` })),
  });
  return out.images.map((i) => i.imageId);
}

const imageExists = async (imageId: string) =>
  ((await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? []).some(
    (i) => i.ImageId === imageId,
  );

async function references(imageIds: string[], options: Record<string, unknown> = {}) {
  const out = await ec2.send(
    new DescribeImageReferencesCommand({ ImageIds: imageIds, IncludeAllResourceTypes: true, ...options }),
  );
  return (out.ImageReferences ?? []).map((r) => [r.ImageId, r.ResourceType, r.Arn]);
}

describe('launch templates', () => {
  it('number versions from 1, keep a default (moved by ModifyLaunchTemplate) and a latest, and inherit a source version', async () => {
    const [a = '', b = ''] = await seedImages(2);
    const created = await ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: 'web-asg',
        LaunchTemplateData: { ImageId: a, InstanceType: 't3.micro' },
      }),
    );
    const id = created.LaunchTemplate?.LaunchTemplateId ?? '';
    expect(id).toMatch(/^lt-[0-9a-f]{17}$/);
    expect(created.LaunchTemplate).toMatchObject({ DefaultVersionNumber: 1, LatestVersionNumber: 1 });
    const v2 = await ec2.send(
      new CreateLaunchTemplateVersionCommand({
        LaunchTemplateId: id,
        SourceVersion: '1',
        LaunchTemplateData: { ImageId: b },
      }),
    );
    expect(v2.LaunchTemplateVersion).toMatchObject({
      VersionNumber: 2,
      DefaultVersion: false,
      LaunchTemplateData: { ImageId: b, InstanceType: 't3.micro' },
    });
    const modified = await ec2.send(
      new ModifyLaunchTemplateCommand({ LaunchTemplateId: id, DefaultVersion: '2' }),
    );
    expect(modified.LaunchTemplate).toMatchObject({ DefaultVersionNumber: 2, LatestVersionNumber: 2 });
    const listed = await ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateNames: ['web-asg'] }));
    expect(listed.LaunchTemplates?.map((t) => t.LaunchTemplateId)).toEqual([id]);
    const versions = await ec2.send(
      new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: id, Versions: ['$Default', '1'] }),
    );
    expect(versions.LaunchTemplateVersions?.map((v) => [v.VersionNumber, v.DefaultVersion])).toEqual([
      [1, false],
      [2, true],
    ]);
    const naming = await ec2.send(
      new DescribeLaunchTemplateVersionsCommand({
        LaunchTemplateId: id,
        Filters: [{ Name: 'image-id', Values: [a] }],
      }),
    );
    expect(naming.LaunchTemplateVersions?.map((v) => v.VersionNumber)).toEqual([1]);
    const missing = await ec2
      .send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: ['lt-0123456789abcdef0'] }))
      .catch((e: Error) => e);
    expect((missing as Error).name).toBe('InvalidLaunchTemplateId.NotFound');
    const taken = await ec2
      .send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'web-asg', LaunchTemplateData: {} }))
      .catch((e: Error) => e);
    expect((taken as Error).name).toBe('InvalidLaunchTemplateName.AlreadyExistsException');
  });
});

describe('DescribeImageReferences', () => {
  it('finds instances in the states asked, launch templates within version-depth, and parameters holding the id', async () => {
    const [a = '', b = '', c = ''] = await seedImages(3);
    const run = await ec2.send(
      new RunInstancesCommand({ ImageId: a, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro' }),
    );
    const instanceId = run.Instances?.[0]?.InstanceId ?? '';
    const template = await ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: 'old-default',
        LaunchTemplateData: { ImageId: b },
      }),
    );
    const templateId = template.LaunchTemplate?.LaunchTemplateId ?? '';
    for (let i = 0; i < 10; i++) {
      await ec2.send(
        new CreateLaunchTemplateVersionCommand({
          LaunchTemplateId: templateId,
          LaunchTemplateData: { ImageId: c },
        }),
      );
    }
    await ssm.send(
      new PutParameterCommand({
        Name: '/other-app/base-ami',
        Value: b,
        Type: 'String',
        DataType: 'aws:ec2:image',
      }),
    );
    expect(await references([a, b])).toEqual([
      [a, 'ec2:Instance', `arn:aws:ec2:us-west-2:123456789012:instance/${instanceId}`],
      [b, 'ssm:Parameter', 'arn:aws:ssm:us-west-2:123456789012:parameter/other-app/base-ami'],
    ]);
    // Version 1 (the default) is the eleventh most recent: found only with a deeper version-depth.
    const deep = await references([b], {
      ResourceTypes: [
        {
          ResourceType: 'ec2:LaunchTemplate',
          ResourceTypeOptions: [{ OptionName: 'version-depth', OptionValues: ['11'] }],
        },
      ],
    });
    expect(deep).toContainEqual([
      b,
      'ec2:LaunchTemplate',
      `arn:aws:ec2:us-west-2:123456789012:launch-template/${templateId}`,
    ]);
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
    const live = await references([a], {
      IncludeAllResourceTypes: false,
      ResourceTypes: [
        {
          ResourceType: 'ec2:Instance',
          ResourceTypeOptions: [{ OptionName: 'state-name', OptionValues: ['pending', 'running'] }],
        },
      ],
    });
    expect(live).toEqual([]);
    const tooMany = await ec2
      .send(
        new DescribeImageReferencesCommand({ ImageIds: Array(11).fill(a), IncludeAllResourceTypes: true }),
      )
      .catch((e: Error) => e);
    expect((tooMany as Error).name).toBe('InvalidParameterValue');
  });
});

describe('image attributes', () => {
  it('lastLaunchedTime is set by RunInstances, in DescribeImageAttribute and DescribeImages', async () => {
    const [a = ''] = await seedImages(1);
    const before = await ec2.send(
      new DescribeImageAttributeCommand({ ImageId: a, Attribute: 'lastLaunchedTime' }),
    );
    expect(before.LastLaunchedTime?.Value).toBeUndefined();
    const started = Date.now();
    await ec2.send(
      new RunInstancesCommand({ ImageId: a, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro' }),
    );
    const after = await ec2.send(
      new DescribeImageAttributeCommand({ ImageId: a, Attribute: 'lastLaunchedTime' }),
    );
    expect(Date.parse(after.LastLaunchedTime?.Value ?? '')).toBeGreaterThanOrEqual(started - 1000);
    const [image] = (await ec2.send(new DescribeImagesCommand({ ImageIds: [a] }))).Images ?? [];
    expect(image?.LastLaunchedTime).toBe(after.LastLaunchedTime?.Value);
  });

  it('EnableImageDeprecation shows DeprecationTime (to the minute); DisableImageDeprecation clears it', async () => {
    const [a = ''] = await seedImages(1);
    await ec2.send(
      new EnableImageDeprecationCommand({ ImageId: a, DeprecateAt: new Date('2999-01-01T00:00:20Z') }),
    );
    const [image] = (await ec2.send(new DescribeImagesCommand({ ImageIds: [a] }))).Images ?? [];
    expect(image?.DeprecationTime).toBe('2999-01-01T00:00:00.000Z');
    const past = await ec2
      .send(new EnableImageDeprecationCommand({ ImageId: a, DeprecateAt: new Date('2020-01-01T00:00:00Z') }))
      .catch((e: Error) => e);
    expect((past as Error).name).toBe('InvalidParameterValue');
    await ec2.send(new DisableImageDeprecationCommand({ ImageId: a }));
    const [cleared] = (await ec2.send(new DescribeImagesCommand({ ImageIds: [a] }))).Images ?? [];
    expect(cleared?.DeprecationTime).toBeUndefined();
  });
});

describe('pulsar-ami delete refuses an AMI in use, deleting nothing', () => {
  it('named by a launch template version: exit 1 naming the template and the version, in the dry run too', async () => {
    const [a = '', b = ''] = await seedImages(2);
    const template = await ec2.send(
      new CreateLaunchTemplateCommand({ LaunchTemplateName: 'web-asg', LaunchTemplateData: { ImageId: b } }),
    );
    const id = template.LaunchTemplate?.LaunchTemplateId ?? '';
    await ec2.send(
      new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: id, LaunchTemplateData: { ImageId: a } }),
    );
    await e2e.control('DELETE', 'calls');
    for (const args of [
      ['--dry-run', 'delete', '--ami-id', a],
      ['delete', '--ami-id', a],
    ]) {
      const result = await e2e.cli(args);
      expect([args[0], result.code]).toEqual([args[0], 1]);
      expect(result.stderr).toContain(`AMI ${a} is in use by 1 resource(s); nothing was deleted:`);
      expect(result.stderr).toContain(`  - launch template web-asg (${id}) version 2 (latest)`);
    }
    expect(await e2e.changes()).toEqual([]);
    expect(await imageExists(a)).toBe(true);
    // The template's default version names b: refused too, as the default.
    const other = await e2e.cli(['delete', '--ami-id', b, '--json']);
    expect(other.code).toBe(1);
    expect(JSON.parse(other.stderr)).toMatchObject({
      status: 409,
      references: [{ kind: 'launch-template', id, versions: [{ version: 1, default: true, latest: false }] }],
    });
    expect(await imageExists(b)).toBe(true);
  });

  it("named by another application's SSM parameter: exit 1 naming it; the stack's own parameter is no obstacle", async () => {
    const [a = '', b = ''] = await seedImages(2);
    await ssm.send(new PutParameterCommand({ Name: '/other-app/base-ami', Value: a, Type: 'String' }));
    await ssm.send(
      new PutParameterCommand({
        Name: '/pulsar-ami/dev/versions/3.1.1/latest-ami-id',
        Value: b,
        Type: 'String',
        DataType: 'aws:ec2:image',
      }),
    );
    await e2e.control('DELETE', 'calls');
    const result = await e2e.cli(['delete', '--ami-id', a]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('  - SSM parameter /other-app/base-ami');
    expect(await e2e.changes()).toEqual([]);
    expect(await imageExists(a)).toBe(true);
    const own = await e2e.cli(['delete', '--ami-id', b]);
    expect(own.code).toBe(0);
    expect(await imageExists(b)).toBe(false);
  });
});

describe('scale', () => {
  it('seeds 10,000 images in seconds and DescribeImages pages them at 1,000', async () => {
    const started = Date.now();
    await e2e.control('POST', 'images', { count: 10_000 });
    const seeded = Date.now() - started;
    expect(seeded).toBeLessThan(5_000);
    let pages = 0;
    let total = 0;
    for await (const page of paginateDescribeImages({ client: ec2, pageSize: 1000 }, { Owners: ['self'] })) {
      pages += 1;
      total += page.Images?.length ?? 0;
      expect(page.Images?.length).toBeLessThanOrEqual(1000);
    }
    expect([total, pages]).toEqual([10_000, 10]);
  });
});
