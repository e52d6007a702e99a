/**
 * CodeBuild in the sandbox: the engine the API (index.ts) and Step Functions' codebuild tasks
 * reach through the world (`world.codeBuild`). It knows the projects (serverless.yml's
 * AWS::CodeBuild::Project resources, in the API's region), where a build's source comes from,
 * the Packer stand-in the bridge calls and the read-only folders builds see; and it holds what
 * runs now (each build's jail and timers), so a reset or close stops every build and removes
 * every build root. The builds themselves are records in the world's regions
 * (`RegionState.builds`, models/builds.ts); running one is runner.ts.
 */
import { dirname } from 'node:path';
import type { CallLog } from '../calls';
import { runPacker } from '../packer/index';
import type { ServerlessApp, ServerlessCodeBuildProject } from '../serverless-config';
import type { SandboxInfo } from '../services';
import type { ReadOnlyMount } from '../ssm/executor';
import type { World, WorldEngine } from '../world';
import type { PackerRunner } from './bridge';
import { BuildRoots } from './build-roots';
import type { BuildRecord } from './models/records';

export interface CodeBuildOptions {
  world: World;
  info: SandboxInfo;
  /** serverless.yml as loaded (null when it cannot be read). */
  config: () => ServerlessApp | null;
  /** serverless.yml's path: its folder holds the packer/ and buildspec/ a build gets. */
  serverlessYml: string;
  calls: CallLog;
  log: (line: string) => void;
  /** The Packer stand-in the bridge calls (default: sandbox/packer's runPacker). */
  packer?: PackerRunner;
  /** Host folders every build sees read-only under /sandbox (the artifact store, the tools). */
  readOnlyMounts?: () => Promise<ReadOnlyMount[]>;
}

/** A build that runs now: how to stop it, and when it has ended. */
export interface RunningBuild {
  /** Stops the build as StopBuild (STOPPED) or its timeout (TIMED_OUT) does. Idempotent. */
  stop(reason: 'STOPPED' | 'TIMED_OUT'): void;
  /** Resolves once the build is complete (its record says so). */
  readonly done: Promise<void>;
}

export class CodeBuild implements WorldEngine {
  readonly roots = new BuildRoots();
  private readonly running = new Map<string, RunningBuild>();
  private readonly ended = new Map<string, Promise<void>>();
  private packerOverride: PackerRunner | undefined;

  constructor(readonly options: CodeBuildOptions) {
    this.packerOverride = options.packer;
  }

  get world(): World {
    return this.options.world;
  }

  get info(): SandboxInfo {
    return this.options.info;
  }

  get calls(): CallLog {
    return this.options.calls;
  }

  log(line: string): void {
    this.options.log(line);
  }

  /** Where packer/ and buildspec/ are copied from. */
  get sourceRoot(): string {
    return dirname(this.options.serverlessYml);
  }

  /** The projects of `region` (all of serverless.yml's live in the API's region). */
  projects(region: string): ServerlessCodeBuildProject[] {
    if (region !== this.options.info.apiRegion) return [];
    return this.options.config()?.codeBuildProjects ?? [];
  }

  project(region: string, name: string): ServerlessCodeBuildProject | undefined {
    return this.projects(region).find((p) => p.name === name);
  }

  /** Replaces the Packer stand-in (tests); undefined goes back to the default. */
  setPacker(runner: PackerRunner | undefined): void {
    this.packerOverride = runner;
  }

  /** The Packer stand-in: sandbox/packer's runPacker unless a test replaced it. */
  async packer(): Promise<PackerRunner | undefined> {
    return this.packerOverride ?? runPacker;
  }

  async readOnlyMounts(): Promise<ReadOnlyMount[]> {
    return (await this.options.readOnlyMounts?.()) ?? [];
  }

  /** Keeps a running build, to stop it early and to know when it ends. */
  track(build: BuildRecord, run: RunningBuild): void {
    this.running.set(build.arn, run);
    this.ended.set(build.arn, run.done);
    void run.done.finally(() => {
      if (this.running.get(build.arn) === run) this.running.delete(build.arn);
    });
  }

  /** How many builds run now (CodeBuild's concurrent-build limit counts them). */
  get runningCount(): number {
    return this.running.size;
  }

  runningBuild(build: BuildRecord): RunningBuild | undefined {
    return this.running.get(build.arn);
  }

  /** Resolves when the build has ended (at once for one that is not running). */
  whenComplete(build: BuildRecord): Promise<void> {
    return this.ended.get(build.arn) ?? Promise.resolve();
  }

  /** Reset: every build stopped (its jail killed), every build root removed. */
  clear(): void {
    for (const run of [...this.running.values()]) run.stop('STOPPED');
    this.running.clear();
    this.ended.clear();
    this.roots.clear();
  }

  close(): void {
    this.clear();
  }
}
