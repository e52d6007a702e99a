/**
 * Cleanups through the API (`POST /cleanups`): the request and its rules, the dry run (the plan,
 * zero mutating calls), and starting CleanupAmis — one at a time. A cleanup is a CleanupAmis
 * execution: the cleanup id is its name (`cleanup-…`), so it is found again from its id alone.
 *
 * One at a time: a start while another cleanup is RUNNING is a 409 naming it (ListExecutions,
 * RUNNING). As for builds, ListExecutions is not a lock: two starts in the same instant can both
 * find none running; the function's reserved concurrency bounds it, and retiring an AMI that
 * another run retired already is skipped by the machine.
 */
import { randomUUID } from 'node:crypto';
import { ListExecutionsCommand } from '@aws-sdk/client-sfn';
import type { Ec2 } from './ami-catalogue';
import type { CleanupDryRunResponse, StartCleanupResponse } from './api-types';
import { cleanupSettings, planCleanup } from './cleanup-plan';
import type { Config } from './config';
import { awsCall, CleanupNotConfiguredError, CleanupRunningError } from './errors';
import { iso } from './execution-progress';
import { executionNameOf, type Sfn, startExecutionOnce } from './executions';
import type { Ssm } from './latest-ami';
import type { AutoScaling } from './launch-configurations';
import { uuidV5 } from './uuid';
import { keepSchema } from './validation';
import * as z from './zod';

/** The fields of a `POST /cleanups` body; any other is a 400 naming it. */
export const CLEANUP_BODY_FIELDS = ['keep', 'apply'] as const;

export const cleanupRequestSchema = z.object({
  keep: z.optional(keepSchema),
  apply: z._default(
    z.boolean({
      error: (issue) => `must be true or false, got ${JSON.stringify(issue.input)?.slice(0, 40)}`,
    }),
    false,
  ),
});

export type CleanupRequest = z.infer<typeof cleanupRequestSchema>;

/** The CleanupAmis execution input: `{ keep?, source }` (the machine refuses anything else). */
export interface CleanupAmisInput {
  keep?: number;
  source: 'schedule' | 'api';
}

export function cleanupAmisInput(request: Pick<CleanupRequest, 'keep'>): CleanupAmisInput {
  return request.keep === undefined ? { source: 'api' } : { keep: request.keep, source: 'api' };
}

/** UUID v5 namespace of cleanup ids derived from an Idempotency-Key. */
const IDEMPOTENCY_NAMESPACE = '6c1d3e2f-9a4b-4c58-8d07-1e2f3a4b5c6d';

/** The cleanup id (the execution name): `cleanup-` and a UUID, the same for the same Idempotency-Key. */
export function cleanupIdFor(idempotencyKey?: string): string {
  return `cleanup-${idempotencyKey === undefined ? randomUUID() : uuidV5(idempotencyKey, IDEMPOTENCY_NAMESPACE)}`;
}

export function cleanupLocation(cleanupId: string): string {
  return `/cleanups/${cleanupId}`;
}

export function cleanupMachineArn(config: Pick<Config, 'cleanupStateMachineArn'>): string {
  if (!config.cleanupStateMachineArn) throw new CleanupNotConfiguredError();
  return config.cleanupStateMachineArn;
}

export interface CleanupClients {
  ec2: Ec2;
  ssm: Ssm;
  sfn: Sfn;
  autoScaling?: AutoScaling;
}

/**
 * `POST /cleanups`: without `apply`, the plan (reads only); with it, CleanupAmis started with
 * `{keep, source: "api"}` unless a cleanup is already running (409). The same Idempotency-Key
 * answers with the execution it started.
 */
export async function postCleanup(
  clients: CleanupClients,
  config: Config,
  request: CleanupRequest & { idempotencyKey?: string },
  now: Date = new Date(),
): Promise<CleanupDryRunResponse | StartCleanupResponse> {
  if (!request.apply) {
    const settings = cleanupSettings(config, request.keep === undefined ? {} : { keep: request.keep });
    const planClients = {
      ec2: clients.ec2,
      ssm: clients.ssm,
      ...(clients.autoScaling ? { autoScaling: clients.autoScaling } : {}),
    };
    return { dryRun: true, plan: await planCleanup(planClients, settings, now) };
  }
  const stateMachineArn = cleanupMachineArn(config);
  const cleanupId = cleanupIdFor(request.idempotencyKey);
  const input = cleanupAmisInput(request);
  const running = await awsCall(
    'Step Functions',
    clients.sfn.send(new ListExecutionsCommand({ stateMachineArn, statusFilter: 'RUNNING', maxResults: 10 })),
  );
  const other = (running.executions ?? []).find((e) => e.executionArn && e.name !== cleanupId);
  if (other?.executionArn) {
    throw new CleanupRunningError(other.name ?? executionNameOf(other.executionArn), other.executionArn);
  }
  const started = await startExecutionOnce(
    clients.sfn,
    { kind: 'cleanup', stateMachineArn, name: cleanupId, input },
    (previous) =>
      previous !== undefined && previous.source === 'api' && (previous.keep ?? null) === (input.keep ?? null),
  );
  const startedAt = iso(started.startDate);
  return {
    dryRun: false,
    cleanupId,
    executionArn: started.executionArn,
    status: started.status,
    location: cleanupLocation(cleanupId),
    ...(startedAt ? { startedAt } : {}),
  };
}

/** The state machine of an execution: `…:execution:{machine}:{name}` → `…:stateMachine:{machine}`, or null. */
export function machineArnOfExecution(executionArn: string): string | null {
  const match = /^(arn:[a-z-]+:states:[a-z0-9-]+:\d{12}):execution:([^:]+):[^:]+$/.exec(executionArn);
  return match ? `${match[1]}:stateMachine:${match[2]}` : null;
}

export interface RunningCleanup {
  cleanupId: string;
  executionArn: string;
  startedAt: string | null;
}

/**
 * Plan Cleanup's "one at a time" (the schedule starts CleanupAmis without POST /cleanups'
 * check): another RUNNING execution of the same machine that started before this one
 * (ListExecutions on the machine the execution ARN names), or null. Two started in the same
 * instant: the one with the lower ARN goes on. This execution not listed yet: any other counts.
 */
export async function earlierRunningCleanup(sfn: Sfn, executionArn: string): Promise<RunningCleanup | null> {
  const stateMachineArn = machineArnOfExecution(executionArn);
  if (!stateMachineArn) throw new Error(`not a Step Functions execution ARN: ${executionArn.slice(0, 200)}`);
  const running: { executionArn: string; name?: string; startDate?: Date }[] = [];
  let nextToken: string | undefined;
  do {
    const page = await awsCall(
      'Step Functions',
      sfn.send(
        new ListExecutionsCommand({ stateMachineArn, statusFilter: 'RUNNING', maxResults: 100, nextToken }),
      ),
    );
    for (const e of page.executions ?? []) {
      if (e.executionArn) running.push({ ...e, executionArn: e.executionArn });
    }
    nextToken = page.nextToken;
  } while (nextToken);
  const mine = running.find((e) => e.executionArn === executionArn)?.startDate?.getTime();
  const earlier = running
    .filter((e) => e.executionArn !== executionArn)
    .filter((e) => {
      const at = e.startDate?.getTime();
      if (mine === undefined || at === undefined) return true;
      return at < mine || (at === mine && e.executionArn < executionArn);
    })
    .sort((a, b) => (a.startDate?.getTime() ?? 0) - (b.startDate?.getTime() ?? 0));
  const [first] = earlier;
  if (!first) return null;
  return {
    cleanupId: first.name ?? executionNameOf(first.executionArn),
    executionArn: first.executionArn,
    startedAt: iso(first.startDate) ?? null,
  };
}
