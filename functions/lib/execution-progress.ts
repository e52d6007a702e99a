/**
 * Reading a Step Functions history as a story: the states entered in order with their input,
 * output and times, the final error, an AWS error's Cause in a few words. Pure; shared by the
 * ValidateAmi and BuildAmi progress (validation-progress.ts, builds-progress.ts), which give
 * the states their meaning.
 */
import { parseJsonObject, text } from './json';

/** The parts of a Step Functions history event read here (the SDK's HistoryEvent fits). */
export interface HistoryEventLike {
  id?: number | undefined;
  type?: string | undefined;
  timestamp?: Date | string | number | undefined;
  stateEnteredEventDetails?: { name?: string | undefined; input?: string | undefined } | undefined;
  stateExitedEventDetails?: { name?: string | undefined; output?: string | undefined } | undefined;
  taskSubmittedEventDetails?:
    | { resourceType?: string | undefined; resource?: string | undefined; output?: string | undefined }
    | undefined;
  taskSucceededEventDetails?:
    | { resourceType?: string | undefined; resource?: string | undefined; output?: string | undefined }
    | undefined;
  taskFailedEventDetails?:
    | {
        resourceType?: string | undefined;
        resource?: string | undefined;
        error?: string | undefined;
        cause?: string | undefined;
      }
    | undefined;
  executionSucceededEventDetails?: { output?: string | undefined } | undefined;
  executionFailedEventDetails?: { error?: string | undefined; cause?: string | undefined } | undefined;
  executionAbortedEventDetails?: { error?: string | undefined; cause?: string | undefined } | undefined;
  executionTimedOutEventDetails?: { error?: string | undefined; cause?: string | undefined } | undefined;
}

/** The parts of a DescribeExecution answer read here. */
export interface ExecutionLike {
  executionArn?: string | undefined;
  name?: string | undefined;
  status?: string | undefined;
  startDate?: Date | string | number | undefined;
  stopDate?: Date | string | number | undefined;
  input?: string | undefined;
  output?: string | undefined;
  error?: string | undefined;
  cause?: string | undefined;
}

export const ABORTED = 'ExecutionAborted';

/** An execution's status, as Step Functions reports it (PENDING_REDRIVE is told as FAILED). */
export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

const STATUSES: readonly string[] = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'];

/** The status of a DescribeExecution or ListExecutions answer. */
export function executionStatus(status: string | undefined): ExecutionStatus {
  if (status !== undefined && STATUSES.includes(status)) return status as ExecutionStatus;
  // PENDING_REDRIVE: a failed execution that may be redriven.
  return status === 'PENDING_REDRIVE' ? 'FAILED' : 'RUNNING';
}

export function iso(value: Date | string | number | undefined): string | undefined {
  if (value === undefined) return undefined;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** One state entered, with its exit, input and output. */
export interface Entry {
  state: string;
  /** `Task`, `Choice`, `Map`, … from the event type (`TaskStateEntered`). */
  kind: string;
  enteredAt: string;
  exitedAt?: string;
  input?: Record<string, unknown>;
  output?: Record<string, unknown>;
  /** Events of the state's own work, in order (TaskSubmitted, TaskSucceeded, TaskFailed…). */
  events: HistoryEventLike[];
  /** True for a state run inside a Map or Parallel state's iterations. */
  nested: boolean;
}

const ordered = (events: readonly HistoryEventLike[]) =>
  [...events].sort((a, b) => (a.id ?? 0) - (b.id ?? 0));

/** History events → the states entered, in order, with their exits, input, output and task events. */
export function entriesOf(events: readonly HistoryEventLike[]): Entry[] {
  const entries: Entry[] = [];
  const open = new Map<string, Entry>();
  let depth = 0;
  let current: Entry | undefined;
  for (const event of ordered(events)) {
    const at = iso(event.timestamp) ?? '';
    const type = event.type ?? '';
    const entered = event.stateEnteredEventDetails;
    if (type.endsWith('StateEntered') && entered?.name) {
      const kind = type.slice(0, -'StateEntered'.length);
      const entry: Entry = { state: entered.name, kind, enteredAt: at, events: [], nested: depth > 0 };
      const input = parseJsonObject(entered.input);
      if (input) entry.input = input;
      entries.push(entry);
      open.set(entered.name, entry);
      current = entry;
      if (kind === 'Map' || kind === 'Parallel') depth++;
      continue;
    }
    const exited = event.stateExitedEventDetails;
    if (type.endsWith('StateExited') && exited?.name) {
      const kind = type.slice(0, -'StateExited'.length);
      if (kind === 'Map' || kind === 'Parallel') depth = Math.max(0, depth - 1);
      const entry = open.get(exited.name);
      if (!entry) continue;
      entry.exitedAt = at;
      const output = parseJsonObject(exited.output);
      if (output) entry.output = output;
      open.delete(exited.name);
      continue;
    }
    if (current && /^(Task|LambdaFunction|Activity)/.test(type)) current.events.push(event);
  }
  return entries;
}

/** How the execution ended, when it did not succeed: Step Functions' error and cause. */
export function finalError(
  execution: ExecutionLike,
  events: readonly HistoryEventLike[],
  status: string,
): { error: string; cause: string } | undefined {
  if (status === 'RUNNING' || status === 'SUCCEEDED') return undefined;
  const details =
    events.find((e) => e.type === 'ExecutionFailed')?.executionFailedEventDetails ??
    events.find((e) => e.type === 'ExecutionAborted')?.executionAbortedEventDetails ??
    events.find((e) => e.type === 'ExecutionTimedOut')?.executionTimedOutEventDetails;
  const fallback =
    status === 'ABORTED' ? ABORTED : status === 'TIMED_OUT' ? 'States.Timeout' : 'States.Runtime';
  return {
    error: execution.error || details?.error || fallback,
    cause: execution.cause || details?.cause || '',
  };
}

/** The execution's output: DescribeExecution's, else the ExecutionSucceeded event's. */
export function executionOutput(
  execution: ExecutionLike,
  events: readonly HistoryEventLike[],
): Record<string, unknown> | undefined {
  return (
    parseJsonObject(execution.output) ??
    parseJsonObject(
      events.find((e) => e.type === 'ExecutionSucceeded')?.executionSucceededEventDetails?.output,
    )
  );
}

/** A Step Functions error as Catch records it. */
export interface StepError {
  Error?: string | null;
  Cause?: string | null;
}

/**
 * The reason a caught error gives, in words: a Lambda error's message (its Cause is the
 * function's `{errorType, errorMessage, trace}` JSON, never shown raw), else the error's name
 * and cause.
 */
export function errorReason(error: StepError): string {
  const lambda = parseJsonObject(error.Cause ?? undefined);
  const message = text(lambda?.errorMessage);
  if (message) return message;
  const name = text(error.Error) ?? 'Error';
  const cause = text(error.Cause);
  return cause ? `${name}: ${cause}` : name;
}

/** A caught or flagged error in the state data: `$.error` = `{Error, Cause}`. */
export function errorIn(
  data: Record<string, unknown> | undefined,
): { error: string; cause: string } | undefined {
  const error = data?.error;
  if (!isRecord(error) || typeof error.Error !== 'string') return undefined;
  return { error: error.Error, cause: typeof error.Cause === 'string' ? error.Cause : '' };
}

/**
 * Step Functions' name for any error of an AWS service whose code it does not map
 * (`Ec2.Ec2Exception`, `Ssm.SsmException`): says nothing, so the Cause must.
 */
export const GENERIC_SERVICE_ERROR = /^([A-Za-z0-9]+)\.\1Exception$/;

/** Longest first sentence of a Cause quoted in a summary. */
const REASON_MAX = 120;

/**
 * What a service error's Cause says, in a few words: its error code and its first sentence,
 * e.g. `InsufficientInstanceCapacity — We currently do not have sufficient t3.micro capacity…`.
 * Causes read `<message> (Service: Ec2, Status Code: 500, Error Code: <code>, Request ID: …)`;
 * real AWS leaves `Error Code` out, and then the sentence alone tells. Undefined when the
 * Cause says nothing.
 */
export function causeReason(cause: string): string | undefined {
  const code = /\bError Code: ([A-Za-z0-9._-]+)/.exec(cause)?.[1];
  const message = cause
    .replace(/\s*\(Service: [^)]*\)/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  let sentence = /^.*?[.!?](?=\s|$)/.exec(message)?.[0] ?? message;
  if (sentence.length > REASON_MAX) sentence = `${sentence.slice(0, REASON_MAX - 1).trimEnd()}…`;
  if (code && sentence && sentence !== code) return `${code} — ${sentence}`;
  return code || sentence || undefined;
}
