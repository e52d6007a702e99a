/**
 * BuildAmi's Explain Build Failure, Explain Validation Failure and Summarize Copies: what a
 * step's end means, for the execution's Fail cause or its output. No AWS call.
 */
import { z } from 'zod';
import {
  type CopySummary,
  explainBuildFailure,
  explainValidationFailure,
  type Failure,
  summarizeCopies,
} from './lib/build-outcome';
import { InvalidInputError } from './lib/errors';
import { amiIdSchema, fieldProblems, regionSchema } from './lib/validation';

const stepError = z.object({ Error: z.string().nullish(), Cause: z.string().nullish() }).loose();
const buildId = z.string().min(1).max(64);

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
        amiId: z.string().nullable(),
        published: z.boolean(),
        error: z.string().nullish(),
        cause: z.string().nullish(),
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
