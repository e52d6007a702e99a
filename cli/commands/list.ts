/** `list [--no-cache]`: every Pulsar AMI in the region, newest first, as the guide's table. */
import type { CommandModule } from '../command';
import { AMI_COLUMNS, amiRow, renderTable } from '../table';

export const list: CommandModule = {
  name: 'list',
  summary: 'List all Pulsar AMIs in the region with metadata',
  configure(command) {
    command.option('--no-cache', 'Skip cache and fetch fresh data from AWS');
  },
  async run(ctx, options) {
    const { printer, cache } = ctx;
    const hit = options.cache === false ? undefined : cache.readList();
    let items = hit?.value;
    if (hit) {
      printer.line(`Using cached AMI list (age ${Math.floor(hit.ageMs / 1000)}s)`);
    } else {
      printer.line('Fetching AMI list from AWS...');
      const api = await ctx.api();
      items = await api.listAll();
      cache.writeList(items);
    }
    const amis = items ?? [];
    if (printer.options.json) {
      printer.json({
        region: ctx.region,
        count: amis.length,
        cached: hit !== undefined,
        ...(hit ? { cacheAgeSeconds: Math.floor(hit.ageMs / 1000) } : {}),
        items: amis,
      });
      return 0;
    }
    printer.line(`✓ Found ${amis.length} AMI(s)`);
    printer.line();
    if (amis.length === 0) {
      printer.line(`No Pulsar AMIs found in ${ctx.region}`);
      return 0;
    }
    for (const line of renderTable(AMI_COLUMNS, amis.map(amiRow), printer.isTTY ? 'box' : 'plain')) {
      printer.line(line);
    }
    return 0;
  },
};
