/** What a command gets: parsed global flags, a printer, the cache and (lazily) the signed API client. */
import type { ApiClient } from './api/client';
import type { ApiSource } from './api/discovery';
import { apiSourceKey } from './api/discovery';
import { AmiCache } from './cache';
import type { CliDeps } from './deps';
import type { Printer } from './printer';

export interface GlobalOptions {
  region: string;
  dryRun: boolean;
  debug: boolean;
  json: boolean;
  apiUrl?: string;
}

export class CommandContext {
  private cacheInstance: AmiCache | undefined;
  private client: Promise<ApiClient> | undefined;

  constructor(
    readonly deps: CliDeps,
    readonly printer: Printer,
    readonly globals: GlobalOptions,
    readonly source: ApiSource,
    readonly timeoutMs: number,
  ) {}

  get region(): string {
    return this.globals.region;
  }

  get cache(): AmiCache {
    this.cacheInstance ??= new AmiCache(
      this.deps.homeDir,
      this.region,
      apiSourceKey(this.source),
      this.deps.now,
      this.printer,
    );
    return this.cacheInstance;
  }

  /**
   * The API client, made on first use: credentials, API discovery, signer and SDK code are
   * loaded only here, so commands answered from the cache never load them.
   */
  api(): Promise<ApiClient> {
    this.client ??= import('./api/connect').then(({ connect }) => connect(this));
    return this.client;
  }
}
