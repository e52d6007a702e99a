/**
 * CloudWatch Logs over JSON 1.1 (`X-Amz-Target: Logs_20140328.<Operation>`, signing name
 * `logs`): GetLogEvents, FilterLogEvents, DescribeLogStreams, DescribeLogGroups. Reads the JSON
 * members into the model's inputs (models.ts) and renders events, streams and groups as
 * CloudWatch Logs does (epoch-millisecond times).
 */
import { InvalidParameterException } from '../errors/logs';
import {
  optionalBoolean,
  optionalInteger,
  optionalString,
  optionalStringList,
  requiredString,
} from '../json-input';
import { pageAtOffset } from '../pagination';
import type { AwsCallContext, JsonInput, JsonOperation, JsonService } from '../services';
import {
  filterLogEvents,
  getLogEvents,
  type LogGroupRecord,
  type LogStreamRecord,
  logGroupArn,
  logGroups,
  logStreams,
} from './models';

const region = (ctx: AwsCallContext) => ctx.world.region(ctx.regionName);

const GROUP_NAME = /^[.\-_/#A-Za-z0-9]{1,512}$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: CloudWatch Logs refuses ':' and '*' only.
const STREAM_NAME = /^[^:*\u0000]{1,512}$/;

/** `logGroupName`, or the name inside `logGroupIdentifier` (a name or an ARN). */
function groupNameOf(input: JsonInput, required = true): string {
  const name = optionalString(input, 'logGroupName');
  const identifier = optionalString(input, 'logGroupIdentifier');
  if (name !== undefined && identifier !== undefined) {
    throw new InvalidParameterException('LogGroup name and LogGroup ARN are mutually exclusive parameters.');
  }
  const fromArn = identifier?.startsWith('arn:')
    ? /^arn:aws[\w-]*:logs:[\w-]+:\d{12}:log-group:(.+?)(?::\*)?$/.exec(identifier)?.[1]
    : identifier;
  const group = name ?? fromArn;
  if (group === undefined) {
    if (!required) return '';
    throw new InvalidParameterException('Either logGroupName or logGroupIdentifier must be specified.');
  }
  if (!GROUP_NAME.test(group)) {
    throw new InvalidParameterException(
      `1 validation error detected: Value '${group}' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+`,
    );
  }
  return group;
}

function streamNameOf(input: JsonInput, key = 'logStreamName'): string {
  const stream = requiredString(input, key);
  if (!STREAM_NAME.test(stream)) {
    throw new InvalidParameterException(
      `1 validation error detected: Value '${stream}' at '${key}' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*`,
    );
  }
  return stream;
}

function time(input: JsonInput, key: string): number | undefined {
  return optionalInteger(input, key, 0, Number.MAX_SAFE_INTEGER);
}

export const getLogEventsOperation: JsonOperation = (input, ctx) => {
  const out = getLogEvents(region(ctx), {
    groupName: groupNameOf(input),
    streamName: streamNameOf(input),
    startTime: time(input, 'startTime'),
    endTime: time(input, 'endTime'),
    nextToken: optionalString(input, 'nextToken'),
    limit: optionalInteger(input, 'limit', 1, 10_000),
    startFromHead: optionalBoolean(input, 'startFromHead'),
  });
  return {
    events: out.events.map((e) => ({
      timestamp: e.timestamp,
      message: e.message,
      ingestionTime: e.ingestionTime,
    })),
    nextForwardToken: out.nextForwardToken,
    nextBackwardToken: out.nextBackwardToken,
  };
};

export const filterLogEventsOperation: JsonOperation = (input, ctx) => {
  const groupName = groupNameOf(input);
  const streamNames = optionalStringList(input, 'logStreamNames');
  const streamNamePrefix = optionalString(input, 'logStreamNamePrefix');
  if (streamNames !== undefined && streamNamePrefix !== undefined) {
    throw new InvalidParameterException(
      'logStreamNames and logStreamNamePrefix are mutually exclusive parameters.',
    );
  }
  const events = filterLogEvents(region(ctx), {
    groupName,
    ...(streamNames !== undefined ? { streamNames } : {}),
    ...(streamNamePrefix !== undefined ? { streamNamePrefix } : {}),
    startTime: time(input, 'startTime'),
    endTime: time(input, 'endTime'),
    filterPattern: optionalString(input, 'filterPattern'),
  });
  const limit = optionalInteger(input, 'limit', 1, 10_000) ?? 10_000;
  const page = pageAtOffset(
    events,
    limit,
    optionalString(input, 'nextToken'),
    `logs:filter:${ctx.regionName}:${groupName}:${JSON.stringify([streamNames, streamNamePrefix, input.filterPattern, input.startTime, input.endTime])}`,
    () => InvalidParameterException.nextToken(),
  );
  return {
    events: page.items.map((e) => ({
      logStreamName: e.logStreamName,
      timestamp: e.timestamp,
      message: e.message,
      ingestionTime: e.ingestionTime,
      eventId: e.eventId,
    })),
    searchedLogStreams: [],
    ...(page.nextToken ? { nextToken: page.nextToken } : {}),
  };
};

function renderStream(ctx: AwsCallContext, groupName: string, stream: LogStreamRecord) {
  const first = stream.events[0];
  const last = stream.events.at(-1);
  return {
    logStreamName: stream.name,
    creationTime: stream.creationTime,
    ...(first ? { firstEventTimestamp: first.timestamp } : {}),
    ...(last ? { lastEventTimestamp: last.timestamp, lastIngestionTime: last.ingestionTime } : {}),
    uploadSequenceToken: '49039859613988256978829592359806285040981227474920537458',
    arn: `${logGroupArn(ctx.regionName, ctx.world.accountId, groupName)}:log-stream:${stream.name}`,
    storedBytes: 0,
  };
}

export const describeLogStreamsOperation: JsonOperation = (input, ctx) => {
  const groupName = groupNameOf(input);
  const orderBy = optionalString(input, 'orderBy');
  if (orderBy !== undefined && orderBy !== 'LogStreamName' && orderBy !== 'LastEventTime') {
    throw new InvalidParameterException(
      `1 validation error detected: Value '${orderBy}' at 'orderBy' failed to satisfy constraint: Member must satisfy enum value set: [LogStreamName, LastEventTime]`,
    );
  }
  const prefix = optionalString(input, 'logStreamNamePrefix');
  const descending = optionalBoolean(input, 'descending');
  const streams = logStreams(region(ctx), groupName, {
    ...(prefix !== undefined ? { prefix } : {}),
    ...(orderBy !== undefined ? { orderBy } : {}),
    ...(descending !== undefined ? { descending } : {}),
  });
  const page = pageAtOffset(
    streams,
    optionalInteger(input, 'limit', 1, 50) ?? 50,
    optionalString(input, 'nextToken'),
    `logs:streams:${ctx.regionName}:${groupName}:${JSON.stringify([prefix, orderBy, descending])}`,
    () => InvalidParameterException.nextToken(),
  );
  return {
    logStreams: page.items.map((s) => renderStream(ctx, groupName, s)),
    ...(page.nextToken ? { nextToken: page.nextToken } : {}),
  };
};

function renderGroup(ctx: AwsCallContext, group: LogGroupRecord) {
  const arn = logGroupArn(ctx.regionName, ctx.world.accountId, group.name);
  return {
    logGroupName: group.name,
    creationTime: group.creationTime,
    ...(group.retentionInDays !== undefined ? { retentionInDays: group.retentionInDays } : {}),
    metricFilterCount: 0,
    arn: `${arn}:*`,
    logGroupArn: arn,
    storedBytes: 0,
    logGroupClass: 'STANDARD',
  };
}

export const describeLogGroupsOperation: JsonOperation = (input, ctx) => {
  const prefix = optionalString(input, 'logGroupNamePrefix');
  const groups = logGroups(region(ctx), prefix);
  const page = pageAtOffset(
    groups,
    optionalInteger(input, 'limit', 1, 50) ?? 50,
    optionalString(input, 'nextToken'),
    `logs:groups:${ctx.regionName}:${prefix ?? ''}`,
    () => InvalidParameterException.nextToken(),
  );
  return {
    logGroups: page.items.map((g) => renderGroup(ctx, g)),
    ...(page.nextToken ? { nextToken: page.nextToken } : {}),
  };
};

export const logsService: JsonService = {
  name: 'logs',
  contentType: 'application/x-amz-json-1.1',
  operations: {
    GetLogEvents: getLogEventsOperation,
    FilterLogEvents: filterLogEventsOperation,
    DescribeLogStreams: describeLogStreamsOperation,
    DescribeLogGroups: describeLogGroupsOperation,
  },
};
