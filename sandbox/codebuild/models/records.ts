/**
 * CodeBuild's records in the world store (`RegionState.builds`, per region): builds with their
 * phases, environment, logs and exported variables. Plain data, no wire format.
 */

export const BUILD_STATUSES = [
  'IN_PROGRESS',
  'SUCCEEDED',
  'FAILED',
  'FAULT',
  'STOPPED',
  'TIMED_OUT',
] as const;
export type BuildStatus = (typeof BUILD_STATUSES)[number];

export const PHASE_TYPES = [
  'SUBMITTED',
  'QUEUED',
  'PROVISIONING',
  'DOWNLOAD_SOURCE',
  'INSTALL',
  'PRE_BUILD',
  'BUILD',
  'POST_BUILD',
  'UPLOAD_ARTIFACTS',
  'FINALIZING',
  'COMPLETED',
] as const;
export type PhaseType = (typeof PHASE_TYPES)[number];

/** The phases the buildspec's commands run in (inside the jail). */
export const COMMAND_PHASES = ['INSTALL', 'PRE_BUILD', 'BUILD', 'POST_BUILD'] as const;
export type CommandPhase = (typeof COMMAND_PHASES)[number];

export type PhaseStatus = 'SUCCEEDED' | 'FAILED' | 'FAULT' | 'TIMED_OUT' | 'IN_PROGRESS' | 'STOPPED';

export interface PhaseContext {
  statusCode: string;
  message: string;
}

export interface BuildPhaseRecord {
  phaseType: PhaseType;
  /** Absent for COMPLETED, as CodeBuild answers it. */
  phaseStatus?: PhaseStatus;
  /** Epoch ms. */
  startTime: number;
  endTime?: number;
  contexts?: PhaseContext[];
}

export type EnvironmentVariableType = 'PLAINTEXT' | 'PARAMETER_STORE' | 'SECRETS_MANAGER';

export interface EnvironmentVariable {
  name: string;
  value: string;
  type: EnvironmentVariableType;
}

export interface BuildRecord {
  /** `<project>:<uuid>`. */
  id: string;
  arn: string;
  buildNumber: number;
  projectName: string;
  /** Epoch ms. */
  startTime: number;
  endTime?: number;
  currentPhase: PhaseType;
  buildStatus: BuildStatus;
  buildComplete: boolean;
  phases: BuildPhaseRecord[];
  source: { type: string; location?: string; buildspec: string };
  environment: {
    type: string;
    image: string;
    computeType: string;
    /** The project's, then the StartBuild overrides (as BatchGetBuilds shows them). */
    environmentVariables: EnvironmentVariable[];
  };
  serviceRole?: string;
  logs: { groupName: string; streamName: string };
  timeoutInMinutes: number;
  queuedTimeoutInMinutes: number;
  initiator: string;
  /** Read at the end of the build from the buildspec's `env.exported-variables`. */
  exportedEnvironmentVariables: { name: string; value: string }[];
  /** The StartBuild idempotency token, when one was given. */
  idempotencyToken?: string;
  /** Why the sandbox could not run the build at all (also in the log). */
  sandboxError?: string;
}

/** A StartBuild with an idempotencyToken: what it was asked and the build it started. */
export interface BuildTokenRecord {
  fingerprint: string;
  buildId: string;
  /** Epoch ms until which the token answers the same build (5 AWS minutes). */
  until: number;
}
