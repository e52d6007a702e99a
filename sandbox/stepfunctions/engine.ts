/**
 * Step Functions in the sandbox: serverless.yml's state machines (their own ASL files) run
 * with aws-local-stepfunctions in compressed time. This is the engine the API (api.ts, the
 * protocol) and the control interface call; its jobs are split by file:
 * - store.ts: state machines, executions and their history (records and lookups);
 * - runner.ts: running an execution and recording its history and end;
 * - tasks.ts: Task states by Resource (Lambda, aws-sdk, nested executions, waits);
 * - status-events.ts: the "Execution Status Change" events on the EventBridge bus.
 * Attached to the world (world.attachStepFunctions), which clears it on reset and closes it
 * on close.
 */
import { randomUUID } from 'node:crypto';
import type { CallLog } from '../calls';
import {
  ExecutionAlreadyExists,
  InvalidDefinition,
  InvalidExecutionInput,
  InvalidName,
} from '../errors/stepfunctions';
import type { EventBus } from '../eventbridge';
import type { LambdaRuntime } from '../lambda';
import type { SandboxInfo } from '../services';
import type { World } from '../world';
import { type PreparedDefinition, prepareDefinition, validateDefinition } from './definition';
import { Runner } from './runner';
import { putStatusChange } from './status-events';
import { type Execution, ExecutionStore, type JsonValue, type Machine, record } from './store';
import { later, TaskRunner } from './tasks';

export {
  EXECUTION_STATUSES,
  type Execution,
  type ExecutionStatus,
  type HistoryEvent,
  type Machine,
} from './store';

export interface StepFunctionsOptions {
  lambda: LambdaRuntime;
  events: EventBus;
  info: SandboxInfo;
  accountId: string;
  calls: CallLog;
  /** Real seconds per AWS second (see definition.ts). */
  timeScale: number;
  log: (line: string) => void;
  /** The world whose CodeBuild the codebuild tasks start builds in. */
  world?: World;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: AWS refuses control characters in names.
const INVALID_NAME = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/;
const MAX_INPUT_BYTES = 256 * 1024;

export class StepFunctions {
  private readonly store: ExecutionStore;
  private readonly tasks: TaskRunner;
  private readonly runner: Runner;

  constructor(private readonly opts: StepFunctionsOptions) {
    this.store = new ExecutionStore(opts.lambda, opts.info.apiRegion);
    this.tasks = new TaskRunner({
      lambda: opts.lambda,
      info: opts.info,
      accountId: opts.accountId,
      calls: opts.calls,
      timeScale: opts.timeScale,
      start: (request) => this.start(request),
      ...(opts.world ? { world: opts.world } : {}),
    });
    this.runner = new Runner({
      store: this.store,
      tasks: this.tasks,
      events: opts.events,
      roleArn: (machine) => this.roleArn(machine),
      log: opts.log,
    });
  }

  get timeScale(): number {
    return this.opts.timeScale;
  }

  machines(): Map<string, Machine> {
    return this.store.machines();
  }

  machine(arn: string): Machine {
    return this.store.machine(arn);
  }

  execution(arn: string): Execution {
    return this.store.execution(arn);
  }

  list(): Execution[] {
    return this.store.list();
  }

  private prepared(machine: Machine): PreparedDefinition {
    if (!machine.prepared) {
      if (machine.definition === null || machine.definitionError !== undefined) {
        throw new InvalidDefinition(machine.definitionError ?? 'none');
      }
      try {
        validateDefinition(machine.definition);
        machine.prepared = prepareDefinition(machine.definition, this.opts.timeScale);
      } catch (error) {
        throw new InvalidDefinition((error as Error).message);
      }
    }
    return machine.prepared;
  }

  /** StartExecution: idempotent for a running execution with the same name and input. */
  start(request: { stateMachineArn: string; name?: string; input?: string; parentArn?: string }): Execution {
    const machine = this.store.machine(request.stateMachineArn);
    const name = request.name ?? randomUUID();
    if (name.length < 1 || name.length > 80 || INVALID_NAME.test(name)) {
      throw new InvalidName(name);
    }
    const input = request.input ?? '{}';
    if (Buffer.byteLength(input, 'utf8') > MAX_INPUT_BYTES) {
      throw new InvalidExecutionInput('input exceeds 262144 bytes');
    }
    let parsed: JsonValue;
    try {
      parsed = JSON.parse(input) as JsonValue;
    } catch (error) {
      throw new InvalidExecutionInput(`'${(error as Error).message}'`);
    }
    const arn = `${machine.arn.replace(':stateMachine:', ':execution:')}:${name}`;
    const existing = this.store.get(arn);
    if (existing) {
      if (existing.status === 'RUNNING' && existing.input === input) return existing;
      throw new ExecutionAlreadyExists(arn);
    }
    const prepared = this.prepared(machine);
    const execution: Execution = {
      arn,
      name,
      machine,
      input,
      status: 'RUNNING',
      startDate: Date.now(),
      history: [],
      transitions: 0,
      children: new Set(),
      controller: new AbortController(),
      ended: Promise.resolve(),
      ...(request.parentArn !== undefined ? { parentArn: request.parentArn } : {}),
    };
    this.store.add(execution);
    record(execution, 'ExecutionStarted', {
      executionStartedEventDetails: {
        input,
        inputDetails: { truncated: false },
        roleArn: this.roleArn(machine),
      },
    });
    putStatusChange(this.opts.events, execution);
    execution.ended = this.runner.run(execution, prepared, parsed);
    this.opts.log(`sfn: started ${arn}`);
    return execution;
  }

  private roleArn(machine: Machine): string {
    return `arn:aws:iam::${this.opts.accountId}:role/${machine.name}-role`;
  }

  /** StopExecution: ABORTED with the given error and cause; no Catch runs. */
  async stop(arn: string, error?: string, cause?: string): Promise<Execution> {
    const execution = this.store.execution(arn);
    if (execution.status !== 'RUNNING') return execution;
    execution.controller.abort();
    execution.abortRun?.();
    await later();
    this.runner.finish(execution, {
      status: 'ABORTED',
      ...(error !== undefined ? { error } : {}),
      ...(cause !== undefined ? { cause } : {}),
    });
    return execution;
  }

  /** Resolves when the given executions (default: all running ones) have ended. */
  async wait(arns?: string[], timeoutMs = 60_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const targets = arns ? arns.map((arn) => this.store.execution(arn)) : this.store.list();
      const running = targets.filter((e) => e.status === 'RUNNING');
      if (running.length === 0) {
        await Promise.all(targets.map((e) => e.ended));
        return true;
      }
      const left = deadline - Date.now();
      if (left <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(running.map((e) => e.ended)),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, left);
        }),
      ]);
      if (timer) clearTimeout(timer);
    }
  }

  /** Stops everything silently (no status-change events) and forgets all executions. */
  clear(): void {
    this.store.clear();
  }

  close(): void {
    this.clear();
    this.tasks.close();
  }
}
