/**
 * Running a Task state, by its Resource, with the history events AWS writes for it:
 * - `arn:aws:states:::lambda:invoke` and plain Lambda ARNs → the serverless.yml function,
 *   in-process (lambda.ts); a thrown error fails the state with its `errorType` as the error
 *   and `{"errorType","errorMessage","trace"}` as the cause;
 * - `arn:aws:states:::aws-sdk:<service>:<action>` → the SDK against the sandbox (aws-sdk-task.ts);
 * - `arn:aws:states:::states:startExecution[.sync[:2]]` → a nested execution here, awaited for
 *   `.sync`, whose failure fails the state with `States.TaskFailed`;
 * - `arn:aws:states:::codebuild:startBuild[.sync]` → a build in the sandbox's CodeBuild, with
 *   the Parameters in Step Functions' PascalCase; `.sync` waits and answers `{Build}` as
 *   BatchGetBuilds describes it (PascalCase, times in epoch ms); a build that does not succeed
 *   fails the state with `States.TaskFailed` and `{Build}` as the cause; an execution that is
 *   stopped or times out stops its build (best effort, as AWS does);
 * - the internal wait resource (definition.ts) → a scaled sleep.
 */
import { randomUUID } from 'node:crypto';
import type { CallLog } from '../calls';
import { renderBuild } from '../codebuild/index';
import { buildEnded, startBuild, stopBuild } from '../codebuild/models/builds';
import type { BuildRecord, EnvironmentVariableType } from '../codebuild/models/records';
import { AwsError } from '../errors/aws-error';
import type { InvokeOutcome, LambdaRuntime } from '../lambda';
import type { SandboxInfo } from '../services';
import type { World } from '../world';
import { AwsSdkTasks, TaskError } from './aws-sdk-task';
import { SANDBOX_WAIT_RESOURCE, type StateInfo } from './definition';
import { type Execution, type Json, type JsonValue, record } from './store';

export const later = () => new Promise<void>((resolve) => setImmediate(resolve));

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

export interface TaskDeps {
  lambda: LambdaRuntime;
  info: SandboxInfo;
  accountId: string;
  calls: CallLog;
  /** Real seconds per AWS second. */
  timeScale: number;
  /** Starts a nested execution (StartExecution, with its parent). */
  start(request: { stateMachineArn: string; name?: string; input?: string; parentArn?: string }): Execution;
  /** The world whose CodeBuild codebuild tasks use. */
  world?: World;
}

/** BatchGetBuilds' shape as Step Functions hands it on: PascalCase keys, times in epoch ms. */
export function pascalBuild(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((item) => pascalBuild(item));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k.charAt(0).toUpperCase() + k.slice(1), pascalBuild(v, k)]),
    );
  }
  if ((key === 'startTime' || key === 'endTime') && typeof value === 'number')
    return Math.round(value * 1000);
  return value;
}

export class TaskRunner {
  private readonly sdk: AwsSdkTasks;

  constructor(private readonly deps: TaskDeps) {
    this.sdk = new AwsSdkTasks(() => deps.info.url);
  }

  async task(execution: Execution, state: StateInfo, input: JsonValue): Promise<JsonValue> {
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
      record(execution, 'LambdaFunctionScheduled', {
        lambdaFunctionScheduledEventDetails: {
          resource,
          input: parameters,
          inputDetails: { truncated: false },
        },
      });
      record(execution, 'LambdaFunctionStarted');
    } else {
      record(execution, 'TaskScheduled', {
        taskScheduledEventDetails: {
          resourceType: kind.resourceType,
          resource: kind.resource,
          region,
          parameters,
        },
      });
      record(execution, 'TaskStarted', {
        taskStartedEventDetails: { resourceType: kind.resourceType, resource: kind.resource },
      });
    }
    try {
      const output = (await this.dispatch(execution, kind, resource, input)) as JsonValue;
      if (execution.status === 'RUNNING') {
        const text = JSON.stringify(output ?? null);
        if (kind.events === 'lambda') {
          record(execution, 'LambdaFunctionSucceeded', {
            lambdaFunctionSucceededEventDetails: { output: text, outputDetails: { truncated: false } },
          });
        } else {
          record(execution, 'TaskSucceeded', {
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
          record(execution, 'LambdaFunctionFailed', {
            lambdaFunctionFailedEventDetails: { error: error.name, cause: error.message },
          });
        } else {
          record(execution, 'TaskFailed', {
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
    execution.clock?.enterWait();
    try {
      await sleep(seconds * 1000 * this.deps.timeScale, execution.controller.signal);
    } finally {
      execution.clock?.leaveWait();
    }
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
    if (kind.resourceType === 'codebuild' && /^startBuild(\.sync)?$/.test(kind.resource)) {
      return this.codeBuild(execution, kind.resource.endsWith('.sync'), input);
    }
    return Promise.reject(
      new TaskError('States.Runtime', `The sandbox does not serve the resource ${resource} yet`),
    );
  }

  private lambdaNotFound(name: string): TaskError {
    const arn = name.startsWith('arn:')
      ? name
      : `arn:aws:lambda:${this.deps.info.apiRegion}:${this.deps.accountId}:function:${name}`;
    return new TaskError(
      'Lambda.ResourceNotFoundException',
      `Function not found: ${arn} (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: ${randomUUID()}; Proxy: null)`,
    );
  }

  private async lambdaInvoke(input: JsonValue): Promise<unknown> {
    const params = (input ?? {}) as Json;
    const name = params.FunctionName;
    if (typeof name !== 'string') throw new TaskError('States.Runtime', 'lambda:invoke needs a FunctionName');
    const fn = this.deps.lambda.find(name);
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
      void this.deps.lambda.invoke(fn, payload);
      return { Payload: '', ...metadata(randomUUID(), 202) };
    }
    const outcome = await this.deps.lambda.invoke(fn, payload);
    if (!outcome.ok) throw lambdaFailed(outcome);
    return { ExecutedVersion: '$LATEST', Payload: outcome.payload, ...metadata(outcome.requestId, 200) };
  }

  private async invokeLambdaArn(resource: string, input: JsonValue): Promise<unknown> {
    const fn = this.deps.lambda.find(resource);
    if (!fn) throw this.lambdaNotFound(resource);
    const outcome = await this.deps.lambda.invoke(fn, input);
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
      child = this.deps.start({
        stateMachineArn: String(params.StateMachineArn ?? ''),
        ...(typeof params.Name === 'string' ? { name: params.Name } : {}),
        input: childInput,
        parentArn: execution.arn,
      });
      this.deps.calls.add({
        service: 'sfn',
        action: 'StartExecution',
        region: execution.machine.region,
        dryRun: false,
        status: 200,
      });
    } catch (error) {
      if (error instanceof AwsError) {
        this.deps.calls.add({
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
    record(execution, 'TaskSubmitted', {
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

  private codeBuildCall(region: string, action: string, status: number): void {
    this.deps.calls.add({ service: 'codebuild', action, region, dryRun: false, status });
  }

  /** The build as the task answers it: `{Build: …}`. */
  private describeBuild(build: BuildRecord, region: string): Json {
    return { Build: pascalBuild(renderBuild(build, region, this.deps.accountId)) } as Json;
  }

  private async codeBuild(execution: Execution, sync: boolean, input: JsonValue): Promise<unknown> {
    const world = this.deps.world;
    const region = execution.machine.region;
    if (!world?.codeBuild) throw new TaskError('States.Runtime', 'CodeBuild is not running in this sandbox');
    const params = (input ?? {}) as Json;
    const text = (key: string): string | undefined =>
      typeof params[key] === 'string' ? (params[key] as string) : undefined;
    const rawOverrides = params.EnvironmentVariablesOverride;
    const overrides = Array.isArray(rawOverrides)
      ? rawOverrides.map((item) => {
          const v = (item ?? {}) as Json;
          return {
            name: String(v.Name ?? ''),
            value: typeof v.Value === 'string' ? v.Value : JSON.stringify(v.Value ?? ''),
            ...(typeof v.Type === 'string' ? { type: v.Type as EnvironmentVariableType } : {}),
          };
        })
      : undefined;
    const timeout = params.TimeoutInMinutesOverride;
    let build: BuildRecord;
    try {
      build = startBuild(world, region, {
        projectName: text('ProjectName') ?? '',
        ...(overrides ? { environmentVariablesOverride: overrides } : {}),
        ...(text('IdempotencyToken') !== undefined ? { idempotencyToken: text('IdempotencyToken') } : {}),
        ...(text('BuildspecOverride') !== undefined ? { buildspecOverride: text('BuildspecOverride') } : {}),
        ...(typeof timeout === 'number' ? { timeoutInMinutesOverride: timeout } : {}),
        initiator: `states/${execution.machine.name}/${execution.name}`,
      });
      this.codeBuildCall(region, 'StartBuild', 200);
    } catch (error) {
      if (error instanceof AwsError) {
        this.codeBuildCall(region, 'StartBuild', error.status);
        throw new TaskError(
          `CodeBuild.${error.code}`,
          `${error.message} (Service: AWSCodeBuild; Status Code: ${error.status}; Error Code: ${error.code}; Request ID: ${randomUUID()}; Proxy: null)`,
        );
      }
      throw error;
    }
    const started = this.describeBuild(build, region);
    if (!sync) return started;
    record(execution, 'TaskSubmitted', {
      taskSubmittedEventDetails: {
        resourceType: 'codebuild',
        resource: 'startBuild.sync',
        output: JSON.stringify(started),
        outputDetails: { truncated: false },
      },
    });
    const signal = execution.controller.signal;
    await Promise.race([
      buildEnded(world, build),
      new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        signal.addEventListener('abort', () => resolve(), { once: true });
      }),
    ]);
    if (!build.buildComplete) {
      // The execution was stopped or timed out: AWS makes a best-effort StopBuild.
      try {
        stopBuild(world, region, build.id);
        this.codeBuildCall(region, 'StopBuild', 200);
      } catch (error) {
        this.codeBuildCall(region, 'StopBuild', error instanceof AwsError ? error.status : 500);
      }
      throw new TaskError('States.Runtime', 'The execution has ended');
    }
    this.codeBuildCall(region, 'BatchGetBuilds', 200);
    const described = this.describeBuild(build, region);
    if (build.buildStatus !== 'SUCCEEDED')
      throw new TaskError('States.TaskFailed', JSON.stringify(described));
    return described;
  }

  /** Closes the SDK clients. */
  close(): void {
    this.sdk.close();
  }
}
