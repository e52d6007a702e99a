/**
 * The BuildAmi machine, validated (asl-validator) and run locally (aws-local-stepfunctions).
 * Its Lambda tasks run the real handlers and cores, against an in-memory AWS (BuildWorld)
 * standing in for EC2, SSM and CodeBuild behind the clients of functions/lib/clients; the
 * CodeBuild build and the ValidateAmi child execution are fakes that register, or tag, an
 * image in that world. A thrown handler error reaches Retry/Catch by its name with Lambda's
 * `{"errorType","errorMessage"}` Cause, as in AWS.
 */
import { readFileSync } from 'node:fs';
import aslValidator from 'asl-validator';
import {
  ExecutionError,
  type RunOptions,
  StateMachine,
  type StateMachineDefinition,
} from 'aws-local-stepfunctions';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { handler as buildOutcome } from '../../functions/build-outcome';
import { handler as copyAmiToRegion } from '../../functions/copy-ami-to-region';
import { handler as deleteFailedAmi } from '../../functions/delete-failed-ami';
import { handler as findBuildAmis } from '../../functions/find-build-amis';
import { handler as findExistingAmi } from '../../functions/find-existing-ami';
import { handler as getAmiCopyState } from '../../functions/get-ami-copy-state';
import { buildValidationId } from '../../functions/lib/build-validation';
import { CHECK_NAMES } from '../../functions/lib/checks';
import { handler as prepareValidation } from '../../functions/prepare-validation';
import { handler as publishAmi } from '../../functions/publish-ami';
import { handler as terminateExecutionInstances } from '../../functions/terminate-execution-instances';
import { ACCOUNT, HOME, world } from '../support/build-world';

vi.mock('../../functions/lib/clients/ec2', async () => {
  const { world, HOME } = await import('../support/build-world');
  return { ec2: world.ec2(HOME), ec2In: (region: string) => world.ec2(region) };
});
vi.mock('../../functions/lib/clients/ssm', async () => {
  const { world, HOME } = await import('../support/build-world');
  return { ssm: world.ssm(HOME), ssmIn: (region: string) => world.ssm(region) };
});
vi.mock('../../functions/lib/clients/codebuild', async () => {
  const { world } = await import('../support/build-world');
  return { codebuild: world.codebuild() };
});
vi.mock('../../functions/lib/config', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../functions/lib/config')>();
  return {
    ...original,
    config: original.loadConfig({
      STAGE: 'test',
      AWS_REGION: 'us-west-2',
      VALIDATE_AMI_STATE_MACHINE_ARN:
        'arn:aws:states:us-west-2:123456789012:stateMachine:pulsar-ami-test-validate-ami',
    }),
  };
});
const VALIDATE_ARN_FOR_MOCK =
  'arn:aws:states:us-west-2:123456789012:stateMachine:pulsar-ami-test-validate-ami';

type State = Record<string, unknown> & { Type: string };
type Definition = StateMachineDefinition & { States: Record<string, State>; TimeoutSeconds?: number };

const DEFINITION = parse(readFileSync('statemachines/build-ami.asl.yml', 'utf8')) as Definition;
const SERVERLESS = parse(readFileSync('serverless.yml', 'utf8')) as { functions: Record<string, unknown> };

/** Every state, those of the Map's processor too. */
function allStates(states: Record<string, State> = DEFINITION.States): [string, State][] {
  return Object.entries(states).flatMap(([name, state]) => {
    const processor = (state.ItemProcessor ?? state.Iterator) as
      | { States: Record<string, State> }
      | undefined;
    return [[name, state] as [string, State], ...(processor ? allStates(processor.States) : [])];
  });
}
const TASKS = allStates().filter(([, s]) => s.Type === 'Task');
const WAITS = allStates().filter(([, s]) => s.Type === 'Wait');

const LATEST = '/pulsar-ami/test/latest-ami-id';
const versionParameter = (version: string) => `/pulsar-ami/test/versions/${version}/latest-ami-id`;
const PUBLISHED_OLD = 'published before the build';

const BUILD_ID = 'build-3-0-0-1a2b3c';
/** The project as the ASL names it; serverless resolves the stage when it packages the machine. */
const PROJECT_AS_WRITTEN = ['pulsar-ami-$', '{sls:stage}-build-ami'].join('');
const EXECUTION_ARN = `arn:aws:states:${HOME}:${ACCOUNT}:execution:pulsar-ami-test-build-ami:${BUILD_ID}`;

type BuildInput = {
  buildId: string;
  version: string;
  instanceType: string;
  architecture: 'x86_64' | 'arm64';
  force: boolean;
  copyToRegions: string[];
};

const input = (overrides: Partial<BuildInput> = {}): BuildInput => ({
  buildId: BUILD_ID,
  version: '3.0.0',
  instanceType: 't3.small',
  architecture: 'x86_64',
  force: false,
  copyToRegions: [],
  ...overrides,
});

function stepError(name: string, cause: string): Error {
  const error = new Error(cause);
  error.name = name;
  return error;
}

/** A Lambda task: the handler's answer as lambda:invoke returns it, or its error as Lambda reports it. */
const lambda =
  (handler: (event: unknown) => Promise<unknown>) =>
  async (task: Record<string, unknown>): Promise<unknown> => {
    try {
      return { StatusCode: 200, Payload: await handler(task.Payload) };
    } catch (error) {
      const e = error as Error;
      throw stepError(e.name, JSON.stringify({ errorType: e.name, errorMessage: e.message, trace: [] }));
    }
  };

type Behaviour = (task: Record<string, unknown>, call: number) => unknown;

const env = (task: Record<string, unknown>, name: string) =>
  (task.EnvironmentVariablesOverride as { Name: string; Value: string }[]).find((v) => v.Name === name)
    ?.Value ?? '';

/** What Packer leaves when it registered the image: the AMI and its snapshot, tagged as the build's. */
function registerBuiltImage(task: Record<string, unknown>): { imageId: string; name: string } {
  const version = env(task, 'PULSAR_VERSION');
  const name = `pulsar-base-${version}-20260301120000`;
  const imageId = world.addImage(HOME, {
    version,
    name,
    createdAt: '2026-03-01T12:00:00.000Z',
    architecture: env(task, 'ARCHITECTURE'),
    tags: {
      BuildExecutionArn: env(task, 'BUILD_EXECUTION_ARN'),
      BuildId: env(task, 'BUILD_ID'),
      Architecture: env(task, 'ARCHITECTURE'),
      BaseAmiId: 'ami-0base0000000000001',
      PulsarSha512: 'ab'.repeat(64),
      PackerVersion: '1.11.2',
      Project: 'pulsar-aws-lab',
      Environment: 'lab',
      BuildDate: '2026-03-01T12:00:00Z',
    },
  });
  return { imageId, name };
}

const CODEBUILD_ID = 'pulsar-ami-test-build-ami:0d9c3c66-8f6b-4d38-b1a4-2f5e1c7d9a10';

const succeededBuild: Behaviour = (task) => {
  const { imageId, name } = registerBuiltImage(task);
  return {
    Build: {
      Id: CODEBUILD_ID,
      BuildStatus: 'SUCCEEDED',
      ExportedEnvironmentVariables: [
        { Name: 'AMI_ID', Value: imageId },
        { Name: 'AMI_NAME', Value: name },
      ],
    },
  };
};

/** The .sync task's failure: States.TaskFailed with the build as the Cause. */
const failedBuild = (phase: string, message: string, registerFirst = false): Behaviour => {
  return (task) => {
    if (registerFirst) registerBuiltImage(task);
    throw stepError(
      'States.TaskFailed',
      JSON.stringify({
        Id: CODEBUILD_ID,
        BuildStatus: 'FAILED',
        CurrentPhase: 'COMPLETED',
        Phases: [
          { PhaseType: 'INSTALL', PhaseStatus: 'SUCCEEDED' },
          {
            PhaseType: phase,
            PhaseStatus: 'FAILED',
            Contexts: [{ StatusCode: 'COMMAND_EXECUTION_ERROR', Message: message }],
          },
        ],
      }),
    );
  };
};

const checks = (failed: string[] = []) =>
  CHECK_NAMES.map((name) => ({ name, passed: !failed.includes(name), detail: 'ok' }));

/** ValidateAmi as a child execution: tags the image with its verdict, as Record Validation Result does. */
const validation =
  (failed: string[] = []): Behaviour =>
  (task) => {
    const input = task.Input as { imageId: string };
    const name = String(task.Name);
    const executionArn = `arn:aws:states:${HOME}:${ACCOUNT}:execution:pulsar-ami-test-validate-ami:${name}`;
    const image = world.image(HOME, input.imageId);
    if (!image) throw new Error(`validation of an image that does not exist: ${input.imageId}`);
    Object.assign(image.tags, {
      Validated: String(failed.length === 0),
      ValidationDate: '2026-03-01',
      ValidationExecutionArn: executionArn,
    });
    if (failed.length > 0) {
      throw stepError(
        'States.TaskFailed',
        JSON.stringify({
          ExecutionArn: executionArn,
          Name: name,
          Status: 'FAILED',
          Error: 'ValidationChecksFailed',
          Cause: `Validation checks failed: ${JSON.stringify(failed)}`,
        }),
      );
    }
    return {
      ExecutionArn: executionArn,
      Name: name,
      Status: 'SUCCEEDED',
      Output: {
        imageId: input.imageId,
        instanceId: 'i-0123456789abcdef0',
        passed: true,
        checks: checks(),
        failedChecks: [],
        summary: `All ${CHECK_NAMES.length} checks passed`,
        truncated: false,
      },
    };
  };

const REAL: Record<string, Behaviour> = {
  'Find Existing AMI': lambda(findExistingAmi),
  'Find AMIs From Failed Build': lambda(findBuildAmis),
  'Prepare Validation': lambda(prepareValidation),
  'Delete Failed AMI': lambda(deleteFailedAmi),
  'Explain Build Failure': lambda(buildOutcome),
  'Explain Validation Failure': lambda(buildOutcome),
  'Summarize Copies': lambda(buildOutcome),
  'Publish AMI': lambda(publishAmi),
  'Copy AMI To Region': lambda(copyAmiToRegion),
  'Check Copy': lambda(getAmiCopyState),
  'Publish In Region': lambda(publishAmi),
  'Delete Failed Copy': lambda(deleteFailedAmi),
  'Build Image With Packer': succeededBuild,
  'Validate AMI': validation(),
};

interface Outcome {
  status: 'SUCCEEDED' | 'FAILED';
  output?: Record<string, unknown>;
  error?: string;
  cause?: string;
  calls: Record<string, Record<string, unknown>[]>;
}

type Overrides = NonNullable<RunOptions['overrides']>;
type Handlers = NonNullable<Overrides['taskResourceLocalHandlers']>;

function overrides(behaviours: Record<string, Behaviour>, calls: Outcome['calls']): Overrides {
  const handlers: Handlers = {};
  const counts: Record<string, number> = {};
  for (const [state] of TASKS) {
    const behaviour = behaviours[state] ?? REAL[state];
    if (!behaviour) throw new Error(`no behaviour for Task state ${state}`);
    handlers[state] = (async (task: Record<string, unknown>) => {
      counts[state] = (counts[state] ?? 0) + 1;
      calls[state] = [...(calls[state] ?? []), task];
      return behaviour(task, counts[state]);
    }) as unknown as Handlers[string];
  }
  return {
    taskResourceLocalHandlers: handlers,
    waitTimeOverrides: Object.fromEntries(WAITS.map(([s]) => [s, 0])),
    retryIntervalOverrides: Object.fromEntries(TASKS.map(([s]) => [s, 0])),
  };
}

function start(behaviours: Record<string, Behaviour> = {}, buildInput: BuildInput = input()) {
  const calls: Outcome['calls'] = {};
  const machine = new StateMachine(DEFINITION);
  const execution = machine.run(buildInput, {
    overrides: overrides(behaviours, calls),
    context: { Execution: { Id: EXECUTION_ARN, Name: buildInput.buildId } },
  });
  return { execution, calls };
}

async function run(
  behaviours: Record<string, Behaviour> = {},
  buildInput: BuildInput = input(),
): Promise<Outcome> {
  const { execution, calls } = start(behaviours, buildInput);
  try {
    const output = (await execution.result) as Record<string, unknown>;
    return { status: 'SUCCEEDED', output, calls };
  } catch (error) {
    if (!(error instanceof ExecutionError)) throw error;
    const cause = error.cause as Error;
    return { status: 'FAILED', error: cause.name, cause: cause.message, calls };
  }
}

/** A validated, available AMI of `version` that was here before the build. */
function existing(version: string, region = HOME, extra: Record<string, string> = {}): string {
  return world.addImage(region, {
    version,
    createdAt: '2026-01-15T00:00:00.000Z',
    tags: { Validated: 'true', ValidationDate: '2026-01-15', ...extra },
  });
}

const builtImages = () => world.images(HOME).filter((i) => i.tags.BuildExecutionArn === EXECUTION_ARN);

beforeEach(() => {
  world.reset();
  world.setParameter(HOME, LATEST, PUBLISHED_OLD);
});

describe('build-ami.asl.yml', () => {
  it('is valid ASL: Title-Case states, Choice questions, a machine timeout, a timeout on every Task', () => {
    const { isValid, errorsText } = aslValidator(DEFINITION);
    expect(errorsText('\n'), errorsText('\n')).toBe('');
    expect(isValid).toBe(true);
    expect(DEFINITION.TimeoutSeconds).toBeGreaterThan(0);
    for (const [name, state] of allStates()) {
      expect(name).toMatch(/^(AMI|[A-Z][a-z]*)( (AMI|AMIs|[A-Z][a-z]*))*\??$/);
      if (state.Type === 'Choice') expect(name.endsWith('?'), name).toBe(true);
    }
    expect(TASKS.length).toBeGreaterThanOrEqual(12);
    for (const [name, task] of TASKS) {
      expect([name, typeof task.TimeoutSeconds]).toEqual([name, 'number']);
      expect(task.TimeoutSeconds as number).toBeLessThanOrEqual(DEFINITION.TimeoutSeconds ?? 0);
    }
  });

  it('retries only named errors, with full jitter and a bound', () => {
    for (const [name, state] of allStates()) {
      for (const retrier of (state.Retry as Record<string, unknown>[] | undefined) ?? []) {
        expect(retrier, name).toMatchObject({
          JitterStrategy: 'FULL',
          MaxAttempts: expect.any(Number),
          MaxDelaySeconds: expect.any(Number),
          BackoffRate: expect.any(Number),
        });
        expect(retrier.MaxAttempts as number, name).toBeLessThanOrEqual(5);
        expect(retrier.ErrorEquals, name).not.toContain('States.ALL');
        expect(retrier.ErrorEquals, name).not.toContain('States.TaskFailed');
      }
    }
  });

  it('invokes only functions of serverless.yml, by the stage-qualified name', () => {
    for (const [name, task] of TASKS) {
      if (task.Resource !== 'arn:aws:states:::lambda:invoke') continue;
      const fn = String((task.Parameters as { FunctionName: string }).FunctionName);
      const key = /^\$\{self:service\}-\$\{sls:stage\}-(\w+)$/.exec(fn)?.[1];
      expect([name, key && key in SERVERLESS.functions]).toEqual([name, true]);
    }
  });

  it('passes the build its parameters and this execution, and names the child validation from the build id', async () => {
    const outcome = await run();
    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.calls['Build Image With Packer']?.[0]).toEqual({
      ProjectName: PROJECT_AS_WRITTEN,
      EnvironmentVariablesOverride: [
        { Name: 'PULSAR_VERSION', Type: 'PLAINTEXT', Value: '3.0.0' },
        { Name: 'INSTANCE_TYPE', Type: 'PLAINTEXT', Value: 't3.small' },
        { Name: 'ARCHITECTURE', Type: 'PLAINTEXT', Value: 'x86_64' },
        { Name: 'BUILD_ID', Type: 'PLAINTEXT', Value: BUILD_ID },
        { Name: 'BUILD_EXECUTION_ARN', Type: 'PLAINTEXT', Value: EXECUTION_ARN },
      ],
    });
    const validate = outcome.calls['Validate AMI']?.[0] as {
      Name: string;
      StateMachineArn: string;
      Input: object;
    };
    expect(validate.Name).toBe(buildValidationId(BUILD_ID));
    expect(validate.StateMachineArn).toBe(VALIDATE_ARN_FOR_MOCK);
    expect(validate.Input).toMatchObject({
      imageId: builtImages()[0]?.imageId,
      instanceType: 't3.small',
      AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: EXECUTION_ARN,
    });
    expect(validate.Input).not.toHaveProperty('checks');
    expect(validate.Input).not.toHaveProperty('userData');
  });
});

describe('BuildAmi scenarios', () => {
  it('already built: answers the existing AMI and starts nothing', async () => {
    const imageId = existing('3.0.0');
    const outcome = await run();
    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.output).toEqual({
      amiId: imageId,
      name: world.image(HOME, imageId)?.name,
      version: '3.0.0',
      region: HOME,
      regions: [{ region: HOME, amiId: imageId }],
      alreadyBuilt: true,
      build: { codeBuildId: null },
      validation: { validationId: null, passed: true },
    });
    expect(outcome.calls['Build Image With Packer']).toBeUndefined();
    expect(outcome.calls['Validate AMI']).toBeUndefined();
    expect(outcome.calls['Publish AMI']).toBeUndefined();
  });

  it('already built, with regions to copy to: no build, the existing AMI copied and published there', async () => {
    const imageId = existing('3.0.0');
    world.copyPendingChecks.set('eu-west-1', 1);
    const outcome = await run({}, input({ copyToRegions: ['eu-west-1'] }));
    expect([outcome.status, outcome.error, outcome.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
    const copy = world.images('eu-west-1')[0];
    expect(outcome.output).toMatchObject({
      amiId: imageId,
      alreadyBuilt: true,
      build: { codeBuildId: null },
      regions: [
        { region: HOME, amiId: imageId },
        { region: 'eu-west-1', amiId: copy?.imageId },
      ],
    });
    expect(copy?.tags.SourceAmiId).toBe(imageId);
    expect(world.parameter('eu-west-1', versionParameter('3.0.0'))).toBe(copy?.imageId);
    expect(outcome.calls['Build Image With Packer']).toBeUndefined();
    expect(outcome.calls['Validate AMI']).toBeUndefined();
    expect(outcome.calls['Publish AMI']).toBeUndefined();
  });

  it('an input POST /builds would refuse fails at the first state: nothing built, nothing deleted', async () => {
    const published = existing('3.0.0');
    for (const bad of [
      input({ copyToRegions: [HOME] }),
      input({ copyToRegions: ['eu-west-1', 'eu-west-1'] }),
      input({ instanceType: 't4g.small' }),
      { ...input(), buildId: 'build-$(id)' },
      { ...input(), userData: 'IyEvYmluL3NoCg==' },
    ]) {
      const outcome = await run({}, bad as BuildInput);
      expect([JSON.stringify(bad), outcome.status, outcome.error]).toEqual([
        JSON.stringify(bad),
        'FAILED',
        'InvalidInputError',
      ]);
      expect(outcome.calls['Build Image With Packer']).toBeUndefined();
    }
    expect(world.image(HOME, published)).toBeDefined();
  });

  it('not already built when only another architecture, or an unvalidated one, exists', async () => {
    world.addImage(HOME, { version: '3.0.0', architecture: 'arm64', tags: { Validated: 'true' } });
    world.addImage(HOME, { version: '3.0.0', tags: { Validated: 'false' } });
    const outcome = await run();
    expect(outcome.output).toMatchObject({ alreadyBuilt: false });
    expect(outcome.calls['Build Image With Packer']).toHaveLength(1);
  });

  it('force: builds, validates and publishes anyway', async () => {
    const before = existing('3.0.0');
    world.setParameter(HOME, LATEST, before);
    const outcome = await run({}, input({ force: true }));
    expect(outcome.status).toBe('SUCCEEDED');
    const [built] = builtImages();
    expect(built?.imageId).not.toBe(before);
    expect(outcome.output).toEqual({
      amiId: built?.imageId,
      name: built?.name,
      version: '3.0.0',
      region: HOME,
      regions: [{ region: HOME, amiId: built?.imageId }],
      alreadyBuilt: false,
      build: { codeBuildId: CODEBUILD_ID },
      validation: {
        validationId: buildValidationId(BUILD_ID),
        executionArn: expect.stringContaining(
          `:execution:pulsar-ami-test-validate-ami:${buildValidationId(BUILD_ID)}`,
        ),
        passed: true,
        checks: checks(),
        failedChecks: [],
        summary: `All ${CHECK_NAMES.length} checks passed`,
      },
      latest: { imageId: built?.imageId, previous: before, changed: true },
    });
    // The newer build of the same version is the version's and the account's latest.
    expect(world.parameter(HOME, versionParameter('3.0.0'))).toBe(built?.imageId);
    expect(world.parameter(HOME, LATEST)).toBe(built?.imageId);
    expect(world.image(HOME, before)).toBeDefined();
  });

  it('build fails: no AMI left, BuildFailed naming the CodeBuild phase and reason, nothing validated', async () => {
    const outcome = await run({
      'Build Image With Packer': failedBuild(
        'BUILD',
        'Error while executing command: packer build. Reason: exit status 1',
      ),
    });
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toBe('BuildFailed');
    expect(outcome.cause).toBe(
      `Build ${BUILD_ID}: CodeBuild build ${CODEBUILD_ID} FAILED in phase BUILD: COMMAND_EXECUTION_ERROR: command \`packer build\` failed (exit status 1)`,
    );
    expect(outcome.calls['Delete Failed AMI']?.[0]?.Payload).toEqual({
      imageIds: [],
      executionArn: EXECUTION_ARN,
    });
    expect(outcome.calls['Validate AMI']).toBeUndefined();
    expect(outcome.calls['Publish AMI']).toBeUndefined();
    expect(world.parameter(HOME, LATEST)).toBe(PUBLISHED_OLD);
  });

  it('build registered an AMI, then failed: that AMI and its snapshot are deleted, nothing else', async () => {
    const other = existing('3.0.0', HOME, { BuildExecutionArn: `${EXECUTION_ARN}-other` });
    const snapshotsBefore = world.snapshots(HOME);
    const outcome = await run(
      { 'Build Image With Packer': failedBuild('POST_BUILD', 'jq: manifest has no artifact_id', true) },
      input({ force: true }),
    );
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toBe('BuildFailed');
    expect(outcome.cause).toContain(
      'in phase POST_BUILD: COMMAND_EXECUTION_ERROR: jq: manifest has no artifact_id',
    );
    expect(builtImages()).toEqual([]);
    expect(world.snapshots(HOME)).toEqual(snapshotsBefore);
    expect(world.image(HOME, other)).toBeDefined();
    expect(outcome.calls['Find AMIs From Failed Build']).toHaveLength(1);
  });

  it('a build that exported no AMI id is a failed build, and what it registered is deleted', async () => {
    const outcome = await run({
      'Build Image With Packer': (task) => {
        registerBuiltImage(task);
        return { Build: { Id: CODEBUILD_ID, BuildStatus: 'SUCCEEDED', ExportedEnvironmentVariables: [] } };
      },
    });
    expect(outcome.error).toBe('BuildFailed');
    expect(outcome.cause).toBe(`Build ${BUILD_ID}: The build exported no AMI id: AMI_ID is missing or empty`);
    expect(builtImages()).toEqual([]);
  });

  it('validation fails: the AMI and its snapshots are deleted (once the test instance lets go), nothing published', async () => {
    const snapshotsBefore = world.snapshots(HOME);
    let builtId = '';
    const outcome = await run({
      'Build Image With Packer': (task, call) => {
        const result = succeededBuild(task, call) as {
          Build: { ExportedEnvironmentVariables: { Value: string }[] };
        };
        builtId = result.Build.ExportedEnvironmentVariables[0]?.Value ?? '';
        // The terminating test instance still holds the image for the first attempt.
        world.inUseFor.set(builtId, 1);
        return result;
      },
      'Validate AMI': validation(['Java 17', 'Pulsar version matches']),
    });
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toBe('ValidationFailed');
    expect(outcome.cause).toBe(
      `Build ${BUILD_ID}: AMI ${builtId} failed validation (validation ${buildValidationId(BUILD_ID)}): checks failed: Java 17, Pulsar version matches`,
    );
    expect(outcome.calls['Delete Failed AMI']).toHaveLength(2);
    expect(world.image(HOME, builtId)).toBeUndefined();
    expect(world.snapshots(HOME)).toEqual(snapshotsBefore);
    expect(outcome.calls['Publish AMI']).toBeUndefined();
    expect(world.parameter(HOME, LATEST)).toBe(PUBLISHED_OLD);
    expect(world.parameter(HOME, versionParameter('3.0.0'))).toBeUndefined();
  });

  it('never deletes the published latest, even when it carries this execution', async () => {
    let builtId = '';
    const outcome = await run({
      'Build Image With Packer': (task, call) => {
        const result = succeededBuild(task, call) as {
          Build: { ExportedEnvironmentVariables: { Value: string }[] };
        };
        builtId = result.Build.ExportedEnvironmentVariables[0]?.Value ?? '';
        world.setParameter(HOME, LATEST, builtId);
        return result;
      },
      'Validate AMI': validation(['Java 17']),
    });
    expect(outcome.error).toBe('ValidationFailed');
    expect(world.image(HOME, builtId)).toBeDefined();
    expect(outcome.calls['Delete Failed AMI']).toHaveLength(1);
  });

  it('publishing retries while EC2 does not show the Validated tag yet', async () => {
    const publish = lambda(publishAmi);
    const outcome = await run({
      'Publish AMI': async (task, call) => {
        const image = world.image(HOME, String((task.Payload as { imageId: string }).imageId));
        if (call > 1 || !image) return publish(task);
        const { Validated, ...rest } = image.tags;
        image.tags = rest;
        try {
          return await publish(task);
        } finally {
          image.tags = { ...image.tags, Validated: Validated ?? '' };
        }
      },
    });
    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.calls['Publish AMI']).toHaveLength(2);
    expect(world.parameter(HOME, versionParameter('3.0.0'))).toBe(builtImages()[0]?.imageId);
  });

  it('an older line built after a newer one: its version parameter is set, the latest does not move', async () => {
    const newer = existing('3.1.0');
    world.setParameter(HOME, LATEST, newer);
    const outcome = await run({}, input({ version: '2.11.0', buildId: 'build-2-11-0-9f8e7d' }));
    expect(outcome.status).toBe('SUCCEEDED');
    const [built] = builtImages();
    expect(world.parameter(HOME, versionParameter('2.11.0'))).toBe(built?.imageId);
    expect(world.parameter(HOME, LATEST)).toBe(newer);
    expect(outcome.output?.latest).toEqual({ imageId: newer, previous: newer, changed: false });
  });

  it('a newer line moves the latest by the same rule', async () => {
    const older = existing('2.11.0');
    world.setParameter(HOME, LATEST, older);
    const outcome = await run({}, input({ version: '3.0.0' }));
    expect(outcome.output?.latest).toMatchObject({
      imageId: builtImages()[0]?.imageId,
      previous: older,
      changed: true,
    });
  });

  it('copies to two regions: each copied with its tags, waited for, tagged validated and published there', async () => {
    world.copyPendingChecks.set('eu-west-1', 2);
    world.copyPendingChecks.set('us-east-1', 0);
    const inUsEast = existing('3.1.0', 'us-east-1');
    world.setParameter('us-east-1', LATEST, inUsEast);
    const outcome = await run({}, input({ copyToRegions: ['eu-west-1', 'us-east-1'] }));
    expect(outcome.status).toBe('SUCCEEDED');
    const [built] = builtImages();
    const copyIn = (region: string) =>
      world.images(region).find((i) => i.tags.SourceAmiId === built?.imageId);
    const eu = copyIn('eu-west-1');
    const east = copyIn('us-east-1');
    expect(outcome.output?.regions).toEqual([
      { region: HOME, amiId: built?.imageId },
      { region: 'eu-west-1', amiId: eu?.imageId },
      { region: 'us-east-1', amiId: east?.imageId },
    ]);
    for (const [region, copy] of [
      ['eu-west-1', eu],
      ['us-east-1', east],
    ] as const) {
      expect(copy?.name).toBe(built?.name);
      expect(copy?.tags).toMatchObject({
        ManagedBy: 'pulsar-ami',
        PulsarVersion: '3.0.0',
        BuildExecutionArn: EXECUTION_ARN,
        PulsarSha512: 'ab'.repeat(64),
        BaseAmiId: 'ami-0base0000000000001',
        SourceAmiId: built?.imageId,
        SourceRegion: HOME,
        Validated: 'true',
        ValidationDate: '2026-03-01',
      });
      expect(world.parameter(region, versionParameter('3.0.0'))).toBe(copy?.imageId);
    }
    // The latest rule in each region: eu-west-1 had none; us-east-1 keeps its newer line.
    expect(world.parameter('eu-west-1', LATEST)).toBe(eu?.imageId);
    expect(world.parameter('us-east-1', LATEST)).toBe(inUsEast);
    expect(
      outcome.calls['Check Copy']?.filter((c) => (c.Payload as { region: string }).region === 'eu-west-1'),
    ).toHaveLength(3);
    // Copies are idempotent per build and region: one ClientToken each.
    expect(world.images('eu-west-1')).toHaveLength(1);
  });

  it('a copy that never becomes available: bounded, CopyFailed naming the region, the rest published', async () => {
    world.copyPendingChecks.set('eu-west-1', Number.POSITIVE_INFINITY);
    world.copyPendingChecks.set('us-east-1', 0);
    const outcome = await run({}, input({ copyToRegions: ['eu-west-1', 'us-east-1'] }));
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toBe('CopyFailed');
    const [built] = builtImages();
    const euChecks = outcome.calls['Check Copy']?.filter(
      (c) => (c.Payload as { region: string }).region === 'eu-west-1',
    );
    const stuckId = (euChecks?.[0]?.Payload as { imageId?: string } | undefined)?.imageId;
    expect(stuckId).toMatch(/^ami-/);
    expect(outcome.cause).toBe(
      `Build ${BUILD_ID}: AMI ${built?.imageId} is validated and published in ${HOME}, but the copy to a region failed: eu-west-1 (${stuckId}): CopyTimedOut: The copy ${stuckId} in eu-west-1 was still pending after 80 checks`,
    );
    expect(
      outcome.calls['Check Copy']?.filter((c) => (c.Payload as { region: string }).region === 'eu-west-1'),
    ).toHaveLength(81);
    // Home and the other region are published; the stuck copy is never published (so never
    // tagged validated), and it is deregistered (which stops a pending copy) with its snapshot.
    expect(world.parameter(HOME, versionParameter('3.0.0'))).toBe(built?.imageId);
    expect(world.parameter('us-east-1', versionParameter('3.0.0'))).toBeDefined();
    expect(world.parameter('eu-west-1', versionParameter('3.0.0'))).toBeUndefined();
    expect(outcome.calls['Publish In Region']?.map((c) => (c.Payload as { region: string }).region)).toEqual([
      'us-east-1',
    ]);
    expect(outcome.calls['Delete Failed Copy']).toEqual([
      expect.objectContaining({
        Payload: expect.objectContaining({ imageIds: [stuckId], region: 'eu-west-1', copy: true }),
      }),
    ]);
    expect(world.images('eu-west-1')).toEqual([]);
    expect(world.snapshots('eu-west-1')).toEqual([]);
    expect(world.images('us-east-1')).toHaveLength(1);
  });

  it('a copy that fails is reported with its reason', async () => {
    const outcome = await run(
      {
        'Check Copy': () => ({
          StatusCode: 200,
          Payload: { state: 'failed', reason: 'KMS key unavailable' },
        }),
      },
      input({ copyToRegions: ['eu-west-1'] }),
    );
    expect(outcome.error).toBe('CopyFailed');
    expect(outcome.cause).toMatch(
      /eu-west-1 \(ami-\w+\): CopyFailed: The copy ami-\w+ in eu-west-1 went failed: KMS key unavailable$/,
    ); // The failed copy is not left in the region.
    expect(world.images('eu-west-1')).toEqual([]);
  });

  it('aborted while copying: the execution-status rule stops its build, terminates its build instance, deletes the unvalidated images it registered at home and in the copy regions, keeps what it published', async () => {
    let started!: () => void;
    const building = new Promise<void>((resolve) => {
      started = resolve;
    });
    const buildInput = input({ copyToRegions: ['eu-west-1'] });
    const { execution } = start(
      {
        'Build Image With Packer': () => {
          started();
          return new Promise(() => {});
        },
      },
      buildInput,
    );
    await building;
    const running = world.addBuild({ executionArn: EXECUTION_ARN, status: 'IN_PROGRESS' });
    const another = world.addBuild({ executionArn: `${EXECUTION_ARN}-other`, status: 'IN_PROGRESS' });
    const instance = world.addInstance(HOME, {
      state: 'running',
      imageId: 'ami-0base0000000000001',
      tags: { ManagedBy: 'pulsar-ami', Purpose: 'AMI-Build', BuildExecutionArn: EXECUTION_ARN },
    });
    // What the execution had made: an unvalidated image (an earlier attempt), the validated
    // image it published, and a copy still pending in eu-west-1; another execution's image.
    const registered = world.addImage(HOME, { version: '3.0.0', tags: { BuildExecutionArn: EXECUTION_ARN } });
    const published = existing('3.0.0', HOME, { BuildExecutionArn: EXECUTION_ARN });
    const copy = world.addImage('eu-west-1', {
      version: '3.0.0',
      state: 'pending',
      tags: { BuildExecutionArn: EXECUTION_ARN, SourceAmiId: published },
    });
    const others = existing('3.0.0', HOME, { BuildExecutionArn: `${EXECUTION_ARN}-other` });
    execution.abort();
    await expect(execution.result).rejects.toThrow();
    const cleanup = await terminateExecutionInstances({
      'detail-type': 'Step Functions Execution Status Change',
      detail: { executionArn: EXECUTION_ARN, status: 'ABORTED', input: JSON.stringify(buildInput) },
    });
    expect(cleanup).toEqual({
      executionArn: EXECUTION_ARN,
      terminated: [instance],
      stoppedBuilds: [running],
      images: [
        {
          region: HOME,
          deleted: [{ imageId: registered, snapshots: [expect.objectContaining({ status: 'deleted' })] }],
          kept: [{ imageId: published, reason: 'validated' }],
        },
        {
          region: 'eu-west-1',
          deleted: [{ imageId: copy, snapshots: [expect.objectContaining({ status: 'deleted' })] }],
          kept: [],
        },
      ],
    });
    expect(world.builds.get(running)?.buildStatus).toBe('STOPPED');
    expect(world.builds.get(another)?.buildStatus).toBe('IN_PROGRESS');
    expect(world.image(HOME, registered)).toBeUndefined();
    expect(world.image(HOME, published)).toBeDefined();
    expect(world.image(HOME, others)).toBeDefined();
    expect(world.images('eu-west-1')).toEqual([]);
  });
});
