/**
 * A BuildAmi history told as a build (functions/lib/builds-progress.ts): every state of
 * statemachines/build-ami.asl.yml placed in the story, and the paths — already built, built
 * and copied, failed in the build, failed in validation, a copy failed, stopped, timed out —
 * each with its parts, its failed step and the references (CodeBuild build, nested validation).
 */
import { existsSync, readFileSync } from 'node:fs';
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { BUILD_STORY, buildProgress, storyOf } from '../../functions/lib/builds-progress';

const BUILD_ID = 'build-6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b';
const EXECUTION_ARN = `arn:aws:states:us-west-2:123456789012:execution:pulsar-ami-dev-build-ami:${BUILD_ID}`;
const CODEBUILD_ID = 'pulsar-ami-dev-build-ami:0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9';
const VALIDATION_ARN =
  'arn:aws:states:us-west-2:123456789012:execution:pulsar-ami-dev-validate-ami:6b0f9a8e-1c2d-5e3f-8a4b-5c6d7e8f9a0b';
const AMI = 'ami-0fedcba9876543210';
const T0 = Date.parse('2026-01-15T12:00:00Z');
const INPUT = {
  buildId: BUILD_ID,
  version: '3.0.0',
  instanceType: 't3.small',
  architecture: 'x86_64',
  force: false,
  copyToRegions: ['us-east-1'],
};

type Event = Omit<HistoryEvent, 'id' | 'timestamp'>;

const history = (...events: Event[]): HistoryEvent[] =>
  events.map((e, i) => ({ ...e, id: i + 1, previousEventId: i, timestamp: new Date(T0 + (i + 1) * 1000) }));
const enter = (name: string, input: unknown = INPUT, kind = 'Task'): Event => ({
  type: `${kind}StateEntered` as HistoryEvent['type'],
  stateEnteredEventDetails: { name, input: JSON.stringify(input) },
});
const exit = (name: string, output: unknown = INPUT, kind = 'Task'): Event => ({
  type: `${kind}StateExited` as HistoryEvent['type'],
  stateExitedEventDetails: { name, output: JSON.stringify(output) },
});
const state = (name: string, output: unknown = INPUT, kind = 'Task', input: unknown = INPUT): Event[] => [
  enter(name, input, kind),
  exit(name, output, kind),
];

const FIND = [
  ...state('Find Existing AMI', { ...INPUT, existing: { found: false, region: 'us-west-2', result: null } }),
  ...state('AMI Already Built?', INPUT, 'Choice'),
];
const BUILD_SUBMITTED: Event[] = [
  enter('Build Image With Packer'),
  {
    type: 'TaskSubmitted',
    taskSubmittedEventDetails: {
      resourceType: 'codebuild',
      resource: 'startBuild.sync',
      output: JSON.stringify({ Build: { Id: CODEBUILD_ID } }),
    },
  },
];
const BUILT: Event[] = [
  ...BUILD_SUBMITTED,
  exit('Build Image With Packer', {
    ...INPUT,
    build: { codeBuildId: CODEBUILD_ID, exportedVariables: [{ Name: 'AMI_ID', Value: AMI }] },
  }),
  ...state('Prepare Validation', {
    ...INPUT,
    image: { imageId: AMI, name: 'pulsar-base-3.0.0-20260115120500' },
  }),
];
const VALIDATING: Event[] = [
  enter('Validate AMI'),
  {
    type: 'TaskSubmitted',
    taskSubmittedEventDetails: {
      resourceType: 'states',
      resource: 'startExecution.sync:2',
      output: JSON.stringify({ ExecutionArn: VALIDATION_ARN }),
    },
  },
];

const execution = (status: string, extra: Record<string, unknown> = {}) => ({
  executionArn: EXECUTION_ARN,
  name: BUILD_ID,
  status,
  startDate: new Date(T0),
  input: JSON.stringify(INPUT),
  ...(status === 'RUNNING' ? {} : { stopDate: new Date(T0 + 754_000) }),
  ...extra,
});

describe('the BuildAmi story', () => {
  it('places every state of statemachines/build-ami.asl.yml (the Map’s own states fold into Copy To Regions)', () => {
    const file = 'statemachines/build-ami.asl.yml';
    if (!existsSync(file)) return; // the machine lands with its own slice
    const definition = parse(readFileSync(file, 'utf8')) as { States: Record<string, unknown> };
    const placed = new Set(BUILD_STORY.flatMap((s) => s.states));
    for (const name of Object.keys(definition.States)) expect(placed.has(name), name).toBe(true);
  });

  it('a state it does not know is still told, its part guessed from its name', () => {
    expect(storyOf('Copy AMI To Region')).toEqual({ step: 'Copy AMI To Region', phase: 'copy' });
    expect(storyOf('Republish Something')).toEqual({ step: 'Republish Something', phase: 'publish' });
  });
});

describe('history → build progress', () => {
  it('building: the step, the CodeBuild build; nothing failed yet', () => {
    const { progress, references } = buildProgress(
      execution('RUNNING'),
      history(...FIND, ...BUILD_SUBMITTED),
      false,
      new Date(T0 + 30_000),
    );
    expect(progress).toMatchObject({
      status: 'RUNNING',
      currentStep: 'Build Image With Packer',
      phases: {
        find: 'succeeded',
        build: 'running',
        validate: 'pending',
        publish: 'pending',
        copy: 'pending',
        cleanup: 'pending',
      },
      durationSeconds: 30,
      version: '3.0.0',
      copyToRegions: ['us-east-1'],
    });
    expect(progress.error).toBeUndefined();
    expect(progress.steps.map((s) => s.name)).toEqual(['Find Existing AMI', 'Build Image With Packer']);
    expect(references).toEqual({ codeBuildId: CODEBUILD_ID });
  });

  it('validating: the AMI from the build, the nested validation found', () => {
    const { progress, references } = buildProgress(
      execution('RUNNING'),
      history(...FIND, ...BUILT, ...VALIDATING),
    );
    expect(progress).toMatchObject({
      amiId: AMI,
      amiName: 'pulsar-base-3.0.0-20260115120500',
      phases: { build: 'succeeded', validate: 'running' },
    });
    expect(references).toEqual({ codeBuildId: CODEBUILD_ID, validationExecutionArn: VALIDATION_ARN });
  });

  it('built, validated, published and copied: the output’s AMI and regions, nothing skipped but cleanup', () => {
    const output = {
      amiId: AMI,
      name: 'pulsar-base-3.0.0-20260115120500',
      version: '3.0.0',
      region: 'us-west-2',
      regions: [
        { region: 'us-west-2', amiId: AMI },
        { region: 'us-east-1', amiId: 'ami-0aaaaaaaaaaaaaaaa' },
      ],
      alreadyBuilt: false,
      build: { codeBuildId: CODEBUILD_ID },
      validation: { validationId: 'x', executionArn: VALIDATION_ARN, passed: true },
      latest: { imageId: AMI, previous: 'ami-0123456789abcdef0', changed: true },
    };
    const events = history(
      ...FIND,
      ...BUILT,
      ...VALIDATING,
      exit('Validate AMI', { ...INPUT, validation: { executionArn: VALIDATION_ARN, passed: true } }),
      ...state('Publish AMI', {
        ...INPUT,
        published: {
          versionParameter: '/pulsar-ami/dev/versions/3.0.0/latest-ami-id',
          latest: { imageId: AMI, previous: 'ami-0123456789abcdef0', changed: true },
        },
      }),
      enter('Copy To Regions', INPUT, 'Map'),
      enter('Copy AMI To Region', { region: 'us-east-1' }),
      exit('Copy AMI To Region', { region: 'us-east-1' }),
      exit(
        'Copy To Regions',
        { ...INPUT, copies: [{ region: 'us-east-1', amiId: 'ami-0aaaaaaaaaaaaaaaa', published: true }] },
        'Map',
      ),
      ...state('Summarize Copies'),
      ...state('Copied To Every Region?', INPUT, 'Choice'),
      ...state('Report Build Succeeded', output, 'Pass'),
      enter('Build Succeeded', output, 'Succeed'),
      exit('Build Succeeded', output, 'Succeed'),
      { type: 'ExecutionSucceeded', executionSucceededEventDetails: { output: JSON.stringify(output) } },
    );
    const { progress } = buildProgress(execution('SUCCEEDED', { output: JSON.stringify(output) }), events);
    expect(progress).toMatchObject({
      status: 'SUCCEEDED',
      amiId: AMI,
      region: 'us-west-2',
      regions: output.regions,
      copies: [{ region: 'us-east-1', amiId: 'ami-0aaaaaaaaaaaaaaaa', published: true }],
      published: {
        versionParameter: '/pulsar-ami/dev/versions/3.0.0/latest-ami-id',
        latest: AMI,
        latestChanged: true,
      },
      phases: {
        find: 'succeeded',
        build: 'succeeded',
        validate: 'succeeded',
        publish: 'succeeded',
        copy: 'succeeded',
        cleanup: 'skipped',
      },
      durationSeconds: 754,
      stoppedAt: '2026-01-15T12:12:34.000Z',
    });
    // The Map's own states are not steps of the build.
    expect(progress.steps.map((s) => s.name)).toEqual([
      'Find Existing AMI',
      'Build Image With Packer',
      'Validate AMI',
      'Publish AMI',
      'Copy To Regions',
      'Build Succeeded',
    ]);
    expect(progress.error).toBeUndefined();
  });

  it('already built: found, the rest skipped, the AMI from the output', () => {
    const result = {
      amiId: AMI,
      name: 'pulsar-base-3.0.0-20251006142311',
      version: '3.0.0',
      region: 'us-west-2',
      alreadyBuilt: true,
    };
    const events = history(
      ...state('Find Existing AMI', { ...INPUT, existing: { found: true, region: 'us-west-2', result } }),
      ...state('AMI Already Built?', INPUT, 'Choice'),
      ...state('Report Already Built', result, 'Pass'),
      enter('Already Built', result, 'Succeed'),
      exit('Already Built', result, 'Succeed'),
    );
    const { progress } = buildProgress(execution('SUCCEEDED', { output: JSON.stringify(result) }), events);
    expect(progress).toMatchObject({
      alreadyBuilt: true,
      amiId: AMI,
      phases: {
        find: 'succeeded',
        build: 'skipped',
        validate: 'skipped',
        publish: 'skipped',
        copy: 'skipped',
        cleanup: 'skipped',
      },
    });
  });

  it('validation failed: that step named, the build done, cleanup told', () => {
    const cause = `Build ${BUILD_ID}: AMI ${AMI} failed validation: checks failed: Java 17`;
    const error = { Error: 'States.TaskFailed', Cause: '{"Error":"ValidationChecksFailed"}' };
    const events = history(
      ...FIND,
      ...BUILT,
      ...VALIDATING,
      exit('Validate AMI', { ...INPUT, error }),
      ...state('Collect Failed AMI', { ...INPUT, error, cleanup: { imageIds: [AMI] } }, 'Pass', {
        ...INPUT,
        error,
      }),
      ...state('Delete Failed AMI', {
        ...INPUT,
        cleanup: { imageIds: [AMI], deletion: { deleted: [{ imageId: AMI, snapshots: [] }], kept: [] } },
      }),
      ...state('Was The Image Built?', INPUT, 'Choice'),
      ...state('Explain Validation Failure', { failure: { error: 'ValidationFailed', cause } }),
      enter('Fail Build', {}, 'Fail'),
      { type: 'ExecutionFailed', executionFailedEventDetails: { error: 'ValidationFailed', cause } },
    );
    const { progress } = buildProgress(execution('FAILED', { error: 'ValidationFailed', cause }), events);
    expect(progress).toMatchObject({
      status: 'FAILED',
      phases: {
        find: 'succeeded',
        build: 'succeeded',
        validate: 'failed',
        publish: 'pending',
        cleanup: 'succeeded',
      },
      cleanup: { deleted: [AMI], kept: [] },
      error: {
        error: 'ValidationFailed',
        failedStep: 'Validate AMI',
        summary: `Validate AMI failed: AMI ${AMI} failed validation: checks failed: Java 17`,
      },
      currentStep: 'Fail Build',
    });
  });

  it('while the failed build is being cleaned up: the build part failed already, cleanup running', () => {
    const error = { Error: 'States.TaskFailed', Cause: '{}' };
    const events = history(
      ...FIND,
      ...BUILD_SUBMITTED,
      exit('Build Image With Packer', { ...INPUT, error }),
      enter('Find AMIs From Failed Build', { ...INPUT, error }),
    );
    const { progress } = buildProgress(execution('RUNNING'), events);
    expect(progress.phases).toMatchObject({ build: 'failed', cleanup: 'running', validate: 'pending' });
    expect(progress.currentStep).toBe('Delete Failed AMI');
  });

  it('a copy failed: the AMI is published at home, the copy step named', () => {
    const cause = `Build ${BUILD_ID}: AMI ${AMI} is validated and published in us-west-2, but the copy to a region failed: us-east-1: CopyFailed`;
    const events = history(
      ...FIND,
      ...BUILT,
      ...VALIDATING,
      exit('Validate AMI', { ...INPUT, validation: { passed: true } }),
      ...state('Publish AMI', { ...INPUT, published: { versionParameter: '/p', latest: AMI } }),
      ...state(
        'Copy To Regions',
        {
          ...INPUT,
          copies: [{ region: 'us-east-1', amiId: null, published: false, error: 'CopyFailed', cause: 'no' }],
        },
        'Map',
      ),
      ...state('Summarize Copies'),
      ...state('Report Copy Failure', INPUT, 'Pass'),
      enter('Fail Build', {}, 'Fail'),
      { type: 'ExecutionFailed', executionFailedEventDetails: { error: 'CopyFailed', cause } },
    );
    const { progress } = buildProgress(execution('FAILED', { error: 'CopyFailed', cause }), events);
    expect(progress).toMatchObject({
      phases: {
        build: 'succeeded',
        validate: 'succeeded',
        publish: 'succeeded',
        copy: 'failed',
        cleanup: 'skipped',
      },
      copies: [{ region: 'us-east-1', amiId: null, published: false, error: 'CopyFailed', cause: 'no' }],
      error: {
        failedStep: 'Copy To Regions',
        summary: expect.stringMatching(
          /^Copy To Regions failed: AMI .* published in us-west-2, but the copy/,
        ),
      },
    });
  });

  it('stopped mid-build, or timed out: the step it was in', () => {
    const events = history(...FIND, ...BUILD_SUBMITTED, {
      type: 'ExecutionAborted',
      executionAbortedEventDetails: {},
    });
    const aborted = buildProgress(execution('ABORTED'), events).progress;
    expect(aborted.error).toMatchObject({
      error: 'ExecutionAborted',
      failedStep: 'Build Image With Packer',
      summary: 'The build was stopped in Build Image With Packer (ExecutionAborted)',
    });
    expect(aborted.phases.build).toBe('failed');
    const timedOut = buildProgress(
      execution('TIMED_OUT'),
      history(...FIND, ...BUILT, ...VALIDATING),
    ).progress;
    expect(timedOut.error).toMatchObject({
      error: 'States.Timeout',
      failedStep: 'Validate AMI',
      summary: 'The build timed out in Validate AMI (States.Timeout)',
    });
  });
});
