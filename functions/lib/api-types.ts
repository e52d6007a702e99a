/** The HTTP API's response bodies: one definition for the Lambdas that send them and the CLI that reads them. */
import type { Ami } from './ami';
import type { CheckResult } from './check-results';

export type { Ami, CheckResult };

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
}

/** A ValidateAmi execution's status, as Step Functions reports it. */
export type ValidationStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

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
  awsError?: string;
  requestId?: string;
  state?: string;
  validationId?: string;
  executionArn?: string;
}
