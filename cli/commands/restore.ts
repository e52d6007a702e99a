/**
 * `restore --ami-id ID`: undoes a cleanup's stages on one AMI — re-enables it when disabled
 * (EnableImage) and cancels its deprecation (DisableImageDeprecation) — through
 * POST /amis/{id}/restore. A deleted AMI cannot be restored. Exit 0, or 1 (not found, not this
 * tool's, API error); a malformed id is exit 2 with nothing sent.
 */
import type { RestoreAmiResponse } from '../../functions/lib/api-types';
import type { CommandModule } from '../command';
import { EXIT, UsageError } from '../errors';
import { type Printer, printable } from '../printer';

const DRY = '[DRY RUN]';

export const restore: CommandModule = {
  name: 'restore',
  summary: 'Re-enable a disabled AMI and cancel its deprecation (undo a cleanup stage)',
  configure(command) {
    command.requiredOption('--ami-id <AMI_ID>', 'AMI ID to restore (required)');
  },
  async run(ctx, options) {
    const { amiIdSchema } = await import('../../functions/lib/validation');
    const parsed = amiIdSchema.safeParse(options.amiId);
    if (!parsed.success) throw new UsageError(`--ami-id ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
    const imageId = parsed.data;
    const { printer } = ctx;
    const api = await ctx.api();
    if (ctx.globals.dryRun) {
      const ami = await api.ami(imageId);
      if (printer.options.json) {
        printer.json({ dryRun: true, region: ctx.region, ami });
        return EXIT.ok;
      }
      printer.line(`${DRY} Restoring AMI: ${imageId}`);
      printer.line(`  AMI Name: ${printable(ami.name)}`);
      printer.line(`  State: ${ami.state}`);
      printer.line(
        `  ${DRY} Would ${ami.state === 'disabled' ? 're-enable it and ' : ''}cancel its deprecation, if it has one (EC2 says whether it has when it is restored)`,
      );
      printer.line('✓ Dry run: nothing was changed');
      return EXIT.ok;
    }
    printer.line(`Restoring AMI: ${imageId}`);
    const result = await api.restore(imageId);
    // Its state may have changed (disabled → available): the cached list is stale.
    ctx.cache.invalidate();
    return report(ctx.printer, ctx.region, result);
  },
};

function report(printer: Printer, region: string, r: RestoreAmiResponse): number {
  if (printer.options.json) {
    printer.json({ region, ...r });
    return EXIT.ok;
  }
  printer.line(`  AMI Name: ${printable(r.ami.name)}`);
  printer.line(`  Re-enabling AMI... ${r.enabled ? '✓' : '- not disabled'}`);
  printer.line(`  Cancelling deprecation... ${r.deprecationCancelled ? '✓' : '- not deprecated'}`);
  printer.line();
  printer.line(
    r.enabled || r.deprecationCancelled
      ? `✓ AMI restored: ${r.ami.imageId} is ${r.ami.state}`
      : `✓ Nothing to restore: ${r.ami.imageId} is ${r.ami.state} and not deprecated`,
  );
  // Restoring changes neither its age nor its rank: the next cleanup would retire it again.
  if ((r.enabled || r.deprecationCancelled) && !r.ami.protected) {
    printer.line(
      `  The next cleanup retires it again unless it is kept: tag it Protected=true (aws ec2 create-tags --resources ${r.ami.imageId} --tags Key=Protected,Value=true)`,
    );
  }
  return EXIT.ok;
}
