/**
 * Step Functions executions in the sandbox: serverless.yml's state machines (their own ASL
 * files) run with aws-local-stepfunctions in compressed time (definition.ts), every Task
 * dispatched by its Resource:
 * - `arn:aws:states:::lambda:invoke` and plain Lambda ARNs → the serverless.yml function,
 *   in-process (lambda.ts); a thrown error fails the state with its `errorType` as the error
 *   and `{"errorType","errorMessage","trace"}` as the cause;
 * - `arn:aws:states:::aws-sdk:<service>:<action>` → the SDK against the sandbox (aws-sdk-task.ts);
 * - `arn:aws:states:::states:startExecution[.sync[:2]]` → a nested execution here, awaited for
 *   `.sync`, whose failure fails the state with `States.TaskFailed`;
 * - `codebuild:startBuild[.sync]` is not served yet (fails with `States.Runtime`).
 * History events follow AWS's names and details so a client can follow progress by state name;
 * state transitions (states entered, retries included) are counted per execution. When an
 * execution starts and ends, a "Step Functions Execution Status Change" event goes to EventBridge.
 */
import { randomUUID } from 'node:crypto';
import {
  ExecutionAbortedError,
  ExecutionError,
  ExecutionTimeoutError,
  StateMachine,
} from 'aws-local-stepfunctions';
import type { CallLog } from '../calls';
import { AwsError } from '../errors/aws-error';
import {
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  InvalidArn,
  InvalidDefinition,
  InvalidExecutionInput,
  InvalidName,
  StateMachineDoesNotExist,
} from '../errors/stepfunctions';
import type { EventBus } from '../eventbridge';
import type { InvokeOutcome, LambdaRuntime } from '../lambda';
import type { SandboxInfo } from '../services';
import { AwsSdkTasks, TaskError } from './aws-sdk-task';
import {
  type PreparedDefinition,
  prepareDefinition,
  SANDBOX_WAIT_RESOURCE,
  type StateInfo,
  validateDefinition,
} from './definition';

type Json = Record<string, unknown>;
type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

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
}

export interface StepFunctionsOptions {
  lambda: LambdaRuntime;
  events: EventBus;
  info: SandboxInfo;
  accountId: string;
  calls: CallLog;
  /** Real seconds per AWS second (see definition.ts). */
  timeScale: number;
  log: (line: string) => void;
}

const ARN_MACHINE = /^arn:aws[\w-]*:states:([\w-]+):(\d{12}):stateMachine:([\w.-]{1,80})$/;
const ARN_EXECUTION = /^arn:aws[\w-]*:states:[\w-]+:\d{12}:execution:[\w.-]{1,80}:.{1,80}$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: AWS refuses control characters in names.
const INVALID_NAME = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/;
const MAX_INPUT_BYTES = 256 * 1024;

const later = () => new Promise<void>((resolve) => setImmediate(resolve));

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) {
      resolve();
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    timer.unref();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

interface TaskKind {
  /** `task` (TaskScheduled…) or `lambda` (LambdaFunctionScheduled…, plain Lambda ARNs). */
  events: 'task' | 'lambda';
  resourceType: string;
  resource: string;
}

function taskKind(resource: string): TaskKind {
  const integration = /^arn:aws[\w-]*:states:::([\w-]+(?::[\w-]+)?):(.+)$/.exec(resource);
  if (integration?.[1] !== undefined && integration[2] !== undefined) {
    return { events: 'task', resourceType: integration[1], resource: integration[2] };
  }
  return { events: 'lambda', resourceType: 'lambda', resource };
}

/** A function's error as a Lambda task raises it: its errorType, with the error as JSON in the Cause. */
function lambdaFailed(outcome: Extract<InvokeOutcome, { ok: false }>): TaskError {
  return new TaskError(
    outcome.errorType,
    JSON.stringify({
      errorType: outcome.errorType,
      errorMessage: outcome.errorMessage,
      trace: outcome.trace,
    }),
  );
}

export class StepFunctions {
  private machineList: Map<string, Machine> | null = null;
  private readonly executions = new Map<string, Execution>();
  private readonly sdk: AwsSdkTasks;

  constructor(private readonly opts: StepFunctionsOptions) {
    this.sdk = new AwsSdkTasks(() => opts.info.url);
  }

  get timeScale(): number {
    return this.opts.timeScale;
  }

  machines(): Map<string, Machine> {
    if (!this.machineList) {
      const app = this.opts.lambda.tryConfig();
      const list = new Map<string, Machine>();
      for (const m of app?.stateMachines ?? []) {
        list.set(m.arn, {
          arn: m.arn,
          name: m.name,
          region: app?.region ?? this.opts.info.apiRegion,
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

  execution(arn: string): Execution {
    if (!ARN_EXECUTION.test(arn)) throw new InvalidArn(arn);
    const execution = this.executions.get(arn);
    if (!execution) throw new ExecutionDoesNotExist(arn);
    return execution;
  }

  list(): Execution[] {
    return [...this.executions.values()];
  }

  /** StartExecution: idempotent for a running execution with the same name and input. */
  start(request: { stateMachineArn: string; name?: string; input?: string; parentArn?: string }): Execution {
    const machine = this.machine(request.stateMachineArn);
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
    const existing = this.executions.get(arn);
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
    this.executions.set(arn, execution);
    this.record(execution, 'ExecutionStarted', {
      executionStartedEventDetails: {
        input,
        inputDetails: { truncated: false },
        roleArn: this.roleArn(machine),
      },
    });
    this.putStatusChange(execution);
    execution.ended = this.run(execution, prepared, parsed);
    this.opts.log(`sfn: started ${arn}`);
    return execution;
  }

  private roleArn(machine: Machine): string {
    return `arn:aws:iam::${this.opts.accountId}:role/${machine.name}-role`;
  }

  private record(execution: Execution, type: string, details: Json = {}): void {
    const last = execution.history.at(-1);
    execution.history.push({
      id: (last?.id ?? 0) + 1,
      previousEventId: last?.id ?? 0,
      timestamp: Date.now(),
      type,
      ...details,
    });
  }

  private async run(execution: Execution, prepared: PreparedDefinition, input: JsonValue): Promise<void> {
    const handlers: Record<string, (input: JsonValue) => Promise<JsonValue>> = {};
    for (const state of prepared.states.values()) {
      if (state.resource !== undefined)
        handlers[state.name] = (taskInput) => this.task(execution, state, taskInput);
    }
    const machine = new StateMachine(prepared.runnable, { validationOptions: { noValidate: true } });
    const run = machine.run(input, {
      overrides: { taskResourceLocalHandlers: handlers },
      context: {
        Execution: { Id: execution.arn, Name: execution.name, RoleArn: this.roleArn(execution.machine) },
        StateMachine: { Id: execution.machine.arn, Name: execution.machine.name },
      },
    });
    execution.abortRun = run.abort;
    const consumer = (async () => {
      for await (const event of run.eventLogs) {
        if (execution.status !== 'RUNNING') continue;
        if (event.type === 'StateEntered' || event.type === 'StateExited') {
          const info = prepared.states.get(event.state.name);
          const type = info?.type ?? event.state.type;
          if (event.type === 'StateEntered') {
            execution.transitions += 1;
            execution.currentState = event.state.name;
            this.record(execution, `${type}StateEntered`, {
              stateEnteredEventDetails: {
                name: event.state.name,
                input: JSON.stringify(event.state.input ?? null),
                inputDetails: { truncated: false },
              },
            });
          } else {
            this.record(execution, `${type}StateExited`, {
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
      if (error instanceof ExecutionTimeoutError) outcome = { status: 'TIMED_OUT' };
      else if (error instanceof ExecutionAbortedError) outcome = { status: 'ABORTED' };
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
    await Promise.race([consumer, later()]);
    await later();
    this.finish(execution, outcome);
  }

  private finish(
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
        this.record(execution, 'ExecutionSucceeded', {
          executionSucceededEventDetails: { output: execution.output, outputDetails: { truncated: false } },
        });
        break;
      case 'FAILED':
        this.record(execution, 'ExecutionFailed', { executionFailedEventDetails: errorDetails });
        break;
      case 'ABORTED':
        this.record(execution, 'ExecutionAborted', { executionAbortedEventDetails: errorDetails });
        break;
      case 'TIMED_OUT':
        this.record(execution, 'ExecutionTimedOut', { executionTimedOutEventDetails: errorDetails });
        break;
      default:
        break;
    }
    execution.controller.abort();
    execution.abortRun?.();
    if (outcome.status === 'ABORTED' || outcome.status === 'TIMED_OUT') {
      // A parent that stops takes its .sync children with it.
      for (const child of execution.children) {
        const running = this.executions.get(child);
        if (running?.status === 'RUNNING') {
          this.finish(running, {
            status: 'ABORTED',
            error: 'States.Aborted',
            cause: `Parent execution ${execution.arn} ended ${outcome.status}`,
          });
        }
      }
    }
    this.opts.log(`sfn: ${execution.arn} ${execution.status}${execution.error ? ` ${execution.error}` : ''}`);
    this.putStatusChange(execution);
  }

  /** StopExecution: ABORTED with the given error and cause; no Catch runs. */
  async stop(arn: string, error?: string, cause?: string): Promise<Execution> {
    const execution = this.execution(arn);
    if (execution.status !== 'RUNNING') return execution;
    execution.controller.abort();
    execution.abortRun?.();
    await later();
    this.finish(execution, {
      status: 'ABORTED',
      ...(error !== undefined ? { error } : {}),
      ...(cause !== undefined ? { cause } : {}),
    });
    return execution;
  }

  private putStatusChange(execution: Execution): void {
    this.opts.events.put({
      'detail-type': 'Step Functions Execution Status Change',
      source: 'aws.states',
      resources: [execution.arn],
      detail: {
        executionArn: execution.arn,
        stateMachineArn: execution.machine.arn,
        name: execution.name,
        status: execution.status,
        startDate: execution.startDate,
        stopDate: execution.stopDate ?? null,
        input: execution.input,
        inputDetails: { included: true },
        output: execution.output ?? null,
        outputDetails: execution.output !== undefined ? { included: true } : null,
        error: execution.error ?? null,
        cause: execution.cause ?? null,
      },
    });
  }

  // --- Tasks ---------------------------------------------------------------------------------

  private async task(execution: Execution, state: StateInfo, input: JsonValue): Promise<JsonValue> {
    // Let the history catch up with the library's events (TaskStateEntered comes first).
    await later();
    if (execution.status !== 'RUNNING' || execution.controller.signal.aborted) {
      throw new TaskError('States.Runtime', 'The execution has ended');
    }
    const resource = state.resource ?? '';
    if (resource === SANDBOX_WAIT_RESOURCE) return this.sandboxWait(execution, input);
    const kind = taskKind(resource);
    const region = execution.machine.region;
    const parameters = JSON.stringify(input ?? null);
    if (kind.events === 'lambda') {
      this.record(execution, 'LambdaFunctionScheduled', {
        lambdaFunctionScheduledEventDetails: {
          resource,
          input: parameters,
          inputDetails: { truncated: false },
        },
      });
      this.record(execution, 'LambdaFunctionStarted');
    } else {
      this.record(execution, 'TaskScheduled', {
        taskScheduledEventDetails: {
          resourceType: kind.resourceType,
          resource: kind.resource,
          region,
          parameters,
        },
      });
      this.record(execution, 'TaskStarted', {
        taskStartedEventDetails: { resourceType: kind.resourceType, resource: kind.resource },
      });
    }
    try {
      const output = (await this.dispatch(execution, kind, resource, input)) as JsonValue;
      if (execution.status === 'RUNNING') {
        const text = JSON.stringify(output ?? null);
        if (kind.events === 'lambda') {
          this.record(execution, 'LambdaFunctionSucceeded', {
            lambdaFunctionSucceededEventDetails: { output: text, outputDetails: { truncated: false } },
          });
        } else {
          this.record(execution, 'TaskSucceeded', {
            taskSucceededEventDetails: {
              resourceType: kind.resourceType,
              resource: kind.resource,
              output: text,
              outputDetails: { truncated: false },
            },
          });
        }
      }
      return output;
    } catch (caught) {
      const error =
        caught instanceof TaskError
          ? caught
          : new TaskError('States.TaskFailed', (caught as Error)?.message ?? String(caught));
      if (execution.status === 'RUNNING') {
        if (kind.events === 'lambda') {
          this.record(execution, 'LambdaFunctionFailed', {
            lambdaFunctionFailedEventDetails: { error: error.name, cause: error.message },
          });
        } else {
          this.record(execution, 'TaskFailed', {
            taskFailedEventDetails: {
              resourceType: kind.resourceType,
              resource: kind.resource,
              error: error.name,
              cause: error.message,
            },
          });
        }
      }
      throw error;
    }
  }

  private async sandboxWait(execution: Execution, input: JsonValue): Promise<JsonValue> {
    const params = (input ?? {}) as { input?: JsonValue; seconds?: unknown; timestamp?: unknown };
    let seconds = 0;
    if (params.seconds !== undefined) {
      if (typeof params.seconds !== 'number' || !Number.isInteger(params.seconds) || params.seconds < 0) {
        throw new TaskError(
          'States.Runtime',
          `Wait SecondsPath must point to a non-negative integer, got ${JSON.stringify(params.seconds)}`,
        );
      }
      seconds = params.seconds;
    } else if (typeof params.timestamp === 'string') {
      const at = Date.parse(params.timestamp);
      if (Number.isNaN(at))
        throw new TaskError('States.Runtime', `Invalid Wait timestamp ${params.timestamp}`);
      seconds = Math.max(0, (at - Date.now()) / 1000);
    }
    await sleep(seconds * 1000 * this.opts.timeScale, execution.controller.signal);
    return params.input ?? null;
  }

  private dispatch(
    execution: Execution,
    kind: TaskKind,
    resource: string,
    input: JsonValue,
  ): Promise<unknown> {
    const region = execution.machine.region;
    if (kind.events === 'lambda') return this.invokeLambdaArn(resource, input);
    if (kind.resourceType === 'lambda' && kind.resource === 'invoke') return this.lambdaInvoke(input);
    const sdk = /^aws-sdk:([\w-]+)$/.exec(kind.resourceType);
    if (sdk?.[1] !== undefined) {
      const [action = '', pattern] = kind.resource.split('.');
      if (pattern !== undefined) {
        return Promise.reject(
          new TaskError(
            'States.Runtime',
            `The sandbox does not serve the .${pattern} pattern for aws-sdk tasks`,
          ),
        );
      }
      return this.sdk.call(sdk[1], action, region, input);
    }
    if (kind.resourceType === 'states' && /^startExecution(\.sync(:2)?)?$/.test(kind.resource)) {
      return this.startNested(execution, kind.resource, input);
    }
    // codebuild:startBuild.sync belongs to a later slice.
    return Promise.reject(
      new TaskError('States.Runtime', `The sandbox does not serve the resource ${resource} yet`),
    );
  }

  private lambdaNotFound(name: string): TaskError {
    const arn = name.startsWith('arn:')
      ? name
      : `arn:aws:lambda:${this.opts.info.apiRegion}:${this.opts.accountId}:function:${name}`;
    return new TaskError(
      'Lambda.ResourceNotFoundException',
      `Function not found: ${arn} (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: ${randomUUID()}; Proxy: null)`,
    );
  }

  private async lambdaInvoke(input: JsonValue): Promise<unknown> {
    const params = (input ?? {}) as Json;
    const name = params.FunctionName;
    if (typeof name !== 'string') throw new TaskError('States.Runtime', 'lambda:invoke needs a FunctionName');
    const fn = this.opts.lambda.find(name);
    if (!fn) throw this.lambdaNotFound(name);
    const payload = params.Payload ?? null;
    const metadata = (requestId: string, status: number) => ({
      SdkHttpMetadata: {
        AllHttpHeaders: { 'X-Amz-Executed-Version': ['$LATEST'], 'x-amzn-RequestId': [requestId] },
        HttpHeaders: { 'X-Amz-Executed-Version': '$LATEST', 'x-amzn-RequestId': requestId },
        HttpStatusCode: status,
      },
      SdkResponseMetadata: { RequestId: requestId },
      StatusCode: status,
    });
    if (params.InvocationType === 'Event') {
      void this.opts.lambda.invoke(fn, payload);
      return { Payload: '', ...metadata(randomUUID(), 202) };
    }
    const outcome = await this.opts.lambda.invoke(fn, payload);
    if (!outcome.ok) throw lambdaFailed(outcome);
    return { ExecutedVersion: '$LATEST', Payload: outcome.payload, ...metadata(outcome.requestId, 200) };
  }

  private async invokeLambdaArn(resource: string, input: JsonValue): Promise<unknown> {
    const fn = this.opts.lambda.find(resource);
    if (!fn) throw this.lambdaNotFound(resource);
    const outcome = await this.opts.lambda.invoke(fn, input);
    if (!outcome.ok) throw lambdaFailed(outcome);
    return outcome.payload;
  }

  /** What `.sync` (`:2` = Input and Output parsed) returns about a child execution. */
  private describeForSync(child: Execution, parsed: boolean): Json {
    const data = (text: string | undefined) =>
      text === undefined ? undefined : parsed ? (JSON.parse(text) as unknown) : text;
    return {
      ExecutionArn: child.arn,
      Input: data(child.input),
      InputDetails: { Included: true },
      Name: child.name,
      ...(child.output !== undefined
        ? { Output: data(child.output), OutputDetails: { Included: true } }
        : {}),
      StartDate: child.startDate,
      StateMachineArn: child.machine.arn,
      Status: child.status,
      ...(child.stopDate !== undefined ? { StopDate: child.stopDate } : {}),
      ...(child.error !== undefined ? { Error: child.error } : {}),
      ...(child.cause !== undefined ? { Cause: child.cause } : {}),
    };
  }

  private async startNested(execution: Execution, pattern: string, input: JsonValue): Promise<unknown> {
    const params = (input ?? {}) as Json;
    const rawInput = params.Input;
    const childInput =
      rawInput === undefined ? '{}' : typeof rawInput === 'string' ? rawInput : JSON.stringify(rawInput);
    let child: Execution;
    try {
      child = this.start({
        stateMachineArn: String(params.StateMachineArn ?? ''),
        ...(typeof params.Name === 'string' ? { name: params.Name } : {}),
        input: childInput,
        parentArn: execution.arn,
      });
      this.opts.calls.add({
        service: 'sfn',
        action: 'StartExecution',
        region: execution.machine.region,
        dryRun: false,
        status: 200,
      });
    } catch (error) {
      if (error instanceof AwsError) {
        this.opts.calls.add({
          service: 'sfn',
          action: 'StartExecution',
          region: execution.machine.region,
          dryRun: false,
          status: error.status,
        });
        const name = error.code.endsWith('Exception') ? error.code : `${error.code}Exception`;
        throw new TaskError(
          `Sfn.${name}`,
          `${error.message} (Service: Sfn, Status Code: ${error.status}, Error Code: ${error.code}, Request ID: ${randomUUID()})`,
        );
      }
      throw error;
    }
    const started = { ExecutionArn: child.arn, StartDate: child.startDate };
    if (pattern === 'startExecution') return started;
    execution.children.add(child.arn);
    this.record(execution, 'TaskSubmitted', {
      taskSubmittedEventDetails: {
        resourceType: 'states',
        resource: pattern,
        output: JSON.stringify(started),
        outputDetails: { truncated: false },
      },
    });
    await Promise.race([
      child.ended,
      new Promise<void>((resolve) =>
        execution.controller.signal.addEventListener('abort', () => resolve(), { once: true }),
      ),
    ]);
    if (child.status === 'RUNNING') throw new TaskError('States.Runtime', 'The execution has ended');
    const description = this.describeForSync(child, pattern.endsWith(':2'));
    if (child.status !== 'SUCCEEDED') throw new TaskError('States.TaskFailed', JSON.stringify(description));
    return description;
  }

  // --- Lifecycle -----------------------------------------------------------------------------

  /** Resolves when the given executions (default: all running ones) have ended. */
  async wait(arns?: string[], timeoutMs = 60_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const targets = arns ? arns.map((arn) => this.execution(arn)) : this.list();
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

  close(): void {
    this.clear();
    this.sdk.close();
  }
}
