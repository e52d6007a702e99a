/**
 * The cleanup API in the CloudFormation that `serverless package` makes: POST /cleanups,
 * GET /cleanups/{id} and POST /amis/{id}/restore behind AWS_IAM; startCleanup may read what the
 * plan reads and start CleanupAmis, nothing that changes an image; getCleanup reads the cleanup
 * executions only; restoreAmi may re-enable and undeprecate only this tool's images.
 */
import { describe, expect, it } from 'vitest';
import { loadTemplate, resourcesOfType, type Statement } from '../support/template';

const template = loadTemplate();

const statementsOf = (roleId: string): Statement[] =>
  (
    (template.Resources[roleId]?.Properties?.Policies ?? []) as {
      PolicyDocument: { Statement: Statement[] };
    }[]
  ).flatMap((p) => p.PolicyDocument.Statement);
const roleOf = (functionId: string): string => {
  const role = template.Resources[functionId]?.Properties?.Role as
    | { 'Fn::GetAtt': [string, string] }
    | undefined;
  return role?.['Fn::GetAtt'][0] ?? '';
};
const actions = (roleId: string) => statementsOf(roleId).flatMap((s) => [s.Action].flat());
const fn = (id: string) =>
  template.Resources[id]?.Properties as Record<string, unknown> & {
    Environment?: { Variables: Record<string, unknown> };
  };

describe('the cleanup API in CloudFormation', () => {
  it('serves POST /cleanups, GET /cleanups/{id} and POST /amis/{id}/restore, each behind AWS_IAM', () => {
    const methods = resourcesOfType(template, 'AWS::ApiGateway::Method').map(([id, m]) => ({
      id,
      method: m.Properties?.HttpMethod,
      auth: m.Properties?.AuthorizationType,
    }));
    for (const [id, method] of [
      ['ApiGatewayMethodCleanupsPost', 'POST'],
      ['ApiGatewayMethodCleanupsIdVarGet', 'GET'],
      ['ApiGatewayMethodAmisIdVarRestorePost', 'POST'],
    ]) {
      expect(methods.find((m) => m.id === id)).toEqual({ id, method, auth: 'AWS_IAM' });
    }
  });

  it('startCleanup reads and starts CleanupAmis, never changes an image or a parameter; reserved concurrency 2', () => {
    const role = roleOf('StartCleanupLambdaFunction');
    expect(role).toBe('StartCleanupRole');
    for (const action of actions(role)) {
      expect(action).toMatch(
        /^(ec2:Describe\w+|ssm:(GetParameter|GetParameters|GetParametersByPath|DescribeParameters)|imagebuilder:(List|Get)\w+|autoscaling:Describe\w+|states:(StartExecution|ListExecutions|DescribeExecution))$/,
      );
    }
    const start = statementsOf(role).find((s) => [s.Action].flat().includes('states:StartExecution'));
    expect(start?.Resource).toEqual([{ Ref: 'CleanupAmisStateMachine' }]);
    expect(fn('StartCleanupLambdaFunction').ReservedConcurrentExecutions).toBe(2);
    expect(fn('StartCleanupLambdaFunction').Environment?.Variables.CLEANUP_AMIS_STATE_MACHINE_ARN).toEqual({
      Ref: 'CleanupAmisStateMachine',
    });
  });

  it('getCleanup reads the cleanup executions and their histories, nothing else', () => {
    const statements = statementsOf(roleOf('GetCleanupLambdaFunction'));
    expect(statements.flatMap((s) => [s.Action].flat()).sort()).toEqual([
      'states:DescribeExecution',
      'states:GetExecutionHistory',
    ]);
    expect(JSON.stringify(statements.map((s) => s.Resource))).toContain(
      ':execution:pulsar-ami-test-cleanup-amis:*',
    );
  });

  it('restoreAmi may re-enable and undeprecate only images tagged ManagedBy=pulsar-ami, and adopt a legacy one first', () => {
    const statements = statementsOf(roleOf('RestoreAmiLambdaFunction'));
    expect(statements.flatMap((s) => [s.Action].flat()).sort()).toEqual([
      'ec2:CreateTags',
      'ec2:DescribeImages',
      'ec2:DisableImageDeprecation',
      'ec2:EnableImage',
    ]);
    const restore = statements.find((s) => [s.Action].flat().includes('ec2:EnableImage'));
    expect(JSON.stringify(restore?.Resource)).toContain('::image/*');
    expect(restore?.Condition).toEqual({ StringEquals: { 'aws:ResourceTag/ManagedBy': 'pulsar-ami' } });
    // The only tag it may add: ManagedBy=pulsar-ami (and the version), onto an image with no ManagedBy yet.
    const adopt = statements.find((s) => [s.Action].flat().includes('ec2:CreateTags'));
    expect(adopt?.Condition).toEqual({
      StringEquals: { 'aws:RequestTag/ManagedBy': 'pulsar-ami' },
      'ForAllValues:StringEquals': { 'aws:TagKeys': ['ManagedBy', 'PulsarVersion'] },
      Null: { 'aws:ResourceTag/ManagedBy': 'true' },
    });
  });
});
