/**
 * A build's output (`GET /builds/{id}/logs?nextToken=`): the CodeBuild build's CloudWatch Logs
 * stream (Packer's output among the buildspec's), oldest first, read forward with
 * GetLogEvents. The first call finds the build in the execution's history; the token it returns
 * names the stream and CloudWatch's forward token, so following calls read the logs alone. At
 * the end of the stream the token stays the same, and a later call gets what was written since.
 */
import {
  type CloudWatchLogsClient,
  GetLogEventsCommand,
  type GetLogEventsCommandOutput,
} from '@aws-sdk/client-cloudwatch-logs';
import type { BuildLogsResponse } from './api-types';
import { buildLogGroup, buildMachineArn, CODEBUILD_ID_PATTERN, logStreamOf } from './builds';
import { buildProgress } from './builds-progress';
import type { Config } from './config';
import { awsCall, BuildNotFoundError, InvalidInputError } from './errors';
import { iso } from './execution-progress';
import { describeExecution, executionArnFor, readHistory, type Sfn } from './executions';

export type Logs = Pick<CloudWatchLogsClient, 'send'>;

/** GetLogEvents pages read in one request while they come back empty with a new token. */
export const EMPTY_PAGES_FOLLOWED = 5;

interface Cursor {
  /** The build the token was issued for. */
  b: string;
  /** The CodeBuild build id. */
  c: string;
  /** CloudWatch's forward token; absent before the first page. */
  t?: string;
}

export function encodeLogToken(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

/** The cursor of a token this API issued for `buildId`, or null. */
export function decodeLogToken(token: string, buildId: string): Cursor | null {
  try {
    const value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<Cursor>;
    if (value.b !== buildId || typeof value.c !== 'string' || !CODEBUILD_ID_PATTERN.test(value.c))
      return null;
    if (value.t !== undefined && (typeof value.t !== 'string' || value.t.length > 2048)) return null;
    return { b: value.b, c: value.c, ...(value.t !== undefined ? { t: value.t } : {}) };
  } catch {
    return null;
  }
}

/** The CodeBuild build that build `buildId` started, from its execution's history; null before it started one. */
async function codeBuildIdOf(
  sfn: Sfn,
  settings: Pick<Config, 'build'>,
  buildId: string,
): Promise<string | null> {
  const executionArn = executionArnFor(buildMachineArn(settings), buildId);
  const execution = await describeExecution(sfn, executionArn, () => new BuildNotFoundError(buildId));
  const { events } = await readHistory(sfn, executionArn);
  return buildProgress(execution, events).references.codeBuildId ?? null;
}

export async function getBuildLogs(
  clients: { sfn: Sfn; logs: Logs },
  settings: Pick<Config, 'build'>,
  buildId: string,
  nextToken?: string,
): Promise<BuildLogsResponse> {
  const logGroup = buildLogGroup(settings);
  let cursor: Cursor;
  if (nextToken !== undefined) {
    const decoded = decodeLogToken(nextToken, buildId);
    if (!decoded) {
      throw new InvalidInputError([
        { field: 'nextToken', message: `nextToken is not a token this API issued for ${buildId}` },
      ]);
    }
    cursor = decoded;
  } else {
    const codeBuildId = await codeBuildIdOf(clients.sfn, settings, buildId);
    if (!codeBuildId) return { buildId, codeBuildId: null, logGroup, logStream: null, events: [] };
    cursor = { b: buildId, c: codeBuildId };
  }
  const logStream = logStreamOf(cursor.c);
  const events: BuildLogsResponse['events'] = [];
  let token = cursor.t;
  for (let page = 0; page < EMPTY_PAGES_FOLLOWED; page++) {
    let answer: GetLogEventsCommandOutput;
    try {
      answer = await clients.logs.send(
        new GetLogEventsCommand({
          logGroupName: logGroup,
          logStreamName: logStream,
          startFromHead: true,
          ...(token ? { nextToken: token } : {}),
        }),
      );
    } catch (error) {
      // The stream is made when the build writes its first line.
      if ((error as { name?: string }).name === 'ResourceNotFoundException') break;
      return awsCall('CloudWatch Logs', Promise.reject(error));
    }
    for (const event of answer.events ?? []) {
      events.push({
        timestamp: iso(event.timestamp) ?? '',
        message: (event.message ?? '').replace(/\r?\n$/, ''),
      });
    }
    const next = answer.nextForwardToken;
    const moved = next !== undefined && next !== token;
    if (next) token = next;
    if (events.length > 0 || !moved) break;
  }
  return {
    buildId,
    codeBuildId: cursor.c,
    logGroup,
    logStream,
    events,
    nextToken: encodeLogToken({ b: buildId, c: cursor.c, ...(token ? { t: token } : {}) }),
  };
}
