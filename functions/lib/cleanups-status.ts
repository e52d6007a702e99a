/**
 * Where a cleanup is (`GET /cleanups/{id}`): the CleanupAmis execution and a bounded read of its
 * history. While it runs, progress is counted from the history: the total is Plan Cleanup's
 * items of this run (`planned.retirements`), known from the first poll after planning; each exit of the iterator's **Retire AMI**
 * task is one AMI ended (its output's `outcome`), each failed iteration one failed. Once it
 * ended, the output's `results` and `report` are the word. Pure reading, apart from the two calls.
 */
import type {
  CleanupPlan,
  CleanupReport,
  CleanupResponse,
  OrphanedSnapshotResult,
  RetirementResult,
} from './api-types';
import { cleanupMachineArn } from './cleanups';
import type { Config } from './config';
import { CleanupNotFoundError } from './errors';
import {
  type ExecutionLike,
  errorReason,
  executionOutput,
  executionStatus,
  finalError,
  type HistoryEventLike,
  iso,
  isRecord,
  type StepError,
} from './execution-progress';
import { describeExecution, executionArnFor, readHistory, type Sfn } from './executions';
import { parseJsonObject } from './json';

/** The machine's state names this reading relies on (statemachines/cleanup-amis.asl.yml). */
export const PLAN_STATE = 'Plan Cleanup';
export const RETIRE_STATE = 'Retire AMI';

const OUTCOMES = ['done', 'skipped', 'failed'] as const;

/** A CleanupPlan: the object itself, or under `plan`, or under Plan Cleanup's `planned`. */
function planIn(value: unknown): CleanupPlan | undefined {
  if (!isRecord(value)) return undefined;
  if (Array.isArray(value.decisions) && isRecord(value.totals)) return value as unknown as CleanupPlan;
  if (isRecord(value.plan)) return planIn(value.plan);
  return isRecord(value.planned) ? planIn(value.planned) : undefined;
}

/** How many AMIs this run retires: Plan Cleanup's items (`planned.retirements`). */
function retirementsIn(value: unknown): number | undefined {
  if (!isRecord(value) || !isRecord(value.planned)) return undefined;
  return Array.isArray(value.planned.retirements) ? value.planned.retirements.length : undefined;
}

/** A failed item's detail in words: the caught error's reason (a Lambda error's message, never its JSON). */
function detailOf(value: Record<string, unknown>): string {
  if (isRecord(value.error)) return errorReason(value.error as StepError);
  return typeof value.detail === 'string' ? value.detail : '';
}

/** A retirement result: the object itself, or under `result`. */
function resultIn(value: unknown): RetirementResult | undefined {
  if (!isRecord(value)) return undefined;
  if (
    typeof value.imageId === 'string' &&
    OUTCOMES.includes(value.outcome as (typeof OUTCOMES)[number]) &&
    typeof value.action === 'string'
  ) {
    return {
      imageId: value.imageId,
      action: value.action as RetirementResult['action'],
      outcome: value.outcome as RetirementResult['outcome'],
      detail: detailOf(value),
      ...(isRecord(value.snapshots) ? { snapshots: value.snapshots as RetirementResult['snapshots'] } : {}),
    } as RetirementResult;
  }
  return isRecord(value.result) ? resultIn(value.result) : undefined;
}

const retiring = (plan: CleanupPlan | undefined) =>
  plan ? plan.decisions.filter((d) => d.action !== 'keep').length : 0;

/** The cleanup's progress and what it has told so far, from the history and (once ended) the output. */
export function cleanupProgress(
  execution: ExecutionLike,
  events: readonly HistoryEventLike[],
): Omit<CleanupResponse, 'cleanupId' | 'executionArn'> {
  const status = executionStatus(execution.status);
  const input = parseJsonObject(execution.input);
  const output = executionOutput(execution, events);
  let plan = planIn(output);
  let total: number | undefined;
  let iterationsFailed = 0;
  const results: RetirementResult[] = [];
  for (const event of [...events].sort((a, b) => (a.id ?? 0) - (b.id ?? 0))) {
    const type = event.type ?? '';
    const exited = event.stateExitedEventDetails;
    if (type.endsWith('StateExited') && exited?.name === PLAN_STATE) {
      const planned = parseJsonObject(exited.output);
      plan ??= planIn(planned);
      total = retirementsIn(planned) ?? total;
    } else if (type.endsWith('StateExited') && exited?.name === RETIRE_STATE) {
      const result = resultIn(parseJsonObject(exited.output));
      if (result) results.push(result);
    } else if (type === 'MapIterationFailed') iterationsFailed++;
  }
  const ended = Array.isArray(output?.results)
    ? output.results.map(resultIn).filter((r) => r !== undefined)
    : [];
  const told = ended.length > 0 ? ended : results;
  const failed =
    told.filter((r) => r.outcome === 'failed').length + (ended.length > 0 ? 0 : iterationsFailed);
  const done = told.length - told.filter((r) => r.outcome === 'failed').length;
  const orphaned = Array.isArray(output?.orphanedSnapshotResults)
    ? (output.orphanedSnapshotResults.filter(isRecord).map(({ error: _error, ...r }) => ({
        ...r,
        detail: detailOf({ error: _error, ...r }),
      })) as unknown as OrphanedSnapshotResult[])
    : undefined;
  const report = isRecord(output?.report) ? (output.report as unknown as CleanupReport) : undefined;
  const error = finalError(execution, events, status);
  const startedAt = iso(execution.startDate) ?? '';
  const stoppedAt = iso(execution.stopDate);
  const source = input?.source === 'schedule' || input?.source === 'api' ? input.source : null;
  return {
    status,
    source,
    keep: typeof input?.keep === 'number' ? input.keep : (plan?.settings.keep ?? null),
    startedAt,
    ...(stoppedAt ? { stoppedAt } : {}),
    progress: { total: Math.max(total ?? retiring(plan), done + failed), done, failed },
    ...(plan ? { plan } : {}),
    ...(told.length > 0 || output ? { results: told } : {}),
    ...(orphaned ? { orphanedSnapshotResults: orphaned } : {}),
    ...(report ? { report } : {}),
    ...(error ? { error } : {}),
  };
}

/** `GET /cleanups/{id}`. */
export async function getCleanup(
  sfn: Sfn,
  config: Pick<Config, 'cleanupStateMachineArn'>,
  cleanupId: string,
): Promise<CleanupResponse> {
  const executionArn = executionArnFor(cleanupMachineArn(config), cleanupId);
  const execution = await describeExecution(sfn, executionArn, () => new CleanupNotFoundError(cleanupId));
  const { events } = await readHistory(sfn, executionArn);
  return {
    cleanupId,
    executionArn: execution.executionArn ?? executionArn,
    ...cleanupProgress(execution, events),
  };
}
