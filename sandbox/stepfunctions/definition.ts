/**
 * Prepares an ASL definition for aws-local-stepfunctions in compressed time. The project's
 * definition is validated as written (asl-validator, as serverless-step-functions'
 * `validate: true` does); the copy that runs is rewritten so that, with `scale` = real seconds
 * per AWS second:
 * - the top-level `TimeoutSeconds` is taken out and kept in AWS seconds: the runner measures it
 *   on the execution's own clock, where a Wait counts its full AWS duration and real work
 *   (HTTP calls, Lambdas) counts as it runs (→ TIMED_OUT; see runner.ts);
 * - every Wait lasts its duration × scale: each (`Seconds`, `SecondsPath`, `Timestamp`,
 *   `TimestampPath`) becomes a Task on the internal resource `arn:aws:states:::sandbox:wait`
 *   that sleeps the scaled time, counts the full duration on the execution's clock and passes
 *   its input through (the history still shows a Wait state);
 * - every Retry interval and MaxDelaySeconds is scaled (backoff and full jitter still apply);
 * - a Task without TimeoutSeconds gets one day (the library would otherwise impose 60 s, where
 *   AWS imposes none). Task TimeoutSeconds that are written stay in real seconds: they bound
 *   real work (an HTTP call, a Lambda), not simulated time.
 */
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';

export const SANDBOX_WAIT_RESOURCE = 'arn:aws:states:::sandbox:wait';
const UNBOUNDED_TASK_SECONDS = 86_400;

type Json = Record<string, unknown>;

const isRecord = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export interface StateInfo {
  name: string;
  /** The type as written (a rewritten Wait is still `Wait`). */
  type: string;
  /** Task resource as written, or the internal wait resource. */
  resource?: string;
}

export interface PreparedDefinition {
  runnable: StateMachineDefinition;
  /** The machine's top-level TimeoutSeconds, in AWS seconds (none: no limit). */
  timeoutSeconds?: number;
  /** Real seconds per AWS second. */
  scale: number;
  /** Every state by name, nested ones (Parallel branches, Map iterators) included. */
  states: Map<string, StateInfo>;
}

/** Throws when the definition is not valid ASL, with asl-validator's reasons. */
export function validateDefinition(definition: unknown): void {
  // The library's constructor runs asl-validator with path and ARN checks.
  new StateMachine(definition as StateMachineDefinition);
}

function scaleRetry(retry: unknown, scale: number): unknown {
  if (!Array.isArray(retry)) return retry;
  return retry.map((retrier) => {
    if (!isRecord(retrier)) return retrier;
    const out: Json = { ...retrier, IntervalSeconds: (Number(retrier.IntervalSeconds ?? 1) || 0) * scale };
    if (typeof retrier.MaxDelaySeconds === 'number') out.MaxDelaySeconds = retrier.MaxDelaySeconds * scale;
    return out;
  });
}

function rewriteWait(state: Json): Json {
  const parameters: Json = { 'input.$': '$' };
  if (typeof state.Seconds === 'number') parameters.seconds = state.Seconds;
  else if (typeof state.SecondsPath === 'string') parameters['seconds.$'] = state.SecondsPath;
  else if (typeof state.TimestampPath === 'string') parameters['timestamp.$'] = state.TimestampPath;
  else if (typeof state.Timestamp === 'string') parameters.timestamp = state.Timestamp;
  else return state;
  const task: Json = {
    Type: 'Task',
    Resource: SANDBOX_WAIT_RESOURCE,
    Parameters: parameters,
    TimeoutSeconds: UNBOUNDED_TASK_SECONDS,
  };
  for (const key of ['Comment', 'InputPath', 'OutputPath', 'Next', 'End']) {
    if (key in state) task[key] = state[key];
  }
  return task;
}

function prepareStates(
  machine: Json,
  scale: number,
  states: Map<string, StateInfo>,
  topLevel: boolean,
): Json {
  const out: Json = { ...machine };
  if (topLevel) delete out.TimeoutSeconds;
  const written = isRecord(machine.States) ? machine.States : {};
  const rewritten: Json = {};
  for (const [name, raw] of Object.entries(written)) {
    if (!isRecord(raw)) {
      rewritten[name] = raw;
      continue;
    }
    const type = String(raw.Type);
    let state: Json = { ...raw };
    if ('Retry' in state) state.Retry = scaleRetry(state.Retry, scale);
    if (type === 'Wait') {
      state = rewriteWait(state);
    } else if (type === 'Task') {
      if (state.TimeoutSeconds === undefined && state.TimeoutSecondsPath === undefined)
        state.TimeoutSeconds = UNBOUNDED_TASK_SECONDS;
    } else if (type === 'Parallel' && Array.isArray(state.Branches)) {
      state.Branches = state.Branches.map((branch) =>
        isRecord(branch) ? prepareStates(branch, scale, states, false) : branch,
      );
    } else if (type === 'Map') {
      for (const key of ['Iterator', 'ItemProcessor']) {
        const inner = state[key];
        if (isRecord(inner)) state[key] = prepareStates(inner, scale, states, false);
      }
    }
    const resource = typeof state.Resource === 'string' ? state.Resource : undefined;
    states.set(name, { name, type, ...(resource !== undefined ? { resource } : {}) });
    rewritten[name] = state;
  }
  out.States = rewritten;
  return out;
}

export function prepareDefinition(definition: unknown, scale: number): PreparedDefinition {
  if (!isRecord(definition)) throw new Error('the definition is not an object');
  const states = new Map<string, StateInfo>();
  const runnable = prepareStates(definition, scale, states, true) as unknown as StateMachineDefinition;
  const timeoutSeconds =
    typeof definition.TimeoutSeconds === 'number' ? definition.TimeoutSeconds : undefined;
  return { runnable, states, scale, ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}) };
}
