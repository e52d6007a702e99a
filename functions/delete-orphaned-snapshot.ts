/**
 * CleanupAmis' Delete Orphaned Snapshot, one Map item: a snapshot an earlier delete left
 * (tagged OrphanedFrom), deleted only when tagged ManagedBy=pulsar-ami too and no image uses
 * it. A snapshot still in use is thrown by name (SnapshotInUseError) for the machine's Retry.
 */

import { deleteOrphanedSnapshot, type SnapshotResult } from './lib/cleanup-retire';
import { ec2 } from './lib/clients/ec2';
import { InvalidInputError } from './lib/errors';
import { logger } from './lib/logger';
import { amiIdSchema, fieldProblems, SNAPSHOT_ID_PATTERN } from './lib/validation';
import * as z from './lib/zod';

const input = z.object({
  snapshotId: z.string().check(z.regex(SNAPSHOT_ID_PATTERN)),
  orphanedFrom: z.optional(amiIdSchema),
  sizeGiB: z.optional(z.number().check(z.gte(0))),
});

export async function handler(event: unknown): Promise<SnapshotResult> {
  const parsed = input.safeParse(event);
  if (!parsed.success) throw new InvalidInputError(fieldProblems(parsed.error));
  const deleted = await deleteOrphanedSnapshot(ec2, parsed.data);
  logger.info('Orphaned snapshot handled', { ...deleted });
  return deleted;
}
