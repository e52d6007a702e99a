/**
 * The BuildAmi machine's cores, each against SDK clients mocked with aws-sdk-client-mock:
 * what they ask AWS, what they refuse, and the named errors the machine Retries or Catches.
 */
import {
  BatchGetBuildsCommand,
  CodeBuildClient,
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
  EC2Client,
  type Image,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { copyAmiToRegion, copyClientToken, getCopyState } from '../../functions/lib/build-copies';
import {
  deleteAbandonedBuildAmis,
  deleteFailedAmis,
  findBuildAmis,
  findExistingAmi,
} from '../../functions/lib/build-images';
import { stopExecutionBuilds } from '../../functions/lib/build-jobs';
import {
  commandReason,
  explainBuildFailure,
  explainValidationFailure,
  summarizeCopies,
} from '../../functions/lib/build-outcome';
import { publishBuiltAmi, versionParameterName } from '../../functions/lib/build-publishing';
import { buildValidationId, prepareValidation } from '../../functions/lib/build-validation';
import { loadConfig } from '../../functions/lib/config';
import {
  BUILD_INSTANCES,
  sweepValidationInstances,
  terminateExecutionInstances,
} from '../../functions/lib/validation-instances';
import { buildSourceZip } from '../../scripts/serverless/build-source-plugin.mjs';

const ec2Mock = mockClient(EC2Client);
const ssmMock = mockClient(SSMClient);
const codebuildMock = mockClient(CodeBuildClient);
const ec2 = new EC2Client({ region: 'us-west-2' });
const ssm = new SSMClient({ region: 'us-west-2' });
const codebuild = new CodeBuildClient({ region: 'us-west-2' });

const EXECUTION_ARN =
  'arn:aws:states:us-west-2:123456789012:execution:pulsar-ami-test-build-ami:build-3-0-0-abc';
const AMI = 'ami-0123456789abcdef0';
const SETTINGS = {
  region: 'us-west-2',
  latestAmiParameter: '/pulsar-ami/test/latest-ami-id',
  listPageSize: 1000,
};

function image(overrides: Partial<Image> & { tags?: Record<string, string> } = {}): Image {
  const { tags = {}, ...rest } = overrides;
  return {
    ImageId: AMI,
    Name: 'pulsar-base-3.0.0-20260301120000',
    State: 'available',
    Architecture: 'x86_64',
    CreationDate: '2026-03-01T12:00:00.000Z',
    BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-0123456789abcdef0' } }],
    Tags: Object.entries({
      ManagedBy: 'pulsar-ami',
      PulsarVersion: '3.0.0',
      BuildExecutionArn: EXECUTION_ARN,
      ...tags,
    }).map(([Key, Value]) => ({ Key, Value })),
    ...rest,
  };
}

const awsError = (name: string, message = name) =>
  Object.assign(new Error(message), { name, Code: name, $fault: 'client', $metadata: {} });

beforeEach(() => {
  ec2Mock.reset();
  ssmMock.reset();
  codebuildMock.reset();
});

describe('findExistingAmi', () => {
  it('asks EC2 for available, validated images of the version and architecture only, and answers the newest validated one of the version', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({
      Images: [
        image({
          ImageId: 'ami-00000000000000001',
          CreationDate: '2026-01-01T00:00:00Z',
          tags: { Validated: 'true' },
        }),
        image({
          ImageId: 'ami-00000000000000002',
          CreationDate: '2026-02-01T00:00:00Z',
          tags: { Validated: 'true' },
        }),
        image({
          ImageId: 'ami-00000000000000003',
          CreationDate: '2026-03-01T00:00:00Z',
          tags: { Validated: 'false' },
        }),
        image({ ImageId: 'ami-00000000000000004', tags: { Validated: 'true', PulsarVersion: '3.1.0' } }),
      ],
    });
    const found = await findExistingAmi(ec2, 1000, { version: '3.0.0', architecture: 'x86_64' });
    expect(found?.imageId).toBe('ami-00000000000000002');
    for (const call of ec2Mock.commandCalls(DescribeImagesCommand)) {
      expect(call.args[0].input.Filters).toEqual(
        expect.arrayContaining([
          { Name: 'state', Values: ['available'] },
          { Name: 'architecture', Values: ['x86_64'] },
          { Name: 'tag:PulsarVersion', Values: ['3.0.0'] },
          { Name: 'tag:Validated', Values: ['true'] },
        ]),
      );
    }
  });

  it('answers null when nothing validated exists', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [image()] });
    expect(await findExistingAmi(ec2, 1000, { version: '3.0.0', architecture: 'x86_64' })).toBeNull();
  });
});

describe('findBuildAmis', () => {
  it("finds this tool's images tagged with the execution", async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [image()] });
    expect(await findBuildAmis(ec2, 1000, EXECUTION_ARN)).toEqual([AMI]);
    expect(ec2Mock.commandCalls(DescribeImagesCommand)[0]?.args[0].input.Filters).toContainEqual({
      Name: 'tag:BuildExecutionArn',
      Values: [EXECUTION_ARN],
    });
  });
});

describe('deleteFailedAmis', () => {
  const ours = () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [] });
    ec2Mock.on(DescribeImagesCommand, { ImageIds: [AMI] }).resolves({ Images: [image()] });
    ec2Mock.on(DescribeSnapshotsCommand).resolves({
      Snapshots: [
        { SnapshotId: 'snap-0123456789abcdef0', Tags: [{ Key: 'ManagedBy', Value: 'pulsar-ami' }] },
      ],
    });
    ec2Mock.on(DescribeImageReferencesCommand).resolves({ ImageReferences: [] });
    ec2Mock.on(DeregisterImageCommand).resolves({});
    ec2Mock.on(DeleteSnapshotCommand).resolves({});
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: 'ami-0ffffffffffffffff' } });
  };

  it('deregisters the build’s image and deletes its snapshot', async () => {
    ours();
    const result = await deleteFailedAmis({ ec2, ssm }, SETTINGS, {
      imageIds: [AMI],
      executionArn: EXECUTION_ARN,
    });
    expect(result).toEqual({
      deleted: [{ imageId: AMI, snapshots: [{ snapshotId: 'snap-0123456789abcdef0', status: 'deleted' }] }],
      kept: [],
    });
    expect(ec2Mock.commandCalls(DeregisterImageCommand)).toHaveLength(1);
  });

  it('keeps an image of another execution, the published latest, one already gone', async () => {
    ours();
    ec2Mock.on(DescribeImagesCommand, { ImageIds: ['ami-00000000000000009'] }).resolves({
      Images: [image({ ImageId: 'ami-00000000000000009', tags: { BuildExecutionArn: 'other' } })],
    });
    ec2Mock.on(DescribeImagesCommand, { ImageIds: ['ami-0ffffffffffffffff'] }).resolves({
      Images: [image({ ImageId: 'ami-0ffffffffffffffff' })],
    });
    ec2Mock
      .on(DescribeImagesCommand, { ImageIds: ['ami-0eeeeeeeeeeeeeeee'] })
      .rejects(awsError('InvalidAMIID.NotFound'));
    const result = await deleteFailedAmis({ ec2, ssm }, SETTINGS, {
      imageIds: ['ami-00000000000000009', 'ami-0ffffffffffffffff', 'ami-0eeeeeeeeeeeeeeee'],
      executionArn: EXECUTION_ARN,
    });
    expect(result.deleted).toEqual([]);
    expect(result.kept.map((k) => k.reason)).toEqual([
      'not built by this execution (BuildExecutionArn differs)',
      'the published latest AMI',
      'already gone',
    ]);
    expect(ec2Mock.commandCalls(DeregisterImageCommand)).toHaveLength(0);
  });

  it('after an abort or timeout: deletes the images the execution registered, except a validated one', async () => {
    ours();
    const validated = image({ ImageId: 'ami-00000000000000007', tags: { Validated: 'true' } });
    const byId = new Map([
      [AMI, image()],
      ['ami-00000000000000007', validated],
    ]);
    ec2Mock.on(DescribeImagesCommand).callsFake((input) => ({
      Images: input.ImageIds ? input.ImageIds.map((id: string) => byId.get(id)) : [...byId.values()],
    }));
    const result = await deleteAbandonedBuildAmis(
      () => ({ ec2, ssm }),
      { ...SETTINGS, versionParameterPrefix: '/pulsar-ami/test/versions' },
      { executionArn: EXECUTION_ARN, copyRegions: [] },
    );
    expect(result).toHaveLength(1);
    expect(result[0]?.region).toBe(SETTINGS.region);
    expect(result[0]?.deleted.map((d) => d.imageId)).toEqual([AMI]);
    expect(result[0]?.kept).toEqual([{ imageId: 'ami-00000000000000007', reason: 'validated' }]);
    expect(ec2Mock.commandCalls(DeregisterImageCommand).map((c) => c.args[0].input.ImageId)).toEqual([AMI]);
    expect(ec2Mock.commandCalls(DescribeImagesCommand)[0]?.args[0].input.Filters).toContainEqual({
      Name: 'tag:BuildExecutionArn',
      Values: [EXECUTION_ARN],
    });
  });

  it('never deletes a validated image, or one a version parameter names; in copy mode only copies', async () => {
    ours();
    const validated = image({ ImageId: 'ami-00000000000000007', tags: { Validated: 'true' } });
    const versioned = image({ ImageId: 'ami-00000000000000008' });
    const byId = new Map([
      ['ami-00000000000000007', validated],
      ['ami-00000000000000008', versioned],
      [AMI, image()],
    ]);
    ec2Mock.on(DescribeImagesCommand).callsFake((input) => ({
      Images: (input.ImageIds ?? []).map((id: string) => byId.get(id)),
    }));
    ssmMock
      .on(GetParameterCommand, { Name: '/pulsar-ami/test/versions/3.0.0/latest-ami-id' })
      .resolves({ Parameter: { Value: 'ami-00000000000000008' } });
    const home = await deleteFailedAmis({ ec2, ssm }, SETTINGS, {
      imageIds: ['ami-00000000000000007', 'ami-00000000000000008'],
      executionArn: EXECUTION_ARN,
      versionParameterPrefix: '/pulsar-ami/test/versions',
    });
    expect(home.kept).toEqual([
      { imageId: 'ami-00000000000000007', reason: 'validated' },
      {
        imageId: 'ami-00000000000000008',
        reason: 'published as /pulsar-ami/test/versions/3.0.0/latest-ami-id',
      },
    ]);
    // Copy mode (Delete Failed Copy): the home image itself, not a copy, is never taken.
    const copies = await deleteFailedAmis({ ec2, ssm }, SETTINGS, {
      imageIds: [AMI],
      executionArn: EXECUTION_ARN,
      copies: true,
    });
    expect(copies.kept).toEqual([{ imageId: AMI, reason: 'not a copy (no SourceAmiId tag)' }]);
    expect(ec2Mock.commandCalls(DeregisterImageCommand)).toHaveLength(0);
  });

  it('fails with AmiInUseError while an instance still uses the image, so the machine retries', async () => {
    ours();
    ec2Mock.on(DescribeImageReferencesCommand).resolves({
      ImageReferences: [
        {
          ImageId: AMI,
          ResourceType: 'ec2:Instance',
          Arn: 'arn:aws:ec2:us-west-2:123456789012:instance/i-0123456789abcdef0',
        },
      ],
    });
    await expect(
      deleteFailedAmis({ ec2, ssm }, SETTINGS, { imageIds: [AMI], executionArn: EXECUTION_ARN }),
    ).rejects.toMatchObject({ name: 'AmiInUseError' });
  });

  it('keeps a protected image, naming the protection', async () => {
    ours();
    ec2Mock
      .on(DescribeImagesCommand, { ImageIds: [AMI] })
      .resolves({ Images: [image({ tags: { Protected: 'true' } })] });
    const result = await deleteFailedAmis({ ec2, ssm }, SETTINGS, {
      imageIds: [AMI],
      executionArn: EXECUTION_ARN,
    });
    expect(result.kept[0]?.reason).toContain('Protected=true');
  });
});

describe('prepareValidation', () => {
  const config = loadConfig({
    STAGE: 'test',
    VALIDATE_AMI_STATE_MACHINE_ARN:
      'arn:aws:states:us-west-2:123456789012:stateMachine:pulsar-ami-test-validate-ami',
  });
  const built = (exported: { Name: string; Value: string }[]) => ({
    buildId: 'build-3-0-0-abc',
    version: '3.0.0',
    instanceType: 't3.small',
    architecture: 'x86_64',
    executionArn: EXECUTION_ARN,
    exportedVariables: exported,
  });

  it('builds the ValidateAmi input for the exported AMI, linked to the build, named from the build id', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [image()] });
    const prepared = await prepareValidation(ec2, config, built([{ Name: 'AMI_ID', Value: AMI }]));
    expect(prepared).toMatchObject({
      imageId: AMI,
      name: 'pulsar-base-3.0.0-20260301120000',
      validationId: buildValidationId('build-3-0-0-abc'),
      stateMachineArn: config.validateAmiStateMachineArn,
      input: {
        imageId: AMI,
        instanceType: 't3.small',
        AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: EXECUTION_ARN,
      },
    });
    // Nothing executable and no deployment setting: the machine has those in its definition.
    expect(Object.keys(prepared.input).sort()).toEqual([
      'AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID',
      'imageId',
      'instanceType',
      'polling',
    ]);
    expect(prepared.validationId).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(buildValidationId('build-3-0-0-abc')).toBe(prepared.validationId);
    expect(buildValidationId('build-3-0-0-abd')).not.toBe(prepared.validationId);
  });

  it('refuses a build without an AMI id, an image of another version, one still pending', async () => {
    await expect(prepareValidation(ec2, config, built([]))).rejects.toMatchObject({
      name: 'BuildOutputMissingError',
    });
    await expect(
      prepareValidation(ec2, config, built([{ Name: 'AMI_ID', Value: 'i-123' }])),
    ).rejects.toMatchObject({ name: 'BuildOutputMissingError' });
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [image({ tags: { PulsarVersion: '2.11.0' } })] });
    await expect(
      prepareValidation(ec2, config, built([{ Name: 'AMI_ID', Value: AMI }])),
    ).rejects.toMatchObject({ name: 'AmiMismatchError' });
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [image({ State: 'pending' })] });
    await expect(
      prepareValidation(ec2, config, built([{ Name: 'AMI_ID', Value: AMI }])),
    ).rejects.toMatchObject({ name: 'AmiNotReadyError' });
  });
});

describe('publishBuiltAmi', () => {
  const settings = { ...SETTINGS, versionParameterPrefix: '/pulsar-ami/test/versions' };

  it("always sets the version's parameter; the latest only by the rule (an older line does not move it)", async () => {
    const newer = image({
      ImageId: 'ami-00000000000000031',
      tags: { PulsarVersion: '3.1.0', Validated: 'true' },
    });
    const built = image({
      ImageId: 'ami-00000000000000211',
      tags: { PulsarVersion: '2.11.0', Validated: 'true' },
    });
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [newer, built] });
    ec2Mock.on(DescribeImagesCommand, { ImageIds: ['ami-00000000000000211'] }).resolves({ Images: [built] });
    ec2Mock.on(DescribeImagesCommand, { ImageIds: ['ami-00000000000000031'] }).resolves({ Images: [newer] });
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: 'ami-00000000000000031' } });
    ssmMock.on(PutParameterCommand).resolves({});
    const result = await publishBuiltAmi({ ec2, ssm }, settings, {
      imageId: 'ami-00000000000000211',
      version: '2.11.0',
    });
    expect(result).toEqual({
      region: 'us-west-2',
      imageId: 'ami-00000000000000211',
      versionParameter: '/pulsar-ami/test/versions/2.11.0/latest-ami-id',
      latest: { imageId: 'ami-00000000000000031', previous: 'ami-00000000000000031', changed: false },
    });
    expect(ssmMock.commandCalls(PutParameterCommand).map((c) => c.args[0].input)).toEqual([
      {
        Name: '/pulsar-ami/test/versions/2.11.0/latest-ami-id',
        Value: 'ami-00000000000000211',
        Type: 'String',
        DataType: 'aws:ec2:image',
        Overwrite: true,
      },
    ]);
  });

  it('refuses an AMI that is not validated, and tags a copy validated first', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [image()] });
    await expect(
      publishBuiltAmi({ ec2, ssm }, settings, { imageId: AMI, version: '3.0.0' }),
    ).rejects.toMatchObject({
      name: 'AmiNotValidatedError',
    });
    expect(ssmMock.commandCalls(PutParameterCommand)).toHaveLength(0);
    ssmMock.on(GetParameterCommand).rejects(awsError('ParameterNotFound'));
    ssmMock.on(PutParameterCommand).resolves({});
    ec2Mock.on(CreateTagsCommand).resolves({});
    await publishBuiltAmi({ ec2, ssm }, settings, {
      imageId: AMI,
      version: '3.0.0',
      validationTags: { Validated: 'true', ValidationDate: '2026-03-01' },
    });
    expect(ec2Mock.commandCalls(CreateTagsCommand)[0]?.args[0].input).toEqual({
      Resources: [AMI],
      Tags: [
        { Key: 'Validated', Value: 'true' },
        { Key: 'ValidationDate', Value: '2026-03-01' },
      ],
    });
  });

  it('names the version parameter under the prefix, with the architecture when it is not x86_64', () => {
    expect(versionParameterName('/pulsar-ami/dev/versions', '3.0.0')).toBe(
      '/pulsar-ami/dev/versions/3.0.0/latest-ami-id',
    );
    expect(versionParameterName('/pulsar-ami/dev/versions', '3.0.0', 'x86_64')).toBe(
      '/pulsar-ami/dev/versions/3.0.0/latest-ami-id',
    );
    expect(versionParameterName('/pulsar-ami/dev/versions', '3.0.0', 'arm64')).toBe(
      '/pulsar-ami/dev/versions/3.0.0/arm64/latest-ami-id',
    );
  });

  it('an arm64 build of the newest version: its own arm64 parameter; the x86_64 latest and version parameter stay', async () => {
    const x86 = image({
      ImageId: 'ami-00000000000000031',
      tags: { PulsarVersion: '3.1.0', Validated: 'true' },
    });
    const arm = image({
      ImageId: 'ami-000000000000000a1',
      Architecture: 'arm64',
      CreationDate: '2026-04-01T00:00:00.000Z',
      tags: { PulsarVersion: '3.1.0', Validated: 'true' },
    });
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [x86, arm] });
    ec2Mock.on(DescribeImagesCommand, { ImageIds: ['ami-000000000000000a1'] }).resolves({ Images: [arm] });
    ec2Mock.on(DescribeImagesCommand, { ImageIds: ['ami-00000000000000031'] }).resolves({ Images: [x86] });
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: 'ami-00000000000000031' } });
    ssmMock.on(PutParameterCommand).resolves({});
    const result = await publishBuiltAmi({ ec2, ssm }, settings, {
      imageId: 'ami-000000000000000a1',
      version: '3.1.0',
    });
    expect(result.versionParameter).toBe('/pulsar-ami/test/versions/3.1.0/arm64/latest-ami-id');
    expect(result.latest).toEqual({
      imageId: 'ami-00000000000000031',
      previous: 'ami-00000000000000031',
      changed: false,
    });
    expect(ssmMock.commandCalls(PutParameterCommand).map((c) => c.args[0].input.Name)).toEqual([
      '/pulsar-ami/test/versions/3.1.0/arm64/latest-ami-id',
    ]);
  });
});

describe('copyAmiToRegion', () => {
  const source = () =>
    image({
      tags: {
        Validated: 'true',
        ValidationDate: '2026-03-01',
        ValidationExecutionArn: 'arn:v',
        Protected: 'true',
        Name: 'pulsar-base-3.0.0-20260301120000',
        PulsarSha512: 'ab',
        Purpose: 'AMI-Build',
      },
    });
  const request = {
    region: 'eu-west-1',
    sourceRegion: 'us-west-2',
    sourceImageId: AMI,
    name: 'pulsar-base-3.0.0-20260301120000',
    buildId: 'build-3-0-0-abc',
  };

  it('copies idempotently with our tags and provenance, never the Validated or Protected tags', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [source()] });
    ec2Mock.on(CopyImageCommand).resolves({ ImageId: 'ami-0cccccccccccccccc' });
    const result = await copyAmiToRegion({ source: ec2, target: ec2 }, request);
    expect(result).toEqual({
      region: 'eu-west-1',
      imageId: 'ami-0cccccccccccccccc',
      copied: true,
      validationTags: { Validated: 'true', ValidationDate: '2026-03-01', ValidationExecutionArn: 'arn:v' },
    });
    const input = ec2Mock.commandCalls(CopyImageCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      SourceImageId: AMI,
      SourceRegion: 'us-west-2',
      Name: 'pulsar-base-3.0.0-20260301120000',
      ClientToken: copyClientToken('build-3-0-0-abc', 'eu-west-1'),
    });
    expect(input?.ClientToken?.length).toBeLessThanOrEqual(64);
    expect(copyClientToken('build-3-0-0-abc', 'us-east-1')).not.toBe(input?.ClientToken);
    const tags = input?.TagSpecifications?.[0]?.Tags ?? [];
    expect(input?.TagSpecifications?.map((t) => t.ResourceType)).toEqual(['image', 'snapshot']);
    expect(tags.map((t) => t.Key).sort()).toEqual(
      [
        'BuildExecutionArn',
        'ManagedBy',
        'Name',
        'PulsarSha512',
        'PulsarVersion',
        'SourceAmiId',
        'SourceRegion',
      ].sort(),
    );
  });

  it('copies nothing to its own region, and never an unvalidated image', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [source()] });
    const same = await copyAmiToRegion({ source: ec2, target: ec2 }, { ...request, region: 'us-west-2' });
    expect(same).toMatchObject({ imageId: AMI, copied: false });
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [image()] });
    await expect(copyAmiToRegion({ source: ec2, target: ec2 }, request)).rejects.toMatchObject({
      name: 'AmiNotValidatedError',
    });
    expect(ec2Mock.commandCalls(CopyImageCommand)).toHaveLength(0);
  });

  it('reads a copy EC2 does not list yet as unknown, and a failed one with its reason', async () => {
    ec2Mock
      .on(DescribeImagesCommand)
      .rejectsOnce(awsError('InvalidAMIID.NotFound'))
      .resolves({
        Images: [image({ State: 'failed', StateReason: { Code: 'x', Message: 'copy failed' } })],
      });
    expect(await getCopyState(ec2, AMI)).toEqual({ state: 'unknown', reason: 'not listed yet' });
    expect(await getCopyState(ec2, AMI)).toEqual({ state: 'failed', reason: 'copy failed' });
  });
});

describe('explaining an outcome', () => {
  const build = {
    Id: 'p:1',
    BuildStatus: 'FAILED',
    Phases: [
      {
        PhaseType: 'PRE_BUILD',
        PhaseStatus: 'FAILED',
        Contexts: [{ StatusCode: 'COMMAND_EXECUTION_ERROR', Message: 'curl: (22) 404' }],
      },
    ],
  };

  it('names the failed CodeBuild phase and reason, in either casing, bare or wrapped', () => {
    const expected =
      'Build b: CodeBuild build p:1 FAILED in phase PRE_BUILD: COMMAND_EXECUTION_ERROR: curl: (22) 404';
    expect(explainBuildFailure('b', { Error: 'States.TaskFailed', Cause: JSON.stringify(build) }).cause).toBe(
      expected,
    );
    expect(
      explainBuildFailure('b', { Error: 'States.TaskFailed', Cause: JSON.stringify({ Build: build }) }).cause,
    ).toBe(expected);
    const camel = {
      id: 'p:1',
      buildStatus: 'FAILED',
      phases: [
        {
          phaseType: 'PRE_BUILD',
          phaseStatus: 'FAILED',
          contexts: [{ statusCode: 'COMMAND_EXECUTION_ERROR', message: 'curl: (22) 404' }],
        },
      ],
    };
    expect(explainBuildFailure('b', { Error: 'States.TaskFailed', Cause: JSON.stringify(camel) })).toEqual({
      error: 'BuildFailed',
      cause: expected,
    });
  });

  it('says when the build ran out of time, and passes other errors on', () => {
    expect(explainBuildFailure('b', { Error: 'States.Timeout', Cause: '' }).cause).toContain(
      'did not finish in time',
    );
    expect(
      explainBuildFailure('b', { Error: 'CodeBuild.AccessDeniedException', Cause: 'not authorized' }).cause,
    ).toBe('Build b: CodeBuild.AccessDeniedException: not authorized');
  });

  it('names the failed checks, or what kept validation from running', () => {
    const failed = {
      Name: 'v-1',
      Error: 'ValidationChecksFailed',
      Cause: 'Validation checks failed: ["Java 17"]',
    };
    expect(
      explainValidationFailure('b', AMI, { Error: 'States.TaskFailed', Cause: JSON.stringify(failed) }),
    ).toEqual({
      error: 'ValidationFailed',
      cause: `Build b: AMI ${AMI} failed validation (validation v-1): checks failed: Java 17`,
    });
    const offline = { Error: 'SsmAgentOfflineError', Cause: 'The SSM agent … was not online' };
    expect(
      explainValidationFailure('b', AMI, { Error: 'States.TaskFailed', Cause: JSON.stringify(offline) })
        .cause,
    ).toBe(
      `Build b: AMI ${AMI} could not be validated: SsmAgentOfflineError: The SSM agent … was not online`,
    );
  });

  it('summarizes copies: the home region first, each published copy, the failed ones in the cause', () => {
    const ok = summarizeCopies('b', { region: 'us-west-2', imageId: AMI }, [
      { region: 'eu-west-1', amiId: 'ami-0eeeeeeeeeeeeeeee', published: true },
    ]);
    expect(ok).toEqual({
      regions: [
        { region: 'us-west-2', amiId: AMI },
        { region: 'eu-west-1', amiId: 'ami-0eeeeeeeeeeeeeeee' },
      ],
      failed: false,
      error: null,
      cause: null,
    });
    const bad = summarizeCopies('b', { region: 'us-west-2', imageId: AMI }, [
      {
        region: 'eu-west-1',
        amiId: null,
        published: false,
        error: 'AmiNotValidatedError',
        cause: JSON.stringify({ errorMessage: 'not validated' }),
      },
    ]);
    expect(bad).toMatchObject({ failed: true, error: 'CopyFailed' });
    expect(bad.cause).toBe(
      `Build b: AMI ${AMI} is validated and published in us-west-2, but the copy to a region failed: eu-west-1: not validated`,
    );
  });
});

describe('stopExecutionBuilds', () => {
  const build = (id: string, status: string, executionArn: string) => ({
    id,
    buildStatus: status as never,
    environment: {
      type: 'LINUX_CONTAINER' as const,
      image: 'x',
      computeType: 'BUILD_GENERAL1_SMALL' as const,
      environmentVariables: [{ name: 'BUILD_EXECUTION_ARN', value: executionArn }],
    },
  });

  it("stops only this execution's builds still in progress", async () => {
    codebuildMock.on(ListBuildsForProjectCommand).resolves({ ids: ['p:1', 'p:2', 'p:3'] });
    codebuildMock.on(BatchGetBuildsCommand).resolves({
      builds: [
        build('p:1', 'IN_PROGRESS', EXECUTION_ARN),
        build('p:2', 'FAILED', EXECUTION_ARN),
        build('p:3', 'IN_PROGRESS', 'other'),
      ],
    });
    codebuildMock.on(StopBuildCommand).resolves({});
    expect(await stopExecutionBuilds(codebuild, 'pulsar-ami-test-build-ami', EXECUTION_ARN)).toEqual(['p:1']);
    expect(codebuildMock.commandCalls(ListBuildsForProjectCommand)[0]?.args[0].input).toEqual({
      projectName: 'pulsar-ami-test-build-ami',
      sortOrder: 'DESCENDING',
    });
    expect(codebuildMock.commandCalls(StopBuildCommand).map((c) => c.args[0].input.id)).toEqual(['p:1']);
  });

  it('answers nothing when the project does not exist', async () => {
    codebuildMock.on(ListBuildsForProjectCommand).rejects(awsError('ResourceNotFoundException'));
    expect(await stopExecutionBuilds(codebuild, 'p', EXECUTION_ARN)).toEqual([]);
  });
});

describe('commandReason', () => {
  it("shortens CodeBuild's multi-line command to the line that ran last, and leaves other messages", () => {
    expect(
      commandReason(
        'Error while executing command: set -euo pipefail\ncd packer\npacker build -color=false .\n. Reason: exit status 1',
      ),
    ).toBe('command `packer build -color=false .` failed (exit status 1)');
    expect(commandReason('curl: (22) 404')).toBe('curl: (22) 404');
    expect(commandReason(undefined)).toBeUndefined();
  });
});

describe('build instances in the safety nets', () => {
  it("terminates a build execution's instances by its BuildExecutionArn and Purpose=AMI-Build", async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolves({ Reservations: [{ Instances: [{ InstanceId: 'i-00000001' }] }] });
    ec2Mock.on(TerminateInstancesCommand).resolves({});
    await terminateExecutionInstances(ec2, EXECUTION_ARN, BUILD_INSTANCES);
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)[0]?.args[0].input.Filters?.slice(0, 2)).toEqual([
      { Name: 'tag:BuildExecutionArn', Values: [EXECUTION_ARN] },
      { Name: 'tag:Purpose', Values: ['AMI-Build'] },
    ]);
  });

  it('sweeps build instances past the build lifetime', async () => {
    const now = new Date('2026-01-01T12:00:00Z');
    const at = (minutes: number) => new Date(now.getTime() - minutes * 60_000);
    ec2Mock.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            { InstanceId: 'i-00000001', LaunchTime: at(200), Tags: [{ Key: 'Purpose', Value: 'AMI-Build' }] },
            { InstanceId: 'i-00000002', LaunchTime: at(120), Tags: [{ Key: 'Purpose', Value: 'AMI-Build' }] },
            {
              InstanceId: 'i-00000003',
              LaunchTime: at(120),
              Tags: [{ Key: 'Purpose', Value: 'AMI-Validation' }],
            },
          ],
        },
      ],
    });
    ec2Mock.on(TerminateInstancesCommand).resolves({});
    const result = await sweepValidationInstances(ec2, {
      now,
      maxLifetimeMinutes: 90,
      buildMaxLifetimeMinutes: 180,
    });
    expect(result.terminated).toEqual(['i-00000001', 'i-00000003']);
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)[0]?.args[0].input.Filters?.[0]).toEqual({
      Name: 'tag:Purpose',
      Values: ['AMI-Validation', 'AMI-Build'],
    });
  });
});

describe('configuration', () => {
  it("names the stage's build project, machine and version parameters by default", () => {
    expect(loadConfig({ STAGE: 'dev' }).build).toEqual({
      stateMachineArn: null,
      stateMachineName: 'pulsar-ami-dev-build-ami',
      codeBuildProject: 'pulsar-ami-dev-build-ami',
      versionParameterPrefix: '/pulsar-ami/dev/versions',
      maxLifetimeMinutes: 180,
    });
    const arn = 'arn:aws:states:us-west-2:123456789012:stateMachine:custom-build';
    expect(loadConfig({ BUILD_AMI_STATE_MACHINE_ARN: arn }).build.stateMachineName).toBe('custom-build');
    expect(() => loadConfig({ BUILD_MAX_LIFETIME_MINUTES: '5' })).toThrow(/BUILD_MAX_LIFETIME_MINUTES/);
  });
});

describe('the CodeBuild source the deploy uploads', () => {
  it('is packer/ and buildspec/ (scripts keep their mode), the same zip for the same files', async () => {
    const first = await buildSourceZip(process.cwd());
    const second = await buildSourceZip(process.cwd());
    expect(first.names).toContain('buildspec/build-ami.yml');
    expect(first.names).toContain('packer/checks/run-checks.sh');
    expect(first.names.every((n) => n.startsWith('packer/') || n.startsWith('buildspec/'))).toBe(true);
    expect(first.zip.equals(second.zip)).toBe(true);
    expect(first.zip.subarray(0, 4).toString('hex')).toBe('504b0304');
  });
});
