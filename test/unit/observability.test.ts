/**
 * Tracer and metrics of the safety nets: the tracer captures an SDK client when tracing is on
 * (in Lambda) and leaves it as it is when off (tests, the sandbox, POWERTOOLS_TRACE_ENABLED=false);
 * the sweeper and the execution-status rule count the instances they terminated, each under
 * its own Guard, in the PulsarAmi namespace (EMF captured from stdout).
 */

import { Tracer } from '@aws-lambda-powertools/tracer';
import { DescribeInstancesCommand, EC2Client, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { traced, tracer } from '../../functions/lib/tracer';
import { emfDuring } from '../support/emf';

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
});

const { handler: sweep } = await import('../../functions/sweep-validation-instances');
const { handler: terminate } = await import('../../functions/terminate-execution-instances');

const middlewareNames = (client: EC2Client) =>
  client.middlewareStack.identify().map((entry) => entry.split(' ')[0]);

describe('tracer', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('is off outside Lambda: the project’s tracer leaves a client as it is', () => {
    expect(tracer.isTracingEnabled()).toBe(false);
    const client = new EC2Client({ region: 'us-west-2' });
    const before = middlewareNames(client);
    expect(traced(client)).toBe(client);
    expect(middlewareNames(client)).toEqual(before);
  });

  it('in Lambda it captures the client: each call becomes an X-Ray subsegment', () => {
    vi.stubEnv('AWS_EXECUTION_ENV', 'AWS_Lambda_nodejs22.x');
    const inLambda = new Tracer({ serviceName: 'pulsar-ami' });
    expect(inLambda.isTracingEnabled()).toBe(true);
    const client = new EC2Client({ region: 'us-west-2' });
    const before = middlewareNames(client);
    expect(traced(client, inLambda)).toBe(client);
    const added = middlewareNames(client).filter((name) => !before.includes(name));
    expect(added.join(' ')).toMatch(/XRay/i);
  });

  it('POWERTOOLS_TRACE_ENABLED=false switches it off even in Lambda', () => {
    vi.stubEnv('AWS_EXECUTION_ENV', 'AWS_Lambda_nodejs22.x');
    vi.stubEnv('POWERTOOLS_TRACE_ENABLED', 'false');
    expect(new Tracer({ serviceName: 'pulsar-ami' }).isTracingEnabled()).toBe(false);
  });
});

const ec2Mock = mockClient(EC2Client);
const EXECUTION_ARN =
  'arn:aws:states:us-west-2:123456789012:execution:pulsar-ami-dev-validate-ami:11111111-2222-3333-4444-555555555555';

const namespaceOf = (doc: Record<string, unknown>) =>
  (doc._aws as { CloudWatchMetrics: { Namespace: string }[] }).CloudWatchMetrics[0]?.Namespace;

describe('metrics of the guards', () => {
  beforeEach(() => {
    ec2Mock.reset();
    ec2Mock.on(TerminateInstancesCommand).resolves({});
  });

  it('the execution-status rule: ExecutionsEndedBadly and InstancesTerminated (Guard=execution-status-rule)', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            {
              InstanceId: 'i-0123456789abcdef0',
              State: { Name: 'running' },
              Tags: [{ Key: 'ValidationExecutionArn', Value: EXECUTION_ARN }],
            },
          ],
        },
      ],
    });
    const docs = await emfDuring(() =>
      terminate({
        'detail-type': 'Step Functions Execution Status Change',
        detail: { executionArn: EXECUTION_ARN, status: 'ABORTED' },
      }),
    );
    expect(docs.find((d) => 'ExecutionsEndedBadly' in d)).toMatchObject({
      ExecutionsEndedBadly: 1,
      Machine: 'ValidateAmi',
      Status: 'ABORTED',
    });
    const terminated = docs.find((d) => 'InstancesTerminated' in d);
    expect(terminated).toMatchObject({ InstancesTerminated: 1, Guard: 'execution-status-rule' });
    expect(namespaceOf(terminated ?? {})).toBe('PulsarAmi');
  });

  it('the sweeper: InstancesTerminated (Guard=sweeper), zero when nothing was past its lifetime', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    const docs = await emfDuring(() => sweep());
    expect(docs.find((d) => 'InstancesTerminated' in d)).toMatchObject({
      InstancesTerminated: 0,
      Guard: 'sweeper',
    });
  });
});
