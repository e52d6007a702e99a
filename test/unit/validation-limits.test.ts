/**
 * The validation limit through the real handlers (SDK clients mocked): at the limit,
 * POST /amis/{id}/validations and POST /builds answer 429 with Retry-After and the API's
 * problem document, and no StartExecution is sent; below it they start; the other answers
 * (404, dry run) come first; a retried request whose execution runs is not refused. Plus
 * the observability of the start path: ValidationsStarted is emitted (EMF), and an AWS error
 * mapped to 502 logs its request id and keeps its cause.
 */
import {
  DescribeImagesCommand,
  DescribeInstanceTypesCommand,
  EC2Client,
  type Image,
} from '@aws-sdk/client-ec2';
import {
  type ExecutionListItem,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AwsCallError, fromAwsError } from '../../functions/lib/errors';
import { logger } from '../../functions/lib/logger';
import { validationIdFor } from '../../functions/lib/validation-executions';
import {
  countRunningValidations,
  MAX_PAGES,
  RETRY_AFTER_SECONDS,
} from '../../functions/lib/validation-limits';
import { apiEvent, lambdaContext } from '../support/api-event';
import { emfDuring } from '../support/emf';

vi.hoisted(() => {
  process.env.VALIDATE_AMI_STATE_MACHINE_ARN =
    'arn:aws:states:us-west-2:123456789012:stateMachine:pulsar-ami-dev-validate-ami';
  process.env.BUILD_AMI_STATE_MACHINE_ARN =
    'arn:aws:states:us-west-2:123456789012:stateMachine:pulsar-ami-dev-build-ami';
  process.env.ARCHIVE_BASE_URL = 'https://archive.example.org/dist';
  process.env.MAX_CONCURRENT_VALIDATIONS = '3';
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
});

const { handler: startValidation } = await import('../../functions/start-validation');
const { handler: startBuild } = await import('../../functions/start-build');

const VALIDATE = 'arn:aws:states:us-west-2:123456789012:stateMachine:pulsar-ami-dev-validate-ami';
const BUILD = 'arn:aws:states:us-west-2:123456789012:stateMachine:pulsar-ami-dev-build-ami';
const IMAGE_ID = 'ami-0123456789abcdef0';

const ec2Mock = mockClient(EC2Client);
const sfnMock = mockClient(SFNClient);
const archive = vi.fn<(url: string, init: RequestInit) => Promise<Response>>();

const image: Image = {
  ImageId: IMAGE_ID,
  Name: 'pulsar-base-3.0.0-20240101000000',
  State: 'available',
  Architecture: 'x86_64',
  CreationDate: '2024-01-01T00:00:00.000Z',
  OwnerId: '123456789012',
  Tags: [
    { Key: 'ManagedBy', Value: 'pulsar-ami' },
    { Key: 'PulsarVersion', Value: '3.0.0' },
  ],
};

const running = (n: number, prefix = 'v'): ExecutionListItem[] =>
  Array.from({ length: n }, (_, i) => ({
    executionArn: `${VALIDATE.replace(':stateMachine:', ':execution:')}:${prefix}${i}`,
    stateMachineArn: VALIDATE,
    name: `${prefix}${i}`,
    status: 'RUNNING',
    startDate: new Date('2024-01-01T00:00:00Z'),
  }));

/** RUNNING ValidateAmi executions as ListExecutions answers them; none for BuildAmi. */
function validationsRunning(executions: ExecutionListItem[]) {
  sfnMock.on(ListExecutionsCommand, { stateMachineArn: VALIDATE }).resolves({ executions });
  sfnMock.on(ListExecutionsCommand, { stateMachineArn: BUILD }).resolves({ executions: [] });
}

beforeEach(() => {
  ec2Mock.reset();
  sfnMock.reset();
  archive.mockReset();
  archive.mockResolvedValue(new Response(null, { status: 200 }));
  vi.stubGlobal('fetch', archive);
  ec2Mock.on(DescribeImagesCommand).resolves({ Images: [image] });
  ec2Mock.on(DescribeInstanceTypesCommand).callsFake(async (input: { InstanceTypes: string[] }) => ({
    InstanceTypes: input.InstanceTypes.map((type) => ({
      InstanceType: type,
      ProcessorInfo: { SupportedArchitectures: ['x86_64'] },
    })),
  }));
  sfnMock.on(StartExecutionCommand).callsFake(async (input: { stateMachineArn: string; name: string }) => ({
    executionArn: `${input.stateMachineArn.replace(':stateMachine:', ':execution:')}:${input.name}`,
    startDate: new Date(),
  }));
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

function validationRequest(headers: Record<string, string> = {}): APIGatewayProxyEvent {
  return {
    ...apiEvent({
      method: 'POST',
      path: `/amis/${IMAGE_ID}/validations`,
      pathParameters: { id: IMAGE_ID },
    }),
    resource: '/amis/{id}/validations',
    headers,
    body: '{"instanceType":"t3.micro"}',
  };
}

function buildRequest(body: Record<string, unknown>): APIGatewayProxyEvent {
  return { ...apiEvent({ method: 'POST', path: '/builds' }), body: JSON.stringify(body) };
}

const call = async (
  handler: (e: APIGatewayProxyEvent, c: ReturnType<typeof lambdaContext>) => Promise<unknown>,
  event: APIGatewayProxyEvent,
) => (await handler(event, lambdaContext())) as APIGatewayProxyResult;

function expectTooMany(response: APIGatewayProxyResult) {
  expect(response.statusCode).toBe(429);
  expect(response.headers?.['retry-after']).toBe(String(RETRY_AFTER_SECONDS));
  expect(response.headers?.['content-type']).toBe('application/problem+json');
  const problem = JSON.parse(response.body);
  expect(problem).toMatchObject({
    type: 'urn:pulsar-ami:problem:too-many-validations',
    title: 'Too many validations running',
    status: 429,
    requestId: lambdaContext().awsRequestId,
    running: 3,
    maxConcurrentValidations: 3,
    retryAfterSeconds: RETRY_AFTER_SECONDS,
  });
  expect(problem.detail).toMatch(/MAX_CONCURRENT_VALIDATIONS=3.*nothing was started.*60 s/);
}

describe('POST /amis/{id}/validations and the validation limit', () => {
  it('3 running (the limit): 429, Retry-After, the problem document, no StartExecution', async () => {
    validationsRunning(running(3));
    expectTooMany(await call(startValidation, validationRequest()));
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);
    const listed = sfnMock.commandCalls(ListExecutionsCommand)[0]?.args[0].input;
    expect(listed).toMatchObject({ stateMachineArn: VALIDATE, statusFilter: 'RUNNING' });
  });

  it('2 running: 202 and one StartExecution', async () => {
    validationsRunning(running(2));
    const response = await call(startValidation, validationRequest());
    expect(response.statusCode).toBe(202);
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(1);
  });

  it('counts across pages, and stops reading once the limit is reached', async () => {
    sfnMock
      .on(ListExecutionsCommand)
      .resolvesOnce({ executions: running(1, 'a'), nextToken: 't1' })
      .resolvesOnce({ executions: [], nextToken: 't2' })
      .resolvesOnce({ executions: running(2, 'b'), nextToken: 't3' })
      .resolves({ executions: running(5, 'c') });
    expectTooMany(await call(startValidation, validationRequest()));
    expect(sfnMock.commandCalls(ListExecutionsCommand)).toHaveLength(3);
    expect(sfnMock.commandCalls(ListExecutionsCommand)[1]?.args[0].input.nextToken).toBe('t1');
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('fails closed past its page bound (an endless list is taken as the limit reached)', async () => {
    sfnMock.on(ListExecutionsCommand).resolves({ executions: [], nextToken: 'more' });
    const count = await countRunningValidations(new SFNClient({}), {
      validateAmiStateMachineArn: VALIDATE,
      maxConcurrentValidations: 3,
    });
    expect(count).toMatchObject({ running: 0, atLimit: true });
    expect(sfnMock.commandCalls(ListExecutionsCommand)).toHaveLength(MAX_PAGES);
  });

  it('answers first what it answered before: an unknown AMI is still a 404 at the limit', async () => {
    validationsRunning(running(3));
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [] });
    const response = await call(startValidation, validationRequest());
    expect(response.statusCode).toBe(404);
    expect(sfnMock.commandCalls(ListExecutionsCommand)).toHaveLength(0);
  });

  it('a request retried with its Idempotency-Key while its execution runs is answered, not refused', async () => {
    const key = 'retry-1';
    const name = validationIdFor(IMAGE_ID, key);
    validationsRunning([...running(2), { ...running(1)[0], name } as ExecutionListItem]);
    const response = await call(startValidation, validationRequest({ 'Idempotency-Key': key }));
    expect(response.statusCode).toBe(202);
    expect(sfnMock.commandCalls(StartExecutionCommand)[0]?.args[0].input.name).toBe(name);
  });
});

describe('POST /builds and the validation limit (a build validates its image)', () => {
  const started = () => sfnMock.commandCalls(StartExecutionCommand);

  it('3 validations running: 429, Retry-After, no build started', async () => {
    validationsRunning(running(3));
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [] });
    expectTooMany(await call(startBuild, buildRequest({ version: '3.0.0' })));
    expect(started()).toHaveLength(0);
  });

  it('a dry run at the limit still answers its plan (200): it starts nothing', async () => {
    validationsRunning(running(3));
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [] });
    const response = await call(startBuild, buildRequest({ version: '3.0.0', dryRun: true }));
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body).outcome).toBe('plan');
  });

  it('below the limit: 202, BuildAmi started', async () => {
    validationsRunning(running(1));
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [] });
    const response = await call(startBuild, buildRequest({ version: '3.0.0' }));
    expect(response.statusCode).toBe(202);
    expect(started()).toHaveLength(1);
    expect(started()[0]?.args[0].input.stateMachineArn).toBe(BUILD);
  });
});

describe('observability of the start path', () => {
  it('a new validation emits ValidationsStarted (namespace PulsarAmi, Source=api); a 429 emits none', async () => {
    validationsRunning(running(0));
    const emitted = await emfDuring(() => call(startValidation, validationRequest()));
    const metric = emitted.find((d) => 'ValidationsStarted' in d);
    expect(metric).toMatchObject({ ValidationsStarted: 1, Source: 'api', service: 'pulsar-ami' });
    expect(metric?._aws).toMatchObject({
      CloudWatchMetrics: [
        {
          Namespace: 'PulsarAmi',
          Dimensions: [expect.arrayContaining(['Source', 'service'])],
          Metrics: [{ Name: 'ValidationsStarted', Unit: 'Count' }],
        },
      ],
    });

    validationsRunning(running(3));
    const refused = await emfDuring(() => call(startValidation, validationRequest()));
    expect(refused.filter((d) => 'ValidationsStarted' in d)).toEqual([]);
  });

  it('an AWS error mapped to 502 keeps its cause, and the log names its request id and status', async () => {
    const sdkError = Object.assign(new Error('Access denied to ListExecutions'), {
      name: 'AccessDeniedException',
      $fault: 'client',
      $metadata: { requestId: 'req-aws-42', httpStatusCode: 400 },
    });
    const mapped = fromAwsError('Step Functions', sdkError) as AwsCallError;
    expect(mapped).toBeInstanceOf(AwsCallError);
    expect(mapped.cause).toBe(sdkError);
    expect(mapped.aws).toEqual({
      service: 'Step Functions',
      name: 'AccessDeniedException',
      message: 'Access denied to ListExecutions',
      requestId: 'req-aws-42',
      httpStatusCode: 400,
      fault: 'client',
    });

    sfnMock.on(ListExecutionsCommand).rejects(sdkError);
    const logged = vi.spyOn(logger, 'error').mockImplementation(() => undefined);
    const response = await call(startValidation, validationRequest());
    expect(response.statusCode).toBe(502);
    expect(JSON.parse(response.body)).not.toHaveProperty('requestId', 'req-aws-42');
    expect(logged).toHaveBeenCalledTimes(1);
    const [message, fields] = logged.mock.calls[0] as unknown as [string, Record<string, unknown>];
    expect(message).toBe('Request failed');
    expect(fields.awsError).toMatchObject({ requestId: 'req-aws-42', httpStatusCode: 400 });
    expect((fields.error as Error).cause).toBe(sdkError);
  });

  it('the request is logged with the ids it names (imageId from the path; validationId, executionArn from the answer)', async () => {
    validationsRunning(running(0));
    const info = vi.spyOn(logger, 'info').mockImplementation(() => undefined);
    const appended: Record<string, unknown>[] = [];
    vi.spyOn(logger, 'appendKeys').mockImplementation((keys) => {
      appended.push(keys as Record<string, unknown>);
    });
    await call(startValidation, validationRequest());
    expect(appended[0]).toEqual({ imageId: IMAGE_ID });
    expect(appended[1]).toMatchObject({ imageId: IMAGE_ID, validationId: expect.any(String) });
    expect(appended[1]?.executionArn).toMatch(/:execution:pulsar-ami-dev-validate-ami:/);
    expect(info).toHaveBeenCalledWith('Request answered', { status: 202 });
  });
});
