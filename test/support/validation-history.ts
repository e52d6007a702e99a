/**
 * Realistic ValidateAmi histories: the real statemachines/validate-ami.asl.yml run by
 * aws-local-stepfunctions with faked AWS tasks, its event log turned into Step Functions
 * history events (`TaskStateEntered` with `stateEnteredEventDetails.input`, …) as
 * GetExecutionHistory returns them. Cutting the history at an event gives the execution as
 * a client sees it mid-way.
 */
import { readFileSync } from 'node:fs';
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import {
  ExecutionError,
  type RunOptions,
  StateMachine,
  type StateMachineDefinition,
} from 'aws-local-stepfunctions';
import { parse } from 'yaml';
import { handler as evaluateCheckResults } from '../../functions/evaluate-check-results';
import { CHECK_NAMES, readCheckScript } from '../../functions/lib/checks';
import { buildValidateAmiInput } from '../../functions/lib/validate-ami-input';
import type { ExecutionLike } from '../../functions/lib/validation-progress';

type Execution = ReturnType<StateMachine['run']>;
type EventLog = Execution['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

export const DEFINITION = parse(
  readFileSync('statemachines/validate-ami.asl.yml', 'utf8'),
) as StateMachineDefinition & {
  States: Record<string, Record<string, unknown>>;
};

export const IMAGE_ID = 'ami-0a1b2c3d4e5f67890';
export const INSTANCE_ID = 'i-0123456789abcdef0';
export const VALIDATION_ID = '5f0c6f7e-2a8e-4c47-9d55-0d3f1d7f2b11';
export const STATE_MACHINE_ARN =
  'arn:aws:states:us-west-2:123456789012:stateMachine:pulsar-ami-dev-validate-ami';
export const EXECUTION_ARN = `arn:aws:states:us-west-2:123456789012:execution:pulsar-ami-dev-validate-ami:${VALIDATION_ID}`;
export const START = Date.parse('2026-01-15T12:00:00Z');

type Behaviour = (input: Record<string, unknown>, call: number) => unknown;

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
  'Terminate Test Instance': (input) => ({
    TerminatingInstances: (input.InstanceIds as string[]).map((InstanceId) => ({
      InstanceId,
      CurrentState: { Name: 'shutting-down' },
    })),
  }),
};

/** A failed AWS call as Step Functions raises it. */
export function awsError(name: string, cause: string): Error {
  const error = new Error(cause);
  error.name = name;
  return error;
}

export const SCENARIOS = {
  passed: {},
  failedChecks: {
    'Get Check Results': () => ({
      Status: 'Failed',
      ResponseCode: 1,
      StandardOutputContent: checkOutput({
        'OpenMessaging Benchmark installed': '/opt/openmessaging-benchmark/bin/benchmark missing',
        'Java 17': 'java -version reports 11.0.22',
      }),
      StandardErrorContent: '',
    }),
  },
  ssmOffline: { 'Describe SSM Agent': () => ({ InstanceInformationList: [] }) },
  launchRefused: {
    'Launch Test Instance': () => {
      throw awsError(
        'Ec2.Ec2Exception',
        'We currently do not have sufficient t3.micro capacity (Service: Ec2, Status Code: 500) InsufficientInstanceCapacity',
      );
    },
  },
  checksTimedOut: { 'Get Check Results': () => ({ Status: 'InProgress', StandardOutputContent: '' }) },
  ssmOfflineTerminateRefused: {
    'Describe SSM Agent': () => ({ InstanceInformationList: [] }),
    'Terminate Test Instance': () => {
      throw awsError(
        'Ec2.Ec2Exception',
        'You are not authorized to perform this operation. (Service: Ec2, Status Code: 403) UnauthorizedOperation',
      );
    },
  },
} satisfies Record<string, Record<string, Behaviour>>;

const TYPE_PREFIX: Record<string, string> = {
  Task: 'Task',
  Pass: 'Pass',
  Choice: 'Choice',
  Wait: 'Wait',
  Succeed: 'Succeed',
  Fail: 'Fail',
  Map: 'Map',
  Parallel: 'Parallel',
};

/** One local event log entry → the history events Step Functions records for it. */
function toHistory(log: EventLog): Omit<HistoryEvent, 'id' | 'timestamp'>[] {
  switch (log.type) {
    case 'ExecutionStarted':
      return [
        { type: 'ExecutionStarted', executionStartedEventDetails: { input: JSON.stringify(log.input) } },
      ];
    case 'ExecutionSucceeded':
      return [
        {
          type: 'ExecutionSucceeded',
          executionSucceededEventDetails: { output: JSON.stringify(log.output) },
        },
      ];
    case 'ExecutionFailed':
      return [
        {
          type: 'ExecutionFailed',
          executionFailedEventDetails: { error: log.Error, cause: String(log.Cause ?? '') },
        },
      ];
    case 'StateEntered': {
      const prefix = TYPE_PREFIX[log.state.type] ?? 'Task';
      return [
        {
          type: `${prefix}StateEntered` as HistoryEvent['type'],
          stateEnteredEventDetails: { name: log.state.name, input: JSON.stringify(log.state.input) },
        },
      ];
    }
    case 'StateExited': {
      // A Fail state has no exit in Step Functions.
      if (log.state.type === 'Fail') return [];
      const prefix = TYPE_PREFIX[log.state.type] ?? 'Task';
      return [
        {
          type: `${prefix}StateExited` as HistoryEvent['type'],
          stateExitedEventDetails: { name: log.state.name, output: JSON.stringify(log.state.output ?? null) },
        },
      ];
    }
    case 'StateFailed':
      return log.state.type === 'Task'
        ? [
            {
              type: 'TaskFailed',
              taskFailedEventDetails: {
                resourceType: 'aws-sdk',
                resource: log.state.name,
                error: log.Error,
                cause: String(log.Cause ?? ''),
              },
            },
          ]
        : [];
    default:
      return [];
  }
}

export interface RecordedExecution {
  events: HistoryEvent[];
  status: 'SUCCEEDED' | 'FAILED';
  input: string;
  output?: string;
  error?: string;
  cause?: string;
}

/** Runs the real machine with `behaviours` over the healthy fakes; records its history (1 s per event). */
export async function recordExecution(
  behaviours: Record<string, Behaviour> = {},
): Promise<RecordedExecution> {
  const input = buildValidateAmiInput(
    { imageId: IMAGE_ID, instanceType: 't3.micro', expectedVersion: '3.0.0' },
    {
      instanceProfileName: 'pulsar-ami-dev-validation',
      subnetId: null,
      maxLifetimeMinutes: 90,
      pollIntervalSeconds: 10,
      evaluateFunction: 'pulsar-ami-dev-evaluateCheckResults',
    },
    readCheckScript(),
  );
  const polling = { intervalSeconds: 10, maxInstanceChecks: 4, maxAgentChecks: 5, maxCommandChecks: 6 };
  const executionInput = { ...input, polling };
  type Handlers = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;
  const handlers: Handlers = {};
  const calls: Record<string, number> = {};
  const tasks = Object.entries(DEFINITION.States)
    .filter(([, s]) => s.Type === 'Task')
    .map(([name]) => name);
  for (const state of tasks) {
    const behaviour = behaviours[state] ?? HEALTHY[state];
    if (!behaviour) throw new Error(`no fake for ${state}`);
    handlers[state] = (async (taskInput: Record<string, unknown>) => {
      calls[state] = (calls[state] ?? 0) + 1;
      return behaviour(taskInput, calls[state]);
    }) as unknown as Handlers[string];
  }
  const waits = Object.entries(DEFINITION.States)
    .filter(([, s]) => s.Type === 'Wait')
    .map(([name]) => name);
  const execution = new StateMachine(DEFINITION).run(executionInput, {
    overrides: {
      taskResourceLocalHandlers: handlers,
      waitTimeOverrides: Object.fromEntries(waits.map((s) => [s, 0])),
      retryIntervalOverrides: Object.fromEntries(tasks.map((s) => [s, 0])),
    },
    context: {
      Execution: { Id: EXECUTION_ARN, Name: VALIDATION_ID, StartTime: new Date(START).toISOString() },
    },
  });
  const events: HistoryEvent[] = [];
  const collecting = (async () => {
    for await (const log of execution.eventLogs) {
      for (const event of toHistory(log)) {
        const id = events.length + 1;
        events.push({ ...event, id, previousEventId: id - 1, timestamp: new Date(START + id * 1000) });
      }
    }
  })();
  const recorded: RecordedExecution = { events, status: 'SUCCEEDED', input: JSON.stringify(executionInput) };
  try {
    recorded.output = JSON.stringify(await execution.result);
  } catch (error) {
    if (!(error instanceof ExecutionError)) throw error;
    const cause = error.cause as Error;
    Object.assign(recorded, { status: 'FAILED', error: cause.name, cause: cause.message });
  }
  await collecting;
  return recorded;
}

/** DescribeExecution as a client sees it after the first `count` events (all of them: the end). */
export function describeAt(recorded: RecordedExecution, count = recorded.events.length): ExecutionLike {
  const ended = count >= recorded.events.length;
  const base: ExecutionLike = {
    executionArn: EXECUTION_ARN,
    name: VALIDATION_ID,
    status: ended ? recorded.status : 'RUNNING',
    startDate: new Date(START),
    input: recorded.input,
  };
  if (!ended) return base;
  return {
    ...base,
    stopDate: new Date(START + count * 1000),
    ...(recorded.output !== undefined ? { output: recorded.output } : {}),
    ...(recorded.error !== undefined ? { error: recorded.error, cause: recorded.cause } : {}),
  };
}

/** The index (1-based count) of the first event entering `state`, through it. */
export function countThroughEntry(recorded: RecordedExecution, state: string, occurrence = 1): number {
  let seen = 0;
  const index = recorded.events.findIndex(
    (e) =>
      e.stateEnteredEventDetails?.name === state && e.type?.endsWith('StateEntered') && ++seen === occurrence,
  );
  if (index < 0) throw new Error(`${state} never entered`);
  return index + 1;
}
