/**
 * Switchable fault scenarios. Throttling is handled here for every AWS service; other keys in
 * the fault set are kept as given so that other parts of the sandbox can read their own.
 */
export interface ThrottleFault {
  /** `ec2`, `ssm`, `sts`, `sfn`, `cloudformation`, … or `all`. */
  service: string;
  /** Only these actions (e.g. `DescribeImages`); all when omitted. */
  actions?: string[];
  /** Throttle this many calls, then stop; until cleared when omitted. */
  times?: number;
}

export interface FaultSet {
  throttle?: ThrottleFault;
  [scenario: string]: unknown;
}

export class Faults {
  private current: FaultSet = {};

  get(): FaultSet {
    return this.current;
  }

  set(faults: FaultSet): void {
    this.current = { ...faults };
  }

  clear(): void {
    this.current = {};
  }

  /** True when this call is to be throttled; counts down `times`. */
  takeThrottle(service: string, action: string): boolean {
    const throttle = this.current.throttle;
    if (!throttle) return false;
    if (throttle.service !== 'all' && throttle.service !== service) return false;
    if (throttle.actions && !throttle.actions.includes(action)) return false;
    if (throttle.times !== undefined) {
      if (throttle.times <= 0) return false;
      throttle.times -= 1;
      if (throttle.times === 0) delete this.current.throttle;
    }
    return true;
  }
}
