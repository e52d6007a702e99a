/**
 * The real statemachines/validate-ami.asl.yml, as serverless.yml deploys it for the `test`
 * stage (its serverless variables and the security group's id resolved by the sandbox's
 * serverless.yml reader), and fakes for its aws-sdk Task states, for running it locally with
 * aws-local-stepfunctions: a healthy answer for every Task (keyed by state name, given the
 * task input and the 1-based call count for that state) and the overrides that put them, and
 * zero waits and retry intervals, in place; and the machine's input as the service builds it.
 */
import { resolve } from 'node:path';
import type { RunOptions, StateMachineDefinition } from 'aws-local-stepfunctions';
import { handler as evaluateCheckResults } from '../../functions/evaluate-check-results';
import { CHECK_NAMES } from '../../functions/lib/checks';
import { buildValidateAmiInput, type ValidateAmiInput } from '../../functions/lib/validate-ami-input';
import { loadServerlessApp, securityGroupId } from '../../sandbox/serverless-config';

export const STAGE = 'test';
export const REGION = 'us-west-2';
export const ACCOUNT_ID = '123456789012';

type Definition = StateMachineDefinition & {
  States: Record<string, Record<string, unknown>>;
  TimeoutSeconds?: number;
};

/** The ValidateAmi definition of serverless.yml, resolved for `stage`. */
export function validateAmiDefinition(stage = STAGE): Definition {
  const app = loadServerlessApp(resolve(import.meta.dirname, '../../serverless.yml'), {
    stage,
    region: REGION,
    accountId: ACCOUNT_ID,
  });
  const machine = app.stateMachines.find((m) => m.key === 'ValidateAmi');
  if (!machine?.definition) throw new Error(`ValidateAmi: ${machine?.definitionError ?? 'not found'}`);
  return machine.definition as Definition;
}

export const DEFINITION = validateAmiDefinition();

/** The same definition with a subnet configured (custom.validation.subnetId). */
export function definitionWithSubnet(subnetId: string): Definition {
  const definition = structuredClone(DEFINITION);
  const settings = definition.States['Load Validation Settings'] as { Result: Record<string, unknown> };
  settings.Result.subnetId = subnetId;
  return definition;
}

export const SECURITY_GROUP_ID = securityGroupId(STAGE, REGION, 'ValidationSecurityGroup');
export const CHECKS_DOCUMENT = `pulsar-ami-${STAGE}-validation-checks`;

export const IMAGE_ID = 'ami-0a1b2c3d4e5f67890';
export const INSTANCE_ID = 'i-0123456789abcdef0';

export const POLLING = { intervalSeconds: 10, maxInstanceChecks: 4, maxAgentChecks: 5, maxCommandChecks: 6 };

/** The machine's input for `imageId` as the service builds it (its own polling limits). */
export function serviceInput(imageId = IMAGE_ID): ValidateAmiInput {
  return buildValidateAmiInput({ imageId, instanceType: 't3.micro' }, { pollIntervalSeconds: 10 });
}

/** The service's input for IMAGE_ID with short polling limits (POLLING) and `overrides`. */
export function validateAmiInput(overrides: Partial<ValidateAmiInput> = {}): ValidateAmiInput {
  return { ...serviceInput(), polling: POLLING, ...overrides };
}

/**
 * DescribeImages for an image with these tags (this tool's, version 3.0.0, by default), as EC2
 * answers the request's filters (`tag:K`, `tag-key`, `state`): the image, or no image.
 */
export function imageAnswer(
  tags: Record<string, string> = { ManagedBy: 'pulsar-ami', PulsarVersion: '3.0.0' },
  state = 'available',
): Behaviour {
  return (input) => {
    const filters = (input.Filters ?? []) as { Name: string; Values: string[] }[];
    const matches = filters.every(({ Name, Values }) => {
      if (Name === 'state') return Values.includes(state);
      if (Name === 'tag-key') return Values.some((key) => key in tags);
      if (Name.startsWith('tag:')) return Values.includes(tags[Name.slice(4)] ?? '\u0000');
      return true;
    });
    const Tags = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
    return { Images: matches ? [{ ImageId: IMAGE_ID, State: state, Tags }] : [] };
  };
}

/** A fake Task: its input and how many times the state has been called (1 the first time). */
export type Behaviour = (input: Record<string, unknown>, call: number) => unknown;

/** The check script's stdout: one JSON line a check, passed unless named in `failed` (name → detail). */
export function checkOutput(failed: Record<string, string> = {}): string {
  return CHECK_NAMES.map((name) =>
    JSON.stringify({ name, passed: !(name in failed), detail: failed[name] ?? 'ok' }),
  ).join('\n');
}

export const HEALTHY: Record<string, Behaviour> = {
  'Describe Image Under Test': imageAnswer(),
  'Launch Test Instance': () => ({ Instances: [{ InstanceId: INSTANCE_ID, State: { Name: 'pending' } }] }),
  'Find Instances From Failed Launch': () => ({ Reservations: [] }),
  'Describe Test Instance': (_, call) => ({
    Reservations: [
      { Instances: [{ InstanceId: INSTANCE_ID, State: { Name: call < 2 ? 'pending' : 'running' } }] },
    ],
  }),
  'Describe SSM Agent': (_, call) => ({
    InstanceInformationList: call < 2 ? [] : [{ InstanceId: INSTANCE_ID, PingStatus: 'Online' }],
  }),
  'Run Validation Checks': () => ({ Command: { CommandId: 'c0ffee00-1111-2222-3333-444455556666' } }),
  'Get Check Results': (_, call) =>
    call < 2
      ? { Status: 'InProgress', StandardOutputContent: '' }
      : {
          Status: 'Success',
          ResponseCode: 0,
          StandardOutputContent: checkOutput(),
          StandardErrorContent: '',
        },
  'Evaluate Check Results': async (input) => ({
    StatusCode: 200,
    Payload: await evaluateCheckResults(input.Payload),
  }),
  'Record Validation Result': () => ({}),
  'Republish Latest If Published': () => ({
    StatusCode: 200,
    Payload: { wasPublished: false, published: 'ami-0pub11111111111111' },
  }),
  'Terminate Test Instance': (input) => ({
    TerminatingInstances: (input.InstanceIds as string[]).map((InstanceId) => ({
      InstanceId,
      CurrentState: { Name: 'shutting-down' },
    })),
  }),
};

/** The error Step Functions raises for a failed aws-sdk call: Retry/Catch match its `name`. */
export function awsError(name: string, cause: string): Error {
  const error = new Error(cause);
  error.name = name;
  return error;
}

const statesOfType = (type: string) =>
  Object.entries(DEFINITION.States)
    .filter(([, s]) => s.Type === type)
    .map(([name]) => name);

export const TASK_STATES = statesOfType('Task');
export const WAIT_STATES = statesOfType('Wait');

type Overrides = NonNullable<RunOptions['overrides']>;
type Handlers = NonNullable<Overrides['taskResourceLocalHandlers']>;

/**
 * Overrides for `StateMachine.run`: every Task state answered by `behaviours[state]`, else by
 * HEALTHY; no time spent in Wait states or between retries. `onCall` sees each task input
 * before the fake answers it.
 */
export function localOverrides(
  behaviours: Record<string, Behaviour> = {},
  onCall?: (state: string, input: Record<string, unknown>) => void,
): Overrides {
  const handlers: Handlers = {};
  const calls: Record<string, number> = {};
  for (const state of TASK_STATES) {
    const behaviour = behaviours[state] ?? HEALTHY[state];
    if (!behaviour) throw new Error(`no fake for Task state ${state}`);
    handlers[state] = (async (taskInput: Record<string, unknown>) => {
      calls[state] = (calls[state] ?? 0) + 1;
      onCall?.(state, taskInput);
      return behaviour(taskInput, calls[state]);
    }) as unknown as Handlers[string];
  }
  return {
    taskResourceLocalHandlers: handlers,
    waitTimeOverrides: Object.fromEntries(WAIT_STATES.map((s) => [s, 0])),
    retryIntervalOverrides: Object.fromEntries(TASK_STATES.map((s) => [s, 0])),
  };
}
