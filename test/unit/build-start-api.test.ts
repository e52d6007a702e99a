/**
 * POST /builds through its handler, the SDK clients mocked (aws-sdk-client-mock) and the
 * archive's HEAD answered by a fake fetch: 400 per field with no AWS call and no archive
 * request, the archive's 422 / 502 / 503, already built (200), dry run (200, the plan),
 * started (202, the contract's input), and idempotency (the key, and a same request running).
 */
import {
  type _InstanceType,
  DescribeImagesCommand,
  DescribeInstanceTypesCommand,
  EC2Client,
  type Image,
} from '@aws-sdk/client-ec2';
import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildAmiInputSchema, buildIdFor } from '../../functions/lib/builds';
import { DEFAULT_ALLOWED_INSTANCE_TYPES } from '../../functions/lib/config';
import { BUILD_ID_PATTERN } from '../../functions/lib/validation';
import { apiEvent, lambdaContext } from '../support/api-event';

const MACHINE = 'arn:aws:states:us-west-2:123456789012:stateMachine:pulsar-ami-dev-build-ami';

vi.hoisted(() => {
  process.env.BUILD_AMI_STATE_MACHINE_ARN =
    'arn:aws:states:us-west-2:123456789012:stateMachine:pulsar-ami-dev-build-ami';
  process.env.ARCHIVE_BASE_URL = 'https://archive.example.org/dist';
});

const { handler } = await import('../../functions/start-build');

const ec2Mock = mockClient(EC2Client);
const sfnMock = mockClient(SFNClient);
const archive = vi.fn<(url: string, init: RequestInit) => Promise<Response>>();

const CHECKSUM_URL =
  'https://archive.example.org/dist/pulsar/pulsar-3.0.0/apache-pulsar-3.0.0-bin.tar.gz.sha512';

beforeEach(() => {
  ec2Mock.reset();
  sfnMock.reset();
  archive.mockReset();
  archive.mockResolvedValue(new Response(null, { status: 200 }));
  vi.stubGlobal('fetch', archive);
  ec2Mock.on(DescribeInstanceTypesCommand).callsFake(async (input: { InstanceTypes: _InstanceType[] }) => ({
    InstanceTypes: input.InstanceTypes.map((type) => ({
      InstanceType: type,
      ProcessorInfo: { SupportedArchitectures: [/^[a-z]+\d+g/.test(type) ? 'arm64' : 'x86_64'] },
    })),
  }));
  ec2Mock.on(DescribeImagesCommand).resolves({ Images: [] });
  sfnMock.on(ListExecutionsCommand).resolves({ executions: [] });
  sfnMock.on(StartExecutionCommand).callsFake(async (input: { name: string }) => ({
    executionArn: `${MACHINE.replace(':stateMachine:', ':execution:')}:${input.name}`,
    startDate: new Date('2026-01-15T12:00:00Z'),
  }));
});
afterEach(() => {
  vi.unstubAllGlobals();
});

function post(body: unknown, headers: Record<string, string> = {}): APIGatewayProxyEvent {
  const event = apiEvent({ method: 'POST', path: '/builds' });
  return {
    ...event,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers,
    requestContext: { path: '/dev/builds' } as APIGatewayProxyEvent['requestContext'],
  };
}

async function call(event: APIGatewayProxyEvent) {
  const result = (await handler(event, lambdaContext('startBuild'))) as APIGatewayProxyResult;
  return { ...result, json: JSON.parse(result.body) as Record<string, unknown> };
}

const noAwsCall = () => {
  expect(ec2Mock.calls()).toHaveLength(0);
  expect(sfnMock.calls()).toHaveLength(0);
  expect(archive).not.toHaveBeenCalled();
};

const nothingStarted = () => expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);

function image(extra: Partial<Image> = {}, tags: Record<string, string> = {}): Image {
  return {
    ImageId: 'ami-0a1b2c3d4e5f67890',
    Name: 'pulsar-base-3.0.0-20251006142311',
    State: 'available',
    CreationDate: '2025-10-06T14:23:11.000Z',
    Architecture: 'x86_64',
    OwnerId: '123456789012',
    Tags: Object.entries({
      ManagedBy: 'pulsar-ami',
      PulsarVersion: '3.0.0',
      Validated: 'true',
      ...tags,
    }).map(([Key, Value]) => ({ Key, Value })),
    ...extra,
  };
}

describe('POST /builds: input checked before any AWS call', () => {
  it.each([
    [{}, 'version', /version is required/],
    [{ version: '3.0' }, 'version', /MAJOR\.MINOR\.PATCH/],
    [{ version: 'v3.0.0' }, 'version', /MAJOR\.MINOR\.PATCH/],
    [{ version: 300 }, 'version', /must be a string/],
    [{ version: '3.0.0', instanceType: 'huge' }, 'instanceType', /instance type such as/],
    [{ version: '3.0.0', architecture: 'i386' }, 'architecture', /x86_64 or arm64/],
    [{ version: '3.0.0', instanceType: 't4g.small' }, 'instanceType', /arm64 instance type.*x86_64/],
    [{ version: '3.0.0', architecture: 'arm64' }, 'instanceType', /x86_64 instance type.*arm64/],
    [{ version: '3.0.0', force: 'yes' }, 'force', /true or false/],
    [{ version: '3.0.0', dryRun: 1 }, 'dryRun', /true or false/],
    [{ version: '3.0.0', copyToRegions: 'us-east-1' }, 'copyToRegions', /list of regions/],
    [{ version: '3.0.0', copyToRegions: ['us-weast-1'] }, 'copyToRegions.0', /AWS region/],
    [{ version: '3.0.0', copyToRegions: ['us-west-2'] }, 'copyToRegions.0', /the region the build runs in/],
    [{ version: '3.0.0', copyToRegions: ['us-east-1', 'us-east-1'] }, 'copyToRegions.1', /listed twice/],
    [{ version: '3.0.0', verison: '3.0.0' }, 'verison', /not a known field/],
    ['[1]', 'body', /JSON object/],
    ['{not json', 'body', /JSON object/],
  ])('%j → 400 on %s', async (body, field, message) => {
    const r = await call(post(body));
    expect(r.statusCode).toBe(400);
    expect(r.headers?.['content-type']).toBe('application/problem+json');
    expect(r.json.field).toBe(field);
    expect(String(r.json.detail)).toMatch(message);
    noAwsCall();
  });

  it('a malformed Idempotency-Key → 400, no AWS call', async () => {
    const r = await call(post({ version: '3.0.0' }, { 'Idempotency-Key': 'a b' }));
    expect(r.statusCode).toBe(400);
    expect(r.json.field).toBe('Idempotency-Key');
    noAwsCall();
  });

  it('an instance type EC2 does not offer → 400 on instanceType, nothing started, archive not asked', async () => {
    ec2Mock
      .on(DescribeInstanceTypesCommand)
      .rejects(Object.assign(new Error('bad type'), { name: 'InvalidInstanceType', $fault: 'client' }));
    const r = await call(post({ version: '3.0.0', instanceType: 't3a.medium' }));
    expect(r.statusCode).toBe(400);
    expect(r.json.field).toBe('instanceType');
    expect(r.json.detail).toMatch(/t3a\.medium is not an instance type EC2 offers in us-west-2/);
    nothingStarted();
    expect(archive).not.toHaveBeenCalled();
  });

  it('an instance type EC2 runs on the other architecture → 400 (EC2 has the last word)', async () => {
    ec2Mock.on(DescribeInstanceTypesCommand).resolves({
      InstanceTypes: [
        { InstanceType: 'm6i.large' as _InstanceType, ProcessorInfo: { SupportedArchitectures: ['arm64'] } },
      ],
    });
    const r = await call(post({ version: '3.0.0', instanceType: 'm6i.large' }));
    expect(r.statusCode).toBe(400);
    expect(r.json.detail).toMatch(/m6i\.large runs arm64, but the build is x86_64/);
    nothingStarted();
  });

  it.each(['p5.48xlarge', 'c6in.metal', 'm5.24xlarge'])(
    'an instance type outside the allowlist (%s) → 400 naming the allowed types, no AWS call, archive not asked',
    async (type) => {
      const r = await call(post({ version: '3.0.0', instanceType: type }));
      expect(r.statusCode).toBe(400);
      expect(r.json.field).toBe('instanceType');
      expect(r.json.detail).toBe(
        `instanceType ${type} is not allowed here; allowed types: ${DEFAULT_ALLOWED_INSTANCE_TYPES.join(', ')}`,
      );
      noAwsCall();
      expect(archive).not.toHaveBeenCalled();
    },
  );
});

describe('POST /builds: the version check against the archive', () => {
  it('a version the archive lacks → 422 problem+json naming it, nothing started', async () => {
    archive.mockResolvedValue(new Response(null, { status: 404 }));
    const r = await call(post({ version: '9.9.9' }));
    expect(r.statusCode).toBe(422);
    expect(r.headers?.['content-type']).toBe('application/problem+json');
    expect(r.json).toMatchObject({
      title: 'Pulsar version not in the archive',
      field: 'version',
      version: '9.9.9',
      checksumUrl:
        'https://archive.example.org/dist/pulsar/pulsar-9.9.9/apache-pulsar-9.9.9-bin.tar.gz.sha512',
    });
    expect(r.json.detail).toMatch(/Apache Pulsar 9\.9\.9 is not in the archive: .* answered 404/);
    expect(archive).toHaveBeenCalledWith(
      'https://archive.example.org/dist/pulsar/pulsar-9.9.9/apache-pulsar-9.9.9-bin.tar.gz.sha512',
      expect.objectContaining({ method: 'HEAD' }),
    );
    nothingStarted();
  });

  it('an unreachable archive → 503 with the cause, nothing started', async () => {
    archive.mockRejectedValue(
      Object.assign(new TypeError('fetch failed'), {
        cause: { code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND archive.example.org' },
      }),
    );
    const r = await call(post({ version: '3.0.0' }));
    expect(r.statusCode).toBe(503);
    expect(r.json.detail).toMatch(/unreachable: getaddrinfo ENOTFOUND archive\.example\.org/);
    expect(r.json.detail).toMatch(/nothing was started/);
    nothingStarted();
  });

  it('an archive that times out → 503; one that fails → 502', async () => {
    archive.mockRejectedValue(Object.assign(new Error('timed out'), { name: 'TimeoutError' }));
    const slow = await call(post({ version: '3.0.0' }));
    expect(slow.statusCode).toBe(503);
    expect(slow.json.detail).toMatch(/no answer within 5000 ms/);
    archive.mockReset();
    archive.mockResolvedValue(new Response(null, { status: 500 }));
    const broken = await call(post({ version: '3.0.0' }));
    expect(broken.statusCode).toBe(502);
    expect(broken.json.detail).toMatch(/the archive answered 500/);
    nothingStarted();
  });
});

describe('POST /builds: already built, dry run, started', () => {
  it('a validated available AMI of the version and architecture → 200 with it, nothing started or asked', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [image()] });
    const r = await call(post({ version: '3.0.0' }));
    expect(r.statusCode).toBe(200);
    expect(r.json).toMatchObject({
      outcome: 'already-built',
      amiId: 'ami-0a1b2c3d4e5f67890',
      version: '3.0.0',
      architecture: 'x86_64',
      region: 'us-west-2',
      ami: { imageId: 'ami-0a1b2c3d4e5f67890', validated: true },
    });
    nothingStarted();
    expect(archive).not.toHaveBeenCalled();
    // Only available images of that architecture are looked at.
    const filters = ec2Mock.commandCalls(DescribeImagesCommand).map((c) => c.args[0].input.Filters);
    for (const f of filters) {
      expect(f).toEqual(
        expect.arrayContaining([
          { Name: 'state', Values: ['available'] },
          { Name: 'architecture', Values: ['x86_64'] },
        ]),
      );
    }
  });

  it('already built, with regions to copy to: the machine starts (it copies the existing AMI, builds nothing)', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [image()] });
    const r = await call(post({ version: '3.0.0', copyToRegions: ['eu-west-1'] }));
    expect(r.statusCode).toBe(202);
    const input = JSON.parse(sfnMock.commandCalls(StartExecutionCommand)[0]?.args[0].input.input ?? '{}');
    expect(input).toMatchObject({ version: '3.0.0', force: false, copyToRegions: ['eu-west-1'] });
  });

  it('an unvalidated AMI, or one of another version, does not count: the build starts', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({
      Images: [
        image({ ImageId: 'ami-0000000000000000a' }, { Validated: 'false' }),
        image(
          { ImageId: 'ami-0000000000000000b', Name: 'pulsar-base-2.11.0-20250920101500' },
          { PulsarVersion: '2.11.0' },
        ),
      ],
    });
    const r = await call(post({ version: '3.0.0' }));
    expect(r.statusCode).toBe(202);
  });

  it('force builds even when it is built: the existing AMI is not even looked up', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [image()] });
    const r = await call(post({ version: '3.0.0', force: true }));
    expect(r.statusCode).toBe(202);
    expect(ec2Mock.commandCalls(DescribeImagesCommand)).toHaveLength(0);
    const input = JSON.parse(sfnMock.commandCalls(StartExecutionCommand)[0]?.args[0].input.input ?? '{}');
    expect(input.force).toBe(true);
  });

  it('202: BuildAmi started with exactly the contract input, Location under the stage', async () => {
    const r = await call(
      post({
        version: '3.0.0',
        instanceType: 't3.medium',
        copyToRegions: ['us-east-1', 'eu-west-1'],
      }),
    );
    expect(r.statusCode).toBe(202);
    const buildId = String(r.json.buildId);
    expect(buildId).toMatch(BUILD_ID_PATTERN);
    expect(buildId.length).toBeLessThanOrEqual(64);
    expect(r.headers?.location).toBe(`/dev/builds/${buildId}`);
    expect(r.json).toMatchObject({
      outcome: 'started',
      status: 'RUNNING',
      executionArn: `arn:aws:states:us-west-2:123456789012:execution:pulsar-ami-dev-build-ami:${buildId}`,
      location: `/builds/${buildId}`,
      version: '3.0.0',
      instanceType: 't3.medium',
      architecture: 'x86_64',
      force: false,
      region: 'us-west-2',
      startedAt: '2026-01-15T12:00:00.000Z',
    });
    const [start] = sfnMock.commandCalls(StartExecutionCommand);
    expect(start?.args[0].input).toMatchObject({ stateMachineArn: MACHINE, name: buildId });
    const input = JSON.parse(start?.args[0].input.input ?? '{}');
    expect(input).toEqual({
      buildId,
      version: '3.0.0',
      instanceType: 't3.medium',
      architecture: 'x86_64',
      force: false,
      copyToRegions: ['eu-west-1', 'us-east-1'],
    });
    expect(() => buildAmiInputSchema.parse(input)).not.toThrow();
    expect(archive).toHaveBeenCalledWith(CHECKSUM_URL, expect.objectContaining({ method: 'HEAD' }));
  });

  it('defaults: t3.small, x86_64, not forced, no copies; arm64 with a Graviton type', async () => {
    await call(post({ version: '3.0.0' }));
    await call(post({ version: '3.0.0', architecture: 'arm64', instanceType: 't4g.small' }));
    const inputs = sfnMock
      .commandCalls(StartExecutionCommand)
      .map((c) => JSON.parse(c.args[0].input.input ?? '{}') as Record<string, unknown>);
    expect(inputs[0]).toMatchObject({
      instanceType: 't3.small',
      architecture: 'x86_64',
      force: false,
      copyToRegions: [],
    });
    expect(inputs[1]).toMatchObject({ instanceType: 't4g.small', architecture: 'arm64' });
  });

  it('dryRun: 200 with the plan, the checks made, nothing started', async () => {
    const r = await call(post({ version: '3.0.0', copyToRegions: ['us-east-1'], dryRun: true }));
    expect(r.statusCode).toBe(200);
    expect(r.json).toMatchObject({
      outcome: 'plan',
      dryRun: true,
      version: '3.0.0',
      instanceType: 't3.small',
      architecture: 'x86_64',
      copyToRegions: ['us-east-1'],
      existing: null,
      checksumUrl: CHECKSUM_URL,
      stateMachineArn: MACHINE,
      codeBuildProject: 'pulsar-ami-dev-build-ami',
    });
    expect((r.json.steps as string[]).join('\n')).toMatch(
      /packer init, validate and build of Pulsar 3\.0\.0/,
    );
    expect((r.json.steps as string[]).join('\n')).toMatch(/Copy To Regions: us-east-1/);
    nothingStarted();
    expect(sfnMock.commandCalls(ListExecutionsCommand)).toHaveLength(0);
  });

  it('dryRun of a version the archive lacks is the same 422', async () => {
    archive.mockResolvedValue(new Response(null, { status: 404 }));
    const r = await call(post({ version: '9.9.9', dryRun: true }));
    expect(r.statusCode).toBe(422);
  });

  it('dryRun when already built: the plan says the existing AMI answers', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [image()] });
    const r = await call(post({ version: '3.0.0', dryRun: true }));
    expect(r.statusCode).toBe(200);
    expect(r.json.existing).toMatchObject({ imageId: 'ami-0a1b2c3d4e5f67890' });
    expect((r.json.steps as string[])[0]).toMatch(/Answer with ami-0a1b2c3d4e5f67890/);
  });

  it('without the machine configured: 500 naming the setting, nothing asked', async () => {
    const { startBuild } = await import('../../functions/lib/builds-start');
    const { loadConfig } = await import('../../functions/lib/config');
    await expect(
      startBuild({ ec2: new EC2Client({}), sfn: new SFNClient({}), fetch: archive }, loadConfig({}), {
        version: '3.0.0',
        instanceType: 't3.small',
        architecture: 'x86_64',
        force: false,
        copyToRegions: [],
        dryRun: false,
      }),
    ).rejects.toThrow(/BUILD_AMI_STATE_MACHINE_ARN is not set/);
    noAwsCall();
  });
});

describe('POST /builds: one execution per request', () => {
  const running = (name: string, input: Record<string, unknown>) => {
    const executionArn = `${MACHINE.replace(':stateMachine:', ':execution:')}:${name}`;
    sfnMock.on(ListExecutionsCommand).resolves({
      executions: [
        {
          executionArn,
          name,
          stateMachineArn: MACHINE,
          status: 'RUNNING',
          startDate: new Date('2026-01-15T11:00:00Z'),
        },
      ],
    });
    sfnMock.on(DescribeExecutionCommand, { executionArn }).resolves({
      executionArn,
      name,
      status: 'RUNNING',
      startDate: new Date('2026-01-15T11:00:00Z'),
      input: JSON.stringify({ buildId: name, ...input }),
      stateMachineArn: MACHINE,
    });
    return executionArn;
  };

  it('the same Idempotency-Key gives the same build id and execution', async () => {
    const first = await call(post({ version: '3.0.0' }, { 'Idempotency-Key': 'ci-run-42' }));
    expect(first.statusCode).toBe(202);
    expect(first.json.buildId).toBe(buildIdFor('ci-run-42'));
    // The retry: the name is taken by the first execution, with the same input.
    const executionArn = String(first.json.executionArn);
    const firstInput = sfnMock.commandCalls(StartExecutionCommand)[0]?.args[0].input.input;
    sfnMock
      .on(StartExecutionCommand)
      .rejects(Object.assign(new Error('exists'), { name: 'ExecutionAlreadyExists', $fault: 'client' }));
    sfnMock.on(DescribeExecutionCommand, { executionArn }).resolves({
      executionArn,
      status: 'SUCCEEDED',
      input: firstInput,
      startDate: new Date('2026-01-15T12:00:00Z'),
    });
    const retry = await call(post({ version: '3.0.0' }, { 'idempotency-key': 'ci-run-42' }));
    expect(retry.statusCode).toBe(202);
    expect(retry.json).toMatchObject({
      outcome: 'running',
      buildId: first.json.buildId,
      executionArn,
      status: 'SUCCEEDED',
    });
  });

  it('the same key for another request → 409, nothing new', async () => {
    const buildId = buildIdFor('ci-run-43');
    const executionArn = `${MACHINE.replace(':stateMachine:', ':execution:')}:${buildId}`;
    sfnMock
      .on(StartExecutionCommand)
      .rejects(Object.assign(new Error('exists'), { name: 'ExecutionAlreadyExists', $fault: 'client' }));
    sfnMock.on(DescribeExecutionCommand, { executionArn }).resolves({
      executionArn,
      status: 'RUNNING',
      input: JSON.stringify({
        buildId,
        version: '2.11.0',
        instanceType: 't3.small',
        architecture: 'x86_64',
        force: false,
        copyToRegions: [],
      }),
    });
    const r = await call(post({ version: '3.0.0' }, { 'Idempotency-Key': 'ci-run-43' }));
    expect(r.statusCode).toBe(409);
    expect(r.json).toMatchObject({ title: 'Idempotency key reused', buildId, executionArn });
  });

  it('the same request while one is RUNNING: that execution, nothing started', async () => {
    const executionArn = running('build-earlier', {
      version: '3.0.0',
      instanceType: 't3.small',
      architecture: 'x86_64',
      force: false,
      copyToRegions: ['eu-west-1', 'us-east-1'],
    });
    const r = await call(post({ version: '3.0.0', copyToRegions: ['us-east-1', 'eu-west-1'] }));
    expect(r.statusCode).toBe(202);
    expect(r.headers?.location).toBe('/dev/builds/build-earlier');
    expect(r.json).toMatchObject({
      outcome: 'running',
      buildId: 'build-earlier',
      executionArn,
      status: 'RUNNING',
    });
    nothingStarted();
    expect(sfnMock.commandCalls(ListExecutionsCommand)[0]?.args[0].input).toMatchObject({
      stateMachineArn: MACHINE,
      statusFilter: 'RUNNING',
    });
  });

  it('a running build of another request does not count', async () => {
    running('build-other', {
      version: '3.0.0',
      instanceType: 't3.medium',
      architecture: 'x86_64',
      force: false,
      copyToRegions: [],
    });
    const r = await call(post({ version: '3.0.0' }));
    expect(r.statusCode).toBe(202);
    expect(r.json.outcome).toBe('started');
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(1);
  });
});
