/**
 * The Step Functions API (JSON 1.0, `X-Amz-Target: AWSStepFunctions.<Op>`): StartExecution,
 * DescribeExecution, ListExecutions, GetExecutionHistory, StopExecution, DescribeStateMachine,
 * ListStateMachines. Timestamps are epoch seconds; errors carry Step Functions' codes
 * (`StateMachineDoesNotExist`, `ExecutionDoesNotExist`, `ExecutionAlreadyExists`,
 * `InvalidExecutionInput`, `InvalidName`, `InvalidArn`, `InvalidToken`, `ValidationException`).
 */
import { InternalFailure, ValidationException } from '../errors/common';
import { InvalidToken } from '../errors/stepfunctions';
import { optionalBoolean, optionalInteger, optionalString, requiredString } from '../json-input';
import { pageAtOffset } from '../pagination';
import type { AwsCallContext, JsonInput, JsonService } from '../services';
import {
  EXECUTION_STATUSES,
  type Execution,
  type ExecutionStatus,
  type HistoryEvent,
  type StepFunctions,
} from './engine';

/** The world's Step Functions engine (attached by the server). */
function engineFor(ctx: AwsCallContext): StepFunctions {
  const engine = ctx.world.stepFunctions;
  if (!engine) throw new InternalFailure('Step Functions is not running in this sandbox');
  return engine;
}

const seconds = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);

function page<T>(items: T[], input: JsonInput, scope: string): { items: T[]; nextToken?: string } {
  const max = optionalInteger(input, 'maxResults', 0, 1000) || 100;
  const token = optionalString(input, 'nextToken');
  return pageAtOffset(items, max, token, `sfn:${scope}`, (t) => new InvalidToken(t));
}

function describe(execution: Execution): Record<string, unknown> {
  return {
    executionArn: execution.arn,
    stateMachineArn: execution.machine.arn,
    name: execution.name,
    status: execution.status,
    startDate: seconds(execution.startDate),
    stopDate: seconds(execution.stopDate),
    input: execution.input,
    inputDetails: { included: true },
    output: execution.output,
    outputDetails: execution.output !== undefined ? { included: true } : undefined,
    error: execution.error,
    cause: execution.cause,
    redriveCount: 0,
    redriveStatus: 'NOT_REDRIVABLE',
  };
}

const DATA_FIELDS = new Set(['input', 'output', 'parameters']);

function renderEvent(event: HistoryEvent, includeData: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(event)) {
    if (key === 'timestamp') out.timestamp = event.timestamp / 1000;
    else if (!includeData && typeof value === 'object' && value !== null) {
      out[key] = Object.fromEntries(Object.entries(value).filter(([k]) => !DATA_FIELDS.has(k)));
    } else out[key] = value;
  }
  return out;
}

export const stepFunctionsService: JsonService = {
  name: 'sfn',
  contentType: 'application/x-amz-json-1.0',
  operations: {
    StartExecution: (input, ctx) => {
      const name = optionalString(input, 'name');
      const execInput = optionalString(input, 'input');
      const execution = engineFor(ctx).start({
        stateMachineArn: requiredString(input, 'stateMachineArn'),
        ...(name !== undefined ? { name } : {}),
        ...(execInput !== undefined ? { input: execInput } : {}),
      });
      return { executionArn: execution.arn, startDate: seconds(execution.startDate) };
    },
    DescribeExecution: (input, ctx) =>
      describe(engineFor(ctx).execution(requiredString(input, 'executionArn'))),
    ListExecutions: (input, ctx) => {
      const engine = engineFor(ctx);
      const machineArn = requiredString(input, 'stateMachineArn');
      engine.machine(machineArn);
      const statusFilter = optionalString(input, 'statusFilter');
      if (statusFilter !== undefined && !EXECUTION_STATUSES.includes(statusFilter as ExecutionStatus)) {
        throw ValidationException.constraint(
          'statusFilter',
          statusFilter,
          `Member must satisfy enum value set: [${EXECUTION_STATUSES.join(', ')}]`,
        );
      }
      const matching = engine
        .list()
        .filter(
          (e) => e.machine.arn === machineArn && (statusFilter === undefined || e.status === statusFilter),
        )
        .sort((a, b) => b.startDate - a.startDate);
      const { items, nextToken } = page(matching, input, `${machineArn}|${statusFilter ?? ''}`);
      return {
        executions: items.map((e) => ({
          executionArn: e.arn,
          stateMachineArn: e.machine.arn,
          name: e.name,
          status: e.status,
          startDate: seconds(e.startDate),
          stopDate: seconds(e.stopDate),
        })),
        nextToken,
      };
    },
    GetExecutionHistory: (input, ctx) => {
      const execution = engineFor(ctx).execution(requiredString(input, 'executionArn'));
      const reverse = optionalBoolean(input, 'reverseOrder') ?? false;
      const includeData = optionalBoolean(input, 'includeExecutionData') ?? true;
      const events = reverse ? [...execution.history].reverse() : [...execution.history];
      const { items, nextToken } = page(events, input, `${execution.arn}|${reverse}`);
      return { events: items.map((e) => renderEvent(e, includeData)), nextToken };
    },
    StopExecution: async (input, ctx) => {
      const execution = await engineFor(ctx).stop(
        requiredString(input, 'executionArn'),
        optionalString(input, 'error'),
        optionalString(input, 'cause'),
      );
      return { stopDate: seconds(execution.stopDate ?? Date.now()) };
    },
    DescribeStateMachine: (input, ctx) => {
      const engine = engineFor(ctx);
      const machine = engine.machine(requiredString(input, 'stateMachineArn'));
      return {
        stateMachineArn: machine.arn,
        name: machine.name,
        status: 'ACTIVE',
        definition: JSON.stringify(machine.definition),
        roleArn: `arn:aws:iam::${machine.arn.split(':')[4]}:role/${machine.name}-role`,
        type: 'STANDARD',
        creationDate: seconds(machine.createdAt),
      };
    },
    ListStateMachines: (input, ctx) => {
      const machines = [...engineFor(ctx).machines().values()];
      const { items, nextToken } = page(machines, input, 'machines');
      return {
        stateMachines: items.map((m) => ({
          stateMachineArn: m.arn,
          name: m.name,
          type: 'STANDARD',
          creationDate: seconds(m.createdAt),
        })),
        nextToken,
      };
    },
  },
};
