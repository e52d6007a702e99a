import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { actionsOf, iamStatements, loadTemplate, resourcesOfType, type Statement } from '../support/template';

const template = loadTemplate();
const machineFile = join(import.meta.dirname, '../../statemachines/validate-ami.asl.yml');
const statements = iamStatements(template);
const withAction = (action: string) => statements.filter((s) => actionsOf(s).includes(action));
const tagCondition = (s: Statement, key: string) =>
  s.Condition?.StringEquals?.[`aws:ResourceTag/${key}`] ??
  s.Condition?.StringEquals?.[`ssm:resourceTag/${key}`];

describe('ValidateAmi in the CloudFormation template', () => {
  const machines = resourcesOfType(template, 'AWS::StepFunctions::StateMachine');
  const validate = machines.find(([name]) => name === 'ValidateAmiStateMachine')?.[1];

  it('exists, with logging of every event and tracing on', () => {
    expect(validate?.Properties?.LoggingConfiguration).toMatchObject({
      Level: 'ALL',
      IncludeExecutionData: true,
    });
    expect(validate?.Properties?.TracingConfiguration).toEqual({ Enabled: true });
    expect(validate?.Properties?.StateMachineName).toBe('pulsar-ami-test-validate-ami');
  });

  it('has a top-level TimeoutSeconds', () => {
    const definition = validate?.Properties?.DefinitionString;
    const text = typeof definition === 'string' ? definition : JSON.stringify(definition);
    expect(text).toMatch(/\\?"TimeoutSeconds\\?":\s*\d+/);
  });

  it('terminates the instances of executions that fail, time out or are aborted (EventBridge rule)', () => {
    const rules = resourcesOfType(template, 'AWS::Events::Rule').map(([, r]) => r.Properties ?? {});
    const rule = rules.find((r) =>
      JSON.stringify(r.EventPattern ?? {}).includes('Step Functions Execution Status Change'),
    );
    expect(rule?.EventPattern).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: {
        status: ['FAILED', 'TIMED_OUT', 'ABORTED'],
        stateMachineArn: [{ Ref: 'ValidateAmiStateMachine' }, { Ref: 'BuildAmiStateMachine' }],
      },
    });
    expect(JSON.stringify(rule?.Targets)).toContain('TerminateExecutionInstancesLambdaFunction');
  });

  it('sweeps orphaned validation instances on a schedule', () => {
    const rules = resourcesOfType(template, 'AWS::Events::Rule').map(([, r]) => r.Properties ?? {});
    const sweeper = rules.find((r) =>
      JSON.stringify(r.Targets).includes('SweepValidationInstancesLambdaFunction'),
    );
    expect(sweeper?.ScheduleExpression).toMatch(/^rate\(\d+ (minutes|hours)\)$/);
    expect(sweeper?.State).toBe('ENABLED');
  });

  it('allows SendCommand only for AWS-RunShellScript and for instances tagged ManagedBy=pulsar-ami', () => {
    const send = withAction('ssm:SendCommand');
    expect(send.length).toBeGreaterThanOrEqual(2);
    for (const statement of send) {
      expect(actionsOf(statement)).toEqual(['ssm:SendCommand']);
      const resource = JSON.stringify(statement.Resource);
      expect(resource).not.toMatch(/"\*"/);
      if (resource.includes('document/')) expect(resource).toContain('document/AWS-RunShellScript');
      else {
        expect(tagCondition(statement, 'ManagedBy')).toBe('pulsar-ami');
        expect(tagCondition(statement, 'Purpose')).toBe('AMI-Validation');
      }
    }
  });

  it('passes only the instance roles (validation, build), and only to EC2', () => {
    const pass = withAction('iam:PassRole');
    expect(pass.map((s) => s.Resource)).toEqual([
      [{ 'Fn::GetAtt': ['ValidationInstanceRole', 'Arn'] }],
      [{ 'Fn::GetAtt': ['BuildInstanceRole', 'Arn'] }],
    ]);
    for (const statement of pass) {
      expect(statement.Condition?.StringEquals?.['iam:PassedToService']).toBe('ec2.amazonaws.com');
    }
  });

  it('never terminates an instance that is not a validation or build instance of this tool', () => {
    const terminate = withAction('ec2:TerminateInstances');
    expect(terminate.length).toBeGreaterThanOrEqual(3);
    for (const statement of terminate) {
      expect(statement.Resource).not.toBe('*');
      expect(tagCondition(statement, 'ManagedBy')).toBe('pulsar-ami');
      expect(['AMI-Validation', 'AMI-Build']).toContain(tagCondition(statement, 'Purpose'));
    }
  });

  it('tags at launch only, and tags images only with the validation result', () => {
    for (const statement of withAction('ec2:CreateTags')) {
      const when = statement.Condition ?? {};
      const creating = [when.StringEquals?.['ec2:CreateAction']].flat();
      const atLaunch =
        creating.length > 0 && creating.every((a) => a === 'RunInstances' || a === 'CreateKeyPair');
      const keys = JSON.stringify(when['ForAllValues:StringEquals']?.['aws:TagKeys'] ?? null);
      const resultTags = keys === JSON.stringify(['Validated', 'ValidationDate', 'ValidationExecutionArn']);
      const adoption = keys === JSON.stringify(['ManagedBy']);
      const orphanMark =
        keys === JSON.stringify(['OrphanedFrom']) &&
        when.StringEquals?.['aws:ResourceTag/ManagedBy'] === 'pulsar-ami';
      // A new image (a build's, a copy's) is tagged as ours only while it has no ManagedBy tag.
      const newImage =
        keys.includes('"ManagedBy"') &&
        when.StringEquals?.['aws:RequestTag/ManagedBy'] === 'pulsar-ami' &&
        when.Null?.['aws:ResourceTag/ManagedBy'] === 'true';
      // A build's tags on its image, which is ours already (and stays ours).
      const ownImage =
        when.StringEquals?.['aws:ResourceTag/ManagedBy'] === 'pulsar-ami' &&
        when.StringEquals?.['aws:RequestTag/ManagedBy'] === 'pulsar-ami';
      expect([
        statement.Sid,
        atLaunch || resultTags || adoption || orphanMark || newImage || ownImage,
      ]).toEqual([statement.Sid, true]);
    }
  });

  it('gives the test instance a role with SSM core only', () => {
    const role = template.Resources.ValidationInstanceRole?.Properties;
    expect(JSON.stringify(role?.AssumeRolePolicyDocument)).toContain('ec2.amazonaws.com');
    expect(JSON.stringify(role?.ManagedPolicyArns)).toContain('AmazonSSMManagedInstanceCore');
    expect(role?.Policies).toBeUndefined();
  });

  it('is the project’s machine file, every state of it', () => {
    const definition = validate?.Properties?.DefinitionString;
    const states = Object.keys((parse(readFileSync(machineFile, 'utf8')) as { States: object }).States);
    for (const state of states) expect(JSON.stringify(definition)).toContain(state);
  });
});
