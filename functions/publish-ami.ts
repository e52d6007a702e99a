/**
 * BuildAmi's Publish AMI (home region) and Publish In Region (a copy): the version's own
 * parameter, then the account's latest by the latest rule, in that region. A copy's
 * validation tags are put on it first.
 */

import { type PublishResult, publishBuiltAmi, VALIDATION_TAG_KEYS } from './lib/build-publishing';
import { ec2In } from './lib/clients/ec2';
import { ssmIn } from './lib/clients/ssm';
import { config } from './lib/config';
import { InvalidInputError } from './lib/errors';
import { logger } from './lib/logger';
import { amiIdSchema, fieldProblems, regionSchema, versionSchema } from './lib/validation';
import * as z from './lib/zod';

const input = z.object({
  imageId: amiIdSchema,
  version: versionSchema,
  region: regionSchema,
  validationTags: z.optional(
    z.partialRecord(z.enum(VALIDATION_TAG_KEYS), z.string().check(z.maxLength(256))),
  ),
});

export async function handler(event: unknown): Promise<PublishResult> {
  const parsed = input.safeParse(event);
  if (!parsed.success) throw new InvalidInputError(fieldProblems(parsed.error));
  const { region, ...request } = parsed.data;
  const result = await publishBuiltAmi(
    { ec2: ec2In(region), ssm: ssmIn(region) },
    {
      region,
      latestAmiParameter: config.latestAmiParameter,
      listPageSize: config.listPageSize,
      versionParameterPrefix: config.build.versionParameterPrefix,
    },
    request,
  );
  logger.info('AMI published', {
    region,
    imageId: result.imageId,
    versionParameter: result.versionParameter,
    latest: result.latest.imageId,
    latestChanged: result.latest.changed,
  });
  return result;
}
