/**
 * Where a BuildAmi execution is, read from its Step Functions history: the story steps with
 * their times, the guide's parts (find, build, validate, publish, copy, cleanup), the CodeBuild
 * build and the nested ValidateAmi execution it ran, the AMI, the copies and the error with the
 * step that failed. Pure: the history events and the DescribeExecution answer in, the progress
 * out (builds-status.ts adds what other services say: BatchGetBuilds, the nested validation).
 * The state names are statemachines/build-ami.asl.yml's; a test asserts every one is placed,
 * and a state this file does not know is still told (by its name, its part guessed from it).
 */
import type { BuildError, BuildPhaseName, BuildPhaseStatus, BuildResponse, BuildStep } from './api-types';
import { CODEBUILD_ID_PATTERN } from './builds';
import {
  ABORTED,
  type Entry,
  type ExecutionLike,
  entriesOf,
  errorIn,
  executionOutput,
  executionStatus,
  finalError,
  type HistoryEventLike,
  iso,
  isRecord,
} from './execution-progress';
import { field, parseJsonObject } from './json';
import { AMI_ID_PATTERN } from './validation';

export const BUILD_PHASES: readonly BuildPhaseName[] = [
  'find',
  'build',
  'validate',
  'publish',
  'copy',
  'cleanup',
];

/** The story steps, in order, each with the helper states (choices, passes, explanations) folded in. */
export const BUILD_STORY: readonly {
  step: string;
  phase: BuildPhaseName | null;
  states: readonly string[];
}[] = [
  {
    step: 'Find Existing AMI',
    phase: 'find',
    states: ['Find Existing AMI', 'AMI Already Built?', 'Report Already Built', 'Use Existing AMI'],
  },
  { step: 'Already Built', phase: null, states: ['Already Built'] },
  {
    step: 'Build Image With Packer',
    phase: 'build',
    states: ['Build Image With Packer', 'Prepare Validation'],
  },
  { step: 'Validate AMI', phase: 'validate', states: ['Validate AMI'] },
  {
    step: 'Delete Failed AMI',
    phase: 'cleanup',
    states: [
      'Find AMIs From Failed Build',
      'Collect Failed AMI',
      'Delete Failed AMI',
      'Was The Image Built?',
      'Explain Build Failure',
      'Report Build Failure As Is',
      'Explain Validation Failure',
      'Report Validation Failure As Is',
    ],
  },
  { step: 'Publish AMI', phase: 'publish', states: ['Publish AMI'] },
  {
    step: 'Copy To Regions',
    phase: 'copy',
    states: ['Copy To Regions', 'Summarize Copies', 'Copied To Every Region?', 'Report Copy Failure'],
  },
  {
    step: 'Build Succeeded',
    phase: null,
    states: ['Report Build Succeeded', 'Report Already Built And Copied', 'Build Succeeded'],
  },
  { step: 'Fail Build', phase: null, states: ['Fail Build'] },
];

const STEP_OF = new Map<string, (typeof BUILD_STORY)[number]>();
for (const entry of BUILD_STORY) for (const state of entry.states) STEP_OF.set(state, entry);

/** A state this file does not know: its part by what its name says. */
function guessPhase(state: string): BuildPhaseName | null {
  if (/delete|clean|failed ami|explain/i.test(state)) return 'cleanup';
  if (/exist|already/i.test(state)) return 'find';
  if (/packer|codebuild|build image/i.test(state)) return 'build';
  if (/validat/i.test(state)) return 'validate';
  if (/publish/i.test(state)) return 'publish';
  if (/cop(y|ies)|region/i.test(state)) return 'copy';
  return null;
}

export function storyOf(state: string): { step: string; phase: BuildPhaseName | null } {
  return STEP_OF.get(state) ?? { step: state, phase: guessPhase(state) };
}

/** The step that failed, by the machine's Fail error (C's build-outcome.ts names them). */
const FAILED_STEP_OF_ERROR: Record<string, string> = {
  BuildFailed: 'Build Image With Packer',
  ValidationFailed: 'Validate AMI',
  CopyFailed: 'Copy To Regions',
};

/** What the build is known by, found in the history: the references builds-status.ts follows. */
export interface BuildReferences {
  /** The CodeBuild build (`project:uuid`) the build step started. */
  codeBuildId?: string;
  /** CodeBuild's own description of it, as the .sync task recorded it (camelCase or PascalCase). */
  recordedBuild?: Record<string, unknown>;
  /** The nested ValidateAmi execution. */
  validationExecutionArn?: string;
}

export type BuildProgress = Omit<BuildResponse, 'buildId' | 'executionArn' | 'codeBuild' | 'validation'>;

const stringIn = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** The first string under one of `keys`, anywhere in `value`, that `test` accepts. */
function findDeep(
  value: unknown,
  keys: readonly string[],
  test: (s: string) => boolean,
  depth = 0,
): string | undefined {
  if (depth > 8) return undefined;
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = findDeep(item, keys, test, depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  if (!isRecord(value)) return undefined;
  for (const key of keys) {
    const candidate = value[key];
    if (typeof candidate === 'string' && test(candidate)) return candidate;
  }
  for (const inner of Object.values(value)) {
    const found = findDeep(inner, keys, test, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/** The JSON objects a state's own events carry: task outputs, and failure causes that are JSON. */
function taskData(entry: Entry): Record<string, unknown>[] {
  const data: Record<string, unknown>[] = [];
  for (const event of entry.events) {
    const text =
      event.taskSubmittedEventDetails?.output ??
      event.taskSucceededEventDetails?.output ??
      event.taskFailedEventDetails?.cause;
    const parsed = parseJsonObject(text);
    if (parsed) data.push(parsed);
  }
  return data;
}

const isCodeBuildId = (s: string) => CODEBUILD_ID_PATTERN.test(s);

function referencesOf(
  entries: readonly Entry[],
  output: Record<string, unknown> | undefined,
  ownArn: string | undefined,
): BuildReferences {
  const refs: BuildReferences = {};
  for (const entry of entries) {
    const phase = storyOf(entry.state).phase;
    if (phase === 'build' && entry.state === 'Build Image With Packer') {
      for (const data of taskData(entry)) {
        const build = isRecord(field(data, 'Build'))
          ? (field(data, 'Build') as Record<string, unknown>)
          : data;
        const id = stringIn(field(build, 'Id'));
        if (id && isCodeBuildId(id)) {
          refs.codeBuildId = id;
          if (field(build, 'BuildStatus') !== undefined || field(build, 'Phases') !== undefined) {
            refs.recordedBuild = build;
          }
        }
      }
      refs.codeBuildId ??= findDeep([entry.output, entry.input], ['codeBuildId', 'Id'], isCodeBuildId);
    }
    if (phase === 'validate' && !entry.nested) {
      const isOther = (s: string) => s.includes(':execution:') && s !== ownArn;
      refs.validationExecutionArn ??= findDeep(
        [...taskData(entry), entry.output],
        ['ExecutionArn', 'executionArn'],
        isOther,
      );
    }
  }
  refs.codeBuildId ??= findDeep(output, ['codeBuildId'], isCodeBuildId);
  refs.validationExecutionArn ??= findDeep(output?.validation, ['executionArn', 'ExecutionArn'], (s) =>
    s.includes(':execution:'),
  );
  return refs;
}

function stepsOf(entries: readonly Entry[], ended: boolean): BuildStep[] {
  const groups: {
    name: string;
    phase: BuildPhaseName | null;
    enteredAt: string;
    lastExit?: string;
    open: boolean;
  }[] = [];
  for (const entry of entries) {
    if (entry.nested) continue;
    const story = storyOf(entry.state);
    let group = groups.at(-1);
    if (group?.name !== story.step) {
      group = { name: story.step, phase: story.phase, enteredAt: entry.enteredAt, open: true };
      groups.push(group);
    }
    group.open = entry.exitedAt === undefined;
    if (entry.exitedAt !== undefined) group.lastExit = entry.exitedAt;
  }
  return groups.map((group, i) => {
    const done = i < groups.length - 1 || (ended && !group.open);
    const step: BuildStep = { name: group.name, phase: group.phase, enteredAt: group.enteredAt };
    if (done && group.lastExit !== undefined) step.exitedAt = group.lastExit;
    return step;
  });
}

function amiIdOf(entries: readonly Entry[], output: Record<string, unknown> | undefined): string | undefined {
  const isAmi = (s: string) => AMI_ID_PATTERN.test(s);
  const direct = stringIn(output?.amiId);
  if (direct && isAmi(direct)) return direct;
  for (const entry of [...entries].reverse()) {
    if (entry.nested) continue;
    const image = entry.output?.image;
    const fromImage = isRecord(image) ? stringIn(image.imageId) : undefined;
    if (fromImage && isAmi(fromImage)) return fromImage;
  }
  // The build's exported AMI_ID, before Prepare Validation read it.
  for (const entry of entries) {
    const exported = isRecord(entry.output?.build) ? entry.output.build.exportedVariables : undefined;
    if (!Array.isArray(exported)) continue;
    for (const variable of exported) {
      if (!isRecord(variable)) continue;
      const value = stringIn(field(variable, 'Value'));
      if (field(variable, 'Name') === 'AMI_ID' && value && isAmi(value)) return value;
    }
  }
  return undefined;
}

/** `Build build-…: the reason` → `the reason`: the failed step is said once, by the summary. */
function reasonOf(cause: string, buildId: string | undefined): string {
  const trimmed = cause.trim();
  const prefix = buildId ? `Build ${buildId}: ` : undefined;
  return prefix && trimmed.startsWith(prefix) ? trimmed.slice(prefix.length) : trimmed;
}

/**
 * The progress of one execution. `events` is its history (any order); `execution` its
 * DescribeExecution answer, which has the final status, input, output and error even when the
 * history was cut.
 */
export function buildProgress(
  execution: ExecutionLike,
  events: readonly HistoryEventLike[],
  historyTruncated = false,
  now: Date = new Date(),
): { progress: BuildProgress; references: BuildReferences } {
  const status = executionStatus(execution.status);
  const ended = status !== 'RUNNING';
  const entries = entriesOf(events);
  const input = parseJsonObject(execution.input);
  const output = executionOutput(execution, events);
  const has = (state: string) => entries.some((e) => e.state === state);

  const phaseEntered = new Set<BuildPhaseName>();
  let lastPhase: BuildPhaseName | null = null;
  for (const entry of entries) {
    if (entry.nested) continue;
    const phase = storyOf(entry.state).phase;
    if (!phase) continue;
    phaseEntered.add(phase);
    if (phase !== 'cleanup') lastPhase = phase;
  }
  const alreadyBuilt = output?.alreadyBuilt === true || has('Already Built') || has('Report Already Built');

  // The error that failed the build: the first caught on the way (its state is where it arose), and how it ended.
  let caught: { error: string; cause: string; state: string | null } | undefined;
  const main = entries.filter((e) => !e.nested);
  for (const [i, entry] of main.entries()) {
    const found = errorIn(entry.input);
    if (!found) continue;
    caught = { ...found, state: main[i - 1]?.state ?? null };
    break;
  }
  const final = finalError(execution, events, status);
  let error: BuildError | undefined;
  let failedPhase: BuildPhaseName | undefined;
  if (final) {
    const failedStep =
      FAILED_STEP_OF_ERROR[final.error] ??
      (caught?.state ? storyOf(caught.state).step : undefined) ??
      main
        .map((e) => storyOf(e.state))
        .filter((story) => story.phase !== null && story.phase !== 'cleanup')
        .at(-1)?.step ??
      null;
    failedPhase =
      (failedStep ? storyOf(failedStep).phase : null) ??
      (caught?.state ? storyOf(caught.state).phase : null) ??
      lastPhase ??
      'find';
    if (failedPhase === 'cleanup') failedPhase = lastPhase ?? 'find';
    const buildId = stringIn(input?.buildId) ?? execution.name;
    let summary: string;
    if (status === 'ABORTED')
      summary = `The build was stopped${failedStep ? ` in ${failedStep}` : ''} (${final.error})`;
    else if (status === 'TIMED_OUT')
      summary = `The build timed out${failedStep ? ` in ${failedStep}` : ''} (${final.error})`;
    else {
      const reason = reasonOf(final.cause || caught?.cause || '', buildId) || final.error;
      summary = `${failedStep ?? 'The build'} failed: ${reason}`;
    }
    error = { error: final.error, cause: final.cause, failedStep, summary };
  }

  const phases = {} as Record<BuildPhaseName, BuildPhaseStatus>;
  const mainPhases = BUILD_PHASES.filter((p) => p !== 'cleanup');
  mainPhases.forEach((phase, i) => {
    const later = mainPhases.slice(i + 1).some((p) => phaseEntered.has(p));
    let value: BuildPhaseStatus;
    if (!phaseEntered.has(phase)) value = alreadyBuilt && phase !== 'find' ? 'skipped' : 'pending';
    else if (failedPhase === phase) value = 'failed';
    else if (later || (ended && status === 'SUCCEEDED') || (phase === 'find' && alreadyBuilt))
      value = 'succeeded';
    else if (phaseEntered.has('cleanup') || ended) value = 'failed';
    else value = 'running';
    phases[phase] = value;
  });
  if (phaseEntered.has('cleanup')) {
    const cleanupOpen = main
      .filter((e) => storyOf(e.state).phase === 'cleanup')
      .some((e) => e.exitedAt === undefined);
    const deletion = main.find((e) => e.state === 'Delete Failed AMI');
    const cleanupFailed = main.some((e) => e.output?.cleanupError !== undefined);
    phases.cleanup = cleanupFailed
      ? 'failed'
      : cleanupOpen && !ended
        ? 'running'
        : deletion || ended
          ? 'succeeded'
          : 'running';
  } else phases.cleanup = status === 'SUCCEEDED' || alreadyBuilt ? 'skipped' : ended ? 'skipped' : 'pending';

  const steps = stepsOf(entries, ended);
  const last = main.at(-1);
  const startedAt = iso(execution.startDate) ?? entries[0]?.enteredAt ?? '';
  const stoppedAt = ended ? iso(execution.stopDate) : undefined;
  const endMs = stoppedAt ? Date.parse(stoppedAt) : now.getTime();
  const startMs = Date.parse(startedAt);
  const progress: BuildProgress = {
    status,
    version: stringIn(input?.version) ?? null,
    instanceType: stringIn(input?.instanceType) ?? null,
    architecture: stringIn(input?.architecture) ?? null,
    force: input?.force === true,
    copyToRegions: Array.isArray(input?.copyToRegions) ? input.copyToRegions.map(String) : [],
    currentStep: steps.at(-1)?.name ?? null,
    currentState: last?.state ?? null,
    steps,
    phases,
    startedAt,
    durationSeconds: Number.isNaN(startMs) ? 0 : Math.max(0, Math.round((endMs - startMs) / 1000)),
  };
  const amiId = amiIdOf(entries, output);
  if (amiId) progress.amiId = amiId;
  const image = [...main].reverse().find((e) => isRecord(e.output?.image))?.output?.image;
  const amiName = stringIn(output?.name) ?? (isRecord(image) ? stringIn(image.name) : undefined);
  if (amiName) progress.amiName = amiName;
  const existing = main.find((e) => e.state === 'Find Existing AMI')?.output?.existing;
  const region = stringIn(output?.region) ?? (isRecord(existing) ? stringIn(existing.region) : undefined);
  if (region) progress.region = region;
  if (Array.isArray(output?.regions)) {
    progress.regions = output.regions.flatMap((r) =>
      isRecord(r) && typeof r.region === 'string' && typeof r.amiId === 'string'
        ? [{ region: r.region, amiId: r.amiId }]
        : [],
    );
  }
  if (alreadyBuilt) progress.alreadyBuilt = true;
  const copies = main.find((e) => e.state === 'Copy To Regions' && e.output)?.output?.copies;
  if (Array.isArray(copies)) {
    progress.copies = copies.flatMap((c) =>
      isRecord(c) && typeof c.region === 'string'
        ? [
            {
              region: c.region,
              amiId: stringIn(c.amiId) ?? null,
              published: c.published === true,
              ...(typeof c.error === 'string' ? { error: c.error } : {}),
              ...(typeof c.cause === 'string' ? { cause: c.cause } : {}),
            },
          ]
        : [],
    );
  }
  const published = main.find((e) => e.state === 'Publish AMI')?.output?.published;
  if (isRecord(published) || output?.latest !== undefined) {
    const record = isRecord(published) ? published : {};
    // Publish AMI answers the latest rule's outcome: {imageId, previous, changed} (or its id alone).
    const latest = output?.latest ?? record.latest;
    const outcome = isRecord(latest) ? latest : undefined;
    progress.published = {
      versionParameter: stringIn(record.versionParameter) ?? null,
      latest: stringIn(latest) ?? stringIn(outcome?.imageId) ?? null,
      ...(typeof outcome?.changed === 'boolean' ? { latestChanged: outcome.changed } : {}),
    };
  }
  const deletion = main.find((e) => e.state === 'Delete Failed AMI' && e.output)?.output?.cleanup;
  const deletionResult = isRecord(deletion) && isRecord(deletion.deletion) ? deletion.deletion : undefined;
  if (deletionResult) {
    progress.cleanup = {
      deleted: Array.isArray(deletionResult.deleted)
        ? deletionResult.deleted.flatMap((d) =>
            isRecord(d) && typeof d.imageId === 'string' ? [d.imageId] : [],
          )
        : [],
      kept: Array.isArray(deletionResult.kept)
        ? deletionResult.kept.flatMap((k) =>
            isRecord(k) && typeof k.imageId === 'string'
              ? [{ imageId: k.imageId, reason: stringIn(k.reason) ?? '' }]
              : [],
          )
        : [],
    };
  }
  if (error) progress.error = error;
  if (stoppedAt) progress.stoppedAt = stoppedAt;
  if (historyTruncated) progress.historyTruncated = true;
  return { progress, references: referencesOf(entries, output, execution.executionArn) };
}

export { ABORTED };
