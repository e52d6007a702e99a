/**
 * BuildAmi's Explain Build Failure, Explain Validation Failure and Summarize Copies: what a
 * step's end means, for the execution's Fail cause or its output. No AWS call.
 */

import {
  type CopySummary,
  explainBuildFailure,
  explainValidationFailure,
  type Failure,
  summarizeCopies,
} from './lib/build-outcome';
import { InvalidInputError } from './lib/errors';
import { amiIdSchema, fieldProblems, regionSchema } from './lib/validation';
import * as z from './lib/zod';

const stepError = z.looseObject({ Error: z.nullish(z.string()), Cause: z.nullish(z.string()) });
const buildId = z.string().check(z.minLength(1), z.maxLength(64));

const input = z.discriminatedUnion('step', [
  z.object({ step: z.literal('build'), buildId, error: stepError }),
  z.object({ step: z.literal('validation'), buildId, imageId: amiIdSchema, error: stepError }),
  z.object({
    step: z.literal('copy'),
    buildId,
    region: regionSchema,
    imageId: amiIdSchema,
    copies: z.array(
      z.object({
        region: z.string(),
        amiId: z.nullable(z.string()),
        published: z.boolean(),
        error: z.nullish(z.string()),
        cause: z.nullish(z.string()),
      }),
    ),
  }),
]);

export async function handler(event: unknown): Promise<Failure | CopySummary> {
  const parsed = input.safeParse(event);
  if (!parsed.success) throw new InvalidInputError(fieldProblems(parsed.error));
  const request = parsed.data;
  switch (request.step) {
    case 'build':
      return explainBuildFailure(request.buildId, request.error);
    case 'validation':
      return explainValidationFailure(request.buildId, request.imageId, request.error);
    case 'copy':
      return summarizeCopies(
        request.buildId,
        { region: request.region, imageId: request.imageId },
        request.copies,
      );
  }
}
