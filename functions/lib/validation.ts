/**
 * Input rules shared by the API and the CLI. Each schema names what it accepts in its
 * message, so a rejected value tells the user what a good one looks like.
 */

import { isAwsRegion } from './regions';
import * as z from './zod';

/** `ami-` followed by 8 or 17 lowercase hex digits, as EC2 issues them. */
export const AMI_ID_PATTERN = /^ami-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
export const SNAPSHOT_ID_PATTERN = /^snap-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
export const INSTANCE_ID_PATTERN = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
/** Validation ids (ValidateAmi execution names): UUID v4 when random, v5 when derived from an Idempotency-Key. */
export const VALIDATION_ID_PATTERN =
  /^[0-9a-f]{8}-[0-9a-f]{4}-[45][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** Build ids (BuildAmi execution names): `build-` and 1-57 letters, digits or dashes. */
export const BUILD_ID_PATTERN = /^build-[A-Za-z0-9-]{1,57}$/;
/**
 * Cleanup ids (CleanupAmis execution names): `cleanup-` and 1-56 letters, digits or dashes from
 * the API, or the UUID a scheduled run is named with.
 */
export const CLEANUP_ID_PATTERN =
  /^(?:cleanup-[A-Za-z0-9-]{1,56}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
/** MAJOR.MINOR.PATCH, numbers without leading zeros. */
export const VERSION_PATTERN = /^(0|[1-9]\d{0,3})\.(0|[1-9]\d{0,3})\.(0|[1-9]\d{0,3})$/;
/** family.size, e.g. t3.micro, m7g.2xlarge, c6in.metal, u-6tb1.112xlarge. */
export const INSTANCE_TYPE_PATTERN =
  /^[a-z][a-z0-9-]{0,15}\.(?:nano|micro|small|medium|large|xlarge|[1-9]\d{0,2}xlarge|metal(?:-\d{1,3}xl)?)$/;

/**
 * The instance types validations and builds may use unless ALLOWED_INSTANCE_TYPES says otherwise:
 * small general-purpose sizes (serverless.yml custom.validation.allowedInstanceTypes is the same list).
 */
export const DEFAULT_ALLOWED_INSTANCE_TYPES = [
  't3.micro',
  't3.small',
  't3.medium',
  't3a.micro',
  't3a.small',
  't3a.medium',
  't4g.micro',
  't4g.small',
  't4g.medium',
  'm5.large',
  'm6i.large',
  'm7g.large',
] as const;

/** A missing value is required; a value of another type (a number, a list) must be text. */
const requiredString = (issue: { input: unknown }) =>
  issue.input === undefined
    ? 'is required'
    : `must be a string, got ${JSON.stringify(issue.input)?.slice(0, 40)}`;

const short = (value: string) => (value.length > 40 ? `${value.slice(0, 40)}…` : value);

export const amiIdSchema = z.string({ error: requiredString }).check(
  z.refine<string>((v) => AMI_ID_PATTERN.test(v), {
    error: (issue) =>
      `must look like ami-0123456789abcdef0 (ami- and 8 or 17 hex digits), got '${short(String(issue.input))}'`,
  }),
);

export const versionSchema = z.string({ error: requiredString }).check(
  z.refine<string>((v) => VERSION_PATTERN.test(v), {
    error: (issue) => `must be MAJOR.MINOR.PATCH, e.g. 3.0.0, got '${short(String(issue.input))}'`,
  }),
);

export const instanceTypeSchema = z.string({ error: requiredString }).check(
  z.refine<string>((v) => INSTANCE_TYPE_PATTERN.test(v), {
    error: (issue) => `must be an EC2 instance type such as t3.micro, got '${short(String(issue.input))}'`,
  }),
);

export const validationIdSchema = z.string({ error: requiredString }).check(
  z.refine<string>((v) => VALIDATION_ID_PATTERN.test(v), {
    error: (issue) =>
      `must be a validation id such as 3f2b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d, got '${short(String(issue.input))}'`,
  }),
);

export const buildIdSchema = z.string({ error: requiredString }).check(
  z.refine<string>((v) => BUILD_ID_PATTERN.test(v), {
    error: (issue) =>
      `must be a build id such as build-3f2b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d, got '${short(String(issue.input))}'`,
  }),
);

export const cleanupIdSchema = z.string({ error: requiredString }).check(
  z.refine<string>((v) => CLEANUP_ID_PATTERN.test(v), {
    error: (issue) =>
      `must be a cleanup id such as cleanup-3f2b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d, got '${short(String(issue.input))}'`,
  }),
);

/** How many of the newest AMIs a cleanup keeps: a whole number from 1 to 100. */
const keepMessage = (issue: { input: unknown }) =>
  `must be a whole number from 1 to 100, got ${JSON.stringify(issue.input)?.slice(0, 40)}`;
export const keepSchema = z
  .number({ error: keepMessage })
  .check(z.int({ error: keepMessage }), z.gte(1, { error: keepMessage }), z.lte(100, { error: keepMessage }));

/** The CPU architectures an image is built for, as EC2 names them. */
/** A Step Functions execution ARN (`arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME`). */
export const executionArnSchema = z
  .string()
  .check(z.regex(/^arn:aws[\w-]*:states:[\w-]+:\d{12}:execution:[^:\s]+:[^:\s]+$/));

export const ARCHITECTURES = ['x86_64', 'arm64'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

export const architectureSchema = z.enum(ARCHITECTURES, {
  error: (issue) => `must be x86_64 or arm64, got '${short(String(issue.input))}'`,
});

/**
 * The architecture an instance type's name says, before asking EC2: Graviton families carry a
 * `g` right after their generation (t4g, m7gd, c6gn, x2gd, im4gn, hpc7g) and a1 is the first
 * of them; every other family of EC2 is x86_64. Mac families are left to EC2 (null).
 */
export function architectureOfInstanceType(instanceType: string): Architecture | null {
  const family = instanceType.slice(0, instanceType.indexOf('.')).replace(/-flex$/, '');
  if (family.startsWith('mac')) return null;
  return family === 'a1' || /^[a-z]+\d+g[a-z]*$/.test(family) ? 'arm64' : 'x86_64';
}

export const regionSchema = z.string({ error: requiredString }).check(
  z.refine<string>((v) => isAwsRegion(v), {
    error: (issue) => `must be an AWS region such as us-west-2, got '${short(String(issue.input))}'`,
  }),
);

/** Query-string booleans: only `true` and `false`, so a typo is an error, not a silent false. */
export const booleanFlagSchema = z.enum(['true', 'false'], { error: "must be 'true' or 'false'" });

export interface FieldProblem {
  field: string;
  message: string;
}

/** Turns a zod error into one message per field: `field must …`. */
export function fieldProblems(error: z.core.$ZodError): FieldProblem[] {
  return error.issues.map((issue) => {
    const field = issue.path.length > 0 ? issue.path.join('.') : 'input';
    return { field, message: `${field} ${issue.message}` };
  });
}
