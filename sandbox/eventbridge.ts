/**
 * EventBridge, as far as the project uses it: events put on the default bus (Step Functions'
 * "Execution Status Change") are delivered to every serverless.yml function whose
 * `eventBridge.pattern` matches, and scheduled functions (`schedule:`) can be run now with a
 * "Scheduled Event". Deliveries are asynchronous, as in AWS; `idle()` (and the control
 * interface's `POST /_sandbox/events/wait`) resolves once none is pending.
 *
 * Pattern matching: every key of the pattern must match the event; a pattern array matches
 * when any element matches the event's value (or any element of an event array); nested
 * objects recurse; content filters `prefix`, `suffix`, `anything-but`, `exists`, `numeric`,
 * `equals-ignore-case` and `wildcard` are understood.
 */
import { randomUUID } from 'node:crypto';
import type { LambdaRuntime } from './lambda';
import type { ServerlessFunction } from './serverless-config';

type Json = Record<string, unknown>;

const isRecord = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export interface BusEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: unknown;
}

function wildcardMatch(pattern: string, value: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return regex.test(value);
}

function numericMatch(conditions: unknown[], value: unknown): boolean {
  if (typeof value !== 'number') return false;
  for (let i = 0; i + 1 < conditions.length; i += 2) {
    const op = conditions[i];
    const bound = Number(conditions[i + 1]);
    const ok =
      op === '='
        ? value === bound
        : op === '>'
          ? value > bound
          : op === '>='
            ? value >= bound
            : op === '<'
              ? value < bound
              : op === '<='
                ? value <= bound
                : false;
    if (!ok) return false;
  }
  return true;
}

/** One element of a pattern array against one (scalar) event value. */
function matchesValue(rule: unknown, value: unknown, present: boolean): boolean {
  if (!isRecord(rule)) return present && rule === value;
  if ('exists' in rule) return rule.exists === present;
  if (!present) return false;
  if (typeof rule.prefix === 'string') return typeof value === 'string' && value.startsWith(rule.prefix);
  if (typeof rule.suffix === 'string') return typeof value === 'string' && value.endsWith(rule.suffix);
  if (typeof rule['equals-ignore-case'] === 'string')
    return typeof value === 'string' && value.toLowerCase() === rule['equals-ignore-case'].toLowerCase();
  if (typeof rule.wildcard === 'string')
    return typeof value === 'string' && wildcardMatch(rule.wildcard, value);
  if (Array.isArray(rule.numeric)) return numericMatch(rule.numeric, value);
  if ('anything-but' in rule) {
    const but = rule['anything-but'];
    if (Array.isArray(but)) return !but.includes(value);
    if (isRecord(but) && typeof but.prefix === 'string')
      return !(typeof value === 'string' && value.startsWith(but.prefix));
    return value !== but;
  }
  return false;
}

export function matchesPattern(pattern: unknown, event: unknown): boolean {
  if (!isRecord(pattern)) return false;
  const source = isRecord(event) ? event : {};
  for (const [key, rule] of Object.entries(pattern)) {
    const present = Object.hasOwn(source, key);
    const value = source[key];
    if (isRecord(rule)) {
      if (!isRecord(value) || !matchesPattern(rule, value)) return false;
      continue;
    }
    if (!Array.isArray(rule)) return false;
    const values = Array.isArray(value) ? value : [value];
    const ok = rule.some((r) =>
      isRecord(r) && 'exists' in r
        ? matchesValue(r, value, present)
        : values.some((v) => matchesValue(r, v, present && v !== undefined)),
    );
    if (!ok) return false;
  }
  return true;
}

function inputFor(rule: ServerlessFunction['eventBridge'][number], event: BusEvent): unknown {
  if (rule.input !== undefined) return rule.input;
  if (rule.inputPath) {
    let node: unknown = event;
    for (const key of rule.inputPath
      .replace(/^\$\.?/, '')
      .split('.')
      .filter(Boolean)) {
      node = isRecord(node) ? node[key] : undefined;
    }
    return node;
  }
  return event;
}

export interface Delivery {
  id: string;
  eventId: string;
  detailType: string;
  function: string;
  status: 'pending' | 'succeeded' | 'failed';
  at: string;
  result?: unknown;
  error?: { errorType: string; errorMessage: string };
}

const LIMIT = 10_000;

export class EventBus {
  private readonly deliveries: Delivery[] = [];
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly lambda: LambdaRuntime,
    private readonly where: () => { account: string; region: string },
    private readonly log: (line: string) => void,
  ) {}

  /** Puts an event on the default bus; returns the deliveries it started. */
  put(
    event: Omit<BusEvent, 'version' | 'id' | 'account' | 'region' | 'time'> & Partial<BusEvent>,
  ): Delivery[] {
    const { account, region } = this.where();
    const full: BusEvent = {
      version: '0',
      id: randomUUID(),
      account,
      region,
      time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      ...event,
    };
    const app = this.lambda.tryConfig();
    const started: Delivery[] = [];
    for (const fn of app?.functions ?? []) {
      for (const rule of fn.eventBridge) {
        if (!matchesPattern(rule.pattern, full)) continue;
        started.push(this.deliver(fn, inputFor(rule, full), full.id, full['detail-type']));
      }
    }
    return started;
  }

  private deliver(fn: ServerlessFunction, input: unknown, eventId: string, detailType: string): Delivery {
    const delivery: Delivery = {
      id: randomUUID(),
      eventId,
      detailType,
      function: fn.functionKey,
      status: 'pending',
      at: new Date().toISOString(),
    };
    this.deliveries.push(delivery);
    if (this.deliveries.length > LIMIT) this.deliveries.splice(0, this.deliveries.length - LIMIT);
    const running = this.lambda.invoke(fn, input).then(
      (outcome) => {
        if (outcome.ok) {
          delivery.status = 'succeeded';
          delivery.result = outcome.payload;
        } else {
          delivery.status = 'failed';
          delivery.error = { errorType: outcome.errorType, errorMessage: outcome.errorMessage };
        }
      },
      (error: unknown) => {
        delivery.status = 'failed';
        delivery.error = { errorType: 'Error', errorMessage: String(error) };
      },
    );
    const tracked = running.finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
    this.log(`eventbridge: ${detailType} → ${fn.functionKey}`);
    return delivery;
  }

  /** Runs a scheduled function now with a Scheduled Event; resolves when it has returned. */
  async runSchedule(functionKey: string): Promise<Delivery> {
    const fn = this.lambda.tryConfig()?.functions.find((f) => f.functionKey === functionKey);
    if (!fn) throw new Error(`no function ${functionKey} in serverless.yml`);
    const schedule = fn.schedules[0];
    if (!schedule) throw new Error(`function ${functionKey} has no schedule event`);
    const { account, region } = this.where();
    const event: BusEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account,
      time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region,
      resources: [`arn:aws:events:${region}:${account}:rule/${fn.functionName}-schedule`],
      detail: {},
    };
    const delivery = this.deliver(fn, schedule.input ?? event, event.id, 'Scheduled Event');
    await this.idle();
    return delivery;
  }

  pendingCount(): number {
    return this.pending.size;
  }

  list(): readonly Delivery[] {
    return this.deliveries;
  }

  /** Resolves when no delivery is pending (including those started meanwhile). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  clear(): void {
    this.deliveries.length = 0;
  }
}
