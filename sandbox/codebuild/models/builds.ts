/**
 * CodeBuild's rules: StartBuild (the project from serverless.yml, environment overrides,
 * idempotency tokens, the buildFails fault), BatchGetBuilds, StopBuild, ListBuildsForProject.
 * Builds are records in the region's store; running one is runner.ts. No wire format here.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  AccountLimitExceededException,
  CodeBuildResourceNotFound,
  InvalidInputException,
} from '../../errors/codebuild';
import type { ServerlessCodeBuildProject } from '../../serverless-config';
import type { World } from '../../world';
import type { CodeBuild } from '../engine';
import { runBuild } from '../runner';
import type { BuildRecord, EnvironmentVariable, EnvironmentVariableType } from './records';

/** How long an idempotency token answers the same build (AWS: 5 minutes). */
const TOKEN_AWS_SECONDS = 300;
const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,254}$/;
const MAX_VALUE = 64 * 1024;
const MAX_OVERRIDES = 200;
/** Builds running at once in the sandbox (each is real processes on this machine). */
export const MAX_RUNNING_BUILDS = 20;

export interface StartBuildInput {
  /** A project name or ARN. */
  projectName: string;
  environmentVariablesOverride?: { name: string; value: string; type?: EnvironmentVariableType }[];
  idempotencyToken?: string;
  buildspecOverride?: string;
  timeoutInMinutesOverride?: number;
  /** Who started it (`states/<execution>` for Step Functions); default the sandbox's user. */
  initiator?: string;
}

export function projectArn(region: string, accountId: string, name: string): string {
  return `arn:aws:codebuild:${region}:${accountId}:project/${name}`;
}

function codeBuild(world: World): CodeBuild {
  const engine = world.codeBuild;
  if (!engine) throw new InvalidInputException('CodeBuild is not running in this sandbox');
  return engine;
}

/** The project a name or ARN names, in this region. */
export function findProject(world: World, region: string, nameOrArn: string): ServerlessCodeBuildProject {
  const arn = /^arn:aws[\w-]*:codebuild:([\w-]+):(\d{12}):project\/(.+)$/.exec(nameOrArn);
  const name = arn?.[3] ?? nameOrArn;
  const project =
    arn && (arn[1] !== region || arn[2] !== world.accountId)
      ? undefined
      : codeBuild(world).project(region, name);
  if (!project) throw CodeBuildResourceNotFound.project(projectArn(region, world.accountId, name));
  return project;
}

/** Checks the overrides as CodeBuild does (names, reserved prefix, types, sizes). */
function checkOverrides(overrides: NonNullable<StartBuildInput['environmentVariablesOverride']>): void {
  if (overrides.length > MAX_OVERRIDES) {
    throw new InvalidInputException(`At most ${MAX_OVERRIDES} environment variables can be overridden`);
  }
  for (const variable of overrides) {
    if (variable.name.startsWith('CODEBUILD_')) {
      throw new InvalidInputException(
        `Invalid environment variable: ${variable.name}. Environment variable names cannot start with CODEBUILD_`,
      );
    }
    if (!NAME.test(variable.name)) {
      throw new InvalidInputException(
        `Invalid environment variable name: ${variable.name} (the sandbox runs builds with bash: a shell name is required)`,
      );
    }
    if (variable.value.length > MAX_VALUE || variable.value.includes('\0')) {
      throw new InvalidInputException(`Invalid environment variable value for ${variable.name}`);
    }
    if (variable.type === 'SECRETS_MANAGER') {
      throw new InvalidInputException('SECRETS_MANAGER environment variables are not served by the sandbox');
    }
  }
}

/** The value of one variable: PARAMETER_STORE ones from the region's SSM parameters. */
function resolveVariable(world: World, region: string, variable: EnvironmentVariable): string {
  if (variable.type !== 'PARAMETER_STORE') return variable.value;
  const parameter = world.region(region).parameters.get(variable.value);
  if (!parameter) {
    throw new InvalidInputException(`Parameter Store parameter does not exist: ${variable.value}`);
  }
  return parameter.value;
}

function fingerprint(project: string, input: StartBuildInput): string {
  return createHash('sha256')
    .update(
      JSON.stringify([
        project,
        input.environmentVariablesOverride ?? [],
        input.buildspecOverride ?? null,
        input.timeoutInMinutesOverride ?? null,
      ]),
    )
    .digest('hex');
}

export function startBuild(world: World, region: string, input: StartBuildInput): BuildRecord {
  const engine = codeBuild(world);
  const project = findProject(world, region, input.projectName);
  const overrides = input.environmentVariablesOverride ?? [];
  checkOverrides(overrides);
  const state = world.region(region);
  const now = Date.now();
  if (input.idempotencyToken !== undefined) {
    const earlier = state.buildTokens.get(input.idempotencyToken);
    if (earlier && earlier.until > now) {
      if (earlier.fingerprint !== fingerprint(project.name, input)) {
        throw new InvalidInputException(
          'The idempotency token was used before with other parameters (idempotent parameter mismatch)',
        );
      }
      const build = state.builds.get(earlier.buildId);
      if (build) return build;
    }
  }

  const limit = project.concurrentBuildLimit;
  if (limit !== undefined) {
    const active = [...state.builds.values()].filter(
      (b) => b.projectName === project.name && engine.runningBuild(b) !== undefined,
    ).length;
    if (active >= limit) {
      throw new AccountLimitExceededException(
        `Cannot have more than ${limit} active builds for the project ${project.name}`,
      );
    }
  }
  if (engine.runningCount >= MAX_RUNNING_BUILDS) {
    throw new AccountLimitExceededException(
      `Cannot have more than ${MAX_RUNNING_BUILDS} active builds for the account`,
    );
  }
  const variables: EnvironmentVariable[] = [
    ...project.environmentVariables,
    ...overrides.map((v) => ({ name: v.name, value: v.value, type: v.type ?? ('PLAINTEXT' as const) })),
  ];
  const environment: Record<string, string> = {};
  for (const variable of variables) {
    // A project variable that is not a shell name cannot reach a bash build: left out.
    if (!NAME.test(variable.name) || variable.name.startsWith('CODEBUILD_')) continue;
    environment[variable.name] = resolveVariable(world, region, variable);
  }

  const uuid = randomUUID();
  const id = `${project.name}:${uuid}`;
  const arn = `arn:aws:codebuild:${region}:${world.accountId}:build/${id}`;
  const buildNumber = (state.buildNumbers.get(project.name) ?? 0) + 1;
  state.buildNumbers.set(project.name, buildNumber);
  const streamName = project.logStreamPrefix ? `${project.logStreamPrefix}/${uuid}` : uuid;
  const timeoutInMinutes = input.timeoutInMinutesOverride ?? project.timeoutInMinutes;
  const initiator = input.initiator ?? 'pulsar-ami-sandbox';
  const buildspec = input.buildspecOverride ?? project.buildSpec;
  const record: BuildRecord = {
    id,
    arn,
    buildNumber,
    projectName: project.name,
    startTime: now,
    currentPhase: 'SUBMITTED',
    buildStatus: 'IN_PROGRESS',
    buildComplete: false,
    phases: [],
    source: {
      type: project.sourceType,
      ...(project.sourceLocation !== undefined ? { location: project.sourceLocation } : {}),
      buildspec,
    },
    environment: { ...project.environment, environmentVariables: variables },
    serviceRole: project.serviceRole,
    logs: { groupName: project.logGroupName, streamName },
    timeoutInMinutes,
    queuedTimeoutInMinutes: project.queuedTimeoutInMinutes,
    initiator,
    exportedEnvironmentVariables: [],
    ...(input.idempotencyToken !== undefined ? { idempotencyToken: input.idempotencyToken } : {}),
  };
  state.builds.set(id, record);
  if (input.idempotencyToken !== undefined) {
    state.buildTokens.set(input.idempotencyToken, {
      fingerprint: fingerprint(project.name, input),
      buildId: id,
      until: now + world.timeline.ms(TOKEN_AWS_SECONDS),
    });
  }
  const faultReason = world.faults.buildFails(project.name);
  const run = runBuild(engine, {
    region: state,
    regionName: region,
    record,
    uuid,
    buildspec,
    environment,
    builtins: {
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      CODEBUILD_BUILD_ID: id,
      CODEBUILD_BUILD_ARN: arn,
      CODEBUILD_BUILD_NUMBER: String(buildNumber),
      CODEBUILD_BUILD_IMAGE: project.environment.image,
      CODEBUILD_INITIATOR: initiator,
      CODEBUILD_SRC_DIR: '/codebuild/output/src',
      CODEBUILD_START_TIME: String(now),
      CODEBUILD_LOG_PATH: streamName,
      CODEBUILD_PROJECT_ARN: projectArn(region, world.accountId, project.name),
      CODEBUILD_CI: 'true',
    },
    ...(faultReason !== undefined ? { faultReason } : {}),
  });
  engine.track(record, run);
  return record;
}

/** The builds these ids name, in the order asked, and the ids that name none. */
export function batchGetBuilds(
  world: World,
  region: string,
  ids: readonly string[],
): { builds: BuildRecord[]; notFound: string[] } {
  const state = world.region(region);
  const builds: BuildRecord[] = [];
  const notFound: string[] = [];
  for (const raw of ids) {
    const arn = /^arn:aws[\w-]*:codebuild:([\w-]+):(\d{12}):build\/(.+)$/.exec(raw);
    const id = arn?.[3] ?? raw;
    const build = arn && arn[1] !== region ? undefined : state.builds.get(id);
    if (build) builds.push(build);
    else notFound.push(raw);
  }
  return { builds, notFound };
}

export function stopBuild(world: World, region: string, id: string): BuildRecord {
  const [build] = batchGetBuilds(world, region, [id]).builds;
  if (!build) throw CodeBuildResourceNotFound.build(id);
  if (build.buildComplete || build.buildStatus !== 'IN_PROGRESS') {
    throw new InvalidInputException(`Failed to stop build: Build ${build.id} is not in progress`);
  }
  world.codeBuild?.runningBuild(build)?.stop('STOPPED');
  return build;
}

/** A project's build ids, newest first unless ASCENDING. */
export function listBuildsForProject(
  world: World,
  region: string,
  projectName: string,
  ascending: boolean,
): string[] {
  const project = findProject(world, region, projectName);
  const ids = [...world.region(region).builds.values()]
    .filter((b) => b.projectName === project.name)
    .map((b) => b.id);
  return ascending ? ids : ids.reverse();
}

/** Resolves when the build has ended. */
export function buildEnded(world: World, build: BuildRecord): Promise<void> {
  return world.codeBuild?.whenComplete(build) ?? Promise.resolve();
}
