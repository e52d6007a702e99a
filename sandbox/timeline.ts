/**
 * Compressed time. Every simulated delay is written in AWS seconds (how long the real thing
 * takes) and multiplied by one scale: `startSandbox({ timeScale })`, else the environment
 * variable PULSAR_AMI_SANDBOX_TIME_SCALE, else 0.005 (a 30-second boot takes 150 ms).
 * Timers are unref'd (they never keep a process alive) and all cleared by `clear()`.
 */

export const TIME_SCALE_ENV = 'PULSAR_AMI_SANDBOX_TIME_SCALE';
export const DEFAULT_TIME_SCALE = 0.005;

/** How long things take in AWS, in seconds, before scaling. */
export const AWS_SECONDS = {
  /** RunInstances → running. */
  boot: 30,
  /** running → the SSM agent has registered (DescribeInstanceInformation lists it, Online). */
  agentRegistration: 40,
  /** running → DescribeInstanceStatus reports `ok` instead of `initializing`. */
  statusChecks: 60,
  /** shutting-down → terminated (and stopping → stopped). */
  shutdown: 20,
  /** SendCommand → GetCommandInvocation knows the invocation (InvocationDoesNotExist before). */
  invocationVisible: 20,
  /** The invocation is visible → the agent has picked it up (Pending → InProgress). */
  delivery: 2,
  /** DeregisterImage → its snapshots are released (DeleteSnapshot answers InUse before). */
  snapshotRelease: 10,
  /** A deregistration protection's cooldown after it is switched off. */
  protectionCooldown: 24 * 3600,
} as const;

export function resolveTimeScale(option?: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw =
    option ?? (env[TIME_SCALE_ENV] !== undefined ? Number(env[TIME_SCALE_ENV]) : DEFAULT_TIME_SCALE);
  if (!Number.isFinite(raw) || raw <= 0) {
    throw new Error(`time scale must be a positive number, got ${String(option ?? env[TIME_SCALE_ENV])}`);
  }
  return raw;
}

export interface TimerHandle {
  cancel(): void;
}

export class Timeline {
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(readonly scale: number = DEFAULT_TIME_SCALE) {}

  /** Real milliseconds for a duration given in AWS seconds. */
  ms(awsSeconds: number): number {
    return Math.max(0, Math.round(awsSeconds * 1000 * this.scale));
  }

  /** Runs `fn` after `awsSeconds` of simulated time. */
  after(awsSeconds: number, fn: () => void): TimerHandle {
    return this.afterMs(this.ms(awsSeconds), fn);
  }

  /** Runs `fn` after `ms` real milliseconds (for limits that apply to real processes). */
  afterMs(ms: number, fn: () => void): TimerHandle {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    timer.unref();
    this.timers.add(timer);
    return {
      cancel: () => {
        clearTimeout(timer);
        this.timers.delete(timer);
      },
    };
  }

  /** Timers still waiting. */
  get pending(): number {
    return this.timers.size;
  }

  clear(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
