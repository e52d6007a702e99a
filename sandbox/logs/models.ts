/**
 * CloudWatch Logs' state and rules: log groups, their streams and events, per region in the
 * world store (`RegionState.logGroups`). Services that write logs (CodeBuild) call
 * `appendLogEvents`; reads answer as CloudWatch Logs does: GetLogEvents with forward and backward
 * tokens (`f/<56 digits>/s`, `b/<56 digits>/s`; the forward token comes back unchanged when
 * nothing new has arrived), FilterLogEvents, DescribeLogStreams and DescribeLogGroups. No wire
 * format here (see index.ts).
 */
import { InvalidParameterException, LogsResourceNotFound } from '../errors/logs';
import type { RegionState } from '../world';

export interface LogEventRecord {
  /** Epoch ms the event happened. */
  timestamp: number;
  message: string;
  /** Epoch ms it was received. */
  ingestionTime: number;
}

export interface LogStreamRecord {
  name: string;
  creationTime: number;
  events: LogEventRecord[];
  storedBytes: number;
  /** Events past MAX_EVENTS_PER_STREAM that were dropped. */
  dropped: number;
}

export interface LogGroupRecord {
  name: string;
  creationTime: number;
  retentionInDays?: number;
  streams: Map<string, LogStreamRecord>;
}

/** Bounds on one stream's memory; a build that prints more keeps its first events. */
export const MAX_EVENTS_PER_STREAM = 200_000;
export const MAX_BYTES_PER_STREAM = 64 * 1024 * 1024;
/** CloudWatch Logs' limit on one event (256 KiB less its 26-byte overhead). */
export const MAX_EVENT_BYTES = 262_118;

const TOKEN = /^([fb])\/(\d{56})\/s$/;

export function logGroupArn(region: string, accountId: string, group: string): string {
  return `arn:aws:logs:${region}:${accountId}:log-group:${group}`;
}

export function ensureLogGroup(region: RegionState, name: string, retentionInDays?: number): LogGroupRecord {
  let group = region.logGroups.get(name);
  if (!group) {
    group = {
      name,
      creationTime: Date.now(),
      streams: new Map(),
      ...(retentionInDays !== undefined ? { retentionInDays } : {}),
    };
    region.logGroups.set(name, group);
  }
  return group;
}

export function ensureLogStream(region: RegionState, groupName: string, streamName: string): LogStreamRecord {
  const group = ensureLogGroup(region, groupName);
  let stream = group.streams.get(streamName);
  if (!stream) {
    stream = { name: streamName, creationTime: Date.now(), events: [], storedBytes: 0, dropped: 0 };
    group.streams.set(streamName, stream);
  }
  return stream;
}

/** Appends messages in order, each stamped now (or at `timestamp`). */
export function appendLogEvents(
  region: RegionState,
  groupName: string,
  streamName: string,
  messages: readonly string[],
  timestamp = Date.now(),
): void {
  const stream = ensureLogStream(region, groupName, streamName);
  const now = Date.now();
  for (const raw of messages) {
    const message = Buffer.byteLength(raw) > MAX_EVENT_BYTES ? truncate(raw, MAX_EVENT_BYTES) : raw;
    const size = Buffer.byteLength(message);
    if (stream.events.length >= MAX_EVENTS_PER_STREAM || stream.storedBytes + size > MAX_BYTES_PER_STREAM) {
      stream.dropped += 1;
      continue;
    }
    stream.events.push({ timestamp, message, ingestionTime: now });
    stream.storedBytes += size;
  }
}

function truncate(text: string, bytes: number): string {
  const buffer = Buffer.from(text).subarray(0, bytes);
  return buffer.toString('utf8').replace(/\uFFFD$/, '');
}

function group(region: RegionState, name: string): LogGroupRecord {
  const found = region.logGroups.get(name);
  if (!found) throw LogsResourceNotFound.group();
  return found;
}

function stream(region: RegionState, groupName: string, streamName: string): LogStreamRecord {
  const found = group(region, groupName).streams.get(streamName);
  if (!found) throw LogsResourceNotFound.stream();
  return found;
}

const token = (direction: 'f' | 'b', position: number) =>
  `${direction}/${String(position).padStart(56, '0')}/s`;

function parseToken(text: string): { direction: 'f' | 'b'; position: number } {
  const match = TOKEN.exec(text);
  const position = match?.[2] === undefined ? Number.NaN : Number(match[2]);
  if (!match || !Number.isSafeInteger(position)) throw InvalidParameterException.nextToken();
  return { direction: match[1] as 'f' | 'b', position };
}

export interface GetLogEventsInput {
  groupName: string;
  streamName: string;
  startTime?: number;
  endTime?: number;
  nextToken?: string;
  limit?: number;
  startFromHead?: boolean;
}

export interface GetLogEventsOutput {
  events: LogEventRecord[];
  nextForwardToken: string;
  nextBackwardToken: string;
}

/**
 * GetLogEvents. Positions count events in the stream; a forward token reads on from its
 * position, a backward token reads the events before it. Without a token, the first `limit`
 * events (startFromHead) or the last `limit` (the default, as CloudWatch Logs does).
 */
export function getLogEvents(region: RegionState, input: GetLogEventsInput): GetLogEventsOutput {
  const events = stream(region, input.groupName, input.streamName).events;
  const limit = input.limit ?? 10_000;
  const inTime = (event: LogEventRecord) =>
    (input.startTime === undefined || event.timestamp >= input.startTime) &&
    (input.endTime === undefined || event.timestamp < input.endTime);
  let direction: 'f' | 'b';
  let from: number;
  if (input.nextToken !== undefined) {
    const parsed = parseToken(input.nextToken);
    direction = parsed.direction;
    from = Math.min(parsed.position, events.length);
  } else if (input.startFromHead) {
    direction = 'f';
    from = 0;
  } else {
    direction = 'b';
    from = events.length;
  }
  if (direction === 'f') {
    const found: LogEventRecord[] = [];
    let at = from;
    while (at < events.length && found.length < limit) {
      const event = events[at] as LogEventRecord;
      if (inTime(event)) found.push(event);
      at += 1;
    }
    return { events: found, nextForwardToken: token('f', at), nextBackwardToken: token('b', from) };
  }
  const found: LogEventRecord[] = [];
  let at = from;
  while (at > 0 && found.length < limit) {
    const event = events[at - 1] as LogEventRecord;
    if (inTime(event)) found.unshift(event);
    at -= 1;
  }
  return { events: found, nextForwardToken: token('f', from), nextBackwardToken: token('b', at) };
}

export interface FilteredEvent extends LogEventRecord {
  logStreamName: string;
  eventId: string;
}

export interface FilterLogEventsInput {
  groupName: string;
  streamNames?: string[];
  streamNamePrefix?: string;
  startTime?: number;
  endTime?: number;
  filterPattern?: string;
}

/**
 * CloudWatch Logs' filter pattern for unstructured events, the part the sandbox understands:
 * empty matches everything; terms (bare or "quoted") must all appear; `?term ?term` any of them;
 * `-term` must not appear. JSON (`{ … }`) and space-delimited (`[ … ]`) patterns are refused.
 */
export function compileFilterPattern(pattern: string | undefined): (message: string) => boolean {
  const text = (pattern ?? '').trim();
  if (text === '') return () => true;
  if (text.startsWith('{') || text.startsWith('[')) {
    throw new InvalidParameterException(
      'The sandbox understands only term filter patterns (words, "quoted phrases", ?any, -not)',
    );
  }
  const terms = [...text.matchAll(/([?-]?)(?:"((?:[^"\\]|\\.)*)"|(\S+))/g)].map((m) => ({
    prefix: m[1] ?? '',
    term: (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1'),
  }));
  const all = terms.filter((t) => t.prefix === '').map((t) => t.term);
  const any = terms.filter((t) => t.prefix === '?').map((t) => t.term);
  const none = terms.filter((t) => t.prefix === '-').map((t) => t.term);
  return (message) =>
    all.every((t) => message.includes(t)) &&
    (any.length === 0 || any.some((t) => message.includes(t))) &&
    !none.some((t) => message.includes(t));
}

/** Every matching event of the group, by time then stream, with CloudWatch-style event ids. */
export function filterLogEvents(region: RegionState, input: FilterLogEventsInput): FilteredEvent[] {
  const found = group(region, input.groupName);
  const matches = compileFilterPattern(input.filterPattern);
  const out: FilteredEvent[] = [];
  const streams = [...found.streams.values()].filter(
    (s) =>
      (input.streamNames === undefined || input.streamNames.includes(s.name)) &&
      (input.streamNamePrefix === undefined || s.name.startsWith(input.streamNamePrefix)),
  );
  streams.forEach((s, streamIndex) => {
    s.events.forEach((event, index) => {
      if (input.startTime !== undefined && event.timestamp < input.startTime) return;
      if (input.endTime !== undefined && event.timestamp > input.endTime) return;
      if (!matches(event.message)) return;
      out.push({
        ...event,
        logStreamName: s.name,
        eventId: `${String(event.timestamp).padStart(20, '0')}${String(streamIndex).padStart(8, '0')}${String(index).padStart(28, '0')}`,
      });
    });
  });
  return out.sort((a, b) => a.timestamp - b.timestamp || a.eventId.localeCompare(b.eventId));
}

export function logStreams(
  region: RegionState,
  groupName: string,
  options: { prefix?: string; orderBy?: 'LogStreamName' | 'LastEventTime'; descending?: boolean },
): LogStreamRecord[] {
  if (options.prefix !== undefined && options.orderBy === 'LastEventTime') {
    throw new InvalidParameterException('Cannot order by LastEventTime with a logStreamNamePrefix.');
  }
  const streams = [...group(region, groupName).streams.values()];
  const last = (s: LogStreamRecord) => s.events.at(-1)?.timestamp ?? 0;
  streams.sort((a, b) =>
    options.orderBy === 'LastEventTime'
      ? last(a) - last(b) || a.name.localeCompare(b.name)
      : a.name.localeCompare(b.name),
  );
  if (options.descending) streams.reverse();
  return streams.filter((s) => options.prefix === undefined || s.name.startsWith(options.prefix));
}

export function logGroups(region: RegionState, prefix?: string): LogGroupRecord[] {
  return [...region.logGroups.values()]
    .filter((g) => prefix === undefined || g.name.startsWith(prefix))
    .sort((a, b) => a.name.localeCompare(b.name));
}
