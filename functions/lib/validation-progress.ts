/**
 * Where a ValidateAmi execution is, read from its Step Functions history: the story steps
 * with their times, the guide's stages (launch … terminate), the test instance, the check
 * results and the error. Pure: the history events and the DescribeExecution answer in, the
 * progress out. The state names here are statemachines/validate-ami.asl.yml's; a test
 * asserts every state of that file is placed.
 */
import type {
  CheckResult,
  ValidationError,
  ValidationPhaseName,
  ValidationPhaseStatus,
  ValidationResponse,
  ValidationStatus,
  ValidationStep,
} from './api-types';
import {
  ABORTED,
  causeReason,
  type Entry,
  type ExecutionLike,
  entriesOf,
  errorIn,
  executionOutput,
  executionStatus,
  finalError,
  GENERIC_SERVICE_ERROR,
  type HistoryEventLike,
  iso,
  isRecord,
} from './execution-progress';
import { parseJsonObject } from './json';

export { ABORTED, causeReason, type ExecutionLike, type HistoryEventLike };

export const PHASES: readonly ValidationPhaseName[] = [
  'launch',
  'instanceRunning',
  'ssmAgent',
  'checks',
  'terminate',
];

/** The story steps, in order, each with the helper states (choices, counters, flags) folded into it. */
export const STORY: readonly {
  step: string;
  phase: ValidationPhaseName | null;
  states: readonly string[];
}[] = [
  {
    step: 'Launch Test Instance',
    phase: 'launch',
    states: [
      'Read Validation Request',
      'Polling Within Bounds?',
      'Flag Polling Out Of Bounds',
      'Describe Image Under Test',
      'Image Found?',
      'Read Image Tags',
      'Image Managed And Versioned?',
      'Note Expected Version',
      'Flag Image Not Managed',
      'Load Validation Settings',
      'Prepare Launch Request',
      'Subnet Configured?',
      'Use Configured Subnet',
      'Launch Test Instance',
      'Start Launch Lookup',
      'Find Instances From Failed Launch',
      'Instance Launched Anyway?',
      'Look Again For Launch?',
      'Wait Before Next Lookup',
      'Count Launch Lookup',
      'Collect Launched Instances',
    ],
  },
  {
    step: 'Wait For Instance Running',
    phase: 'instanceRunning',
    states: [
      'Wait For Instance Running',
      'Describe Test Instance',
      'Instance Running?',
      'Keep Waiting For Instance?',
      'Count Instance Check',
      'Flag Instance Stopped',
      'Flag Instance Not Running',
    ],
  },
  {
    step: 'Wait For SSM Agent',
    phase: 'ssmAgent',
    states: [
      'Wait For SSM Agent',
      'Describe SSM Agent',
      'SSM Agent Online?',
      'Keep Waiting For SSM Agent?',
      'Count SSM Agent Check',
      'Flag SSM Agent Offline',
    ],
  },
  {
    step: 'Run Validation Checks',
    phase: 'checks',
    states: [
      'Run Validation Checks',
      'Wait For Validation Checks',
      'Get Check Results',
      'Checks Finished?',
      'Keep Waiting For Checks?',
      'Count Check Poll',
      'Flag Checks Not Completed',
      'Flag Checks Timed Out',
    ],
  },
  { step: 'Evaluate Check Results', phase: 'checks', states: ['Evaluate Check Results'] },
  { step: 'Record Validation Result', phase: 'checks', states: ['Record Validation Result'] },
  {
    step: 'Terminate Test Instance',
    phase: 'terminate',
    states: ['Terminate Test Instance', 'Instance Already Gone?', 'Report Termination Failure'],
  },
  {
    step: 'Report Result',
    phase: null,
    states: [
      'Validation Passed?',
      'Republish Latest If Published',
      'Report Validation Passed',
      'Report Failed Checks',
      'Report Error',
    ],
  },
  { step: 'Complete Validation', phase: null, states: ['Complete Validation'] },
  { step: 'Fail Validation', phase: null, states: ['Fail Validation'] },
];

/** Glue states: they belong to the story but are not steps of their own. */
const HIDDEN_STEPS = new Set(['Report Result']);

const STEP_OF = new Map<string, (typeof STORY)[number]>();
for (const entry of STORY) for (const state of entry.states) STEP_OF.set(state, entry);

export const CHECKS_FAILED = 'ValidationChecksFailed';
export const TERMINATION_FAILED = 'TestInstanceNotTerminatedError';

/** Why a validation failed, by the state the error arose in, in the guide's words. */
const FAILED_AT_STATE: Record<string, string> = {
  'Describe Image Under Test': 'Could not read the AMI',
  'Launch Test Instance': 'Could not launch the test instance',
  'Describe Test Instance': 'Could not read the test instance state',
  'Describe SSM Agent': 'Could not read the SSM agent status',
  'Run Validation Checks': 'Could not send the validation checks',
  'Get Check Results': 'Could not read the validation check results',
  'Evaluate Check Results': 'Could not evaluate the validation check results',
  'Record Validation Result': 'Could not record the validation result on the AMI',
};

/** Named errors of the machine itself (Flag/Report states) and of Step Functions. */
const FAILED_WITH_ERROR: Record<string, string> = {
  ImageNotManagedError: 'AMI is not an available pulsar-ami image with a PulsarVersion tag',
  InstanceStoppedError: 'Test instance stopped before it was running',
  InstanceNotRunningError: 'Test instance did not reach the running state',
  SsmAgentOfflineError: 'SSM agent did not come online',
  ChecksNotCompletedError: 'Validation checks did not run to completion',
  ChecksTimedOutError: 'Validation checks did not finish in time',
  TestInstanceNotTerminatedError: 'Test instance could not be terminated',
  'States.Timeout': 'Validation timed out',
  [ABORTED]: 'Validation was stopped',
};

const FAILED_IN_PHASE: Record<ValidationPhaseName, string> = {
  launch: 'Could not launch the test instance',
  instanceRunning: 'Test instance did not reach the running state',
  ssmAgent: 'SSM agent did not come online',
  checks: 'Validation checks could not be run',
  terminate: 'Test instance could not be terminated',
};

/**
 * `Phrase (ErrorName)`; check failures are told by the checks' names; a generic service
 * error (`Ec2.Ec2Exception`) by what its Cause says: `Phrase: Code — first sentence`.
 */
export function describeFailure(
  error: string,
  state: string | null,
  phase: ValidationPhaseName | null,
  failedChecks: readonly string[] = [],
  cause = '',
): string {
  if (error === CHECKS_FAILED) return failedChecks.length > 0 ? failedChecks.join(', ') : 'checks failed';
  const phrase =
    FAILED_WITH_ERROR[error] ??
    (state ? FAILED_AT_STATE[state] : undefined) ??
    (phase ? FAILED_IN_PHASE[phase] : undefined) ??
    'Validation failed';
  const reason = GENERIC_SERVICE_ERROR.test(error) ? causeReason(cause) : undefined;
  return reason ? `${phrase}: ${reason}` : `${phrase} (${error})`;
}

/** `$.testInstance.instanceId`, or the first of `$.testInstance.instanceIds` (possibly nested). */
function instanceIdIn(data: Record<string, unknown> | undefined): string | undefined {
  const testInstance = data?.testInstance;
  if (!isRecord(testInstance)) return undefined;
  if (typeof testInstance.instanceId === 'string') return testInstance.instanceId;
  const ids = testInstance.instanceIds;
  const first = Array.isArray(ids) ? ids.flat(3)[0] : undefined;
  return typeof first === 'string' ? first : undefined;
}

function isCheck(value: unknown): value is CheckResult {
  return isRecord(value) && typeof value.name === 'string' && typeof value.passed === 'boolean';
}

interface Verdict {
  passed: boolean;
  checks: CheckResult[];
  failedChecks: string[];
}

/** `$.evaluation` after Evaluate Check Results, or the Succeed output: `{passed, checks, failedChecks}`. */
function verdictIn(data: Record<string, unknown> | undefined): Verdict | undefined {
  if (!data || typeof data.passed !== 'boolean' || !Array.isArray(data.checks)) return undefined;
  const checks = data.checks.filter(isCheck).map(({ name, passed, detail }) => ({
    name,
    passed,
    detail: typeof detail === 'string' ? detail : '',
  }));
  const failedChecks = Array.isArray(data.failedChecks)
    ? data.failedChecks.filter((n): n is string => typeof n === 'string')
    : checks.filter((c) => !c.passed).map((c) => c.name);
  return { passed: data.passed, checks, failedChecks };
}

/** The Fail cause `Validation checks failed: ["A","B"]` → the names. */
export function failedChecksFromCause(cause: string): string[] | undefined {
  const match = /^Validation checks failed: (\[.*\])$/s.exec(cause.trim());
  if (!match?.[1]) return undefined;
  try {
    const names: unknown = JSON.parse(match[1]);
    return Array.isArray(names) ? names.filter((n): n is string => typeof n === 'string') : undefined;
  } catch {
    return undefined;
  }
}

function stepsOf(entries: readonly Entry[], ended: boolean): ValidationStep[] {
  const groups: { name: string; enteredAt: string; lastExit?: string; open: boolean }[] = [];
  for (const entry of entries) {
    const story = STEP_OF.get(entry.state);
    if (!story || HIDDEN_STEPS.has(story.step)) continue;
    let group = groups.at(-1);
    if (group?.name !== story.step) {
      group = { name: story.step, enteredAt: entry.enteredAt, open: true };
      groups.push(group);
    }
    group.open = entry.exitedAt === undefined;
    if (entry.exitedAt !== undefined) group.lastExit = entry.exitedAt;
  }
  return groups.map((group, i) => {
    // A step has ended once a later one began, or when the execution ended after it exited.
    const done = i < groups.length - 1 || (ended && !group.open);
    const step: ValidationStep = { name: group.name, enteredAt: group.enteredAt };
    if (done && group.lastExit !== undefined) step.exitedAt = group.lastExit;
    return step;
  });
}

type Progress = Omit<ValidationResponse, 'validationId' | 'executionArn'>;

/**
 * The progress of one execution. `events` is its history (any order, ids ascending when
 * sorted); `execution` its DescribeExecution answer, which has the final status, output and
 * error even when the history was cut.
 */
export function validationProgress(
  execution: ExecutionLike,
  events: readonly HistoryEventLike[],
  historyTruncated = false,
): Progress {
  const status: ValidationStatus = executionStatus(execution.status);
  const ended = status !== 'RUNNING';
  const entries = entriesOf(events);
  const executionInput = parseJsonObject(execution.input);
  const output = executionOutput(execution, events);

  // Which stages were entered, and the last before termination.
  const phaseEntered = new Set<ValidationPhaseName>();
  let lastMainPhase: ValidationPhaseName | null = null;
  for (const entry of entries) {
    const phase = STEP_OF.get(entry.state)?.phase;
    if (!phase) continue;
    phaseEntered.add(phase);
    if (phase !== 'terminate') lastMainPhase = phase;
  }
  const has = (state: string) => entries.some((e) => e.state === state);

  let instanceId: string | undefined;
  for (const entry of entries) {
    instanceId = instanceIdIn(entry.output) ?? instanceIdIn(entry.input);
    if (instanceId) break;
  }
  if (!instanceId && typeof output?.instanceId === 'string') instanceId = output.instanceId;

  // The check verdict: the evaluation in the history, else the Succeed output.
  let verdict: Verdict | undefined;
  for (const entry of entries) {
    if (entry.state !== 'Evaluate Check Results') continue;
    verdict = verdictIn(isRecord(entry.output?.evaluation) ? entry.output.evaluation : undefined) ?? verdict;
  }
  verdict ??= verdictIn(output);

  // An infrastructure error caught or flagged on the way: the first state whose input carries
  // `$.error`; it arose in the state entered just before.
  let caught: { error: string; cause: string; state: string | null } | undefined;
  for (const [i, entry] of entries.entries()) {
    const inInput = errorIn(entry.input);
    // A Flag state sets `$.error` itself; anything else received it from the state before.
    const found = inInput ?? (entry.state.startsWith('Flag ') ? errorIn(entry.output) : undefined);
    if (!found) continue;
    const origin = inInput ? entries[i - 1] : entry;
    caught = { ...found, state: origin?.state ?? null };
    break;
  }

  // The final error, as Step Functions reports it.
  const final = finalError(execution, events, status);

  const failedChecks = verdict?.failedChecks ?? (final ? failedChecksFromCause(final.cause) : undefined);
  const terminated = has('Validation Passed?');
  const terminationFailed = has('Report Termination Failure') || final?.error === TERMINATION_FAILED;
  let terminationError: { error: string; cause: string } | undefined;
  if (final?.error === TERMINATION_FAILED) terminationError = final;
  else {
    const failure = entries.find((e) => e.state === 'Report Termination Failure')?.output?.failure;
    if (isRecord(failure) && typeof failure.error === 'string') {
      terminationError = {
        error: failure.error,
        cause: typeof failure.cause === 'string' ? failure.cause : '',
      };
    }
  }

  // Where an infrastructure failure arose: the stage of the error caught on the way, else
  // termination, else (aborted, timed out, an unexpected failure) the last stage it was in.
  let failedPhase: ValidationPhaseName | undefined;
  let errorState: string | null = null;
  if (caught) {
    errorState = caught.state;
    failedPhase = (caught.state ? STEP_OF.get(caught.state)?.phase : undefined) ?? lastMainPhase ?? 'launch';
  } else if (terminationFailed) failedPhase = 'terminate';
  else if (final && final.error !== CHECKS_FAILED) {
    const inTermination = phaseEntered.has('terminate') && !terminated;
    failedPhase = inTermination ? 'terminate' : (lastMainPhase ?? 'launch');
    errorState = entries.at(-1)?.state ?? null;
  }

  const mainPhases = PHASES.slice(0, 4);
  const phases = {} as Record<ValidationPhaseName, ValidationPhaseStatus>;
  mainPhases.forEach((phase, i) => {
    const later = mainPhases.slice(i + 1).some((p) => phaseEntered.has(p));
    const beyond = later || phaseEntered.has('terminate') || (ended && phaseEntered.has(phase));
    let value: ValidationPhaseStatus;
    if (!phaseEntered.has(phase)) value = 'pending';
    else if (failedPhase === phase) value = 'failed';
    else if (phase === 'checks') {
      value = verdict && beyond ? (verdict.passed ? 'succeeded' : 'failed') : beyond ? 'failed' : 'running';
    } else value = later ? 'succeeded' : beyond ? 'failed' : 'running';
    phases[phase] = value;
  });
  let terminate: ValidationPhaseStatus;
  if (terminated) terminate = 'succeeded';
  else if (terminationFailed) terminate = 'failed';
  else if (!ended) terminate = phaseEntered.has('terminate') ? 'running' : 'pending';
  else if (!has('Launch Test Instance') || (has('Report Error') && !phaseEntered.has('terminate')))
    terminate = 'skipped';
  else terminate = 'delegated';
  phases.terminate = terminate;

  // The error that failed the validation: the one caught on the way (a machine that catches
  // an error ends with it, or with a termination failure on top), else the final one.
  let error: ValidationError | undefined;
  if (caught) {
    const { error: name, cause, state } = caught;
    error = { error: name, cause, summary: describeFailure(name, state, failedPhase ?? null, [], cause) };
  } else if (final) {
    const summary =
      status === 'ABORTED'
        ? `${FAILED_WITH_ERROR[ABORTED]} (${final.error})`
        : status === 'TIMED_OUT'
          ? `${FAILED_WITH_ERROR['States.Timeout']} (${final.error})`
          : describeFailure(final.error, errorState, failedPhase ?? null, failedChecks ?? [], final.cause);
    error = { ...final, summary };
  }

  const steps = stepsOf(entries, ended);
  const last = entries.at(-1);
  const progress: Progress = {
    imageId: typeof executionInput?.imageId === 'string' ? executionInput.imageId : null,
    instanceType: typeof executionInput?.instanceType === 'string' ? executionInput.instanceType : null,
    status,
    currentStep: steps.at(-1)?.name ?? null,
    currentState: last?.state ?? null,
    steps,
    phases,
    startedAt: iso(execution.startDate) ?? entries[0]?.enteredAt ?? '',
  };
  if (failedPhase) progress.failedPhase = failedPhase;
  if (instanceId) progress.instanceId = instanceId;
  if (verdict) progress.checks = verdict.checks;
  if (failedChecks) progress.failedChecks = failedChecks;
  if (ended) progress.passed = status === 'SUCCEEDED' && (verdict?.passed ?? output?.passed === true);
  if (error) progress.error = error;
  if (terminationError) {
    progress.terminationError = {
      ...terminationError,
      summary: describeFailure(terminationError.error, 'Terminate Test Instance', 'terminate'),
    };
  }
  const republished = entries.find((e) => e.state === 'Republish Latest If Published')?.output?.republished;
  if (isRecord(republished) && republished.wasPublished === true) {
    progress.latestRepublished = typeof republished.published === 'string' ? republished.published : null;
  }
  const stoppedAt = iso(execution.stopDate);
  if (ended && stoppedAt) progress.stoppedAt = stoppedAt;
  if (historyTruncated) progress.historyTruncated = true;
  return progress;
}
