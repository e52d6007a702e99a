/**
 * EventBridge "Step Functions Execution Status Change" for ValidateAmi and BuildAmi executions
 * that end FAILED, TIMED_OUT or ABORTED (a timeout or an abort runs no Catch): terminates the
 * instances tagged with that execution's ARN (ValidateAmi's test instance; BuildAmi's Packer
 * build instance) and, for a BuildAmi execution, first stops its CodeBuild build if one still
 * runs and afterwards deletes the images it registered that were never validated, at home and
 * in the regions its input was copying to (with their snapshots; never a published one). Idempotent; nothing found means no change.
 */
import { deleteAbandonedBuildAmis, type RegionDeletion } from './lib/build-images';
import { stopExecutionBuilds } from './lib/build-jobs';
import { codebuild } from './lib/clients/codebuild';
import { ec2, ec2In } from './lib/clients/ec2';
import { ssmIn } from './lib/clients/ssm';
import { config } from './lib/config';
import { InvalidInputError } from './lib/errors';
import { logger } from './lib/logger';
import { countMetric } from './lib/metrics';
import { executionArnSchema, fieldProblems, regionSchema } from './lib/validation';
import {
  BUILD_INSTANCES,
  type ExecutionCleanup,
  terminateExecutionInstances,
  VALIDATION_INSTANCES,
} from './lib/validation-instances';
import * as z from './lib/zod';

export const ENDED_BADLY = ['FAILED', 'TIMED_OUT', 'ABORTED'] as const;

const event = z.object({
  'detail-type': z.literal('Step Functions Execution Status Change'),
  detail: z.object({
    executionArn: executionArnSchema,
    status: z.string(),
    /** The execution's input as a JSON string (EventBridge includes it up to 248 KiB). */
    input: z.optional(z.nullable(z.string())),
  }),
});

/** The regions a BuildAmi execution was copying to, from its input; none when it cannot say. */
const buildInput = z.object({ copyToRegions: z.optional(z.array(regionSchema).check(z.maxLength(50))) });
function copyRegionsOf(input: string | null | undefined): string[] {
  if (!input) return [];
  try {
    const parsed = buildInput.safeParse(JSON.parse(input));
    return parsed.success ? (parsed.data.copyToRegions ?? []) : [];
  } catch {
    return [];
  }
}

/** A BuildAmi execution: `…:execution:<machine name>:<build id>`. */
const isBuildExecution = (executionArn: string) =>
  executionArn.split(':')[6] === config.build.stateMachineName;

export async function handler(
  raw: unknown,
): Promise<
  (ExecutionCleanup & { stoppedBuilds?: string[]; images?: RegionDeletion[] }) | { skipped: string }
> {
  const parsed = event.safeParse(raw);
  if (!parsed.success) throw new InvalidInputError(fieldProblems(parsed.error));
  const { executionArn, status, input } = parsed.data.detail;
  // Every line of this event names the execution; the keys go with it (a warm container is reused).
  logger.appendKeys({ executionArn });
  try {
    return await cleanUp(executionArn, status, input);
  } finally {
    logger.resetKeys();
  }
}

async function cleanUp(
  executionArn: string,
  status: string,
  input: string | null | undefined,
): Promise<
  (ExecutionCleanup & { stoppedBuilds?: string[]; images?: RegionDeletion[] }) | { skipped: string }
> {
  if (!(ENDED_BADLY as readonly string[]).includes(status)) {
    logger.info('Execution status ignored', { executionArn, status });
    return { skipped: status };
  }
  const machine = isBuildExecution(executionArn) ? 'BuildAmi' : 'ValidateAmi';
  countMetric('ExecutionsEndedBadly', 1, { Machine: machine, Status: status });
  if (machine === 'BuildAmi') {
    // The build first: a running Packer would otherwise launch or keep its instance.
    const stoppedBuilds = await stopExecutionBuilds(codebuild, config.build.codeBuildProject, executionArn);
    const result = await terminateExecutionInstances(ec2, executionArn, BUILD_INSTANCES);
    countMetric('InstancesTerminated', result.terminated.length, { Guard: 'execution-status-rule' });
    // Then its images, at home and in the regions it was copying to: one still pending or in
    // use fails the call, and the rule's retries come back to it.
    const images = await deleteAbandonedBuildAmis(
      (region) => ({ ec2: ec2In(region), ssm: ssmIn(region) }),
      { ...config, versionParameterPrefix: config.build.versionParameterPrefix },
      { executionArn, copyRegions: copyRegionsOf(input) },
    );
    countMetric(
      'AmisDeleted',
      images.reduce((sum, r) => sum + r.deleted.length, 0),
      { Path: 'abandoned-build' },
    );
    logger.info('Build execution cleaned up', {
      executionArn,
      status,
      stoppedBuilds,
      terminated: result.terminated,
      deletedImages: images.flatMap((r) => r.deleted.map((d) => `${r.region}:${d.imageId}`)),
      keptImages: images.flatMap((r) => r.kept.map((k) => ({ region: r.region, ...k }))),
    });
    return { ...result, stoppedBuilds, images };
  }
  const result = await terminateExecutionInstances(ec2, executionArn, VALIDATION_INSTANCES);
  countMetric('InstancesTerminated', result.terminated.length, { Guard: 'execution-status-rule' });
  logger.info('Execution instances cleaned up', { executionArn, status, terminated: result.terminated });
  return result;
}
