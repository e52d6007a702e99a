/**
 * Starting a build (`POST /builds`): every check before anything starts, then BuildAmi.
 *
 * 1. The machine is deployed (500 otherwise) and the instance type is one EC2 offers with the
 *    build's architecture (400 on `instanceType`).
 * 2. Unless `force`: a validated available AMI of the version and architecture answers 200
 *    as it is (the catalogue's rule: functions/lib/build-images.ts findExistingAmi); with
 *    `copyToRegions`, BuildAmi starts and only copies it (its AMI Already Built? branch).
 * 3. The archive has the version's published checksum (422 when not; 502/503 when it cannot say).
 * 4. `dryRun`: the plan, 200, nothing started.
 * 5. A build of the same request still RUNNING answers (nothing new), else the execution is
 *    started, named by the Idempotency-Key when there is one (the same key answers with the
 *    execution it started, running or ended; the same key for another request is a 409).
 *
 * The one race left: two requests without a key, for the same build, at the same moment, can
 * both find nothing running and both start (ListExecutions is not a lock). Both builds then
 * run; each publishes by the latest rule, so the outcome is right, only the work is done twice.
 * Clients that retry pass an Idempotency-Key, which closes it for them.
 */
import { DescribeExecutionCommand, ListExecutionsCommand } from '@aws-sdk/client-sfn';
import type { Ec2 } from './ami-catalogue';
import type { AlreadyBuiltResponse, BuildPlanResponse, StartBuildResponse } from './api-types';
import { findExistingAmi } from './build-images';
import {
  type BuildRequest,
  buildAmiInput,
  buildIdFor,
  buildLocation,
  buildMachineArn,
  sameBuild,
} from './builds';
import { checkVersionInArchive, type FetchLike } from './builds-archive';
import type { Config } from './config';
import { awsCall } from './errors';
import { iso } from './execution-progress';
import { executionNameOf, type Sfn, startExecutionOnce } from './executions';
import { checkInstanceType } from './instance-types';
import { parseJsonObject } from './json';

export interface BuildClients {
  ec2: Ec2;
  sfn: Sfn;
  fetch: FetchLike;
}

export type BuildSettings = Pick<Config, 'region' | 'listPageSize' | 'archive' | 'build' | 'validation'>;

export interface StartBuildRequest extends BuildRequest {
  dryRun: boolean;
  idempotencyKey?: string;
}

/** Running executions looked at for a build of the same request (pages of 100, newest first). */
export const RUNNING_LOOKED_AT = 100;

export async function startBuild(
  clients: BuildClients,
  settings: BuildSettings,
  request: StartBuildRequest,
): Promise<StartBuildResponse | AlreadyBuiltResponse | BuildPlanResponse> {
  const stateMachineArn = buildMachineArn(settings);
  const spec: BuildRequest = {
    version: request.version,
    instanceType: request.instanceType,
    architecture: request.architecture,
    force: request.force,
    copyToRegions: request.copyToRegions,
  };
  await checkInstanceType(
    clients.ec2,
    spec.instanceType,
    { architecture: spec.architecture, what: 'the build', allowed: settings.validation.allowedInstanceTypes },
    settings.region,
  );

  const existing = spec.force
    ? null
    : await findExistingAmi(clients.ec2, settings.listPageSize, {
        version: spec.version,
        architecture: spec.architecture,
      });
  // Already built and nothing to copy: the AMI answers as it is. With regions to copy to, the
  // machine starts anyway: it skips the build and copies the existing AMI.
  if (existing && !request.dryRun && spec.copyToRegions.length === 0) {
    return {
      outcome: 'already-built',
      version: spec.version,
      architecture: spec.architecture,
      region: settings.region,
      amiId: existing.imageId,
      ami: existing,
    };
  }
  const { checksumUrl } = existing
    ? { checksumUrl: null }
    : await checkVersionInArchive(clients.fetch, settings.archive, spec.version);
  if (request.dryRun) return plan(settings, stateMachineArn, spec, existing, checksumUrl);

  const answer = (
    outcome: StartBuildResponse['outcome'],
    started: { executionArn: string; status: StartBuildResponse['status']; startDate?: Date | undefined },
  ): StartBuildResponse => {
    const buildId = executionNameOf(started.executionArn);
    const startedAt = iso(started.startDate);
    return {
      outcome,
      buildId,
      executionArn: started.executionArn,
      status: started.status,
      location: buildLocation(buildId),
      region: settings.region,
      ...spec,
      ...(startedAt ? { startedAt } : {}),
    };
  };

  const running = await runningSameBuild(clients.sfn, stateMachineArn, spec);
  if (running) return answer('running', { ...running, status: 'RUNNING' });

  const buildId = buildIdFor(request.idempotencyKey);
  const started = await startExecutionOnce(
    clients.sfn,
    { kind: 'build', stateMachineArn, name: buildId, input: buildAmiInput(buildId, spec) },
    (previous) => sameBuild(previous, spec),
  );
  return answer(started.existing ? 'running' : 'started', started);
}

/** A RUNNING execution of the machine whose input asks for the same build, or null. */
async function runningSameBuild(
  sfn: Sfn,
  stateMachineArn: string,
  spec: BuildRequest,
): Promise<{ executionArn: string; startDate?: Date | undefined } | null> {
  const listed = await awsCall(
    'Step Functions',
    sfn.send(
      new ListExecutionsCommand({ stateMachineArn, statusFilter: 'RUNNING', maxResults: RUNNING_LOOKED_AT }),
    ),
  );
  for (const item of listed.executions ?? []) {
    if (!item.executionArn) continue;
    const execution = await awsCall(
      'Step Functions',
      sfn.send(new DescribeExecutionCommand({ executionArn: item.executionArn })),
    );
    if (execution.status === 'RUNNING' && sameBuild(parseJsonObject(execution.input), spec)) {
      return { executionArn: item.executionArn, startDate: execution.startDate };
    }
  }
  return null;
}

function plan(
  settings: BuildSettings,
  stateMachineArn: string,
  spec: BuildRequest,
  existing: Awaited<ReturnType<typeof findExistingAmi>>,
  checksumUrl: string | null,
): BuildPlanResponse {
  const project = settings.build.codeBuildProject;
  const steps = existing
    ? [
        `Answer with ${existing.imageId} (${existing.name}), the validated ${spec.architecture} AMI of Pulsar ${spec.version} already in ${settings.region}; nothing is built (force builds anyway)`,
        ...(spec.copyToRegions.length > 0
          ? [
              `Start BuildAmi to copy it: Copy To Regions: ${spec.copyToRegions.join(', ')} (copy, wait until available, tag, publish there)`,
            ]
          : []),
      ]
    : [
        `Start BuildAmi (${stateMachineArn.slice(stateMachineArn.lastIndexOf(':') + 1)}) in ${settings.region}`,
        `Build Image With Packer: CodeBuild project ${project} runs packer init, validate and build of Pulsar ${spec.version} on a ${spec.instanceType} (${spec.architecture}) build instance`,
        'Validate AMI: ValidateAmi launches a test instance from the new AMI, runs the checks, terminates it (a failure deletes the AMI and its snapshots)',
        `Publish AMI: the version's own parameter, and the account's latest by the latest rule`,
        ...(spec.copyToRegions.length > 0
          ? [
              `Copy To Regions: ${spec.copyToRegions.join(', ')} (copy, wait until available, tag, publish there)`,
            ]
          : []),
      ];
  return {
    outcome: 'plan',
    dryRun: true,
    region: settings.region,
    ...spec,
    existing,
    checksumUrl,
    stateMachineArn,
    codeBuildProject: project,
    steps,
  };
}
