/**
 * The local AMI cache: `~/.pulsar-aws-lab/ami-cache/ami-list-{region}.json`, one file per
 * region, holding the last `list` and `latest` answers of one API. Entries expire by TTL;
 * a file made for another API, or one that cannot be read or parsed, is a miss. Writes are
 * atomic (temp file + rename) and a failure to write is a warning, never an error.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Ami, LatestAmiResponse } from '../functions/lib/api-types';
import type { Printer } from './printer';

export const CACHE_FORMAT = 2;
/** The guide's list cache TTL. */
export const LIST_TTL_MS = 5 * 60_000;
/** `latest` answers are kept shorter: scripts poll it to pick up a new build. */
export const LATEST_TTL_MS = 60_000;

interface Entry<T> {
  fetchedAt: number;
  value: T;
}

/** What `latest` answered last, found or not: a later plain `latest` repeats exactly that. */
export type LatestAnswer = { found: LatestAmiResponse } | { notFound: string };

/** `latest` (validated only) and `latest --include-unvalidated` are different questions, cached apart. */
export type LatestVariant = 'validated' | 'any';

export interface CacheFile {
  format: typeof CACHE_FORMAT;
  region: string;
  /** The API URL the answers came from, or `stack:{name}` when it is discovered from CloudFormation. */
  api: string;
  list?: Entry<Ami[]>;
  latest?: Partial<Record<LatestVariant, Entry<LatestAnswer>>>;
}

export interface CacheHit<T> {
  value: T;
  ageMs: number;
}

export function cacheDir(homeDir: string): string {
  return join(homeDir, '.pulsar-aws-lab', 'ami-cache');
}

export function cacheFile(homeDir: string, region: string): string {
  return join(cacheDir(homeDir), `ami-list-${region}.json`);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

function isEntry(v: unknown, valueOk: (value: unknown) => boolean): boolean {
  return isObject(v) && typeof v.fetchedAt === 'number' && valueOk(v.value);
}

const isAmiList = (v: unknown) =>
  Array.isArray(v) &&
  v.every((a) => isObject(a) && typeof a.imageId === 'string' && typeof a.state === 'string');
const isLatestAnswer = (v: unknown) =>
  isObject(v) &&
  ((isObject(v.found) && typeof v.found.imageId === 'string') || typeof v.notFound === 'string');
const isLatestEntries = (v: unknown) =>
  isObject(v) &&
  Object.entries(v).every(
    ([key, entry]) => (key === 'validated' || key === 'any') && isEntry(entry, isLatestAnswer),
  );

export class AmiCache {
  readonly file: string;
  private loaded: CacheFile | null | undefined;

  constructor(
    private readonly homeDir: string,
    private readonly region: string,
    private readonly api: string,
    private readonly now: () => number,
    private readonly printer: Printer,
  ) {
    this.file = cacheFile(homeDir, region);
  }

  readList(): CacheHit<Ami[]> | undefined {
    return this.hit(this.load()?.list, LIST_TTL_MS, 'list');
  }

  readLatest(variant: LatestVariant): CacheHit<LatestAnswer> | undefined {
    return this.hit(this.load()?.latest?.[variant], LATEST_TTL_MS, `latest (${variant})`);
  }

  writeList(items: Ami[]): void {
    this.save({ list: { fetchedAt: this.now(), value: items } });
  }

  writeLatest(variant: LatestVariant, answer: LatestAnswer): void {
    const entry = { fetchedAt: this.now(), value: answer };
    this.save({ latest: { ...(this.load()?.latest ?? {}), [variant]: entry } });
  }

  /** Removes the region's file (after a delete or build changed what exists). */
  invalidate(): void {
    try {
      rmSync(this.file, { force: true });
      this.loaded = undefined;
      this.printer.debug(`cache: removed ${this.file}`);
    } catch (error) {
      this.printer.error(`Warning: could not remove AMI cache ${this.file}: ${reason(error)}`);
    }
  }

  private hit<T>(entry: Entry<T> | undefined, ttlMs: number, what: string): CacheHit<T> | undefined {
    if (entry === undefined) return undefined;
    const ageMs = this.now() - entry.fetchedAt;
    if (ageMs < 0 || ageMs >= ttlMs) {
      this.printer.debug(`cache: ${what} entry expired (age ${Math.round(ageMs / 1000)}s)`);
      return undefined;
    }
    return { value: entry.value, ageMs };
  }

  /** The file's content when it is ours and for this API; null when absent, unreadable or foreign. */
  private load(): CacheFile | null {
    if (this.loaded !== undefined) return this.loaded;
    this.loaded = null;
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      this.printer.debug(
        code === 'ENOENT'
          ? `cache: no file ${this.file}`
          : `cache: ignoring unreadable ${this.file}: ${reason(error)}`,
      );
      return null;
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      this.printer.debug(`cache: ignoring corrupt ${this.file} (not JSON); refetching`);
      return null;
    }
    if (
      !isObject(data) ||
      data.format !== CACHE_FORMAT ||
      data.region !== this.region ||
      typeof data.api !== 'string' ||
      (data.list !== undefined && !isEntry(data.list, isAmiList)) ||
      (data.latest !== undefined && !isLatestEntries(data.latest))
    ) {
      this.printer.debug(`cache: ignoring ${this.file} (unexpected content); refetching`);
      return null;
    }
    if (data.api !== this.api) {
      this.printer.debug(`cache: ${this.file} belongs to API ${data.api}, not ${this.api}`);
      return null;
    }
    this.loaded = data as unknown as CacheFile;
    return this.loaded;
  }

  private save(update: Pick<CacheFile, 'list' | 'latest'>): void {
    const content: CacheFile = {
      ...(this.load() ?? {}),
      format: CACHE_FORMAT,
      region: this.region,
      api: this.api,
      ...update,
    };
    const tmp = `${this.file}.${process.pid}.tmp`;
    try {
      mkdirSync(cacheDir(this.homeDir), { recursive: true });
      writeFileSync(tmp, `${JSON.stringify(content)}\n`, { mode: 0o600 });
      renameSync(tmp, this.file);
      this.loaded = content;
      this.printer.debug(`cache: wrote ${this.file}`);
    } catch (error) {
      try {
        rmSync(tmp, { force: true });
      } catch {
        // Nothing was written, or it cannot be removed either: the warning below says why.
      }
      this.printer.error(`Warning: could not write AMI cache ${this.file}: ${reason(error)}`);
    }
  }
}

function reason(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e.code ?? e.message ?? String(error);
}
