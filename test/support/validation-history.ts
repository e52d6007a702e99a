/**
 * Realistic ValidateAmi histories: the real statemachines/validate-ami.asl.yml run by
 * aws-local-stepfunctions with faked AWS tasks, its event log turned into Step Functions
 * history events (`TaskStateEntered` with `stateEnteredEventDetails.input`, …) as
 * GetExecutionHistory returns them. Cutting the history at an event gives the execution as
 * a client sees it mid-way.
 */
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import type { ExecutionLike } from '../../functions/lib/validation-progress';
import {
  awsError,
  type Behaviour,
  checkOutput,
  DEFINITION,
  localOverrides,
  validateAmiInput,
} from './validate-ami-fakes';

export { DEFINITION, IMAGE_ID, INSTANCE_ID } from './validate-ami-fakes';

type Execution = ReturnType<StateMachine['run']>;
type EventLog = Execution['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

export const VALIDATION_ID = '5f0c6f7e-2a8e-4c47-9d55-0d3f1d7f2b11';
export const STATE_MACHINE_ARN =
  'arn:aws:states:us-west-2:123456789012:stateMachine:pulsar-ami-dev-validate-ami';
export const EXECUTION_ARN = `arn:aws:states:us-west-2:123456789012:execution:pulsar-ami-dev-validate-ami:${VALIDATION_ID}`;
export const START = Date.parse('2026-01-15T12:00:00Z');

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
        'We currently do not have sufficient t3.micro capacity in the Availability Zone you requested (us-west-2a). Our system will be working on provisioning additional capacity. (Service: Ec2, Status Code: 500, Error Code: InsufficientInstanceCapacity, Request ID: 7f3c1d2e-launch)',
      );
    },
  },
  checksTimedOut: { 'Get Check Results': () => ({ Status: 'InProgress', StandardOutputContent: '' }) },
  terminateRefused: {
    'Terminate Test Instance': () => {
      throw awsError(
        'Ec2.Ec2Exception',
        'We encountered an internal error. Please try again. (Service: Ec2, Status Code: 500, Error Code: InternalError, Request ID: 0b5e9a1c-terminate)',
      );
    },
  },
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
  const executionInput = validateAmiInput();
  const execution = new StateMachine(DEFINITION).run(executionInput, {
    overrides: localOverrides(behaviours),
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
