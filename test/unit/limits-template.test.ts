/**
 * The limits, the API stage and the cleanup's safety net, asserted on the CloudFormation
 * `serverless package` made (parsed, not grepped): stage throttling, access logs, tracing,
 * a REGIONAL endpoint, reserved concurrency, the resource policy only when an operators role is
 * configured (the plugin's transform, applied to the packaged template as deploy would), the
 * execution-status rule's retry policy and dead-letter queue, the function's async retries
 * and on-failure destination, and the alarms.
 */
import { describe, expect, it } from 'vitest';
import { apiResourcePolicy, applyApiStage } from '../../scripts/serverless/api-stage-plugin.mjs';
import { loadTemplate, type Resource, resourcesOfType, type Template } from '../support/template';

const template = loadTemplate();
const resource = (name: string): Resource => {
  const found = template.Resources[name];
  expect(found, name).toBeDefined();
  return found as Resource;
};
// biome-ignore lint/suspicious/noExplicitAny: CloudFormation properties, read as the test walks them
const props = (r: Resource) => r.Properties as Record<string, any>;
const fnProps = (name: string) => props(resource(`${name}LambdaFunction`));

/** The template's Conditions, evaluated where they compare literals (what this package resolved). */
function conditionHolds(t: Template, name: string): boolean {
  const conditions = (t as unknown as { Conditions: Record<string, unknown> }).Conditions;
  const evaluate = (c: Record<string, unknown[]>): boolean => {
    if (c['Fn::Not']) return !evaluate(c['Fn::Not'][0] as Record<string, unknown[]>);
    if (c['Fn::Equals']) return c['Fn::Equals'][0] === c['Fn::Equals'][1];
    throw new Error(`cannot evaluate ${JSON.stringify(c)}`);
  };
  return evaluate(conditions[name] as Record<string, unknown[]>);
}

const deployment = () => {
  const deployments = resourcesOfType(template, 'AWS::ApiGateway::Deployment');
  expect(deployments).toHaveLength(1);
  return props(deployments[0]?.[1] as Resource);
};

describe('the API stage', () => {
  it('is REGIONAL', () => {
    expect(props(resource('ApiGatewayRestApi')).EndpointConfiguration).toEqual({ Types: ['REGIONAL'] });
  });

  it('throttles every method (custom.limits: 10 requests/s, burst 20), traces and counts them', () => {
    const stage = deployment().StageDescription;
    expect(stage).toMatchObject({
      ThrottlingRateLimit: 10,
      ThrottlingBurstLimit: 20,
      TracingEnabled: true,
      MetricsEnabled: true,
    });
  });

  it('logs every request as one JSON line into its own log group, kept 14 days', () => {
    const access = deployment().StageDescription.AccessLogSetting;
    expect(access.DestinationArn).toEqual({ 'Fn::GetAtt': ['ApiAccessLogGroup', 'Arn'] });
    const format = JSON.parse(access.Format);
    for (const field of ['requestId', 'ip', 'userArn', 'httpMethod', 'resourcePath', 'status', 'error']) {
      expect(format, field).toHaveProperty(field);
    }
    const group = resource('ApiAccessLogGroup');
    expect(group.Type).toBe('AWS::Logs::LogGroup');
    expect(props(group).RetentionInDays).toBe(14);
    // Not the framework's /aws/api-gateway/{service}-{stage}: its deploy step deletes that one.
    expect(props(group).LogGroupName).toBe('/aws/apigateway/pulsar-ami-test-access');
  });

  it('has no resource policy when no operators role is configured', () => {
    expect(props(resource('ApiGatewayRestApi'))).not.toHaveProperty('Policy');
  });

  it('with an operators role: reads for the account, POST and DELETE denied to everyone else', () => {
    const role = 'arn:aws:iam::123456789012:role/pulsar-operators';
    const configured = applyApiStage(structuredClone(template), {
      rateLimit: 10,
      burstLimit: 20,
      accessLogGroup: 'ApiAccessLogGroup',
      accessLogFormat: '{}',
      operatorsRoleArn: role,
    });
    const policy = props(configured.Resources.ApiGatewayRestApi as Resource).Policy;
    expect(policy).toEqual(apiResourcePolicy(role));
    const [allow, deny] = policy.Statement;
    expect(allow).toMatchObject({
      Effect: 'Allow',
      Action: 'execute-api:Invoke',
      Resource: 'execute-api:/*',
    });
    expect(JSON.stringify(allow.Principal)).toContain(':root');
    expect(deny).toMatchObject({
      Effect: 'Deny',
      Principal: '*',
      Resource: ['execute-api:/*/POST/*', 'execute-api:/*/DELETE/*'],
      Condition: { ArnNotEquals: { 'aws:PrincipalArn': role } },
    });
    // Every mutating route of the template is one of those the deny covers.
    const methods = resourcesOfType(template, 'AWS::ApiGateway::Method').map(([, m]) => props(m).HttpMethod);
    // DELETE /amis/{id}; POST /amis/{id}/validations, /builds, /cleanups, /amis/{id}/restore.
    expect(methods.filter((m) => m !== 'GET').sort()).toEqual(['DELETE', 'POST', 'POST', 'POST', 'POST']);
    expect(() =>
      applyApiStage(structuredClone(template), {
        rateLimit: 10,
        burstLimit: 20,
        accessLogGroup: 'ApiAccessLogGroup',
        accessLogFormat: '{}',
        operatorsRoleArn: 'not-an-arn',
      }),
    ).toThrow(/operatorsRoleArn/);
  });
});

describe('reserved concurrency', () => {
  it('caps the functions that start or delete, and keeps room for the two safety nets', () => {
    expect(fnProps('StartValidation').ReservedConcurrentExecutions).toBe(2);
    expect(fnProps('StartBuild').ReservedConcurrentExecutions).toBe(2);
    expect(fnProps('StartCleanup').ReservedConcurrentExecutions).toBe(2);
    expect(fnProps('DeleteAmi').ReservedConcurrentExecutions).toBe(2);
    expect(fnProps('TerminateExecutionInstances').ReservedConcurrentExecutions).toBe(2);
    expect(fnProps('SweepValidationInstances').ReservedConcurrentExecutions).toBe(1);
  });

  it('gives the start functions the limit and the right to count running validations', () => {
    expect(fnProps('StartValidation').Environment.Variables.MAX_CONCURRENT_VALIDATIONS).toBe('3');
    for (const role of ['StartValidationRole', 'StartBuildRole']) {
      const statements = props(resource(role)).Policies[0].PolicyDocument.Statement;
      const count = statements.find((s: { Sid: string }) => s.Sid === 'CountRunningValidations');
      expect(count, role).toEqual({
        Sid: 'CountRunningValidations',
        Effect: 'Allow',
        Action: ['states:ListExecutions'],
        Resource: [{ Ref: 'ValidateAmiStateMachine' }],
      });
    }
  });
});

describe('the execution-status rule and its cleanup', () => {
  const rule = () => {
    const rules = resourcesOfType(template, 'AWS::Events::Rule').filter(([, r]) => props(r).EventPattern);
    expect(rules).toHaveLength(1);
    return props(rules[0]?.[1] as Resource);
  };

  it('retries a delivery for up to 6 hours, then keeps the event in the dead-letter queue', () => {
    expect(rule().Name).toBe('pulsar-ami-test-execution-ended');
    const [target] = rule().Targets;
    expect(target.Arn).toEqual({ 'Fn::GetAtt': ['TerminateExecutionInstancesLambdaFunction', 'Arn'] });
    expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: 20, MaximumEventAgeInSeconds: 21600 });
    expect(target.DeadLetterConfig).toEqual({
      Arn: { 'Fn::GetAtt': ['ExecutionCleanupDeadLetterQueue', 'Arn'] },
    });
  });

  it('the queue accepts EventBridge from that rule only, encrypted, kept 14 days', () => {
    expect(props(resource('ExecutionCleanupDeadLetterQueue'))).toMatchObject({
      MessageRetentionPeriod: 1209600,
      SqsManagedSseEnabled: true,
    });
    const policy = props(resource('ExecutionCleanupDeadLetterQueuePolicy'));
    expect(policy.Queues).toEqual([{ Ref: 'ExecutionCleanupDeadLetterQueue' }]);
    expect(policy.PolicyDocument.Statement).toHaveLength(1);
    const [statement] = policy.PolicyDocument.Statement;
    expect(statement).toMatchObject({
      Effect: 'Allow',
      Principal: { Service: 'events.amazonaws.com' },
      Action: 'sqs:SendMessage',
    });
    expect(statement.Condition.ArnEquals['aws:SourceArn']['Fn::Sub']).toBe(
      `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:rule/${rule().Name}`,
    );
  });

  it('a failed run is retried twice by Lambda, then kept in the same queue (the role may send there, nothing more)', () => {
    const [, config] = resourcesOfType(template, 'AWS::Lambda::EventInvokeConfig').find(
      ([, r]) => props(r).FunctionName?.Ref === 'TerminateExecutionInstancesLambdaFunction',
    ) ?? [undefined, undefined];
    expect(config).toBeDefined();
    expect(props(config as Resource)).toMatchObject({
      MaximumRetryAttempts: 2,
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': ['ExecutionCleanupDeadLetterQueue', 'Arn'] } },
      },
    });
    const statements = props(resource('ExecutionCleanupRole')).Policies[0].PolicyDocument.Statement;
    const sqs = statements.filter((s: { Action: string[] }) => s.Action.some((a) => a.startsWith('sqs:')));
    expect(sqs).toEqual([
      {
        Sid: 'KeepFailedCleanups',
        Effect: 'Allow',
        Action: ['sqs:SendMessage'],
        Resource: [{ 'Fn::GetAtt': ['ExecutionCleanupDeadLetterQueue', 'Arn'] }],
      },
    ]);
  });
});

describe('alarms', () => {
  const alarm = (name: string) => {
    const found = resource(name);
    expect(found.Type).toBe('AWS::CloudWatch::Alarm');
    return props(found);
  };
  const firesOnAnyOne = {
    Threshold: 0,
    ComparisonOperator: 'GreaterThanThreshold',
    EvaluationPeriods: 1,
    TreatMissingData: 'notBreaching',
  };

  it('on the cleanup function’s errors', () => {
    expect(alarm('CleanupErrorsAlarm')).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Statistic: 'Sum',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: 'TerminateExecutionInstancesLambdaFunction' } }],
      ...firesOnAnyOne,
    });
  });

  it('on a message in the dead-letter queue', () => {
    expect(alarm('CleanupDeadLetterAlarm')).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Statistic: 'Maximum',
      Dimensions: [
        { Name: 'QueueName', Value: { 'Fn::GetAtt': ['ExecutionCleanupDeadLetterQueue', 'QueueName'] } },
      ],
      ...firesOnAnyOne,
    });
  });

  it('on the sweeper’s errors', () => {
    expect(alarm('SweeperErrorsAlarm')).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: 'SweepValidationInstancesLambdaFunction' } }],
      ...firesOnAnyOne,
    });
  });

  it('notify the configured SNS topic, and no one when none is (HasAlarmTopic)', () => {
    for (const name of ['CleanupErrorsAlarm', 'CleanupDeadLetterAlarm', 'SweeperErrorsAlarm']) {
      expect(alarm(name).AlarmActions, name).toEqual({
        'Fn::If': ['HasAlarmTopic', [''], { Ref: 'AWS::NoValue' }],
      });
    }
    expect(conditionHolds(template, 'HasAlarmTopic')).toBe(false);
  });

  it('the machine’s own terminations are counted from its log (InstancesTerminatedByMachine)', () => {
    const filter = props(resource('MachineTerminationsMetricFilter'));
    expect(filter.LogGroupName).toEqual({ Ref: 'ValidateAmiLogGroup' });
    expect(filter.FilterPattern).toContain('"terminateInstances"');
    expect(filter.MetricTransformations).toEqual([
      {
        MetricNamespace: 'PulsarAmi',
        MetricName: 'InstancesTerminatedByMachine',
        MetricValue: '1',
        Unit: 'Count',
      },
    ]);
  });
});
