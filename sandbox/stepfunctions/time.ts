/**
 * The time knob shared with the rest of the sandbox: AWS seconds × scale = real seconds. The
 * world's timeline (`startSandbox({ timeScale })`) when it has one, else the environment variable
 * PULSAR_AMI_SANDBOX_TIME_SCALE, else 0.005 (a 10-second Wait lasts 50 ms, a one-hour
 * TimeoutSeconds 18 s).
 */
export const TIME_SCALE_ENV = 'PULSAR_AMI_SANDBOX_TIME_SCALE';
export const DEFAULT_TIME_SCALE = 0.005;

export function sandboxTimeScale(world: object, env: NodeJS.ProcessEnv = process.env): number {
  const timeline = (world as { timeline?: { scale?: unknown } }).timeline;
  if (typeof timeline?.scale === 'number') return timeline.scale;
  const raw = env[TIME_SCALE_ENV] !== undefined ? Number(env[TIME_SCALE_ENV]) : DEFAULT_TIME_SCALE;
  if (!Number.isFinite(raw) || raw <= 0) {
    throw new Error(`${TIME_SCALE_ENV} must be a positive number, got ${String(env[TIME_SCALE_ENV])}`);
  }
  return raw;
}
