/**
 * CodeBuild over JSON 1.1 (`X-Amz-Target: CodeBuild_20161006.<Operation>`, signing name
 * `codebuild`): StartBuild, BatchGetBuilds, StopBuild, ListBuildsForProject. Reads the JSON
 * members into the model's inputs (models/builds.ts) and renders builds as CodeBuild does
 * (epoch-second times, phases with durations and contexts, logs with a console deep link).
 */
import { InvalidInputException } from '../errors/codebuild';
import { optionalInteger, optionalString, requiredString } from '../json-input';
import { pageAtOffset } from '../pagination';
import type { AwsCallContext, JsonInput, JsonOperation, JsonService } from '../services';
import {
  batchGetBuilds,
  listBuildsForProject,
  type StartBuildInput,
  startBuild,
  stopBuild,
} from './models/builds';
import type { BuildRecord, EnvironmentVariableType } from './models/records';

const seconds = (ms: number) => ms / 1000;

/** A build as BatchGetBuilds (and StartBuild, StopBuild) answer it. */
export function renderBuild(build: BuildRecord, region: string, accountId: string) {
  const { groupName, streamName } = build.logs;
  return {
    id: build.id,
    arn: build.arn,
    buildNumber: build.buildNumber,
    startTime: seconds(build.startTime),
    ...(build.endTime !== undefined ? { endTime: seconds(build.endTime) } : {}),
    currentPhase: build.currentPhase,
    buildStatus: build.buildStatus,
    projectName: build.projectName,
    phases: build.phases.map((phase) => ({
      phaseType: phase.phaseType,
      ...(phase.phaseStatus !== undefined ? { phaseStatus: phase.phaseStatus } : {}),
      startTime: seconds(phase.startTime),
      ...(phase.endTime !== undefined
        ? {
            endTime: seconds(phase.endTime),
            durationInSeconds: Math.floor((phase.endTime - phase.startTime) / 1000),
          }
        : {}),
      ...(phase.contexts !== undefined ? { contexts: phase.contexts } : {}),
    })),
    source: { ...build.source, insecureSsl: false },
    secondarySources: [],
    secondarySourceVersions: [],
    artifacts: { location: '' },
    secondaryArtifacts: [],
    cache: { type: 'NO_CACHE' },
    environment: {
      type: build.environment.type,
      image: build.environment.image,
      computeType: build.environment.computeType,
      environmentVariables: build.environment.environmentVariables,
      privilegedMode: false,
      imagePullCredentialsType: 'CODEBUILD',
    },
    ...(build.serviceRole !== undefined ? { serviceRole: build.serviceRole } : {}),
    logs: {
      groupName,
      streamName,
      deepLink: `https://console.aws.amazon.com/cloudwatch/home?region=${region}#logEvent:group=${encodeURIComponent(groupName)};stream=${encodeURIComponent(streamName)}`,
      cloudWatchLogsArn: `arn:aws:logs:${region}:${accountId}:log-group:${groupName}:log-stream:${streamName}`,
      cloudWatchLogs: { status: 'ENABLED', groupName },
      s3Logs: { status: 'DISABLED', encryptionDisabled: false },
    },
    timeoutInMinutes: build.timeoutInMinutes,
    queuedTimeoutInMinutes: build.queuedTimeoutInMinutes,
    buildComplete: build.buildComplete,
    initiator: build.initiator,
    encryptionKey: `arn:aws:kms:${region}:${accountId}:alias/aws/s3`,
    exportedEnvironmentVariables: build.exportedEnvironmentVariables,
  };
}

const TYPES: readonly EnvironmentVariableType[] = ['PLAINTEXT', 'PARAMETER_STORE', 'SECRETS_MANAGER'];

function overridesOf(input: JsonInput): StartBuildInput['environmentVariablesOverride'] {
  const raw = input.environmentVariablesOverride;
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw)) throw new InvalidInputException('environmentVariablesOverride must be a list');
  return raw.map((item, index) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new InvalidInputException(`environmentVariablesOverride.${index + 1} must be an object`);
    }
    const { name, value, type } = item as Record<string, unknown>;
    if (typeof name !== 'string' || name.length === 0 || typeof value !== 'string') {
      throw new InvalidInputException(
        `environmentVariablesOverride.${index + 1} needs a name and a value (strings)`,
      );
    }
    if (type !== undefined && !TYPES.includes(type as EnvironmentVariableType)) {
      throw new InvalidInputException(
        `environmentVariablesOverride.${index + 1}.type must be one of ${TYPES.join(', ')}`,
      );
    }
    return { name, value, ...(type !== undefined ? { type: type as EnvironmentVariableType } : {}) };
  });
}

export const startBuildOperation: JsonOperation = (input, ctx) => {
  const projectName = requiredString(input, 'projectName');
  const idempotencyToken = optionalString(input, 'idempotencyToken');
  if (idempotencyToken !== undefined && (idempotencyToken.length === 0 || idempotencyToken.length > 128)) {
    throw new InvalidInputException('idempotencyToken must have 1 to 128 characters');
  }
  const buildspecOverride = optionalString(input, 'buildspecOverride');
  const timeoutInMinutesOverride = optionalInteger(input, 'timeoutInMinutesOverride', 5, 2160);
  const overrides = overridesOf(input);
  const build = startBuild(ctx.world, ctx.regionName, {
    projectName,
    ...(overrides !== undefined ? { environmentVariablesOverride: overrides } : {}),
    ...(idempotencyToken !== undefined ? { idempotencyToken } : {}),
    ...(buildspecOverride !== undefined ? { buildspecOverride } : {}),
    ...(timeoutInMinutesOverride !== undefined ? { timeoutInMinutesOverride } : {}),
  });
  return { build: renderBuild(build, ctx.regionName, ctx.world.accountId) };
};

export const batchGetBuildsOperation: JsonOperation = (input, ctx: AwsCallContext) => {
  const ids = input.ids;
  if (
    !Array.isArray(ids) ||
    ids.length === 0 ||
    ids.length > 100 ||
    !ids.every((id) => typeof id === 'string')
  ) {
    throw new InvalidInputException('ids must be a list of 1 to 100 build ids');
  }
  const { builds, notFound } = batchGetBuilds(ctx.world, ctx.regionName, ids as string[]);
  return {
    builds: builds.map((b) => renderBuild(b, ctx.regionName, ctx.world.accountId)),
    buildsNotFound: notFound,
  };
};

export const stopBuildOperation: JsonOperation = (input, ctx) => {
  const build = stopBuild(ctx.world, ctx.regionName, requiredString(input, 'id'));
  return { build: renderBuild(build, ctx.regionName, ctx.world.accountId) };
};

export const listBuildsForProjectOperation: JsonOperation = (input, ctx) => {
  const projectName = requiredString(input, 'projectName');
  const sortOrder = optionalString(input, 'sortOrder') ?? 'DESCENDING';
  if (sortOrder !== 'ASCENDING' && sortOrder !== 'DESCENDING') {
    throw new InvalidInputException('sortOrder must be ASCENDING or DESCENDING');
  }
  const ids = listBuildsForProject(ctx.world, ctx.regionName, projectName, sortOrder === 'ASCENDING');
  const page = pageAtOffset(
    ids,
    100,
    optionalString(input, 'nextToken'),
    `codebuild:builds:${ctx.regionName}:${projectName}:${sortOrder}`,
    () => InvalidInputException.nextToken(),
  );
  return { ids: page.items, ...(page.nextToken ? { nextToken: page.nextToken } : {}) };
};

export const codeBuildService: JsonService = {
  name: 'codebuild',
  contentType: 'application/x-amz-json-1.1',
  operations: {
    StartBuild: startBuildOperation,
    BatchGetBuilds: batchGetBuildsOperation,
    StopBuild: stopBuildOperation,
    ListBuildsForProject: listBuildsForProjectOperation,
  },
};
