/** Configuration, read and validated once. Nothing else in the functions reads process.env. */
import { z } from 'zod';
import { DEFAULT_REGION } from './regions';
import { fieldProblems } from './validation';

const schema = z.object({
  // Lambda sets AWS_REGION; a region newer than the CLI's list of typos-to-catch is still a region.
  AWS_REGION: z
    .string()
    .regex(/^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/, { error: 'must be an AWS region such as us-west-2' })
    .default(DEFAULT_REGION),
  STAGE: z
    .string()
    .regex(/^[a-z0-9-]{1,16}$/)
    .default('dev'),
  LATEST_AMI_PARAMETER: z
    .string()
    .regex(/^\/[\w./-]+$/)
    .optional(),
  AWS_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(3),
  LIST_PAGE_SIZE: z.coerce.number().int().min(5).max(1000).default(1000),
  VALIDATION_INSTANCE_PROFILE: z
    .string()
    .regex(/^[\w+=,.@-]{1,128}$/)
    .optional(),
  VALIDATION_SUBNET_ID: z
    .string()
    .regex(/^subnet-[0-9a-f]{8,17}$/)
    .optional(),
  VALIDATION_MAX_LIFETIME_MINUTES: z.coerce.number().int().min(5).max(1440).default(90),
  // At least 5 s: shorter polls only add state transitions (history is capped at 25,000 events).
  VALIDATION_POLL_INTERVAL_SECONDS: z.coerce.number().int().min(5).max(60).default(10),
  EVALUATE_CHECK_RESULTS_FUNCTION: z.string().min(1).max(170).optional(),
  REPUBLISH_LATEST_FUNCTION: z.string().min(1).max(170).optional(),
  // Where Lambda unpacked the function (files packaged beside the bundle live under it).
  LAMBDA_TASK_ROOT: z.string().min(1).optional(),
  VALIDATE_AMI_STATE_MACHINE_ARN: z
    .string()
    .regex(/^arn:aws[\w-]*:states:[\w-]+:\d{12}:stateMachine:[\w-]{1,80}$/)
    .optional(),
});

export interface Config {
  region: string;
  stage: string;
  /** SSM parameter that holds the published latest AMI id. */
  latestAmiParameter: string;
  maxAttempts: number;
  /** MaxResults for each DescribeImages page. */
  listPageSize: number;
  /** ValidateAmi: where and how test instances run (see functions/lib/validate-ami-input.ts). */
  validation: {
    /** Instance profile (name) of the test instance; it needs AmazonSSMManagedInstanceCore. */
    instanceProfileName: string;
    /** Subnet for test instances; null launches into the default VPC. */
    subnetId: string | null;
    /** The instance shuts itself down (and terminates) after this; the sweeper uses it too. */
    maxLifetimeMinutes: number;
    /** Pause between polls of instance state, SSM agent and command status. */
    pollIntervalSeconds: number;
    /** Name or ARN of the Evaluate Check Results Lambda. */
    evaluateFunction: string;
    republishFunction: string;
  };
  /** ARN of the ValidateAmi machine; null where it is not deployed (the validation API refuses then). */
  validateAmiStateMachineArn: string | null;
  /** The function's package root: LAMBDA_TASK_ROOT on Lambda, else the working directory. */
  taskRoot: string;
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
  return {
    region: e.AWS_REGION,
    stage: e.STAGE,
    latestAmiParameter: e.LATEST_AMI_PARAMETER ?? `/pulsar-ami/${e.STAGE}/latest-ami-id`,
    maxAttempts: e.AWS_MAX_ATTEMPTS,
    listPageSize: e.LIST_PAGE_SIZE,
    validation: {
      instanceProfileName: e.VALIDATION_INSTANCE_PROFILE ?? `pulsar-ami-${e.STAGE}-validation`,
      subnetId: e.VALIDATION_SUBNET_ID ?? null,
      maxLifetimeMinutes: e.VALIDATION_MAX_LIFETIME_MINUTES,
      pollIntervalSeconds: e.VALIDATION_POLL_INTERVAL_SECONDS,
      evaluateFunction: e.EVALUATE_CHECK_RESULTS_FUNCTION ?? `pulsar-ami-${e.STAGE}-evaluateCheckResults`,
      republishFunction: e.REPUBLISH_LATEST_FUNCTION ?? `pulsar-ami-${e.STAGE}-republishLatest`,
    },
    validateAmiStateMachineArn: e.VALIDATE_AMI_STATE_MACHINE_ARN ?? null,
    taskRoot: e.LAMBDA_TASK_ROOT ?? process.cwd(),
  };
}

export const config: Config = loadConfig(process.env);
