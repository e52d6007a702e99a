/**
 * The CleanupAmis machine, validated (asl-validator) and run locally (aws-local-stepfunctions).
 * Its Lambda tasks run the real handlers and cores; EC2, SSM and Auto Scaling are a small
 * in-memory account behind aws-sdk-client-mock (every client instance of those classes). A
 * thrown handler error reaches Retry/Catch by its name with Lambda's `{"errorType",
 * "errorMessage"}` Cause, as in AWS.
 */
import { readFileSync } from 'node:fs';
import { AutoScalingClient, DescribeLaunchConfigurationsCommand } from '@aws-sdk/client-auto-scaling';
import {
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImageReferencesCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  DisableImageCommand,
  EC2Client,
  EnableImageDeprecationCommand,
  type Image,
} from '@aws-sdk/client-ec2';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { GetParameterCommand, GetParametersByPathCommand, SSMClient } from '@aws-sdk/client-ssm';
import aslValidator from 'asl-validator';
import {
  ExecutionError,
  type RunOptions,
  StateMachine,
  type StateMachineDefinition,
} from 'aws-local-stepfunctions';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { handler as deleteOrphanedSnapshot } from '../../functions/delete-orphaned-snapshot';
import { handler as planCleanup } from '../../functions/plan-cleanup';
import { handler as reportCleanup } from '../../functions/report-cleanup';
import { handler as retireAmi } from '../../functions/retire-ami';

vi.mock('../../functions/lib/config', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../functions/lib/config')>();
  return { ...original, config: original.loadConfig({ STAGE: 'test', AWS_REGION: 'us-west-2' }) };
});

type State = Record<string, unknown> & { Type: string };
type Definition = StateMachineDefinition & { States: Record<string, State>; TimeoutSeconds?: number };

const DEFINITION = parse(readFileSync('statemachines/cleanup-amis.asl.yml', 'utf8')) as Definition;
const SERVERLESS = parse(readFileSync('serverless.yml', 'utf8')) as { functions: Record<string, unknown> };

function allStates(states: Record<string, State> = DEFINITION.States): [string, State][] {
  return Object.entries(states).flatMap(([name, state]) => {
    const processor = state.ItemProcessor as { States: Record<string, State> } | undefined;
    return [[name, state] as [string, State], ...(processor ? allStates(processor.States) : [])];
  });
}
const TASKS = allStates().filter(([, s]) => s.Type === 'Task');

const NOW = Date.now();
const daysAgo = (n: number) => new Date(NOW - n * 86_400_000).toISOString();
const LATEST = '/pulsar-ami/test/latest-ami-id';

// ---- The account: images, snapshots, parameters, and how some calls misbehave ----
const ec2Mock = mockClient(EC2Client);
const ssmMock = mockClient(SSMClient);
const asMock = mockClient(AutoScalingClient);
const sfnMock = mockClient(SFNClient);
const MACHINE_ARN = 'arn:aws:states:us-west-2:123456789012:stateMachine:pulsar-ami-dev-cleanup-amis';
const EXECUTION_ARN = 'arn:aws:states:us-west-2:123456789012:execution:pulsar-ami-dev-cleanup-amis:this-run';
/** The machine's RUNNING executions ListExecutions answers (this run's own always among them). */
const running: { executionArn: string; name: string; startDate: Date }[] = [];
const images = new Map<string, Image>();
/** Each snapshot's tags, size and EC2's own description (CreateImage's, naming its AMI). */
const snapshots = new Map<string, { tags: Record<string, string>; size: number; description: string }>();
const parameters = new Map<string, string>();
/** Calls that fail: action → the errors to throw, one a call, before answering. */
const failures = new Map<string, Error[]>();
/** Image ids whose DeregisterImage always fails. */
const refuseDeregister = new Set<string>();
const changes: string[] = [];

const awsError = (name: string, message = name) =>
  Object.assign(new Error(message), { name, $fault: 'client' });
const failNext = (action: string) => failures.get(action)?.shift();

let counter = 0;
const hex = (n: number) => n.toString(16).padStart(17, '0');

function addImage(age: number, tags: Record<string, string> = {}): string {
  counter += 1;
  const imageId = `ami-${hex(counter)}`;
  const snapshotId = `snap-${hex(counter)}`;
  snapshots.set(snapshotId, {
    tags: { ManagedBy: 'pulsar-ami' },
    size: 8,
    description: `Created by CreateImage(i-0abc) for ${imageId}`,
  });
  images.set(imageId, {
    ImageId: imageId,
    Name: `pulsar-base-3.0.${counter}-20260101000000`,
    State: 'available',
    CreationDate: daysAgo(age),
    Architecture: 'x86_64',
    Tags: Object.entries({
      ManagedBy: 'pulsar-ami',
      PulsarVersion: `3.0.${counter}`,
      Validated: 'true',
      ...tags,
    }).map(([Key, Value]) => ({ Key, Value })),
    BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: snapshotId, VolumeSize: 8 } }],
  });
  return imageId;
}

function addOrphan(from: string): string {
  counter += 1;
  const snapshotId = `snap-${hex(counter)}`;
  snapshots.set(snapshotId, {
    tags: { ManagedBy: 'pulsar-ami', OrphanedFrom: from },
    size: 20,
    description: `Created by CreateImage(i-0abc) for ${from}`,
  });
  return snapshotId;
}

const snapshotOf = (imageId: string) => images.get(imageId)?.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId ?? '';
const describeSnapshot = ([SnapshotId, s]: [
  string,
  { tags: Record<string, string>; size: number; description: string },
]) => ({
  SnapshotId,
  VolumeSize: s.size,
  Description: s.description,
  Tags: Object.entries(s.tags).map(([Key, Value]) => ({ Key, Value })),
});

function arrangeAccount() {
  ec2Mock.on(DescribeImagesCommand).callsFake((input) => {
    if (input.ImageIds) {
      const found = input.ImageIds.map((id: string) => images.get(id)).filter(Boolean);
      if (found.length === 0) throw awsError('InvalidAMIID.NotFound');
      return { Images: found };
    }
    const byId = input.Filters?.find((f: { Name: string }) => f.Name === 'image-id');
    if (byId) return { Images: [...images.values()].filter((i) => byId.Values.includes(i.ImageId)) };
    const bySnapshot = input.Filters?.find(
      (f: { Name: string }) => f.Name === 'block-device-mapping.snapshot-id',
    );
    if (bySnapshot) {
      return {
        Images: [...images.values()].filter((i) =>
          bySnapshot.Values.includes(i.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId),
        ),
      };
    }
    return { Images: [...images.values()] };
  });
  ec2Mock.on(DescribeImageReferencesCommand).resolves({ ImageReferences: [] });
  ec2Mock.on(DescribeSnapshotsCommand).callsFake((input) => {
    const all = [...snapshots.entries()];
    const orphaned = input.Filters?.some((f: { Name: string }) => f.Name === 'tag-key');
    const ids =
      input.SnapshotIds ?? input.Filters?.find((f: { Name: string }) => f.Name === 'snapshot-id')?.Values;
    const chosen = all.filter(
      ([id, s]) => (orphaned ? 'OrphanedFrom' in s.tags : true) && (!ids || ids.includes(id)),
    );
    return { Snapshots: chosen.map(describeSnapshot) };
  });
  ec2Mock.on(DeregisterImageCommand).callsFake((input) => {
    const error = failNext('DeregisterImage');
    if (error) throw error;
    if (refuseDeregister.has(input.ImageId))
      throw awsError('UnauthorizedOperation', 'You are not authorized');
    images.delete(input.ImageId);
    changes.push(`DeregisterImage ${input.ImageId}`);
    return {};
  });
  ec2Mock.on(DeleteSnapshotCommand).callsFake((input) => {
    const error = failNext('DeleteSnapshot');
    if (error) throw error;
    snapshots.delete(input.SnapshotId);
    changes.push(`DeleteSnapshot ${input.SnapshotId}`);
    return {};
  });
  ec2Mock.on(CreateTagsCommand).callsFake((input) => {
    for (const id of input.Resources) {
      const snapshot = snapshots.get(id);
      for (const tag of input.Tags) if (snapshot) snapshot.tags[tag.Key] = tag.Value;
    }
    changes.push(`CreateTags ${input.Resources.join(',')}`);
    return {};
  });
  ec2Mock.on(EnableImageDeprecationCommand).callsFake((input) => {
    changes.push(`EnableImageDeprecation ${input.ImageId}`);
    return { Return: true };
  });
  ec2Mock.on(DisableImageCommand).callsFake((input) => {
    changes.push(`DisableImage ${input.ImageId}`);
    return { Return: true };
  });
  ssmMock.on(GetParameterCommand).callsFake((input) => {
    const value = parameters.get(input.Name);
    if (value === undefined) throw awsError('ParameterNotFound');
    return { Parameter: { Name: input.Name, Value: value } };
  });
  ssmMock.on(GetParametersByPathCommand).resolves({ Parameters: [] });
  asMock.on(DescribeLaunchConfigurationsCommand).resolves({ LaunchConfigurations: [] });
  sfnMock.on(ListExecutionsCommand).callsFake((input) => {
    if (input.stateMachineArn !== MACHINE_ARN || input.statusFilter !== 'RUNNING') return { executions: [] };
    return {
      executions: [
        { executionArn: EXECUTION_ARN, name: 'this-run', startDate: new Date(NOW), status: 'RUNNING' },
        ...running.map((e) => ({ ...e, stateMachineArn: MACHINE_ARN, status: 'RUNNING' })),
      ],
    };
  });
}

// ---- Running the machine ----
const lambda =
  (handler: (event: unknown) => Promise<unknown>) =>
  async (task: Record<string, unknown>): Promise<unknown> => {
    try {
      return { StatusCode: 200, Payload: await handler(task.Payload) };
    } catch (error) {
      const e = error as Error;
      const failure = new Error(JSON.stringify({ errorType: e.name, errorMessage: e.message, trace: [] }));
      failure.name = e.name;
      throw failure;
    }
  };

const HANDLERS: Record<string, (task: Record<string, unknown>) => Promise<unknown>> = {
  'Plan Cleanup': lambda(planCleanup),
  'Retire AMI': lambda(retireAmi),
  'Delete Orphaned Snapshot': lambda(deleteOrphanedSnapshot),
  'Report Cleanup': lambda(reportCleanup),
};

type Overrides = NonNullable<RunOptions['overrides']>;
type Handlers = NonNullable<Overrides['taskResourceLocalHandlers']>;

interface Outcome {
  status: 'SUCCEEDED' | 'FAILED';
  output?: {
    plan: { totals: Record<string, number>; decisions: { imageId: string; action: string }[] };
    results: { imageId: string; action: string; outcome: string; detail: string; snapshots: unknown }[];
    orphanedSnapshotResults: { snapshotId: string; outcome: string; detail: string }[];
    report: Record<string, number>;
  };
  error?: string;
  cause?: string;
  calls: Record<string, number>;
}

async function run(input: unknown = { source: 'schedule' }): Promise<Outcome> {
  const calls: Record<string, number> = {};
  const handlers: Handlers = {};
  for (const [state] of TASKS) {
    const handler = HANDLERS[state];
    if (!handler) throw new Error(`no handler for Task state ${state}`);
    handlers[state] = (async (task: Record<string, unknown>) => {
      calls[state] = (calls[state] ?? 0) + 1;
      return handler(task);
    }) as unknown as Handlers[string];
  }
  const machine = new StateMachine(DEFINITION);
  const execution = machine.run(input as Parameters<StateMachine['run']>[0], {
    context: { Execution: { Id: EXECUTION_ARN, Name: 'this-run' } },
    overrides: {
      taskResourceLocalHandlers: handlers,
      retryIntervalOverrides: Object.fromEntries(TASKS.map(([s]) => [s, 0])),
    },
  });
  try {
    return { status: 'SUCCEEDED', output: (await execution.result) as Outcome['output'], calls };
  } catch (error) {
    if (!(error instanceof ExecutionError)) throw error;
    const cause = error.cause as Error;
    return { status: 'FAILED', error: cause.name, cause: cause.message, calls };
  }
}

beforeEach(() => {
  ec2Mock.reset();
  ssmMock.reset();
  asMock.reset();
  sfnMock.reset();
  running.length = 0;
  images.clear();
  snapshots.clear();
  parameters.clear();
  failures.clear();
  refuseDeregister.clear();
  changes.length = 0;
  counter = 0;
  arrangeAccount();
});

describe('cleanup-amis.asl.yml', () => {
  it('is valid ASL: Title-Case states, Choice questions, a machine timeout, a timeout on every Task', () => {
    const { isValid, errorsText } = aslValidator(DEFINITION);
    expect(errorsText('\n'), errorsText('\n')).toBe('');
    expect(isValid).toBe(true);
    expect(DEFINITION.TimeoutSeconds).toBeGreaterThan(0);
    expect(DEFINITION.StartAt).toBe('Plan Cleanup');
    for (const [name, state] of allStates()) {
      expect(name).toMatch(/^(AMI|AMIs|[A-Z][a-z]*)( (AMI|AMIs|[A-Z][a-z]*))*\??$/);
      if (state.Type === 'Choice') expect(name.endsWith('?'), name).toBe(true);
    }
    expect(TASKS.map(([n]) => n)).toEqual([
      'Plan Cleanup',
      'Retire AMI',
      'Delete Orphaned Snapshot',
      'Report Cleanup',
    ]);
    for (const [name, task] of TASKS) {
      expect([name, typeof task.TimeoutSeconds]).toEqual([name, 'number']);
      expect(task.TimeoutSeconds as number).toBeLessThanOrEqual(DEFINITION.TimeoutSeconds ?? 0);
    }
    // The story: the retire Map's first Task is Retire AMI; the Maps are bounded.
    const retire = DEFINITION.States['Retire Old AMIs'] as State & {
      ItemProcessor: { StartAt: string };
      MaxConcurrency: number;
    };
    expect(retire.Type).toBe('Map');
    expect(retire.ItemProcessor.StartAt).toBe('Retire AMI');
    expect(retire.MaxConcurrency).toBeGreaterThan(0);
    expect((DEFINITION.States['Delete Orphaned Snapshots'] as State).MaxConcurrency).toBeGreaterThan(0);
    expect(JSON.stringify(DEFINITION)).not.toMatch(/"QueryLanguage"\s*:\s*"JSONata"/);
  });

  it('retries only named errors, with full jitter and a bound; throttling and a snapshot in use inside the Maps', () => {
    for (const [name, state] of allStates()) {
      for (const retrier of (state.Retry as Record<string, unknown>[] | undefined) ?? []) {
        expect(retrier, name).toMatchObject({
          JitterStrategy: 'FULL',
          MaxAttempts: expect.any(Number),
          MaxDelaySeconds: expect.any(Number),
          BackoffRate: expect.any(Number),
        });
        expect(retrier.MaxAttempts as number, name).toBeLessThanOrEqual(5);
        expect(retrier.ErrorEquals, name).not.toContain('States.ALL');
      }
    }
    for (const name of ['Retire AMI', 'Delete Orphaned Snapshot']) {
      const [, state] = allStates().find(([n]) => n === name) ?? [];
      const named = ((state?.Retry ?? []) as { ErrorEquals: string[] }[]).flatMap((r) => r.ErrorEquals);
      expect(named).toEqual(expect.arrayContaining(['AwsThrottledError', 'SnapshotInUseError']));
      expect(((state?.Catch ?? []) as { ErrorEquals: string[] }[])[0]?.ErrorEquals).toEqual(['States.ALL']);
    }
  });

  it('invokes only functions of serverless.yml, by the stage-qualified name', () => {
    for (const [name, task] of TASKS) {
      const fn = String((task.Parameters as { FunctionName: string }).FunctionName);
      const key = /^\$\{self:service\}-\$\{sls:stage\}-(\w+)$/.exec(fn)?.[1];
      expect([name, key && key in SERVERLESS.functions]).toEqual([name, true]);
    }
  });
});

describe('CleanupAmis scenarios', () => {
  it('happy path: the newest 3 and the published latest kept, the rest deleted with their snapshots, an orphan deleted', async () => {
    const ids = [2, 3, 4, 5, 6, 7].map((age) => addImage(age));
    parameters.set(LATEST, ids[4] ?? '');
    const orphan = addOrphan('ami-0ffffffffffffff99');
    const [deleted3, deleted5] = [snapshotOf(ids[3] ?? ''), snapshotOf(ids[5] ?? '')];
    const outcome = await run();
    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.output?.plan.decisions.map((d) => d.action)).toEqual([
      'keep',
      'keep',
      'keep',
      'delete',
      'keep',
      'delete',
    ]);
    expect(outcome.output?.results.map((r) => [r.imageId, r.outcome])).toEqual([
      [ids[5], 'done'],
      [ids[3], 'done'],
    ]);
    expect(outcome.output?.orphanedSnapshotResults).toEqual([
      {
        snapshotId: orphan,
        outcome: 'done',
        detail: 'deleted (orphaned from ami-0ffffffffffffff99)',
        reclaimedGiB: 20,
      },
    ]);
    expect(outcome.output?.report).toEqual({
      retired: 2,
      failed: 0,
      skipped: 0,
      orphanedSnapshotsDeleted: 1,
      orphanedSnapshotsFailed: 0,
      deferred: 0,
      reclaimedGiB: 36,
      monthlySavingUsd: 1.8,
    });
    expect([...images.keys()].sort()).toEqual([ids[0], ids[1], ids[2], ids[4]].sort());
    expect(changes.sort()).toEqual(
      [
        `DeregisterImage ${ids[3]}`,
        `DeregisterImage ${ids[5]}`,
        `DeleteSnapshot ${deleted3}`,
        `DeleteSnapshot ${deleted5}`,
        `DeleteSnapshot ${orphan}`,
      ].sort(),
    );
  });

  it('nothing to retire: straight to the report, no Map item, nothing changed', async () => {
    [2, 3].map((age) => addImage(age));
    const outcome = await run({ source: 'api', keep: 5 });
    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.calls['Retire AMI']).toBeUndefined();
    expect(outcome.output?.results).toEqual([]);
    expect(outcome.output?.orphanedSnapshotResults).toEqual([]);
    expect(outcome.output?.report).toMatchObject({
      retired: 0,
      failed: 0,
      reclaimedGiB: 0,
      monthlySavingUsd: 0,
    });
    expect(outcome.output?.plan.totals).toMatchObject({ images: 2, keep: 2, delete: 0 });
    expect(changes).toEqual([]);
  });

  it('a throttled delete succeeds on the retry', async () => {
    const ids = [2, 3, 4, 5].map((age) => addImage(age));
    failures.set('DeregisterImage', [awsError('RequestLimitExceeded', 'Request limit exceeded.')]);
    const outcome = await run();
    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.calls['Retire AMI']).toBe(2);
    expect(outcome.output?.results).toMatchObject([{ imageId: ids[3], outcome: 'done' }]);
    expect(images.has(ids[3] ?? '')).toBe(false);
  });

  it('a snapshot still in use: tagged OrphanedFrom, the item retried, and the snapshot deleted then', async () => {
    const ids = [2, 3, 4, 5].map((age) => addImage(age));
    const snapshot = snapshotOf(ids[3] ?? '');
    const inUse = () =>
      awsError('InvalidSnapshot.InUse', `The snapshot ${snapshot} is currently in use by ${ids[3]}`);
    failures.set('DeleteSnapshot', [inUse(), inUse(), inUse()]);
    const outcome = await run();
    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.calls['Retire AMI']).toBe(2);
    expect(outcome.output?.results).toMatchObject([
      {
        imageId: ids[3],
        outcome: 'done',
        detail: 'deregistered by an earlier attempt; its 1 snapshot deleted',
        snapshots: { deleted: [snapshot], kept: [] },
      },
    ]);
    expect(snapshots.has(snapshot)).toBe(false);
    expect(changes).toContain(`CreateTags ${snapshot}`);
    expect(outcome.output?.report).toMatchObject({ retired: 1, reclaimedGiB: 8 });
  });

  it('a failed item does not stop the others: reported failed with its error, the rest done', async () => {
    const ids = [2, 3, 4, 5, 6, 7].map((age) => addImage(age));
    refuseDeregister.add(ids[4] ?? '');
    const outcome = await run();
    expect(outcome.status).toBe('SUCCEEDED');
    const results = new Map(outcome.output?.results.map((r) => [r.imageId, r]));
    expect(results.get(ids[4] ?? '')).toMatchObject({ outcome: 'failed', action: 'delete' });
    // The caught error travels whole; GET /cleanups/{id} says it in words (cleanups-status.ts).
    const failed = results.get(ids[4] ?? '') as { detail?: string; error?: { Error: string; Cause: string } };
    expect(failed.detail).toBe('AwsCallError');
    expect(failed.error?.Error).toBe('AwsCallError');
    expect(failed.error?.Cause).toContain('UnauthorizedOperation');
    expect([results.get(ids[3] ?? '')?.outcome, results.get(ids[5] ?? '')?.outcome]).toEqual([
      'done',
      'done',
    ]);
    expect(outcome.output?.report).toMatchObject({ retired: 2, failed: 1, skipped: 0 });
    expect(images.has(ids[4] ?? '')).toBe(true);
  });

  it('one at a time: with an earlier cleanup RUNNING, plans nothing, retires nothing, and the report says which', async () => {
    for (let age = 40; age <= 80; age += 10) addImage(age);
    const before = new Map(images);
    running.push({
      executionArn: `${EXECUTION_ARN.replace(':this-run', ':cleanup-earlier')}`,
      name: 'cleanup-earlier',
      startDate: new Date(NOW - 60_000),
    });
    const outcome = await run({ source: 'schedule' });
    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.calls['Retire AMI']).toBeUndefined();
    expect(outcome.output?.plan.decisions).toEqual([]);
    expect(outcome.output?.report).toMatchObject({
      retired: 0,
      skipped: 0,
      skippedBecause: `cleanup cleanup-earlier is running (started ${new Date(NOW - 60_000).toISOString()}); this run planned nothing`,
    });
    expect(changes).toEqual([]);
    expect(images).toEqual(before);
    // Its own machine only, derived from its execution ARN.
    expect(sfnMock.commandCalls(ListExecutionsCommand).map((c) => c.args[0].input)).toEqual([
      { stateMachineArn: MACHINE_ARN, statusFilter: 'RUNNING', maxResults: 100, nextToken: undefined },
    ]);
  });

  it('one at a time: a cleanup started later than this one does not stop it', async () => {
    for (let age = 40; age <= 80; age += 10) addImage(age);
    running.push({
      executionArn: `${EXECUTION_ARN.replace(':this-run', ':cleanup-later')}`,
      name: 'cleanup-later',
      startDate: new Date(NOW + 60_000),
    });
    const outcome = await run({ source: 'schedule' });
    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.output?.report).not.toHaveProperty('skippedBecause');
    expect(outcome.output?.report).toMatchObject({ retired: 2 });
  });

  it.each([
    [{ source: 'cron' }, 'source'],
    [{ source: 'api', keep: 0 }, 'keep'],
    [{ source: 'api', keep: 101 }, 'keep'],
    [{ source: 'api', apply: true }, 'apply'],
    [{}, 'source'],
  ])('an input the machine refuses (%o) fails at Plan Cleanup, changing nothing', async (input, field) => {
    addImage(40);
    addImage(50);
    addImage(60);
    addImage(70);
    const outcome = await run(input);
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toBe('InvalidInputError');
    expect(outcome.cause).toContain(field);
    expect(outcome.calls['Retire AMI']).toBeUndefined();
    expect(changes).toEqual([]);
  });
});
