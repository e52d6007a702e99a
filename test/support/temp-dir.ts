/**
 * The test run's own temporary folder: the global setup points TMPDIR at a fresh
 * `pulsar-ami-test-run-*` folder, so everything a test (or a process it starts) makes with
 * `os.tmpdir()` lands there, and whatever is still there when the run ends was left behind.
 */
import { readdirSync } from 'node:fs';
import { basename, dirname } from 'node:path';

export const RUN_TMP_PREFIX = 'pulsar-ami-test-run-';

/**
 * Caches tools keep in the temporary folder on purpose, reused from run to run (tsx's and
 * Node's compile caches, which npm switches on): not litter, yet removed with the run's folder.
 */
const TOOL_CACHES = [/^tsx-\d+$/, /^node-compile-cache$/];

/** Entries of `dir` that the tests left behind (tool caches aside), sorted. */
export function leftovers(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => !TOOL_CACHES.some((cache) => cache.test(name)))
    .sort();
}

/** True when `dir` is a run folder made by the global setup (`$TMPDIR/pulsar-ami-test-run-*`). */
export function isRunTmp(dir: string): boolean {
  return basename(dir).startsWith(RUN_TMP_PREFIX) && dirname(dir) !== dir;
}

/** The message a run that left something behind fails with. */
export function leftoverMessage(dir: string, names: readonly string[]): string {
  const shown = names.slice(0, 20).join(', ');
  const more = names.length > 20 ? ` and ${names.length - 20} more` : '';
  return `The tests left ${names.length} entr${names.length === 1 ? 'y' : 'ies'} in the temporary folder ${dir}: ${shown}${more}. Each test removes what it creates.`;
}
