/**
 * Validation test instances and Packer's build instances outside the state machines: the
 * safety nets for when ValidateAmi's own Terminate Test Instance cannot run, or a build is
 * cut short (an execution that times out, is aborted or fails before its Catch), and for
 * anything older than its maximum lifetime.
 *
 * Only instances tagged ManagedBy=pulsar-ami and Purpose=AMI-Validation or Purpose=AMI-Build
 * are ever touched.
 */
import {
  DescribeInstancesCommand,
  type Filter,
  type Instance,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { MANAGED_BY, TAG } from './ami';
import type { Ec2 } from './ami-catalogue';
import { awsCall, fromAwsError } from './errors';

/** Tags the ValidateAmi machine puts on its test instance and volume at launch. */
export const VALIDATION_TAG = {
  purpose: 'Purpose',
  maxLifetime: 'MaxLifetimeMinutes',
} as const;
export const VALIDATION_PURPOSE = 'AMI-Validation';
export const BUILD_PURPOSE = 'AMI-Build';

/** Which instances an execution made: their Purpose, and the tag naming the execution. */
export interface InstanceKind {
  purpose: string;
  executionTag: string;
}

export const VALIDATION_INSTANCES: InstanceKind = {
  purpose: VALIDATION_PURPOSE,
  executionTag: TAG.validationExecution,
};
export const BUILD_INSTANCES: InstanceKind = { purpose: BUILD_PURPOSE, executionTag: TAG.buildExecution };

/** States in which an instance still runs or can run again: the ones worth terminating. */
export const TERMINABLE_STATES = ['pending', 'running', 'stopping', 'stopped'];

/** TerminateInstances takes at most this many ids per call. */
const TERMINATE_BATCH = 1000;

const ownFilters = (purposes: string[]): Filter[] => [
  { Name: `tag:${VALIDATION_TAG.purpose}`, Values: purposes },
  { Name: `tag:${TAG.managedBy}`, Values: [MANAGED_BY] },
  { Name: 'instance-state-name', Values: TERMINABLE_STATES },
];

async function describeAll(ec2: Ec2, filters: Filter[]): Promise<Instance[]> {
  const instances: Instance[] = [];
  let NextToken: string | undefined;
  do {
    const page = await awsCall(
      'EC2',
      ec2.send(new DescribeInstancesCommand({ Filters: filters, MaxResults: 1000, NextToken })),
    );
    for (const reservation of page.Reservations ?? []) instances.push(...(reservation.Instances ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  return instances;
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { Code, name } = error as { Code?: unknown; name?: unknown };
  return typeof Code === 'string' ? Code : typeof name === 'string' ? name : undefined;
}

/**
 * Terminates the given instances. Ids EC2 no longer knows count as terminated: each batch
 * that fails with InvalidInstanceID.NotFound is retried one id at a time, skipping the gone.
 */
export async function terminateInstances(ec2: Ec2, instanceIds: string[]): Promise<string[]> {
  const terminated: string[] = [];
  for (let i = 0; i < instanceIds.length; i += TERMINATE_BATCH) {
    const batch = instanceIds.slice(i, i + TERMINATE_BATCH);
    try {
      await ec2.send(new TerminateInstancesCommand({ InstanceIds: batch }));
      terminated.push(...batch);
    } catch (error) {
      if (errorCode(error) !== 'InvalidInstanceID.NotFound') throw fromAwsError('EC2', error);
      for (const id of batch) {
        try {
          await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
          terminated.push(id);
        } catch (single) {
          if (errorCode(single) !== 'InvalidInstanceID.NotFound') throw fromAwsError('EC2', single);
        }
      }
    }
  }
  return terminated;
}

export interface ExecutionCleanup {
  executionArn: string;
  /** Instances found still running (or able to run) for the execution, and terminated. */
  terminated: string[];
}

/**
 * Terminates every instance an execution launched (ValidateAmi's test instance by default,
 * or with BUILD_INSTANCES Packer's build instance of a BuildAmi execution) that is not
 * already terminated. Idempotent: a second run finds nothing and makes no TerminateInstances call.
 */
export async function terminateExecutionInstances(
  ec2: Ec2,
  executionArn: string,
  kind: InstanceKind = VALIDATION_INSTANCES,
): Promise<ExecutionCleanup> {
  const instances = await describeAll(ec2, [
    { Name: `tag:${kind.executionTag}`, Values: [executionArn] },
    ...ownFilters([kind.purpose]),
  ]);
  const ids = instances.flatMap((i) => (i.InstanceId ? [i.InstanceId] : []));
  const terminated = ids.length > 0 ? await terminateInstances(ec2, ids) : [];
  return { executionArn, terminated };
}

export interface SweepSettings {
  now: Date;
  /** Lifetime for validation instances that do not carry a valid MaxLifetimeMinutes tag. */
  maxLifetimeMinutes: number;
  /** Lifetime for build instances (Purpose=AMI-Build) without one; unset leaves them alone. */
  buildMaxLifetimeMinutes?: number;
}

export interface SweepResult {
  /** Validation (and build) instances found still running (or able to run). */
  inspected: number;
  /** Those past their lifetime, now terminated. */
  terminated: string[];
}

/**
 * The instance's lifetime: its MaxLifetimeMinutes tag when that is sane and shorter than the
 * configured maximum, else the maximum. The tag can only shorten it: whoever can tag an
 * instance cannot exempt it from the sweep.
 */
export function lifetimeMinutesOf(instance: Instance, maximum: number): number {
  const tag = instance.Tags?.find((t) => t.Key === VALIDATION_TAG.maxLifetime)?.Value;
  const minutes = tag !== undefined && /^\d{1,5}$/.test(tag) ? Number(tag) : Number.NaN;
  return minutes >= 1 ? Math.min(minutes, maximum) : maximum;
}

export function isExpired(instance: Instance, settings: SweepSettings): boolean {
  const launched = instance.LaunchTime ? new Date(instance.LaunchTime).getTime() : Number.NaN;
  // An instance without a launch time is not judged: the next sweep sees it again.
  if (Number.isNaN(launched)) return false;
  const purpose = instance.Tags?.find((t) => t.Key === VALIDATION_TAG.purpose)?.Value;
  const fallback =
    purpose === BUILD_PURPOSE
      ? (settings.buildMaxLifetimeMinutes ?? settings.maxLifetimeMinutes)
      : settings.maxLifetimeMinutes;
  const lifetimeMs = lifetimeMinutesOf(instance, fallback) * 60_000;
  return settings.now.getTime() - launched > lifetimeMs;
}

/** Terminates validation (and, with a build lifetime, build) instances past their maximum lifetime. */
export async function sweepValidationInstances(ec2: Ec2, settings: SweepSettings): Promise<SweepResult> {
  const purposes =
    settings.buildMaxLifetimeMinutes === undefined
      ? [VALIDATION_PURPOSE]
      : [VALIDATION_PURPOSE, BUILD_PURPOSE];
  const instances = await describeAll(ec2, ownFilters(purposes));
  const expired = instances
    .filter((i) => isExpired(i, settings))
    .flatMap((i) => (i.InstanceId ? [i.InstanceId] : []));
  const terminated = expired.length > 0 ? await terminateInstances(ec2, expired) : [];
  return { inspected: instances.length, terminated };
}
