/** Configuration, read and validated once. Nothing else in the functions reads process.env. */
import { z } from 'zod';
import { DEFAULT_REGION } from './regions';
import { fieldProblems, regionSchema } from './validation';

const schema = z.object({
  AWS_REGION: regionSchema.default(DEFAULT_REGION),
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
});

export interface Config {
  region: string;
  stage: string;
  /** SSM parameter that holds the published latest AMI id. */
  latestAmiParameter: string;
  maxAttempts: number;
  /** MaxResults for each DescribeImages page. */
  listPageSize: number;
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
  };
}

export const config: Config = loadConfig(process.env);
