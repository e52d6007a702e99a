/** Builds the API client: credentials first (none → no call at all), then the API URL. */
import type { CommandContext } from '../context';
import { ApiClient } from './client';
import { defaultCredentials, resolveCredentials } from './credentials';
import { discoverFromStack, regionMismatchMessage, resolveApiUrl } from './discovery';

export async function connect(ctx: CommandContext): Promise<ApiClient> {
  const { deps, printer, region, source } = ctx;
  const credentials = await resolveCredentials(deps.credentials ?? (() => defaultCredentials(deps.env)));
  printer.debug(`credentials: access key ${credentials.accessKeyId.slice(0, 4)}…`);
  const baseUrl = await printer.waitFor(
    resolveApiUrl(source, region, credentials, deps.discoverApiUrl ?? discoverFromStack, deps.env),
    'Looking up the API in CloudFormation...',
  );
  printer.debug(
    `API: ${baseUrl} (${source.kind === 'url' ? (source.from === 'flag' ? '--api-url' : 'PULSAR_AMI_API_URL') : `stack ${source.stackName} output`})`,
  );
  return new ApiClient({
    baseUrl,
    region,
    credentials,
    fetch: deps.fetch,
    printer,
    timeoutMs: ctx.timeoutMs,
    regionMismatch: () => regionMismatchMessage(source, region, baseUrl, deps.env),
    now: deps.now,
    ...(deps.signal ? { signal: deps.signal } : {}),
  });
}
