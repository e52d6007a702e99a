/**
 * The cleanup API through its handlers, the SDK clients mocked (aws-sdk-client-mock) and the
 * planning and restoring cores mocked where the handler only passes their answer on:
 * POST /cleanups (a 400 per bad field with no AWS call; the dry run: the plan, nothing started;
 * apply: CleanupAmis started with the contract's input, 409 while another runs, idempotency),
 * GET /cleanups/{id} (400, 404, progress from the history) and POST /amis/{id}/restore.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { CleanupPlan } from '../../functions/lib/cleanup-plan';
import { AmiNotFoundError, AmiNotManagedError } from '../../functions/lib/errors';
import { CLEANUP_ID_PATTERN } from '../../functions/lib/validation';
import { apiEvent, lambdaContext } from '../support/api-event';

const MACHINE = 'arn:aws:states:us-west-2:123456789012:stateMachine:pulsar-ami-dev-cleanup-amis';
const EXECUTIONS = MACHINE.replace(':stateMachine:', ':execution:');

vi.hoisted(() => {
  process.env.CLEANUP_AMIS_STATE_MACHINE_ARN =
    'arn:aws:states:us-west-2:123456789012:stateMachine:pulsar-ami-dev-cleanup-amis';
});

const cores = vi.hoisted(() => ({ planCleanup: vi.fn(), restoreAmi: vi.fn() }));
vi.mock('../../functions/lib/cleanup-plan', async (original) => ({
  ...(await original<typeof import('../../functions/lib/cleanup-plan')>()),
  planCleanup: cores.planCleanup,
}));
vi.mock('../../functions/lib/ami-restore', async (original) => ({
  ...(await original<typeof import('../../functions/lib/ami-restore')>()),
  restoreAmi: cores.restoreAmi,
}));

const { handler: postHandler } = await import('../../functions/start-cleanup');
const { handler: getHandler } = await import('../../functions/get-cleanup');
const { handler: restoreHandler } = await import('../../functions/restore-ami');

const ec2Mock = mockClient(EC2Client);
const ssmMock = mockClient(SSMClient);
const sfnMock = mockClient(SFNClient);

const IMAGE = 'ami-0a1b2c3d4e5f67890';
const OLD = 'ami-0123456789abcdef0';

function plan(keep = 3): CleanupPlan {
  return {
    region: 'us-west-2',
    generatedAt: '2026-01-15T12:00:00.000Z',
    settings: {
      region: 'us-west-2',
      keep,
      minValidated: 2,
      minAgeDays: 1,
      lastLaunchedWithinDays: 30,
      deprecateAfterDays: null,
      disableAfterDays: null,
      deleteAfterDays: null,
      pricePerGbMonth: 0.05,
    },
    decisions: [
      {
        imageId: IMAGE,
        name: 'pulsar-base-3.0.0-20251006142311',
        version: '3.0.0',
        createdAt: '2025-10-06T14:23:11.000Z',
        state: 'available',
        validated: true,
        action: 'keep',
        reason: 'published latest',
        reasons: ['published latest', `newest ${keep}`],
        snapshotIds: ['snap-0a1b2c3d4e5f67890'],
        sizeGiB: 8,
      },
      {
        imageId: OLD,
        name: 'pulsar-base-2.10.0-20250120093000',
        version: '2.10.0',
        createdAt: '2025-01-20T09:30:00.000Z',
        state: 'available',
        validated: null,
        action: 'delete',
        reason: `beyond the newest ${keep}`,
        reasons: [`beyond the newest ${keep}`],
        snapshotIds: ['snap-0123456789abcdef0'],
        sizeGiB: 8,
      },
    ],
    orphanedSnapshots: [],
    totals: {
      images: 2,
      keep: 1,
      deprecate: 0,
      disable: 0,
      delete: 1,
      orphanedSnapshots: 0,
      reclaimedGiB: 8,
      monthlySavingUsd: 0.4,
    },
  };
}

beforeEach(() => {
  ec2Mock.reset();
  ssmMock.reset();
  sfnMock.reset();
  cores.planCleanup.mockReset();
  cores.restoreAmi.mockReset();
  cores.planCleanup.mockImplementation(async (_clients, settings: { keep: number }) => plan(settings.keep));
  sfnMock.on(ListExecutionsCommand).resolves({ executions: [] });
  sfnMock.on(StartExecutionCommand).callsFake(async (input: { name: string }) => ({
    executionArn: `${EXECUTIONS}:${input.name}`,
    startDate: new Date('2026-01-15T12:00:00Z'),
  }));
});

function post(body: unknown, headers: Record<string, string> = {}): APIGatewayProxyEvent {
  return {
    ...apiEvent({ method: 'POST', path: '/cleanups' }),
    body: body === undefined ? null : typeof body === 'string' ? body : JSON.stringify(body),
    headers,
    requestContext: { path: '/dev/cleanups' } as APIGatewayProxyEvent['requestContext'],
  };
}

async function call(
  handler: typeof postHandler,
  event: APIGatewayProxyEvent,
  name: string,
): Promise<APIGatewayProxyResult & { json: Record<string, unknown> }> {
  const result = (await handler(event, lambdaContext(name))) as APIGatewayProxyResult;
  return { ...result, json: JSON.parse(result.body) as Record<string, unknown> };
}
const callPost = (event: APIGatewayProxyEvent) => call(postHandler, event, 'startCleanup');

const noAwsCall = () => {
  expect(ec2Mock.calls()).toHaveLength(0);
  expect(ssmMock.calls()).toHaveLength(0);
  expect(sfnMock.calls()).toHaveLength(0);
  expect(cores.planCleanup).not.toHaveBeenCalled();
};

describe('POST /cleanups: the body checked before anything', () => {
  it.each([
    [{ keep: 0 }, 'keep', 'keep must be a whole number from 1 to 100, got 0'],
    [{ keep: 101 }, 'keep', 'keep must be a whole number from 1 to 100, got 101'],
    [{ keep: 2.5 }, 'keep', 'keep must be a whole number from 1 to 100, got 2.5'],
    [{ keep: '3' }, 'keep', 'keep must be a whole number from 1 to 100, got "3"'],
    [{ keep: null }, 'keep', 'keep must be a whole number from 1 to 100, got null'],
    [{ apply: 'yes' }, 'apply', 'apply must be true or false, got "yes"'],
    [{ apply: true, kep: 3 }, 'kep', 'kep is not a known field (expected: keep, apply)'],
    ['[3]', 'body', 'body must be a JSON object such as {"keep":3,"apply":false}'],
    ['{keep: 3', 'body', 'body must be a JSON object such as {"keep":3,"apply":false}'],
  ])('%j → 400 on %s, nothing planned or started', async (body, field, detail) => {
    const r = await callPost(post(body));
    expect(r.statusCode).toBe(400);
    expect(r.headers?.['content-type']).toBe('application/problem+json');
    expect(r.json).toMatchObject({ title: 'Invalid input', field, detail });
    noAwsCall();
  });

  it('a malformed Idempotency-Key → 400, nothing started', async () => {
    const r = await callPost(post({ apply: true }, { 'Idempotency-Key': 'two words' }));
    expect(r.statusCode).toBe(400);
    expect(r.json.field).toBe('Idempotency-Key');
    noAwsCall();
  });
});

describe('POST /cleanups: the dry run', () => {
  it('no body: 200 with the plan at the configured keep; no execution listed or started', async () => {
    const r = await callPost(post(undefined));
    expect(r.statusCode).toBe(200);
    expect(r.json).toEqual({ dryRun: true, plan: JSON.parse(JSON.stringify(plan(3))) });
    expect(cores.planCleanup).toHaveBeenCalledTimes(1);
    const [clients, settings] = cores.planCleanup.mock.calls[0] ?? [];
    expect(Object.keys(clients as object)).toEqual(expect.arrayContaining(['ec2', 'ssm']));
    expect(settings).toMatchObject({ region: 'us-west-2', keep: 3 });
    expect(sfnMock.calls()).toHaveLength(0);
  });

  it('keep overrides the configured number for this plan only', async () => {
    const r = await callPost(post({ keep: 5, apply: false }));
    expect(r.statusCode).toBe(200);
    expect((r.json.plan as CleanupPlan).settings.keep).toBe(5);
    expect(cores.planCleanup.mock.calls[0]?.[1]).toMatchObject({ keep: 5 });
    expect(sfnMock.calls()).toHaveLength(0);
  });
});

describe('POST /cleanups: apply', () => {
  it('starts CleanupAmis with {keep, source: "api"}, named cleanup-…: 202 with a Location; no plan made here', async () => {
    const r = await callPost(post({ keep: 4, apply: true }));
    expect(r.statusCode).toBe(202);
    const id = String(r.json.cleanupId);
    expect(id).toMatch(/^cleanup-[0-9a-f-]{36}$/);
    expect(id).toMatch(CLEANUP_ID_PATTERN);
    expect(r.json).toEqual({
      dryRun: false,
      cleanupId: id,
      executionArn: `${EXECUTIONS}:${id}`,
      status: 'RUNNING',
      location: `/cleanups/${id}`,
      startedAt: '2026-01-15T12:00:00.000Z',
    });
    expect(r.headers?.location).toBe(`/dev/cleanups/${id}`);
    const started = sfnMock.commandCalls(StartExecutionCommand);
    expect(started).toHaveLength(1);
    expect(started[0]?.args[0].input).toEqual({
      stateMachineArn: MACHINE,
      name: id,
      input: JSON.stringify({ keep: 4, source: 'api' }),
    });
    expect(sfnMock.commandCalls(ListExecutionsCommand)[0]?.args[0].input).toMatchObject({
      stateMachineArn: MACHINE,
      statusFilter: 'RUNNING',
    });
    expect(cores.planCleanup).not.toHaveBeenCalled();
  });

  it('without keep the input has none (the machine uses the configured one)', async () => {
    await callPost(post({ apply: true }));
    expect(sfnMock.commandCalls(StartExecutionCommand)[0]?.args[0].input.input).toBe(
      JSON.stringify({ source: 'api' }),
    );
  });

  it('another cleanup RUNNING → 409 naming it, nothing started', async () => {
    const other = 'cleanup-11111111-2222-4333-8444-555555555555';
    sfnMock.on(ListExecutionsCommand).resolves({
      executions: [
        {
          executionArn: `${EXECUTIONS}:${other}`,
          name: other,
          stateMachineArn: MACHINE,
          status: 'RUNNING',
          startDate: new Date(),
        },
      ],
    });
    const r = await callPost(post({ apply: true }));
    expect(r.statusCode).toBe(409);
    expect(r.json).toMatchObject({
      title: 'A cleanup is already running',
      cleanupId: other,
      executionArn: `${EXECUTIONS}:${other}`,
    });
    expect(String(r.json.detail)).toMatch(`Cleanup ${other} is still running; nothing was started`);
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('the same Idempotency-Key: the same cleanup id; retried after it started, the execution answers (no 409, nothing new)', async () => {
    const first = await callPost(post({ apply: true, keep: 3 }, { 'Idempotency-Key': 'run-42' }));
    const id = String(first.json.cleanupId);
    sfnMock.on(ListExecutionsCommand).resolves({
      executions: [
        {
          executionArn: `${EXECUTIONS}:${id}`,
          name: id,
          stateMachineArn: MACHINE,
          status: 'RUNNING',
          startDate: new Date(),
        },
      ],
    });
    sfnMock
      .on(StartExecutionCommand)
      .rejects(
        Object.assign(new Error('already exists'), { name: 'ExecutionAlreadyExists', $fault: 'client' }),
      );
    sfnMock.on(DescribeExecutionCommand).resolves({
      executionArn: `${EXECUTIONS}:${id}`,
      stateMachineArn: MACHINE,
      status: 'RUNNING',
      input: JSON.stringify({ keep: 3, source: 'api' }),
      startDate: new Date('2026-01-15T12:00:00Z'),
    });
    const again = await callPost(post({ apply: true, keep: 3 }, { 'Idempotency-Key': 'run-42' }));
    expect(again.statusCode).toBe(202);
    expect(again.json).toMatchObject({ cleanupId: id, status: 'RUNNING' });

    const other = await callPost(post({ apply: true, keep: 9 }, { 'Idempotency-Key': 'run-42' }));
    expect(other.statusCode).toBe(409);
    expect(other.json.title).toBe('Idempotency key reused');
  });

  it('a deployment without the machine → 500 saying so, nothing started', async () => {
    const { loadConfig } = await import('../../functions/lib/config');
    const { postCleanup } = await import('../../functions/lib/cleanups');
    const config = loadConfig({});
    await expect(
      postCleanup({ ec2: new EC2Client({}), ssm: new SSMClient({}), sfn: new SFNClient({}) }, config, {
        apply: true,
      }),
    ).rejects.toThrow(/no CleanupAmis state machine \(CLEANUP_AMIS_STATE_MACHINE_ARN is not set\)/);
    expect(sfnMock.calls()).toHaveLength(0);
  });
});

const ID = 'cleanup-6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b';
const ARN = `${EXECUTIONS}:${ID}`;
const get = (id: string) =>
  call(
    getHandler,
    apiEvent({ method: 'GET', path: `/cleanups/${id}`, pathParameters: { id } }),
    'getCleanup',
  );

let eventId = 0;
const at = (s: number) => new Date(Date.parse('2026-01-15T12:00:00Z') + s * 1000);
const entered = (name: string, input: unknown, type = 'Task') => ({
  id: ++eventId,
  type: `${type}StateEntered`,
  timestamp: at(eventId),
  stateEnteredEventDetails: { name, input: JSON.stringify(input) },
});
const exited = (name: string, output: unknown, type = 'Task') => ({
  id: ++eventId,
  type: `${type}StateExited`,
  timestamp: at(eventId),
  stateExitedEventDetails: { name, output: JSON.stringify(output) },
});
const retired = (imageId: string, outcome: string) => ({
  imageId,
  action: 'delete',
  outcome,
  detail: outcome === 'failed' ? 'InvalidSnapshot.InUse' : 'deregistered, 1 snapshot deleted',
  snapshots: { deleted: [], kept: [] },
});

describe('GET /cleanups/{id}', () => {
  it('a malformed id → 400 naming it, no AWS call', async () => {
    const r = await get('build-123');
    expect(r.statusCode).toBe(400);
    expect(r.json.field).toBe('id');
    expect(String(r.json.detail)).toMatch(/must be a cleanup id such as cleanup-/);
    expect(sfnMock.calls()).toHaveLength(0);
  });

  it('an unknown cleanup → 404', async () => {
    sfnMock
      .on(DescribeExecutionCommand)
      .rejects(Object.assign(new Error('nope'), { name: 'ExecutionDoesNotExist', $fault: 'client' }));
    const r = await get(ID);
    expect(r.statusCode).toBe(404);
    expect(r.json.detail).toBe(
      `No cleanup ${ID} exists (its execution is unknown or past Step Functions' retention)`,
    );
  });

  it('running: the plan and this run’s total from Plan Cleanup, 2 of 3 ended (1 failed), the results so far in words', async () => {
    eventId = 0;
    const p = {
      ...plan(1),
      decisions: [...plan(1).decisions, { ...plan(1).decisions[1], imageId: 'ami-0fedcba9876543210' }],
    };
    sfnMock.on(DescribeExecutionCommand).resolves({
      executionArn: ARN,
      stateMachineArn: MACHINE,
      status: 'RUNNING',
      input: JSON.stringify({ keep: 1, source: 'api' }),
      startDate: at(0),
    });
    sfnMock.on(GetExecutionHistoryCommand).resolves({
      events: [
        { id: ++eventId, type: 'ExecutionStarted', timestamp: at(0) },
        entered('Plan Cleanup', { keep: 1 }),
        // Plan Cleanup's state as the machine carries it: the plan and this run's items.
        exited('Plan Cleanup', {
          keep: 1,
          source: 'api',
          planned: {
            plan: p,
            retirements: p.decisions.map((d) => ({ imageId: d.imageId, action: 'delete' })),
            snapshotDeletions: [],
            deferred: 0,
            pricePerGbMonth: 0.05,
          },
        }),
        entered('Retire Old AMIs', {}, 'Map'),
        {
          id: ++eventId,
          type: 'MapStateStarted',
          timestamp: at(9),
          mapStateStartedEventDetails: { length: 3 },
        },
        // Two iterations at once: entries interleave.
        entered('Retire AMI', { imageId: OLD }),
        entered('Retire AMI', { imageId: 'ami-0fedcba9876543210' }),
        exited('Retire AMI', retired('ami-0fedcba9876543210', 'done')),
        // A failure the Map caught: the Lambda's error JSON (with its trace) as the Cause.
        exited('Retire AMI', {
          ...retired(OLD, 'failed'),
          detail: 'AwsThrottledError',
          error: {
            Error: 'AwsThrottledError',
            Cause: JSON.stringify({
              errorType: 'AwsThrottledError',
              errorMessage: 'EC2 kept throttling requests (RequestLimitExceeded) after retries',
              trace: ['AwsThrottledError: EC2 kept throttling', '    at fromAwsError (errors.ts:350:36)'],
            }),
          },
        }),
        entered('Retire AMI', { imageId: 'ami-0aaaaaaaaaaaaaaaa' }),
      ] as never,
    });
    const r = await get(ID);
    expect(r.statusCode).toBe(200);
    expect(r.json).toMatchObject({
      cleanupId: ID,
      executionArn: ARN,
      status: 'RUNNING',
      source: 'api',
      keep: 1,
      progress: { total: 3, done: 1, failed: 1 },
      results: [
        retired('ami-0fedcba9876543210', 'done'),
        // Said in words: the error's message, never its JSON or trace.
        {
          ...retired(OLD, 'failed'),
          detail: 'EC2 kept throttling requests (RequestLimitExceeded) after retries',
        },
      ],
    });
    expect(JSON.stringify(r.json)).not.toContain('trace');
    expect((r.json.plan as CleanupPlan).decisions).toHaveLength(3);
    expect(r.json.report).toBeUndefined();
    expect(r.json.stoppedAt).toBeUndefined();
  });

  it('ended: the output’s results and report are the word, and the keep it ran with', async () => {
    eventId = 0;
    const output = {
      plan: plan(3),
      results: [retired(OLD, 'done')],
      orphanedSnapshotResults: [{ snapshotId: 'snap-0aaaaaaaaaaaaaaaa', outcome: 'done', detail: 'deleted' }],
      report: { retired: 1, failed: 0, skipped: 0, reclaimedGiB: 8, monthlySavingUsd: 0.4 },
    };
    sfnMock.on(DescribeExecutionCommand).resolves({
      executionArn: ARN,
      stateMachineArn: MACHINE,
      status: 'SUCCEEDED',
      input: JSON.stringify({ source: 'schedule' }),
      output: JSON.stringify(output),
      startDate: at(0),
      stopDate: at(30),
    });
    sfnMock.on(GetExecutionHistoryCommand).resolves({
      events: [
        entered('Plan Cleanup', {}),
        exited('Plan Cleanup', { source: 'schedule', planned: { plan: plan(3), retirements: [] } }),
        entered('Retire AMI', { imageId: OLD }),
        exited('Retire AMI', retired(OLD, 'done')),
      ] as never,
    });
    const r = await get(ID);
    expect(r.json).toMatchObject({
      status: 'SUCCEEDED',
      source: 'schedule',
      // Not in the input: the plan's, the stack's setting it ran with.
      keep: plan(3).settings.keep,
      stoppedAt: at(30).toISOString(),
      progress: { total: 1, done: 1, failed: 0 },
      results: output.results,
      orphanedSnapshotResults: output.orphanedSnapshotResults,
      report: output.report,
    });
    expect(r.json.error).toBeUndefined();
  });

  it('failed: Step Functions’ error and cause', async () => {
    sfnMock.on(DescribeExecutionCommand).resolves({
      executionArn: ARN,
      stateMachineArn: MACHINE,
      status: 'FAILED',
      input: JSON.stringify({ source: 'api' }),
      error: 'States.TaskFailed',
      cause: 'Plan Cleanup failed',
      startDate: at(0),
      stopDate: at(3),
    });
    sfnMock.on(GetExecutionHistoryCommand).resolves({ events: [] });
    const r = await get(ID);
    expect(r.json).toMatchObject({
      status: 'FAILED',
      progress: { total: 0, done: 0, failed: 0 },
      error: { error: 'States.TaskFailed', cause: 'Plan Cleanup failed' },
    });
  });
});

describe('POST /amis/{id}/restore', () => {
  const restore = (id: string) =>
    call(
      restoreHandler,
      apiEvent({ method: 'POST', path: `/amis/${id}/restore`, pathParameters: { id } }),
      'restoreAmi',
    );

  it('a malformed AMI id → 400, no AWS call', async () => {
    const r = await restore('ami-123');
    expect(r.statusCode).toBe(400);
    expect(r.json.field).toBe('id');
    expect(String(r.json.detail)).toMatch(/must look like ami-0123456789abcdef0/);
    expect(cores.restoreAmi).not.toHaveBeenCalled();
    expect(ec2Mock.calls()).toHaveLength(0);
  });

  it('200 with what was done', async () => {
    const ami = { imageId: IMAGE, name: 'pulsar-base-3.0.0-20251006142311', state: 'available' };
    cores.restoreAmi.mockResolvedValue({ ami, enabled: true, deprecationCancelled: true });
    const r = await restore(IMAGE);
    expect(r.statusCode).toBe(200);
    expect(r.json).toEqual({ ami, enabled: true, deprecationCancelled: true });
    expect(cores.restoreAmi).toHaveBeenCalledWith(
      expect.objectContaining({ ec2: expect.anything() }),
      IMAGE,
      'us-west-2',
    );
  });

  it.each([
    [new AmiNotManagedError(IMAGE), 403, /is not a pulsar-ami image/],
    [new AmiNotFoundError(IMAGE, 'us-west-2'), 404, /was not found in us-west-2/],
  ])('%s → %i', async (error, status, detail) => {
    cores.restoreAmi.mockRejectedValue(error);
    const r = await restore(IMAGE);
    expect(r.statusCode).toBe(status);
    expect(String(r.json.detail)).toMatch(detail);
  });
});
