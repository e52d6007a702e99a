/**
 * Following a long-running job (a validation, a build) from the CLI: the pause between polls,
 * how long to wait, which poll failures are worth another try. The commands own their output.
 */
import type { CommandContext } from './context';
import { CliError, UsageError } from './errors';

export const DEFAULT_POLL_INTERVAL_MS = 2_000;
/** Failed polls in a row (network, 5xx, throttling) tolerated while waiting. */
export const MAX_POLL_FAILURES = 3;

/** A whole number of milliseconds from the environment, or `fallback`; anything else is a usage error. */
export function millis(
  env: CommandContext['deps']['env'],
  name: string,
  fallback: number,
  max: number,
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 0 || ms > max) {
    throw new UsageError(`${name} must be a whole number of milliseconds (0-${max}), got '${raw}'`);
  }
  return ms;
}

/** The pause between polls, from PULSAR_AMI_POLL_INTERVAL_MS. */
export function pollInterval(env: CommandContext['deps']['env']): number {
  return millis(env, 'PULSAR_AMI_POLL_INTERVAL_MS', DEFAULT_POLL_INTERVAL_MS, 600_000);
}

/** Waits `ms`, or less when `signal` aborts (Ctrl-C). */
export function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * The pause between polls, or less on Ctrl-C. Every command waits through here (and through
 * the API client's requests), so on a terminal the live line shows the step and the time
 * spent while it waits.
 */
export function pause(ctx: CommandContext, ms: number): Promise<void> {
  const sleep = ctx.deps.sleep ?? defaultSleep;
  return ctx.printer.waitFor(sleep(ms, ctx.deps.signal));
}

/** `61 minute(s)`, `90 second(s)`. */
export function duration(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000} minute(s)` : `${Math.round(ms / 1000)} second(s)`;
}

/** Worth another poll: the API unreachable for a moment, throttled, or failing on its side. */
export function transient(error: unknown): boolean {
  if (!(error instanceof CliError)) return false;
  const status = (error as CliError & { status?: number }).status;
  if (status === undefined) return error.problem.title === 'API unreachable';
  return status === 429 || status >= 500;
}

/**
 * Calls `poll` until it answers, tolerating MAX_POLL_FAILURES transient failures in a row
 * (each retried after a pause); undefined when Ctrl-C stopped the wait.
 */
export async function pollOnce<T>(
  ctx: CommandContext,
  intervalMs: number,
  poll: () => Promise<T>,
): Promise<T | undefined> {
  const { deps, printer } = ctx;
  for (let failures = 0; ; ) {
    try {
      return await poll();
    } catch (error) {
      if (deps.signal?.aborted) return undefined;
      if (!transient(error) || ++failures > MAX_POLL_FAILURES) throw error;
      printer.debug(`poll failed (${failures}/${MAX_POLL_FAILURES}): ${(error as Error).message}`);
    }
    await pause(ctx, intervalMs);
    if (deps.signal?.aborted) return undefined;
  }
}
