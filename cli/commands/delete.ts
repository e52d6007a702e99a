/** `delete --ami-id ID [--keep-snapshots]`: deregister an AMI and delete (or keep) its snapshots. */
import type { DeleteAmiResponse, SnapshotResult } from '../../functions/lib/api-types';
import type { ApiError } from '../api/client';
import type { CommandModule } from '../command';
import type { CommandContext } from '../context';
import { CliError, UsageError } from '../errors';

const DRY = '[DRY RUN]';

export const remove: CommandModule = {
  name: 'delete',
  summary: 'Delete an AMI and optionally its associated snapshots',
  configure(command) {
    command
      .requiredOption('--ami-id <AMI_ID>', 'AMI ID to delete (required)')
      .option('--keep-snapshots', 'Keep EBS snapshots (default: delete snapshots)');
  },
  async run(ctx, options) {
    const { amiIdSchema } = await import('../../functions/lib/validation');
    const parsed = amiIdSchema.safeParse(options.amiId);
    if (!parsed.success) throw new UsageError(`--ami-id ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
    const imageId = parsed.data;
    const keepSnapshots = options.keepSnapshots === true;
    const dryRun = ctx.globals.dryRun;
    const { printer } = ctx;

    printer.line(`${dryRun ? `${DRY} ` : ''}Deleting AMI: ${imageId}`);
    const api = await ctx.api();
    let result: DeleteAmiResponse;
    try {
      result = await api.delete(imageId, { keepSnapshots, dryRun });
    } catch (error) {
      throw explain(error);
    }
    if (!dryRun) ctx.cache.invalidate();
    return report(ctx, result, keepSnapshots);
  },
};

/**
 * A 409 "in use" lists each resource referencing the AMI on its own line (instance, launch
 * template and version, parameter, recipe); an older API's answer names the instances.
 */
function explain(error: unknown): unknown {
  if (!(error instanceof CliError) || error.name !== 'ApiError' || (error as ApiError).status !== 409)
    return error;
  const references = error.problem.references;
  if (Array.isArray(references) && references.length > 0) {
    const details = references.map((r) =>
      String((r as { detail?: unknown }).detail ?? (r as { arn?: unknown }).arn),
    );
    const imageId = String(error.problem.imageId ?? 'The AMI');
    const lines = [
      `AMI ${imageId} is in use by ${details.length} resource(s); nothing was deleted:`,
      ...details.map((d) => `  - ${d}`),
    ];
    return new CliError(lines.join('\n'), error.problem);
  }
  const ids = error.problem.instanceIds;
  if (Array.isArray(ids) && ids.length > 0 && !ids.every((id) => error.message.includes(String(id)))) {
    return new CliError(`${error.message} (in use by ${ids.join(', ')})`, error.problem);
  }
  return error;
}

function report(ctx: CommandContext, r: DeleteAmiResponse, keepSnapshots: boolean): number {
  const { printer } = ctx;
  const failed = r.snapshots.filter((s) => s.status === 'failed' || s.status === 'orphaned');
  const ok = r.dryRun || (r.deregistered && failed.length === 0);
  if (printer.options.json) {
    printer.json({ region: ctx.region, ...r });
    return ok ? 0 : 1;
  }
  printer.line(`  AMI Name: ${r.name}`);
  printer.line(`  State: ${r.state}`);
  printer.line(`  Snapshots: ${r.snapshots.length}`);
  printer.line();
  const count = r.snapshots.length;
  const kept =
    keepSnapshots || (count > 0 && r.snapshots.every((s) => s.status === 'kept' && !s.heldBy && !s.reason));
  const heldBy = (s: SnapshotResult) =>
    s.heldBy ? ` (used by ${s.heldBy})` : s.reason ? ` (${s.reason})` : '';
  const toDelete = r.snapshots.filter((s) => s.status !== 'kept').length;
  if (r.dryRun) {
    printer.line(`  ${DRY} Would deregister AMI ${r.imageId}`);
    if (kept) printer.line(`  ${DRY} Would keep ${count} snapshot(s)`);
    else if (count > 0) {
      printer.line(`  ${DRY} Would delete ${toDelete} snapshot(s):`);
      for (const s of r.snapshots) {
        printer.line(
          s.status === 'kept'
            ? `    ${DRY} Would keep ${s.snapshotId}${heldBy(s)}`
            : `    ${DRY} Would delete ${s.snapshotId}`,
        );
      }
    }
    if (r.latestRepublished !== undefined) {
      printer.line(
        r.latestRepublished === null
          ? `  ${DRY} Would clear the latest AMI: no validated Pulsar AMI left to publish`
          : `  ${DRY} Would republish the latest AMI: ${r.latestRepublished}`,
      );
    }
    printer.line();
    printer.line('✓ Dry run: nothing was changed');
    return 0;
  }
  printer.line(`  Deregistering AMI... ${r.deregistered ? '✓' : '✗'}`);
  if (kept) printer.line(`  Keeping ${count} snapshot(s)`);
  else if (count > 0) {
    printer.line(`  Deleting ${toDelete} snapshot(s)...`);
    for (const s of r.snapshots) {
      if (s.status === 'kept') {
        printer.line(`    Keeping ${s.snapshotId}${heldBy(s)}`);
        continue;
      }
      const mark =
        s.status === 'orphaned'
          ? `✗ ${s.error ?? 'not deleted'}; tagged OrphanedFrom=${r.imageId} for a later cleanup`
          : s.status === 'failed'
            ? `✗ ${s.error ?? 'failed'}`
            : '✓';
      printer.line(`    Deleting ${s.snapshotId}... ${mark}`);
    }
  }
  if (r.latestRepublished !== undefined) {
    printer.line(
      r.latestRepublished === null
        ? '  Latest AMI cleared: no validated Pulsar AMI left to publish'
        : `  Latest AMI republished: ${r.latestRepublished}`,
    );
  }
  printer.line();
  if (!r.deregistered) {
    printer.error(`✗ AMI ${r.imageId} was not deregistered`);
    return 1;
  }
  if (failed.length > 0) {
    printer.error(
      `✗ AMI deregistered, but ${failed.length} snapshot(s) could not be deleted: ${failed.map((s) => s.snapshotId).join(', ')}`,
    );
    return 1;
  }
  printer.line('✓ AMI deleted successfully');
  return 0;
}
