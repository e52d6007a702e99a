/**
 * Running one build, for real: SUBMITTED and QUEUED (compressed time), PROVISIONING (a fresh
 * build root), DOWNLOAD_SOURCE (the repository's packer/ and buildspec/ copied in, the
 * buildspec read and parsed), then INSTALL, PRE_BUILD, BUILD and POST_BUILD run by the driver
 * (driver.ts) with bash inside a jail (ssm/executor.ts `runIsolated`) that shows the build root's
 * own folders read-write and the sandbox's read-only folders (the artifact store, the stand-in
 * tools) under /sandbox, with the packer bridge (bridge.ts) answering the build's `packer`;
 * then UPLOAD_ARTIFACTS, FINALIZING and COMPLETED. Every line goes to the build's log stream in
 * order, with CodeBuild's `[Container]` lines. StopBuild and the project's timeout kill the
 * jail (every process of the build) and abort the Packer run.
 *
 * What the jail says about itself (the driver's control lines) is untrusted: phases only in
 * order and once, statuses from a fixed set, exported variables only those the buildspec (as
 * the sandbox read it) lists, every value size-limited.
 */
import { AwsError } from '../errors/aws-error';
import { appendLogEvents, ensureLogStream } from '../logs/models';
import { AGENT_PATH, isolationProblem, type RunningScript, runIsolated } from '../ssm/executor';
import type { RegionState } from '../world';
import { BRIDGE_JAIL_DIR, type Bridge, BUILD_DIRS, BuildFiles, startBridge } from './bridge';
import { type Buildspec, BuildspecError, parseBuildspec } from './buildspec';
import { AGENT_DIR, CONTROL_PREFIX, driverScript, SRC_DIR } from './driver';
import type { CodeBuild, RunningBuild } from './engine';
import {
  type BuildPhaseRecord,
  type BuildRecord,
  COMMAND_PHASES,
  type CommandPhase,
  type PhaseContext,
  type PhaseStatus,
  type PhaseType,
} from './models/records';

/** How long the steps around the commands take in AWS, in seconds (scaled like all time). */
export const BUILD_AWS_SECONDS = {
  queued: 2,
  provisioning: 10,
  finalizing: 2,
} as const;

/** PATH in the build: the sandbox's stand-in tools first. */
export const BUILD_PATH = `/sandbox/bin:${AGENT_PATH}`;

const MAX_LINE = 256 * 1024;
const MAX_CONTEXT = 16 * 1024;
const MAX_EXPORTED = 16 * 1024;

export interface BuildPlan {
  /** The region's store, held so a build that outlives a reset never writes into the new world. */
  region: RegionState;
  regionName: string;
  record: BuildRecord;
  /** The uuid part of the build id (the build root's and the log stream's name). */
  uuid: string;
  /** The buildspec: a path under the source folder, or inline YAML (buildspecOverride). */
  buildspec: string;
  /** Project, then StartBuild override variables (already resolved). */
  environment: Record<string, string>;
  /** CodeBuild's own variables (CODEBUILD_*, AWS_REGION, …): set last, never overridden. */
  builtins: Record<string, string>;
  /** The buildFails fault's reason, when it applies. */
  faultReason?: string;
}

/** `2025/06/15 10:30:00.123000`, as CodeBuild's agent stamps its lines (UTC). */
export function agentTime(at = Date.now()): string {
  const d = new Date(at);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}000`;
}

/** Whether a buildspec value is YAML itself (buildspecOverride) rather than a path. */
export function isInlineBuildspec(text: string): boolean {
  return text.includes('\n') || /^\s*version\s*:/.test(text);
}

function decode(field: string | undefined, limit: number): string | undefined {
  if (field === undefined || field.length > Math.ceil(limit / 3) * 4 + 4) return undefined;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(field)) return undefined;
  return Buffer.from(field, 'base64').toString('utf8');
}

/** Splits a stream into lines, handing each complete one (and overlong pieces) on. */
class Lines {
  private pending = '';
  constructor(private readonly emit: (line: string) => void) {}

  push(text: string): void {
    this.pending += text;
    let newline = this.pending.indexOf('\n');
    while (newline !== -1) {
      this.emit(this.pending.slice(0, newline));
      this.pending = this.pending.slice(newline + 1);
      newline = this.pending.indexOf('\n');
    }
    while (this.pending.length > MAX_LINE) {
      this.emit(this.pending.slice(0, MAX_LINE));
      this.pending = this.pending.slice(MAX_LINE);
    }
  }

  flush(): void {
    if (this.pending !== '') this.emit(this.pending);
    this.pending = '';
  }
}

export function runBuild(engine: CodeBuild, plan: BuildPlan): RunningBuild {
  const { record, region } = plan;
  const world = engine.world;
  const controller = new AbortController();
  let stopReason: 'STOPPED' | 'TIMED_OUT' | undefined;
  let jail: RunningScript | undefined;
  let root: string | undefined;
  const timers: { cancel(): void }[] = [];
  const wake = new Set<() => void>();

  const log = (lines: readonly string[]) =>
    appendLogEvents(
      region,
      record.logs.groupName,
      record.logs.streamName,
      lines.map((line) => `${line}\n`),
    );
  const container = (...texts: string[]) => log(texts.map((text) => `[Container] ${agentTime()} ${text}`));

  const begin = (phaseType: PhaseType): BuildPhaseRecord => {
    const phase: BuildPhaseRecord = { phaseType, startTime: Date.now() };
    record.phases.push(phase);
    record.currentPhase = phaseType;
    return phase;
  };
  const end = (
    phase: BuildPhaseRecord,
    status: PhaseStatus,
    context: PhaseContext = { statusCode: '', message: '' },
  ) => {
    if (phase.endTime !== undefined) return;
    phase.endTime = Date.now();
    phase.phaseStatus = status;
    phase.contexts = [context];
  };
  const open = (): BuildPhaseRecord | undefined =>
    [...record.phases].reverse().find((p) => p.endTime === undefined && p.phaseType !== 'COMPLETED');

  /** Waits `awsSeconds` of compressed time, or less when the build is stopped. */
  const pause = (awsSeconds: number) =>
    new Promise<void>((resolve) => {
      if (stopReason) {
        resolve();
        return;
      }
      const done = () => {
        wake.delete(done);
        resolve();
      };
      wake.add(done);
      timers.push(world.timeline.after(awsSeconds, done));
    });

  const stop = (reason: 'STOPPED' | 'TIMED_OUT') => {
    if (record.buildComplete || stopReason) return;
    stopReason = reason;
    const phase = open();
    if (phase) {
      end(
        phase,
        reason,
        reason === 'TIMED_OUT'
          ? { statusCode: 'BUILD_TIMED_OUT', message: 'Build has timed out. ' }
          : { statusCode: '', message: '' },
      );
    }
    record.buildStatus = reason;
    controller.abort(new Error(reason === 'TIMED_OUT' ? 'the build timed out' : 'the build was stopped'));
    jail?.stop();
    for (const resume of [...wake]) resume();
  };

  const main = async (): Promise<void> => {
    // The project's timeout counts real time: the commands really run.
    timers.push(world.timeline.afterMs(record.timeoutInMinutes * 60_000, () => stop('TIMED_OUT')));
    ensureLogStream(region, record.logs.groupName, record.logs.streamName);
    end(begin('SUBMITTED'), 'SUCCEEDED');
    const queued = begin('QUEUED');
    await pause(BUILD_AWS_SECONDS.queued);
    if (stopReason) return;
    end(queued, 'SUCCEEDED');

    const provisioning = begin('PROVISIONING');
    container('Running on CodeBuild On-demand', 'Waiting for agent ping', 'Waiting for DOWNLOAD_SOURCE');
    const problem = await isolationProblem();
    if (stopReason) return;
    if (problem) {
      fail(provisioning, 'CLIENT_ERROR', `the sandbox cannot isolate the build: ${problem}`);
      return;
    }
    let copied: { skipped: string[] };
    try {
      ({ root, copied } = engine.roots.create(plan.uuid, engine.sourceRoot));
    } catch (error) {
      fail(provisioning, 'CLIENT_ERROR', `cannot make the build's root: ${(error as Error).message}`);
      return;
    }
    await pause(BUILD_AWS_SECONDS.provisioning);
    if (stopReason) return;
    end(provisioning, 'SUCCEEDED');

    const download = begin('DOWNLOAD_SOURCE');
    container('Phase is DOWNLOAD_SOURCE', `CODEBUILD_SRC_DIR=${SRC_DIR}`);
    for (const skipped of copied.skipped) {
      container(`Skipping ${skipped}: the sandbox copies regular files and folders only, no symlink`);
    }
    const files = new BuildFiles(root);
    let spec: Buildspec;
    try {
      let text: string;
      if (isInlineBuildspec(plan.buildspec)) {
        text = plan.buildspec;
      } else {
        const path = `${SRC_DIR}/${plan.buildspec.replace(/^\.?\/+/, '')}`;
        container(`YAML location is ${path}`);
        try {
          text = files.readFile(path, 1024 * 1024).toString('utf8');
        } catch (error) {
          throw new BuildspecError(`YAML file does not exist: ${(error as Error).message}`);
        }
      }
      spec = parseBuildspec(text);
    } catch (error) {
      const message = (error as Error).message;
      container(
        `Phase complete: DOWNLOAD_SOURCE State: FAILED`,
        `Phase context status code: YAML_FILE_ERROR Message: ${message}`,
      );
      end(download, 'FAILED', { statusCode: 'YAML_FILE_ERROR', message });
      return finalize(false);
    }
    let parameters: Record<string, string>;
    try {
      parameters = parameterStore(spec);
    } catch (error) {
      const message = (error as Error).message;
      container(
        'Phase complete: DOWNLOAD_SOURCE State: FAILED',
        `Phase context status code: Decrypted Variables Error Message: ${message}`,
      );
      end(download, 'FAILED', { statusCode: 'Decrypted Variables Error', message });
      return finalize(false);
    }
    container('Processing environment variables', `Moving to directory ${SRC_DIR}`);
    const present = COMMAND_PHASES.filter((type) => spec.phases[type] !== undefined);
    container(`Phases found in YAML: ${present.length}`);
    for (const type of present) {
      const count = (spec.phases[type]?.commands.length ?? 0) + (spec.phases[type]?.finally.length ?? 0);
      container(` ${type}: ${count} commands`);
    }
    container('Phase complete: DOWNLOAD_SOURCE State: SUCCEEDED', 'Phase context status code:  Message: ');
    end(download, 'SUCCEEDED');
    if (stopReason) return;

    // The environment as CodeBuild orders it: the buildspec's variables, then the project's and
    // the overrides, then CodeBuild's own.
    const environment: Record<string, string> = {
      PATH: BUILD_PATH,
      HOME: '/root',
      LANG: 'C.UTF-8',
      ...spec.variables,
      ...parameters,
      ...plan.environment,
      ...plan.builtins,
    };
    const ran = await runCommands(spec, files, environment);
    if (stopReason) return;
    finalize(ran);
  };

  /** Resolves the buildspec's parameter-store variables from the region's SSM parameters. */
  const parameterStore = (spec: Buildspec): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const [name, parameter] of Object.entries(spec.parameterStore)) {
      const found = region.parameters.get(parameter);
      if (!found) throw new Error(`parameter does not exist: ${parameter}`);
      out[name] = found.value;
    }
    return out;
  };

  const fail = (phase: BuildPhaseRecord, statusCode: string, message: string) => {
    container(
      `Phase complete: ${phase.phaseType} State: FAILED`,
      `Phase context status code: ${statusCode} Message: ${message}`,
    );
    end(phase, 'FAILED', { statusCode, message });
    record.sandboxError = message;
    finalize(false);
  };

  /** Runs INSTALL…POST_BUILD in the jail; answers whether every phase succeeded. */
  const runCommands = async (
    spec: Buildspec,
    files: BuildFiles,
    environment: Record<string, string>,
  ): Promise<boolean> => {
    const opened = new Map<CommandPhase, BuildPhaseRecord>();
    let last = -1;
    let current: BuildPhaseRecord | undefined;
    const exported = new Map<string, string>();
    let exportedSize = 0;
    const stderrText: string[] = [];

    const control = (line: string) => {
      const [kind, ...fields] = line.slice(CONTROL_PREFIX.length).split(' ');
      if (kind === 'PHASE_START') {
        const type = fields[0] as CommandPhase;
        const index = COMMAND_PHASES.indexOf(type);
        if (index <= last || current) return;
        last = index;
        current = begin(type);
        opened.set(type, current);
      } else if (kind === 'PHASE_END') {
        const [type, status, code, message] = fields;
        if (!current || current.phaseType !== type) return;
        if (status !== 'SUCCEEDED' && status !== 'FAILED') return;
        end(current, status, {
          statusCode: (decode(code, MAX_CONTEXT) ?? '').slice(0, 64),
          message: (decode(message, MAX_CONTEXT) ?? '').slice(0, MAX_CONTEXT),
        });
        current = undefined;
      } else if (kind === 'EXPORT') {
        const [name, value] = fields;
        if (name === undefined || !spec.exportedVariables.includes(name) || exported.has(name)) return;
        const text = decode(value, MAX_EXPORTED);
        if (text === undefined || exportedSize + text.length > MAX_EXPORTED) return;
        exported.set(name, text);
        exportedSize += text.length;
      }
    };

    const out = new Lines((line) => log([line]));
    const err = new Lines((line) => {
      if (line.startsWith(CONTROL_PREFIX)) control(line);
      else {
        if (stderrText.length < 20) stderrText.push(line);
        log([line]);
      }
    });

    const mounts = await engine.readOnlyMounts();
    const bridge: Bridge = startBridge({
      files,
      runner: () => engine.packer(),
      context: {
        buildRoot: files.root,
        hostPath: (path) => files.hostPath(path),
        readFile: (path, maxBytes) => files.readFile(path, maxBytes),
        writeFile: (path, data) => files.writeFile(path, data),
        region: plan.regionName,
        world,
        sandbox: engine.info,
        build: {
          id: record.id,
          arn: record.arn,
          ...(plan.environment.BUILD_EXECUTION_ARN
            ? { executionArn: plan.environment.BUILD_EXECUTION_ARN }
            : {}),
        },
        signal: controller.signal,
      },
      after: (ms, fn) => world.timeline.afterMs(ms, fn),
    });
    if (stopReason) {
      await bridge.close();
      return false;
    }
    try {
      jail = runIsolated({
        root: files.root,
        mountPoint: engine.roots.mountPoint(),
        script: driverScript({
          spec,
          ...(plan.faultReason !== undefined ? { faultReason: plan.faultReason } : {}),
        }),
        workDir: AGENT_DIR,
        workingDirectory: SRC_DIR,
        env: environment,
        dirs: BUILD_DIRS,
        readOnly: mounts,
        onOutput: (stream, text) => (stream === 'stdout' ? out.push(text) : err.push(text)),
      });
    } catch (error) {
      await bridge.close();
      const phase = begin('INSTALL');
      fail(phase, 'CLIENT_ERROR', `cannot start the build: ${(error as Error).message}`);
      return false;
    }
    const outcome = await jail.done;
    out.flush();
    err.flush();
    // Packer runs still answering (a stopped build's): their instances are terminated first.
    await bridge.close();
    if (stopReason) return false;
    if (current) {
      // The driver died inside a phase (killed, or it broke its own shell).
      end(current, 'FAILED', {
        statusCode: 'COMMAND_EXECUTION_ERROR',
        message: `The build's shell ended unexpectedly (exit status ${outcome.exitCode ?? outcome.signal ?? 'unknown'})`,
      });
      current = undefined;
    }
    if (opened.size === 0) {
      const phase = begin('INSTALL');
      const reason = outcome.error ?? (stderrText.join(' ').trim() || `exit status ${outcome.exitCode}`);
      fail(phase, 'CLIENT_ERROR', `the sandbox could not run the build: ${reason}`);
      return false;
    }
    record.exportedEnvironmentVariables = spec.exportedVariables
      .filter((name) => exported.has(name))
      .map((name) => ({ name, value: exported.get(name) ?? '' }));
    return (
      outcome.exitCode === 0 && COMMAND_PHASES.every((type) => opened.get(type)?.phaseStatus === 'SUCCEEDED')
    );
  };

  let finalized = false;
  /** UPLOAD_ARTIFACTS (when POST_BUILD ran), FINALIZING and COMPLETED; the build's status. */
  const finalize = (succeeded: boolean) => {
    if (finalized || record.buildComplete) return;
    finalized = true;
    if (!stopReason) {
      if (record.phases.some((p) => p.phaseType === 'POST_BUILD')) {
        const upload = begin('UPLOAD_ARTIFACTS');
        container(
          'Entering phase UPLOAD_ARTIFACTS',
          'Phase complete: UPLOAD_ARTIFACTS State: SUCCEEDED',
          'Phase context status code:  Message: ',
        );
        end(upload, 'SUCCEEDED');
      }
      record.buildStatus = succeeded ? 'SUCCEEDED' : 'FAILED';
    }
  };

  const complete = async () => {
    if (!record.buildComplete) {
      if (!finalized) finalize(false);
      const finalizing = begin('FINALIZING');
      if (!stopReason) await pause(BUILD_AWS_SECONDS.finalizing);
      end(finalizing, 'SUCCEEDED');
      const now = Date.now();
      record.phases.push({ phaseType: 'COMPLETED', startTime: now });
      record.currentPhase = 'COMPLETED';
      record.endTime = now;
      record.buildComplete = true;
    }
    for (const timer of timers) timer.cancel();
    if (root) engine.roots.remove(root);
  };

  const done = main()
    .catch((error: unknown) => {
      const message = error instanceof AwsError || error instanceof Error ? error.message : String(error);
      engine.log(`codebuild: ${record.id} failed in the sandbox: ${message}`);
      record.sandboxError = message;
      const phase = open();
      if (phase) end(phase, 'FAULT', { statusCode: 'CLIENT_ERROR', message });
      if (!stopReason) record.buildStatus = 'FAULT';
      finalized = true;
    })
    .then(complete);
  return { stop, done };
}

/** The bridge folder's jail path, for the README and tests. */
export const PACKER_BRIDGE_DIR = BRIDGE_JAIL_DIR;
