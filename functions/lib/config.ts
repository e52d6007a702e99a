/** Configuration, read and validated once. Nothing else in the functions reads process.env. */

import { isLoopback } from './loopback';
import { DEFAULT_REGION } from './regions';
import { DEFAULT_ALLOWED_INSTANCE_TYPES, fieldProblems, INSTANCE_TYPE_PATTERN } from './validation';

export { DEFAULT_ALLOWED_INSTANCE_TYPES };

import * as z from './zod';

const ONE_TYPE = INSTANCE_TYPE_PATTERN.source.replace(/^\^|\$$/g, '');
const INSTANCE_TYPE_LIST = new RegExp(`${ONE_TYPE}(?:,\\s*${ONE_TYPE})*`);

const schema = z.object({
  // Lambda sets AWS_REGION; a region newer than the CLI's list of typos-to-catch is still a region.
  AWS_REGION: z._default(
    z
      .string()
      .check(z.regex(/^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/, { error: 'must be an AWS region such as us-west-2' })),
    DEFAULT_REGION,
  ),
  STAGE: z._default(z.string().check(z.regex(/^[a-z0-9-]{1,16}$/)), 'dev'),
  LATEST_AMI_PARAMETER: z.optional(z.string().check(z.regex(/^\/[\w./-]+$/))),
  AWS_MAX_ATTEMPTS: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(10)), 3),
  // Untagged pulsar-base-* images count as this tool's (legacy, from the guide's script) only
  // when EC2 created them before this instant (serverless.yml custom.catalogue); empty: none do.
  LEGACY_IMAGES_CREATED_BEFORE: z._default(
    z.union([
      z.literal(''),
      z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time such as 2026-01-01T00:00:00Z' }),
    ]),
    '',
  ),
  LIST_PAGE_SIZE: z._default(z.coerce.number().check(z.int(), z.gte(5), z.lte(1000)), 1000),
  // Where Pulsar releases are downloaded from (Apache's layout). https, or http on this machine
  // only (the sandbox's artifact store): a checksum fetched in clear proves nothing.
  ARCHIVE_BASE_URL: z._default(
    z.pipe(
      z.url({ protocol: /^https?$/ }).check(
        z.refine<string>((v) => v.startsWith('https://') || isLoopback(new URL(v).hostname), {
          error: 'must be an https:// URL (http:// only for this machine)',
        }),
      ),
      z.transform((v: string) => v.replace(/\/+$/, '')),
    ),
    'https://archive.apache.org/dist',
  ),
  ARCHIVE_TIMEOUT_MS: z._default(z.coerce.number().check(z.int(), z.gte(100), z.lte(20_000)), 5000),
  // The instance types validations and builds may use (serverless.yml custom.validation), a
  // comma list; the state machine's role allows the same list (ec2:InstanceType).
  ALLOWED_INSTANCE_TYPES: z._default(
    z.pipe(
      z.string().check(
        z.regex(new RegExp(`^${INSTANCE_TYPE_LIST.source}$`), {
          error: 'must be a comma list of instance types such as t3.micro,t3.small',
        }),
      ),
      z.transform((v: string) => v.split(',').map((t) => t.trim())),
    ),
    [...DEFAULT_ALLOWED_INSTANCE_TYPES],
  ),
  VALIDATION_MAX_LIFETIME_MINUTES: z._default(z.coerce.number().check(z.int(), z.gte(5), z.lte(1440)), 90),
  // At least 5 s: shorter polls only add state transitions (history is capped at 25,000 events).
  VALIDATION_POLL_INTERVAL_SECONDS: z._default(z.coerce.number().check(z.int(), z.gte(5), z.lte(60)), 10),
  // Where Lambda unpacked the function (files packaged beside the bundle live under it).
  LAMBDA_TASK_ROOT: z.optional(z.string().check(z.minLength(1))),
  VALIDATE_AMI_STATE_MACHINE_ARN: z.optional(
    z.string().check(z.regex(/^arn:aws[\w-]*:states:[\w-]+:\d{12}:stateMachine:[\w-]{1,80}$/)),
  ),
  // BuildAmi: the machine, the CodeBuild project it runs, and what is published per version.
  BUILD_AMI_STATE_MACHINE_ARN: z.optional(
    z.string().check(z.regex(/^arn:aws[\w-]*:states:[\w-]+:\d{12}:stateMachine:[\w-]{1,80}$/)),
  ),
  // CleanupAmis: the machine the cleanup API starts and follows.
  CLEANUP_AMIS_STATE_MACHINE_ARN: z.optional(
    z.string().check(z.regex(/^arn:aws[\w-]*:states:[\w-]+:\d{12}:stateMachine:[\w-]{1,80}$/)),
  ),
  CODEBUILD_PROJECT: z.optional(z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9_-]{1,254}$/))),
  VERSION_PARAMETER_PREFIX: z.optional(z.string().check(z.regex(/^\/[\w./-]+[^/]$/))),
  // Build instances shut down with their build; the sweeper terminates any older than this.
  BUILD_MAX_LIFETIME_MINUTES: z._default(z.coerce.number().check(z.int(), z.gte(30), z.lte(1440)), 180),
  // ---- Limits (functions/lib/validation-limits.ts) ----
  // ValidateAmi executions RUNNING at once; one more start is a 429 (serverless custom.limits).
  MAX_CONCURRENT_VALIDATIONS: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(100)), 3),
  // ---- end of limits ----
  // ---- Cleanup (functions/lib/cleanup-plan.ts; serverless.yml custom.cleanup) ----
  CLEANUP_KEEP: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(100)), 3),
  CLEANUP_MIN_AGE_DAYS: z._default(z.coerce.number().check(z.gte(0), z.lte(3650)), 1),
  CLEANUP_LAST_LAUNCHED_WITHIN_DAYS: z._default(z.coerce.number().check(z.gte(0), z.lte(3650)), 30),
  // Empty or absent: that stage is off. All off (the default): beyond N is deleted at once.
  CLEANUP_DEPRECATE_AFTER_DAYS: z.optional(z.string().check(z.regex(/^(\d{1,4})?$/))),
  CLEANUP_DISABLE_AFTER_DAYS: z.optional(z.string().check(z.regex(/^(\d{1,4})?$/))),
  CLEANUP_DELETE_AFTER_DAYS: z.optional(z.string().check(z.regex(/^(\d{1,4})?$/))),
  CLEANUP_PRICE_PER_GB_MONTH: z._default(z.coerce.number().check(z.gte(0), z.lte(10)), 0.05),
});

export interface Config {
  region: string;
  stage: string;
  /** SSM parameter that holds the published latest AMI id. */
  latestAmiParameter: string;
  maxAttempts: number;
  /**
   * Untagged pulsar-base-* images EC2 created before this count as this tool's (legacy); null:
   * none do. See ownershipOf in ami.ts.
   */
  legacyImagesCreatedBefore: Date | null;
  /** MaxResults for each DescribeImages page. */
  listPageSize: number;
  /** The Apache archive Pulsar releases come from: its base URL (no trailing slash), and how long it may take to answer. */
  archive: { baseUrl: string; timeoutMs: number };
  /**
   * ValidateAmi: what its starters need (functions/lib/validate-ami-input.ts). Where and how the
   * test instance runs (profile, network, checks document, lifetime guard) is the machine's
   * own definition, from serverless.yml custom.validation.
   */
  validation: {
    /** The instance types a validation or a build may use; any other is a 400. */
    allowedInstanceTypes: readonly string[];
    /** The test instance powers itself off after this (custom.validation); the sweeper uses it too. */
    maxLifetimeMinutes: number;
    /** Pause between polls of instance state, SSM agent and command status. */
    pollIntervalSeconds: number;
  };
  /** ARN of the ValidateAmi machine; null where it is not deployed (the validation API refuses then). */
  validateAmiStateMachineArn: string | null;
  /** BuildAmi (statemachines/build-ami.asl.yml) and what it uses. */
  build: {
    /** ARN of the BuildAmi machine; null where a function is not given it. */
    stateMachineArn: string | null;
    /** The machine's name (from its ARN, else the stage's `pulsar-ami-{stage}-build-ami`). */
    stateMachineName: string;
    /** The CodeBuild project that runs Packer. */
    codeBuildProject: string;
    /** `{prefix}/{version}/latest-ami-id` is each version's own parameter. */
    versionParameterPrefix: string;
    /** Build instances older than this are terminated by the sweeper. */
    maxLifetimeMinutes: number;
  };
  /** ARN of the CleanupAmis machine; null where a function is not given it (the cleanup API refuses then). */
  cleanupStateMachineArn: string | null;
  /** The function's package root: LAMBDA_TASK_ROOT on Lambda, else the working directory. */
  taskRoot: string;
  /** Cost limits (functions/lib/validation-limits.ts). */
  limits: {
    /** ValidateAmi executions RUNNING at once; a start past it is a 429. */
    maxConcurrentValidations: number;
  };
  /** Retiring old AMIs (functions/lib/cleanup-plan.ts): the defaults a cleanup plans with. */
  cleanup: {
    keep: number;
    minValidated: number;
    minAgeDays: number;
    lastLaunchedWithinDays: number;
    /** null: that stage is off. All null: beyond the newest N is deleted (the guide's way). */
    deprecateAfterDays: number | null;
    disableAfterDays: number | null;
    deleteAfterDays: number | null;
    pricePerGbMonth: number;
  };
}

const days = (value: string | undefined): number | null =>
  value === undefined || value === '' ? null : Number(value);

/** The stages, when set, come in order: deprecate before disable before delete. */
function checkStages(stages: (number | null)[]): void {
  const set = stages.filter((d): d is number => d !== null);
  if (set.some((d, i) => i > 0 && d < (set[i - 1] ?? 0))) {
    throw new Error(
      'Invalid configuration: CLEANUP_DEPRECATE_AFTER_DAYS, CLEANUP_DISABLE_AFTER_DAYS and CLEANUP_DELETE_AFTER_DAYS must not decrease (deprecate, then disable, then delete)',
    );
  }
}

export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new Error(
      `Invalid configuration: ${fieldProblems(parsed.error)
        .map((p) => p.message)
        .join('; ')}`,
    );
  }
  const e = parsed.data;
  const cleanup = {
    keep: e.CLEANUP_KEEP,
    // The guide's disaster recovery: at least two validated AMIs, always.
    minValidated: 2,
    minAgeDays: e.CLEANUP_MIN_AGE_DAYS,
    lastLaunchedWithinDays: e.CLEANUP_LAST_LAUNCHED_WITHIN_DAYS,
    deprecateAfterDays: days(e.CLEANUP_DEPRECATE_AFTER_DAYS),
    disableAfterDays: days(e.CLEANUP_DISABLE_AFTER_DAYS),
    deleteAfterDays: days(e.CLEANUP_DELETE_AFTER_DAYS),
    pricePerGbMonth: e.CLEANUP_PRICE_PER_GB_MONTH,
  };
  checkStages([cleanup.deprecateAfterDays, cleanup.disableAfterDays, cleanup.deleteAfterDays]);
  return {
    region: e.AWS_REGION,
    stage: e.STAGE,
    latestAmiParameter: e.LATEST_AMI_PARAMETER ?? `/pulsar-ami/${e.STAGE}/latest-ami-id`,
    maxAttempts: e.AWS_MAX_ATTEMPTS,
    legacyImagesCreatedBefore: e.LEGACY_IMAGES_CREATED_BEFORE
      ? new Date(e.LEGACY_IMAGES_CREATED_BEFORE)
      : null,
    listPageSize: e.LIST_PAGE_SIZE,
    archive: { baseUrl: e.ARCHIVE_BASE_URL, timeoutMs: e.ARCHIVE_TIMEOUT_MS },
    validation: {
      allowedInstanceTypes: e.ALLOWED_INSTANCE_TYPES,
      maxLifetimeMinutes: e.VALIDATION_MAX_LIFETIME_MINUTES,
      pollIntervalSeconds: e.VALIDATION_POLL_INTERVAL_SECONDS,
    },
    validateAmiStateMachineArn: e.VALIDATE_AMI_STATE_MACHINE_ARN ?? null,
    build: {
      stateMachineArn: e.BUILD_AMI_STATE_MACHINE_ARN ?? null,
      stateMachineName:
        e.BUILD_AMI_STATE_MACHINE_ARN?.split(':stateMachine:')[1] ?? `pulsar-ami-${e.STAGE}-build-ami`,
      codeBuildProject: e.CODEBUILD_PROJECT ?? `pulsar-ami-${e.STAGE}-build-ami`,
      versionParameterPrefix: e.VERSION_PARAMETER_PREFIX ?? `/pulsar-ami/${e.STAGE}/versions`,
      maxLifetimeMinutes: e.BUILD_MAX_LIFETIME_MINUTES,
    },
    cleanupStateMachineArn: e.CLEANUP_AMIS_STATE_MACHINE_ARN ?? null,
    taskRoot: e.LAMBDA_TASK_ROOT ?? process.cwd(),
    limits: { maxConcurrentValidations: e.MAX_CONCURRENT_VALIDATIONS },
    cleanup,
  };
}

export const config: Config = loadConfig(process.env);
