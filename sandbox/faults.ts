/**
 * Switchable fault scenarios (`PUT /_sandbox/faults`, see README.md). Throttling applies to
 * every AWS service; the instance and Run Command faults are read by the EC2 and SSM
 * handlers through the accessors below. Keys this file does not know are kept as given so
 * that other parts of the sandbox can read their own.
 */
import type { ImageComponent } from './instance-root';

export interface ThrottleFault {
  /** `ec2`, `ssm`, `sts`, `sfn`, `cloudformation`, … or `all`. */
  service: string;
  /** Only these actions (e.g. `DescribeImages`); all when omitted. */
  actions?: string[];
  /** Throttle this many calls, then stop; until cleared when omitted. */
  times?: number;
}

/** Limits a fault to instances launched from one image; every instance when omitted. */
export interface ImageScope {
  imageId?: string;
}

export interface ImageMissingFault extends ImageScope {
  component?: ImageComponent;
  components?: ImageComponent[];
}

export interface CountedFault {
  /** Fail this many calls, then stop; until cleared when omitted. */
  times?: number;
}

export interface TamperedArchiveFault {
  version?: string;
  versions?: string[];
}

export type TerminateFailCode = 'RequestLimitExceeded' | 'InternalError';

export interface FaultSet {
  throttle?: ThrottleFault;
  /** Instances launched (from the image) lack these components. Applied at launch. */
  imageMissing?: ImageMissingFault;
  /** The SSM agent never registers: DescribeInstanceInformation leaves the instances out. */
  ssmOffline?: boolean | ImageScope;
  /** RunInstances answers InsufficientInstanceCapacity (HTTP 500). */
  noCapacity?: boolean | CountedFault;
  /** Commands never finish: InProgress until their executionTimeout, then TimedOut. */
  commandHangs?: boolean | ImageScope;
  /** TerminateInstances fails `times` times with `code` (default RequestLimitExceeded, 503). */
  terminateFails?: { times: number; code?: TerminateFailCode };
  /** Instances stay pending. */
  neverRunning?: boolean | ImageScope;
  /** A deregistered image releases its snapshots after this many AWS seconds (default 10). */
  slowSnapshotRelease?: { seconds: number };
  /** CodeBuild builds (of the project) fail in their BUILD phase, with `reason` in the log. */
  buildFails?: boolean | BuildFailsFault;
  /**
   * The artifact store serves a Pulsar tarball that no longer matches its `.sha512` (every
   * version, or the ones named).
   */
  tamperedArchive?: boolean | TamperedArchiveFault;
  /**
   * DescribeInstances is eventually consistent: an instance launched while this is on is left
   * out of DescribeInstances (InvalidInstanceID.NotFound when asked by id) for its first
   * `reads` calls that would have shown it.
   */
  hideNewInstances?: { reads: number };
  /** RunInstances launches, then answers InternalError (500): the answer is lost `times` times (every time when omitted). */
  launchAnswerLost?: boolean | CountedFault;
  [scenario: string]: unknown;
}

export interface BuildFailsFault {
  /** Only builds of this project; every project when omitted. */
  projectName?: string;
  /** What the log and the phase context say (default: the fault's name). */
  reason?: string;
}

export const DEFAULT_BUILD_FAILS_REASON = 'pulsar-ami sandbox: the buildFails fault fails this build';

const inScope = (fault: boolean | ImageScope | undefined, imageId: string): boolean =>
  fault !== undefined &&
  fault !== false &&
  (fault === true || fault.imageId === undefined || fault.imageId === imageId);

export class Faults {
  private current: FaultSet = {};

  get(): FaultSet {
    return this.current;
  }

  /** When the faults were last set (epoch ms), and the reads each hidden instance has had. */
  private setAt = 0;
  private readonly hiddenReads = new Map<string, number>();

  set(faults: FaultSet): void {
    this.current = { ...faults };
    this.setAt = Date.now();
    this.hiddenReads.clear();
  }

  clear(): void {
    this.current = {};
    this.hiddenReads.clear();
  }

  /**
   * True when DescribeInstances is not to show this instance yet (hideNewInstances): it was
   * launched since the fault was set and has had fewer than `reads` reads. Counts the read.
   */
  takeHiddenRead(instanceId: string, launchedAt: number): boolean {
    const fault = this.current.hideNewInstances;
    if (!fault || launchedAt < this.setAt - 1000) return false;
    const reads = this.hiddenReads.get(instanceId) ?? 0;
    if (reads >= fault.reads) return false;
    this.hiddenReads.set(instanceId, reads + 1);
    return true;
  }

  /** True when this RunInstances is to lose its answer; counts down `times`. */
  takeLaunchAnswerLost(): boolean {
    const fault = this.current.launchAnswerLost;
    if (fault === undefined || fault === false) return false;
    if (fault === true || fault.times === undefined) return true;
    if (fault.times <= 0) return false;
    fault.times -= 1;
    if (fault.times === 0) delete this.current.launchAnswerLost;
    return true;
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

  /** Components an instance of this image is launched without. */
  missingComponents(imageId: string): ImageComponent[] {
    const fault = this.current.imageMissing;
    if (!fault || !inScope(fault, imageId)) return [];
    return [...(fault.components ?? []), ...(fault.component ? [fault.component] : [])];
  }

  ssmOffline(imageId: string): boolean {
    return inScope(this.current.ssmOffline, imageId);
  }

  commandHangs(imageId: string): boolean {
    return inScope(this.current.commandHangs, imageId);
  }

  neverRunning(imageId: string): boolean {
    return inScope(this.current.neverRunning, imageId);
  }

  /** How long (AWS seconds) a deregistered image keeps holding its snapshots. */
  snapshotReleaseSeconds(standard: number): number {
    return this.current.slowSnapshotRelease?.seconds ?? standard;
  }

  /** The reason a build of this project is to fail in its BUILD phase, if the fault is on. */
  buildFails(projectName: string): string | undefined {
    const fault = this.current.buildFails;
    if (fault === undefined || fault === false) return undefined;
    if (fault === true) return DEFAULT_BUILD_FAILS_REASON;
    if (fault.projectName !== undefined && fault.projectName !== projectName) return undefined;
    return fault.reason ?? DEFAULT_BUILD_FAILS_REASON;
  }

  /** Whether the served tarball of this Pulsar version is tampered with. */
  tamperedArchive(version: string): boolean {
    const fault = this.current.tamperedArchive;
    if (fault === undefined || fault === false) return false;
    if (fault === true) return true;
    const named = [...(fault.versions ?? []), ...(fault.version ? [fault.version] : [])];
    return named.length === 0 || named.includes(version);
  }

  /** True when this RunInstances is to be refused for capacity; counts down `times`. */
  takeNoCapacity(): boolean {
    const fault = this.current.noCapacity;
    if (fault === undefined || fault === false) return false;
    if (fault === true || fault.times === undefined) return true;
    if (fault.times <= 0) return false;
    fault.times -= 1;
    if (fault.times === 0) delete this.current.noCapacity;
    return true;
  }

  /** The error code this TerminateInstances is to fail with, if any; counts down `times`. */
  takeTerminateFailure(): TerminateFailCode | undefined {
    const fault = this.current.terminateFails;
    if (!fault || fault.times <= 0) return undefined;
    fault.times -= 1;
    if (fault.times === 0) delete this.current.terminateFails;
    return fault.code ?? 'RequestLimitExceeded';
  }
}
