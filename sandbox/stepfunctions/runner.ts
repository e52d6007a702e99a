/**
 * Running an execution: aws-local-stepfunctions runs the prepared definition in compressed
 * time (definition.ts), its Task states through tasks.ts; the library's events become AWS's
 * history events (`{Type}StateEntered`/`Exited`), state transitions (retries included) are
 * counted, and the end is recorded (`Execution{Succeeded,Failed,Aborted,TimedOut}`) and put
 * on the event bus. A parent that stops takes its `.sync` children with it.
 */
import {
  ExecutionAbortedError,
  ExecutionError,
  ExecutionTimeoutError,
  StateMachine,
} from 'aws-local-stepfunctions';
import type { EventBus } from '../eventbridge';
import type { PreparedDefinition } from './definition';
import { putStatusChange } from './status-events';
import {
  type Execution,
  type ExecutionStatus,
  type ExecutionStore,
  type JsonValue,
  type Machine,
  record,
} from './store';
import { later, type TaskRunner } from './tasks';

/** How often a running execution's clock is compared with its TimeoutSeconds (real ms). */
const WATCHDOG_MS = 10;

/**
 * An execution's own clock, in AWS milliseconds: time in Wait states counts its full AWS
 * duration (the sandbox runs it `scale` times faster), everything else — real calls, real
 * Lambdas — counts as it runs. So a machine's TimeoutSeconds means what it means on AWS, and a
 * loaded machine does not time out a run whose waits fit within it. The sandbox's wait task
 * (tasks.ts) enters and leaves it around each sleep, so the count is exact.
 */
export class ExecutionClock {
  private readonly started = Date.now();
  private waitedRealMs = 0;
  private waitingSince: number | undefined;
  /** Wait states running now (Map and Parallel can run several at once). */
  private waits = 0;

  constructor(private readonly scale: number) {}

  enterWait(): void {
    this.waits += 1;
    this.waitingSince ??= Date.now();
  }

  leaveWait(): void {
    if (this.waits === 0) return;
    this.waits -= 1;
    if (this.waits > 0 || this.waitingSince === undefined) return;
    this.waitedRealMs += Date.now() - this.waitingSince;
    this.waitingSince = undefined;
  }

  awsMs(now = Date.now()): number {
    const waiting = this.waitedRealMs + (this.waitingSince === undefined ? 0 : now - this.waitingSince);
    return now - this.started - waiting + waiting / this.scale;
  }
}

export interface Outcome {
  status: ExecutionStatus;
  output?: string;
  error?: string;
  cause?: string;
}

export interface RunnerDeps {
  store: ExecutionStore;
  tasks: TaskRunner;
  events: EventBus;
  roleArn(machine: Machine): string;
  log(line: string): void;
}

export class Runner {
  constructor(private readonly deps: RunnerDeps) {}

  async run(execution: Execution, prepared: PreparedDefinition, input: JsonValue): Promise<void> {
    const handlers: Record<string, (input: JsonValue) => Promise<JsonValue>> = {};
    for (const state of prepared.states.values()) {
      if (state.resource !== undefined)
        handlers[state.name] = (taskInput) => this.deps.tasks.task(execution, state, taskInput);
    }
    const machine = new StateMachine(prepared.runnable, { validationOptions: { noValidate: true } });
    const run = machine.run(input, {
      overrides: { taskResourceLocalHandlers: handlers },
      context: {
        Execution: { Id: execution.arn, Name: execution.name, RoleArn: this.deps.roleArn(execution.machine) },
        StateMachine: { Id: execution.machine.arn, Name: execution.machine.name },
      },
    });
    execution.abortRun = run.abort;
    const clock = new ExecutionClock(prepared.scale);
    execution.clock = clock;
    let timedOut = false;
    const watchdog =
      prepared.timeoutSeconds === undefined
        ? undefined
        : setInterval(() => {
            if (clock.awsMs() < (prepared.timeoutSeconds ?? 0) * 1000) return;
            timedOut = true;
            run.abort();
          }, WATCHDOG_MS);
    watchdog?.unref();
    const consumer = (async () => {
      for await (const event of run.eventLogs) {
        if (execution.status !== 'RUNNING') continue;
        if (event.type === 'StateEntered' || event.type === 'StateExited') {
          const info = prepared.states.get(event.state.name);
          const type = info?.type ?? event.state.type;
          if (event.type === 'StateEntered') {
            execution.transitions += 1;
            execution.currentState = event.state.name;
            record(execution, `${type}StateEntered`, {
              stateEnteredEventDetails: {
                name: event.state.name,
                input: JSON.stringify(event.state.input ?? null),
                inputDetails: { truncated: false },
              },
            });
          } else {
            record(execution, `${type}StateExited`, {
              stateExitedEventDetails: {
                name: event.state.name,
                output: JSON.stringify(event.state.output ?? null),
                outputDetails: { truncated: false },
              },
            });
          }
        } else if (event.type === 'StateRetried') {
          execution.transitions += 1;
        }
      }
    })();
    let outcome: { status: ExecutionStatus; output?: string; error?: string; cause?: string };
    try {
      const output = await run.result;
      outcome = { status: 'SUCCEEDED', output: JSON.stringify(output ?? null) };
    } catch (error) {
      if (error instanceof ExecutionTimeoutError || (timedOut && error instanceof ExecutionAbortedError)) {
        outcome = { status: 'TIMED_OUT' };
      } else if (error instanceof ExecutionAbortedError) outcome = { status: 'ABORTED' };
      else if (error instanceof ExecutionError) {
        const cause = error.cause as Error | undefined;
        outcome = { status: 'FAILED', error: cause?.name ?? 'States.Runtime', cause: cause?.message ?? '' };
      } else {
        outcome = {
          status: 'FAILED',
          error: 'States.Runtime',
          cause: (error as Error)?.message ?? String(error),
        };
      }
    }
    if (watchdog) clearInterval(watchdog);
    await Promise.race([consumer, later()]);
    await later();
    this.finish(execution, outcome);
  }

  finish(
    execution: Execution,
    outcome: { status: ExecutionStatus; output?: string; error?: string; cause?: string },
  ): void {
    if (execution.status !== 'RUNNING') return;
    execution.status = outcome.status;
    execution.stopDate = Date.now();
    if (outcome.output !== undefined) execution.output = outcome.output;
    if (outcome.error !== undefined) execution.error = outcome.error;
    if (outcome.cause !== undefined) execution.cause = outcome.cause;
    const errorDetails = {
      ...(outcome.error !== undefined ? { error: outcome.error } : {}),
      ...(outcome.cause !== undefined ? { cause: outcome.cause } : {}),
    };
    switch (outcome.status) {
      case 'SUCCEEDED':
        record(execution, 'ExecutionSucceeded', {
          executionSucceededEventDetails: { output: execution.output, outputDetails: { truncated: false } },
        });
        break;
      case 'FAILED':
        record(execution, 'ExecutionFailed', { executionFailedEventDetails: errorDetails });
        break;
      case 'ABORTED':
        record(execution, 'ExecutionAborted', { executionAbortedEventDetails: errorDetails });
        break;
      case 'TIMED_OUT':
        record(execution, 'ExecutionTimedOut', { executionTimedOutEventDetails: errorDetails });
        break;
      default:
        break;
    }
    execution.controller.abort();
    execution.abortRun?.();
    if (outcome.status === 'ABORTED' || outcome.status === 'TIMED_OUT') {
      // A parent that stops takes its .sync children with it.
      for (const child of execution.children) {
        const running = this.deps.store.get(child);
        if (running?.status === 'RUNNING') {
          this.finish(running, {
            status: 'ABORTED',
            error: 'States.Aborted',
            cause: `Parent execution ${execution.arn} ended ${outcome.status}`,
          });
        }
      }
    }
    this.deps.log(`sfn: ${execution.arn} ${execution.status}${execution.error ? ` ${execution.error}` : ''}`);
    putStatusChange(this.deps.events, execution);
  }
}
