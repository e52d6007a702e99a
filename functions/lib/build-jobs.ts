/**
 * The CodeBuild builds of a BuildAmi execution, found by the BUILD_EXECUTION_ARN the machine
 * passes to each build, for the safety net: an execution that failed, timed out or was
 * aborted has any build of it still running stopped. Only the project's newest builds are
 * looked at (an execution's build is among them while it runs).
 */
import {
  BatchGetBuildsCommand,
  type Build,
  type CodeBuildClient,
  ListBuildsForProjectCommand,
  StopBuildCommand,
} from '@aws-sdk/client-codebuild';
import { awsCall } from './errors';

export type CodeBuild = Pick<CodeBuildClient, 'send'>;

/** The environment variable the machine sets on each build to its execution's ARN. */
export const BUILD_EXECUTION_VARIABLE = 'BUILD_EXECUTION_ARN';

/** ListBuildsForProject's page and BatchGetBuilds' limit. */
const NEWEST_BUILDS = 100;

export function executionOf(build: Build): string | undefined {
  return build.environment?.environmentVariables?.find((v) => v.name === BUILD_EXECUTION_VARIABLE)?.value;
}

/** Stops every build of `executionArn` still in progress; returns their ids. Idempotent. */
export async function stopExecutionBuilds(
  codebuild: CodeBuild,
  projectName: string,
  executionArn: string,
): Promise<string[]> {
  let ids: string[];
  try {
    const listed = await codebuild.send(
      new ListBuildsForProjectCommand({ projectName, sortOrder: 'DESCENDING' }),
    );
    ids = (listed.ids ?? []).slice(0, NEWEST_BUILDS);
  } catch (error) {
    // No project (a stage deployed without builds): nothing can be running.
    if ((error as { name?: string }).name === 'ResourceNotFoundException') return [];
    return awsCall('CodeBuild', Promise.reject(error));
  }
  if (ids.length === 0) return [];
  const { builds = [] } = await awsCall('CodeBuild', codebuild.send(new BatchGetBuildsCommand({ ids })));
  const running = builds.filter((b) => b.buildStatus === 'IN_PROGRESS' && executionOf(b) === executionArn);
  const stopped: string[] = [];
  for (const build of running) {
    if (!build.id) continue;
    await awsCall('CodeBuild', codebuild.send(new StopBuildCommand({ id: build.id })));
    stopped.push(build.id);
  }
  return stopped;
}
