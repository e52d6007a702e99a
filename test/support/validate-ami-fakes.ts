/**
 * The real statemachines/validate-ami.asl.yml and fakes for its aws-sdk Task states, for
 * running it locally with aws-local-stepfunctions: a healthy answer for every Task (keyed by
 * state name, given the task input and the 1-based call count for that state) and the
 * overrides that put them, and zero waits and retry intervals, in place; and the machine's
 * input as a stage's service builds it.
 */
import { readFileSync } from 'node:fs';
import type { RunOptions, StateMachineDefinition } from 'aws-local-stepfunctions';
import { parse } from 'yaml';
import { handler as evaluateCheckResults } from '../../functions/evaluate-check-results';
import { CHECK_NAMES, readCheckScript } from '../../functions/lib/checks';
import { buildValidateAmiInput, type ValidateAmiInput } from '../../functions/lib/validate-ami-input';

export const DEFINITION = parse(
  readFileSync('statemachines/validate-ami.asl.yml', 'utf8'),
) as StateMachineDefinition & {
  States: Record<string, Record<string, unknown>>;
  TimeoutSeconds?: number;
};

export const IMAGE_ID = 'ami-0a1b2c3d4e5f67890';
export const INSTANCE_ID = 'i-0123456789abcdef0';

export const POLLING = { intervalSeconds: 10, maxInstanceChecks: 4, maxAgentChecks: 5, maxCommandChecks: 6 };

/** The machine's input for `imageId` as the `stage` service builds it (its own polling limits). */
export function serviceInput(stage: string, imageId = IMAGE_ID): ValidateAmiInput {
  return buildValidateAmiInput(
    { imageId, instanceType: 't3.micro', expectedVersion: '3.0.0' },
    {
      instanceProfileName: `pulsar-ami-${stage}-validation`,
      subnetId: null,
      maxLifetimeMinutes: 90,
      pollIntervalSeconds: 10,
      evaluateFunction: `pulsar-ami-${stage}-evaluateCheckResults`,
      republishFunction: `pulsar-ami-${stage}-republishLatest`,
    },
    readCheckScript(),
  );
}

/** The `stage` service's input for IMAGE_ID with short polling limits (POLLING) and `overrides`. */
export function validateAmiInput(stage: string, overrides: Partial<ValidateAmiInput> = {}): ValidateAmiInput {
  return { ...serviceInput(stage), polling: POLLING, ...overrides };
}

/** A fake Task: its input and how many times the state has been called (1 the first time). */
export type Behaviour = (input: Record<string, unknown>, call: number) => unknown;

/** The check script's stdout: one JSON line a check, passed unless named in `failed` (name → detail). */
export function checkOutput(failed: Record<string, string> = {}): string {
  return CHECK_NAMES.map((name) =>
    JSON.stringify({ name, passed: !(name in failed), detail: failed[name] ?? 'ok' }),
  ).join('\n');
}

export const HEALTHY: Record<string, Behaviour> = {
  'Launch Test Instance': () => ({ Instances: [{ InstanceId: INSTANCE_ID, State: { Name: 'pending' } }] }),
  'Find Instances From Failed Launch': () => ({ Reservations: [] }),
  'Describe Test Instance': (_, call) => ({
    Reservations: [
      { Instances: [{ InstanceId: INSTANCE_ID, State: { Name: call < 2 ? 'pending' : 'running' } }] },
    ],
  }),
  'Describe SSM Agent': (_, call) => ({
    InstanceInformationList: call < 2 ? [] : [{ InstanceId: INSTANCE_ID, PingStatus: 'Online' }],
  }),
  'Run Validation Checks': () => ({ Command: { CommandId: 'c0ffee00-1111-2222-3333-444455556666' } }),
  'Get Check Results': (_, call) =>
    call < 2
      ? { Status: 'InProgress', StandardOutputContent: '' }
      : {
          Status: 'Success',
          ResponseCode: 0,
          StandardOutputContent: checkOutput(),
          StandardErrorContent: '',
        },
  'Evaluate Check Results': async (input) => ({
    StatusCode: 200,
    Payload: await evaluateCheckResults(input.Payload),
  }),
  'Record Validation Result': () => ({}),
  'Republish Latest If Published': () => ({
    StatusCode: 200,
    Payload: { wasPublished: false, published: 'ami-0pub11111111111111' },
  }),
  'Terminate Test Instance': (input) => ({
    TerminatingInstances: (input.InstanceIds as string[]).map((InstanceId) => ({
      InstanceId,
      CurrentState: { Name: 'shutting-down' },
    })),
  }),
};

/** The error Step Functions raises for a failed aws-sdk call: Retry/Catch match its `name`. */
export function awsError(name: string, cause: string): Error {
  const error = new Error(cause);
  error.name = name;
  return error;
}

const statesOfType = (type: string) =>
  Object.entries(DEFINITION.States)
    .filter(([, s]) => s.Type === type)
    .map(([name]) => name);

export const TASK_STATES = statesOfType('Task');
export const WAIT_STATES = statesOfType('Wait');

type Overrides = NonNullable<RunOptions['overrides']>;
type Handlers = NonNullable<Overrides['taskResourceLocalHandlers']>;

/**
 * Overrides for `StateMachine.run`: every Task state answered by `behaviours[state]`, else by
 * HEALTHY; no time spent in Wait states or between retries. `onCall` sees each task input
 * before the fake answers it.
 */
export function localOverrides(
  behaviours: Record<string, Behaviour> = {},
  onCall?: (state: string, input: Record<string, unknown>) => void,
): Overrides {
  const handlers: Handlers = {};
  const calls: Record<string, number> = {};
  for (const state of TASK_STATES) {
    const behaviour = behaviours[state] ?? HEALTHY[state];
    if (!behaviour) throw new Error(`no fake for Task state ${state}`);
    handlers[state] = (async (taskInput: Record<string, unknown>) => {
      calls[state] = (calls[state] ?? 0) + 1;
      onCall?.(state, taskInput);
      return behaviour(taskInput, calls[state]);
    }) as unknown as Handlers[string];
  }
  return {
    taskResourceLocalHandlers: handlers,
    waitTimeOverrides: Object.fromEntries(WAIT_STATES.map((s) => [s, 0])),
    retryIntervalOverrides: Object.fromEntries(TASK_STATES.map((s) => [s, 0])),
  };
}
