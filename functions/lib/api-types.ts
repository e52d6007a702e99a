/** The HTTP API's response bodies: one definition for the Lambdas that send them and the CLI that reads them. */
import type { Ami } from './ami';
import type { CheckResult } from './check-results';
import type { CleanupAction, CleanupPlan } from './cleanup-plan';
import type { ExecutionStatus } from './execution-progress';
import type { ImageReference } from './image-references';

export type { Ami, CheckResult, CleanupAction, CleanupPlan, ImageReference };

export interface AmiListResponse {
  items: Ami[];
  /** Present when more items follow; pass it back as `?nextToken=`. */
  nextToken?: string;
}

export interface LatestAmiResponse {
  imageId: string;
  /** `parameter`: the published latest (one SSM read, one image read); `search`: newest matching image. */
  source: 'parameter' | 'search';
  /** The image. */
  ami?: Ami;
}

/**
 * `kept`: asked to keep it, or another image holds it (`heldBy`); `orphaned`: not deleted and
 * tagged `OrphanedFrom=<ami>` so a later cleanup finds it; `failed`: not deleted, not tagged.
 */
export type SnapshotOutcome = 'deleted' | 'kept' | 'failed' | 'orphaned' | 'would-delete';

export interface SnapshotResult {
  snapshotId: string;
  status: SnapshotOutcome;
  /** The other image registered from this snapshot, which keeps it. */
  heldBy?: string;
  /** Why else it is kept (another tool manages it). */
  reason?: string;
  error?: string;
}

export interface DeleteAmiResponse {
  imageId: string;
  name: string;
  state: string;
  dryRun: boolean;
  deregistered: boolean;
  snapshots: SnapshotResult[];
  /** When the deleted AMI was the published latest: the AMI now published, or null when none is left. */
  latestRepublished?: string | null;
  /**
   * When the deleted AMI was its version's published AMI: that parameter, and the AMI it names now
   * (the newest validated available one of the version and architecture), or null (deleted).
   */
  versionRepublished?: { parameter: string; imageId: string | null };
}

/** A ValidateAmi execution's status, as Step Functions reports it. */
export type ValidationStatus = ExecutionStatus;

/** 202 answer of `POST /amis/{id}/validations`. */
export interface StartValidationResponse {
  /** The execution name; `GET /validations/{validationId}` follows it. */
  validationId: string;
  executionArn: string;
  imageId: string;
  instanceType: string;
  /** RUNNING for a new validation; a retried request (same Idempotency-Key) gets the execution's current status. */
  status: ValidationStatus;
  /** Path of the validation, relative to the API base URL. */
  location: string;
}

/**
 * The stages of a validation, as the guide's steps 1-5 tell them: launch, wait for the
 * instance, wait for the SSM agent, run the checks, terminate the instance.
 */
export type ValidationPhaseName = 'launch' | 'instanceRunning' | 'ssmAgent' | 'checks' | 'terminate';

/**
 * `skipped`: the stage did not apply (nothing was launched, so nothing to terminate).
 * `delegated` (terminate only): the execution ended without terminating the instance itself
 * (aborted, timed out); the execution-status rule and the sweeper terminate it.
 */
export type ValidationPhaseStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'delegated';

/** One story state of the machine (its helper states folded in), in the order entered. */
export interface ValidationStep {
  name: string;
  enteredAt: string;
  exitedAt?: string;
}

export interface ValidationError {
  /** Error name, e.g. `SsmAgentOfflineError`, `ValidationChecksFailed`, `States.Timeout`. */
  error: string;
  cause: string;
  /** One line for people: `SSM agent did not come online (SsmAgentOfflineError)`, or the failed checks' names. */
  summary: string;
}

/** `GET /validations/{id}`: where the validation is, read from the execution's history. */
export interface ValidationResponse {
  validationId: string;
  executionArn: string;
  imageId: string | null;
  instanceType: string | null;
  status: ValidationStatus;
  /** The story step the execution is in (or ended in); null before the first state. */
  currentStep: string | null;
  /** The state the execution is in (or ended in), helper states included. */
  currentState: string | null;
  steps: ValidationStep[];
  phases: Record<ValidationPhaseName, ValidationPhaseStatus>;
  /** The stage an infrastructure error arose in (absent when only checks failed). */
  failedPhase?: ValidationPhaseName;
  instanceId?: string;
  checks?: CheckResult[];
  failedChecks?: string[];
  /** The verdict, once the execution has ended: true only when it succeeded with every check passed. */
  passed?: boolean;
  /** What failed the validation: the error caught on the way, else how the execution ended. */
  error?: ValidationError;
  /** The test instance could not be terminated (on top of `error` when something failed before). */
  terminationError?: ValidationError;
  /**
   * The AMI failed and was the published latest: what is published now by the latest rule
   * (null: no validated AMI left). Absent when the published latest was another AMI.
   */
  latestRepublished?: string | null;
  startedAt: string;
  stoppedAt?: string;
  /** True when the history was longer than the API reads; the middle of it was skipped. */
  historyTruncated?: boolean;
}

/** A BuildAmi execution's status, as Step Functions reports it. */
export type BuildStatus = ExecutionStatus;

/** What a build makes: the request of `POST /builds`, defaults applied. */
export interface BuildSpec {
  version: string;
  instanceType: string;
  architecture: 'x86_64' | 'arm64';
  force: boolean;
  /** Regions the validated AMI is copied to (and published in), besides the home region. */
  copyToRegions: string[];
}

/**
 * `POST /builds`: 202 `started` (a new BuildAmi execution), or 202 `running` (the same
 * Idempotency-Key, or a build of the same request still running: that execution, nothing new
 * started). The Location header is `location`.
 */
export interface StartBuildResponse extends BuildSpec {
  outcome: 'started' | 'running';
  /** The execution name; `GET /builds/{buildId}` follows it. */
  buildId: string;
  executionArn: string;
  /** RUNNING for a new build; a retried request gets the execution's current status. */
  status: BuildStatus;
  /** Path of the build, relative to the API base URL. */
  location: string;
  /** The region the build runs and publishes in first. */
  region: string;
  startedAt?: string;
}

/** `POST /builds` 200 when a validated available AMI of the version and architecture exists (and not `force`). */
export interface AlreadyBuiltResponse {
  outcome: 'already-built';
  version: string;
  architecture: string;
  region: string;
  amiId: string;
  ami: Ami;
}

/** `POST /builds` with `dryRun`: 200, what would run; nothing started. */
export interface BuildPlanResponse extends BuildSpec {
  outcome: 'plan';
  dryRun: true;
  region: string;
  /** The validated AMI a build would answer with instead of building (no `force`), or null. */
  existing: Ami | null;
  /** The published checksum the version check found (null when an existing AMI answers first). */
  checksumUrl: string | null;
  stateMachineArn: string;
  codeBuildProject: string;
  /** The steps that would run, in words. */
  steps: string[];
}

export type PostBuildResponse = StartBuildResponse | AlreadyBuiltResponse | BuildPlanResponse;

/** The parts of a build, as the guide tells them. */
export type BuildPhaseName = 'find' | 'build' | 'validate' | 'publish' | 'copy' | 'cleanup';

export type BuildPhaseStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped';

/** One story state of the machine (its helper states folded in), in the order entered. */
export interface BuildStep {
  name: string;
  phase: BuildPhaseName | null;
  enteredAt: string;
  exitedAt?: string;
}

/** The CodeBuild build that runs Packer, from BatchGetBuilds (or the build recorded in the history). */
export interface CodeBuildStatus {
  /** `project:uuid`. */
  id: string;
  /** IN_PROGRESS, SUCCEEDED, FAILED, FAULT, TIMED_OUT, STOPPED. */
  status: string | null;
  /** SUBMITTED, PROVISIONING, DOWNLOAD_SOURCE, INSTALL, PRE_BUILD, BUILD, POST_BUILD, …, COMPLETED. */
  currentPhase: string | null;
  phases: {
    phase: string;
    status: string | null;
    startedAt?: string;
    endedAt?: string;
    durationSeconds?: number;
    /** Why it did not succeed (`COMMAND_EXECUTION_ERROR: Error while executing command: …`). */
    reason?: string;
  }[];
  logGroup: string;
  logStream: string;
}

export interface BuildError {
  /** BuildFailed, ValidationFailed, CopyFailed, States.Timeout, ExecutionAborted, … */
  error: string;
  cause: string;
  /** The step that failed (`Build Image With Packer`, `Validate AMI`, `Copy To Regions`…). */
  failedStep: string | null;
  /** One line for people: `Build Image With Packer failed: …`. */
  summary: string;
}

/** `GET /builds/{id}`: where the build is, read from the execution's history. */
export interface BuildResponse {
  buildId: string;
  executionArn: string;
  status: BuildStatus;
  /** What was asked (null for what the input does not say). */
  version: string | null;
  instanceType: string | null;
  architecture: string | null;
  force: boolean;
  copyToRegions: string[];
  /** The story step the execution is in (or ended in); null before the first state. */
  currentStep: string | null;
  /** The state it is in (or ended in), helper states included. */
  currentState: string | null;
  steps: BuildStep[];
  phases: Record<BuildPhaseName, BuildPhaseStatus>;
  codeBuild?: CodeBuildStatus;
  /** The AMI the build made (or found, when already built). */
  amiId?: string;
  amiName?: string;
  /** The region the build ran in. */
  region?: string;
  /** Where the AMI is published: the home region first, then each copy. */
  regions?: { region: string; amiId: string }[];
  alreadyBuilt?: boolean;
  /** The nested ValidateAmi execution, as `GET /validations/{id}` tells it. */
  validation?: ValidationResponse;
  /** The copies, region by region, as Copy To Regions reports them once it ended. */
  copies?: { region: string; amiId: string | null; published: boolean; error?: string; cause?: string }[];
  /** What Publish AMI did: the version's own parameter, and the account's latest after it (by the latest rule). */
  published?: { versionParameter: string | null; latest: string | null; latestChanged?: boolean };
  /** What a failed build deleted (its AMI and snapshots) and kept, and why. */
  cleanup?: { deleted: string[]; kept: { imageId: string; reason: string }[] };
  error?: BuildError;
  startedAt: string;
  stoppedAt?: string;
  /** Seconds from start to stop (to now while running). */
  durationSeconds: number;
  historyTruncated?: boolean;
}

/** One item of `GET /builds`. */
export interface BuildSummary {
  buildId: string;
  executionArn: string;
  status: BuildStatus;
  version: string | null;
  instanceType: string | null;
  architecture: string | null;
  amiId?: string;
  startedAt: string;
  stoppedAt?: string;
}

export interface BuildListResponse {
  items: BuildSummary[];
  /** Present when more builds follow; pass it back as `?nextToken=`. */
  nextToken?: string;
}

/** `GET /builds/{id}/logs`: the build's Packer and CodeBuild output, oldest first. */
export interface BuildLogsResponse {
  buildId: string;
  /** The CodeBuild build; null until the build step has started one. */
  codeBuildId: string | null;
  logGroup: string;
  logStream: string | null;
  events: { timestamp: string; message: string }[];
  /** Pass back to read what follows; present once the stream is known (the end moves while the build runs). */
  nextToken?: string;
}

/** `POST /cleanups` without `apply`: 200, the plan; nothing changed (planCleanup makes no mutating call). */
export interface CleanupDryRunResponse {
  dryRun: true;
  plan: CleanupPlan;
}

/** `POST /cleanups` with `apply`: 202, CleanupAmis started (or, for the same Idempotency-Key, the one it started). */
export interface StartCleanupResponse {
  dryRun: false;
  /** The execution name; `GET /cleanups/{cleanupId}` follows it. */
  cleanupId: string;
  executionArn: string;
  /** RUNNING for a new cleanup; a retried request (same Idempotency-Key) gets the execution's status. */
  status: ExecutionStatus;
  /** Path of the cleanup, relative to the API base URL. */
  location: string;
  startedAt?: string;
}

export type PostCleanupResponse = CleanupDryRunResponse | StartCleanupResponse;

/** One AMI the Map retired (or tried to): the CleanupAmis output's `results`. */
export interface RetirementResult {
  imageId: string;
  action: CleanupAction;
  outcome: 'done' | 'skipped' | 'failed';
  detail: string;
  snapshots?: { deleted: string[]; kept: string[] };
}

export interface OrphanedSnapshotResult {
  snapshotId: string;
  outcome: 'done' | 'failed';
  detail: string;
}

export interface CleanupReport {
  retired: number;
  failed: number;
  skipped: number;
  reclaimedGiB: number;
  monthlySavingUsd: number;
  /** Only when the run planned nothing because another cleanup was running: which, in words. */
  skippedBecause?: string;
}

/** `GET /cleanups/{id}`: a CleanupAmis execution, read from its history and output. */
export interface CleanupResponse {
  cleanupId: string;
  executionArn: string;
  status: ExecutionStatus;
  /** Who started it: the schedule or the API (from the execution input). */
  source: 'schedule' | 'api' | null;
  /** The `keep` it was started with, or null for the configured default. */
  keep: number | null;
  startedAt: string;
  stoppedAt?: string;
  /** AMIs the Map retires (`total`), and how many of them ended so far, done (or skipped) and failed. */
  progress: { total: number; done: number; failed: number };
  /** Once Plan Cleanup has run. */
  plan?: CleanupPlan;
  /** Each AMI retired so far, in the order they ended; the output's list once the execution ended. */
  results?: RetirementResult[];
  orphanedSnapshotResults?: OrphanedSnapshotResult[];
  report?: CleanupReport;
  /** How the execution ended when it did not succeed. */
  error?: { error: string; cause: string };
}

/** `POST /amis/{id}/restore`: 200, what was done (neither: the AMI was neither disabled nor deprecated). */
export interface RestoreAmiResponse {
  ami: Ami;
  /** EnableImage ran (it was disabled). */
  enabled: boolean;
  /** DisableImageDeprecation ran (it was deprecated). */
  deprecationCancelled: boolean;
}

/** RFC 9457 problem document, with the extension members this API uses. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  field?: string;
  errors?: { field: string; message: string }[];
  imageId?: string;
  instanceIds?: string[];
  /** 409 in use: each resource referencing the AMI (instance, launch template, parameter, recipe). */
  references?: ImageReference[];
  awsError?: string;
  requestId?: string;
  state?: string;
  validationId?: string;
  buildId?: string;
  cleanupId?: string;
  executionArn?: string;
  version?: string;
  checksumUrl?: string;
}
