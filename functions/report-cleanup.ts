/** CleanupAmis' Report Cleanup: what the run did (retired, failed, skipped, reclaimed GiB, saving). */
import { type CleanupReport, reportCleanup } from './lib/cleanup-retire';
import { InvalidInputError } from './lib/errors';
import { fieldProblems } from './lib/validation';
import * as z from './lib/zod';

const outcome = z.enum(['done', 'skipped', 'failed']);
const input = z.object({
  results: z.array(z.object({ outcome, reclaimedGiB: z._default(z.number(), 0) })),
  orphanedSnapshotResults: z.array(z.object({ outcome, reclaimedGiB: z._default(z.number(), 0) })),
  pricePerGbMonth: z.number().check(z.gte(0)),
  deferred: z._default(z.number().check(z.int(), z.gte(0)), 0),
  skippedBecause: z._default(z.nullable(z.string().check(z.maxLength(1000))), null),
});

export async function handler(event: unknown): Promise<CleanupReport> {
  const parsed = input.safeParse(event);
  if (!parsed.success) throw new InvalidInputError(fieldProblems(parsed.error));
  return reportCleanup(parsed.data);
}
