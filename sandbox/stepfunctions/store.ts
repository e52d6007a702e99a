/**
 * The Step Functions store: the state machines (serverless.yml's, loaded on first use) and the
 * executions with their history. Records and lookups only; running them is runner.ts.
 */
import { ExecutionDoesNotExist, InvalidArn, StateMachineDoesNotExist } from '../errors/stepfunctions';
import type { LambdaRuntime } from '../lambda';
import type { PreparedDefinition } from './definition';

export type Json = Record<string, unknown>;
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
export const EXECUTION_STATUSES: readonly ExecutionStatus[] = [
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
  'TIMED_OUT',
  'ABORTED',
];

export interface HistoryEvent {
  id: number;
  previousEventId: number;
  /** Epoch milliseconds. */
  timestamp: number;
  type: string;
  [details: string]: unknown;
}

export interface Machine {
  arn: string;
  name: string;
  region: string;
  definition: unknown;
  definitionError?: string;
  prepared?: PreparedDefinition;
  createdAt: number;
}

export interface Execution {
  arn: string;
  name: string;
  machine: Machine;
  input: string;
  status: ExecutionStatus;
  /** Epoch milliseconds. */
  startDate: number;
  stopDate?: number;
  output?: string;
  error?: string;
  cause?: string;
  history: HistoryEvent[];
  /** States entered, retries included (what AWS bills as state transitions). */
  transitions: number;
  currentState?: string;
  parentArn?: string;
  children: Set<string>;
  /** Aborted when the execution ends: sandbox waits and `.sync` waits stop. */
  controller: AbortController;
  /** Resolves once the execution has ended and its end was put on the event bus. */
  ended: Promise<void>;
  abortRun?: () => void;
  /** Its own clock (runner.ts): Waits count in AWS time, real work as it runs. */
  clock?: { enterWait(): void; leaveWait(): void };
}

const ARN_MACHINE = /^arn:aws[\w-]*:states:([\w-]+):(\d{12}):stateMachine:([\w.-]{1,80})$/;
const ARN_EXECUTION = /^arn:aws[\w-]*:states:[\w-]+:\d{12}:execution:[\w.-]{1,80}:.{1,80}$/;

/** Appends a history event: ids from 1, `previousEventId` = id − 1. */
export function record(execution: Execution, type: string, details: Json = {}): void {
  const last = execution.history.at(-1);
  execution.history.push({
    id: (last?.id ?? 0) + 1,
    previousEventId: last?.id ?? 0,
    timestamp: Date.now(),
    type,
    ...details,
  });
}

export class ExecutionStore {
  private machineList: Map<string, Machine> | null = null;
  private readonly executions = new Map<string, Execution>();

  constructor(
    private readonly lambda: LambdaRuntime,
    private readonly apiRegion: string,
  ) {}

  machines(): Map<string, Machine> {
    if (!this.machineList) {
      const app = this.lambda.tryConfig();
      const list = new Map<string, Machine>();
      for (const m of app?.stateMachines ?? []) {
        list.set(m.arn, {
          arn: m.arn,
          name: m.name,
          region: app?.region ?? this.apiRegion,
          definition: m.definition,
          ...(m.definitionError !== undefined ? { definitionError: m.definitionError } : {}),
          createdAt: Date.now(),
        });
      }
      this.machineList = list;
    }
    return this.machineList;
  }

  machine(arn: string): Machine {
    if (!ARN_MACHINE.test(arn)) throw new InvalidArn(arn);
    const machine = this.machines().get(arn);
    if (!machine) throw new StateMachineDoesNotExist(arn);
    return machine;
  }

  execution(arn: string): Execution {
    if (!ARN_EXECUTION.test(arn)) throw new InvalidArn(arn);
    const execution = this.executions.get(arn);
    if (!execution) throw new ExecutionDoesNotExist(arn);
    return execution;
  }

  list(): Execution[] {
    return [...this.executions.values()];
  }

  get(arn: string): Execution | undefined {
    return this.executions.get(arn);
  }

  add(execution: Execution): void {
    this.executions.set(execution.arn, execution);
  }

  /** Stops everything silently (no status-change events) and forgets all executions. */
  clear(): void {
    for (const execution of this.executions.values()) {
      if (execution.status === 'RUNNING') {
        execution.status = 'ABORTED';
        execution.stopDate = Date.now();
        execution.controller.abort();
        execution.abortRun?.();
      }
    }
    this.executions.clear();
  }
}
