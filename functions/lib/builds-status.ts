/**
 * Where builds are (`GET /builds`, `GET /builds/{id}`): the BuildAmi execution and a bounded
 * read of its history (builds-progress.ts), the CodeBuild build it ran (BatchGetBuilds: its
 * phase while it runs, the failed phase's reason after), and the nested ValidateAmi execution
 * (told as `GET /validations/{id}` tells it).
 */
import { BatchGetBuildsCommand, type Build, type CodeBuildClient } from '@aws-sdk/client-codebuild';
import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  type ListExecutionsCommandOutput,
} from '@aws-sdk/client-sfn';
import type {
  BuildListResponse,
  BuildResponse,
  BuildSummary,
  CodeBuildStatus,
  ValidationResponse,
} from './api-types';
import { commandReason } from './build-outcome';
import { buildLogGroup, buildMachineArn, logStreamOf } from './builds';
import { type BuildReferences, buildProgress } from './builds-progress';
import type { Config } from './config';
import { awsCall, BuildNotFoundError, InvalidInputError } from './errors';
import { executionStatus, iso, isRecord } from './execution-progress';
import { describeExecution, executionArnFor, readHistory, type Sfn } from './executions';
import { field, parseJsonObject, text } from './json';
import { logger } from './logger';
import { describeValidation } from './validation-status';

export type CodeBuild = Pick<CodeBuildClient, 'send'>;

export type BuildStatusSettings = Pick<Config, 'build'>;

/** CodeBuild's description of a build (the SDK's camelCase, or the PascalCase a .sync task recorded) → ours. */
export function codeBuildStatus(
  id: string,
  build: Record<string, unknown> | undefined,
  settings: BuildStatusSettings,
): CodeBuildStatus {
  const phases = Array.isArray(field(build, 'Phases')) ? (field(build, 'Phases') as unknown[]) : [];
  const logsField = field(build, 'Logs');
  const logs = isRecord(logsField) ? logsField : undefined;
  return {
    id,
    status: text(field(build, 'BuildStatus')) ?? null,
    currentPhase: text(field(build, 'CurrentPhase')) ?? null,
    phases: phases.filter(isRecord).map((p) => {
      const contexts = Array.isArray(field(p, 'Contexts')) ? (field(p, 'Contexts') as unknown[]) : [];
      const reason = contexts
        .filter(isRecord)
        .map((c) =>
          [text(field(c, 'StatusCode')), commandReason(text(field(c, 'Message')))].filter(Boolean).join(': '),
        )
        .filter((r) => r !== '')
        .join('; ');
      const startedAt = iso(field(p, 'StartTime') as Date | string | number | undefined);
      const endedAt = iso(field(p, 'EndTime') as Date | string | number | undefined);
      const duration = field(p, 'DurationInSeconds');
      return {
        phase: text(field(p, 'PhaseType')) ?? 'UNKNOWN',
        status: text(field(p, 'PhaseStatus')) ?? null,
        ...(startedAt ? { startedAt } : {}),
        ...(endedAt ? { endedAt } : {}),
        ...(typeof duration === 'number' ? { durationSeconds: duration } : {}),
        ...(reason ? { reason } : {}),
      };
    }),
    logGroup: text(field(logs, 'GroupName')) ?? buildLogGroup(settings),
    logStream: text(field(logs, 'StreamName')) ?? logStreamOf(id),
  };
}

/** BatchGetBuilds of the build, else what the history recorded; a failure to ask is logged, not fatal. */
async function codeBuildOf(
  codebuild: CodeBuild,
  refs: BuildReferences,
  settings: BuildStatusSettings,
): Promise<CodeBuildStatus | undefined> {
  const id = refs.codeBuildId;
  if (!id) return undefined;
  let build: Build | undefined;
  try {
    build = (await codebuild.send(new BatchGetBuildsCommand({ ids: [id] }))).builds?.[0];
  } catch (error) {
    logger.warn('BatchGetBuilds failed', { codeBuildId: id, error: error as Error });
  }
  return codeBuildStatus(id, (build as Record<string, unknown> | undefined) ?? refs.recordedBuild, settings);
}

async function validationOf(sfn: Sfn, refs: BuildReferences): Promise<ValidationResponse | undefined> {
  if (!refs.validationExecutionArn) return undefined;
  try {
    return await describeValidation(sfn, refs.validationExecutionArn);
  } catch (error) {
    logger.warn('The nested validation could not be read', {
      executionArn: refs.validationExecutionArn,
      error: error as Error,
    });
    return undefined;
  }
}

/** Where build `buildId` is: status, steps, CodeBuild phase, AMI, validation results, error, timing. */
export async function getBuild(
  clients: { sfn: Sfn; codebuild: CodeBuild },
  settings: BuildStatusSettings,
  buildId: string,
  now: Date = new Date(),
): Promise<BuildResponse> {
  const executionArn = executionArnFor(buildMachineArn(settings), buildId);
  const execution = await describeExecution(clients.sfn, executionArn, () => new BuildNotFoundError(buildId));
  const { events, truncated } = await readHistory(clients.sfn, executionArn);
  const { progress, references } = buildProgress(execution, events, truncated, now);
  const [codeBuild, validation] = await Promise.all([
    codeBuildOf(clients.codebuild, references, settings),
    validationOf(clients.sfn, references),
  ]);
  return {
    buildId,
    executionArn: execution.executionArn ?? executionArn,
    ...progress,
    ...(codeBuild ? { codeBuild } : {}),
    ...(validation ? { validation } : {}),
  };
}

/** What a `GET /builds` token holds: Step Functions' own token. */
export const MAX_TOKEN_LENGTH = 3000;

/** The machine's builds, newest first (Step Functions lists that way), one page of `limit`. */
export async function listBuilds(
  sfn: Sfn,
  settings: BuildStatusSettings,
  page: { limit: number; nextToken?: string },
): Promise<BuildListResponse> {
  const stateMachineArn = buildMachineArn(settings);
  let listed: ListExecutionsCommandOutput;
  try {
    listed = await sfn.send(
      new ListExecutionsCommand({
        stateMachineArn,
        maxResults: page.limit,
        ...(page.nextToken ? { nextToken: page.nextToken } : {}),
      }),
    );
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === 'InvalidToken' || (page.nextToken && name === 'ValidationException')) {
      throw new InvalidInputError([
        { field: 'nextToken', message: 'nextToken is not a token this API issued' },
      ]);
    }
    return awsCall('Step Functions', Promise.reject(error));
  }
  const items = await Promise.all(
    (listed.executions ?? []).map(async (item): Promise<BuildSummary> => {
      const executionArn = item.executionArn ?? '';
      const described = await awsCall(
        'Step Functions',
        sfn.send(new DescribeExecutionCommand({ executionArn })),
      );
      const input = parseJsonObject(described.input);
      const output = parseJsonObject(described.output);
      const startedAt = iso(item.startDate ?? described.startDate) ?? '';
      const stoppedAt = iso(item.stopDate ?? described.stopDate);
      const amiId = typeof output?.amiId === 'string' ? output.amiId : undefined;
      return {
        buildId: item.name ?? executionArn.slice(executionArn.lastIndexOf(':') + 1),
        executionArn,
        status: executionStatus(described.status ?? item.status),
        version: typeof input?.version === 'string' ? input.version : null,
        instanceType: typeof input?.instanceType === 'string' ? input.instanceType : null,
        architecture: typeof input?.architecture === 'string' ? input.architecture : null,
        ...(amiId ? { amiId } : {}),
        startedAt,
        ...(stoppedAt ? { stoppedAt } : {}),
      };
    }),
  );
  return listed.nextToken ? { items, nextToken: listed.nextToken } : { items };
}
