/**
 * The build API in the CloudFormation that `serverless package` makes: its four routes behind
 * AWS_IAM, startBuild's role (start BuildAmi and nothing else that changes anything), and the
 * readers' role (reads only, scoped to the build machine, its project and its log group).
 */
import { describe, expect, it } from 'vitest';
import { loadTemplate, resourcesOfType } from '../support/template';

const template = loadTemplate();

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

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

describe('the build API in CloudFormation', () => {
  it('serves POST /builds, GET /builds, GET /builds/{id} and GET /builds/{id}/logs, each behind AWS_IAM', () => {
    const resources = resourcesOfType(template, 'AWS::ApiGateway::Resource').map(([id, r]) => ({
      id,
      part: r.Properties?.PathPart,
    }));
    const methods = resourcesOfType(template, 'AWS::ApiGateway::Method').map(([id, m]) => ({
      id,
      method: m.Properties?.HttpMethod,
      auth: m.Properties?.AuthorizationType,
      resource: JSON.stringify(m.Properties?.ResourceId),
    }));
    const builds = resources.find((r) => r.part === 'builds')?.id ?? '';
    const byId =
      resources.find((r) => r.part === '{id}' && r.id.startsWith('ApiGatewayResourceBuilds'))?.id ?? '';
    const logs = resources.find((r) => r.part === 'logs')?.id ?? '';
    const on = (resource: string, method: string) =>
      methods.find((m) => m.resource.includes(`"${resource}"`) && m.method === method);
    for (const [resource, method] of [
      [builds, 'POST'],
      [builds, 'GET'],
      [byId, 'GET'],
      [logs, 'GET'],
    ] as const) {
      expect(resource, method).not.toBe('');
      expect(on(resource, method)?.auth, `${method} ${resource}`).toBe('AWS_IAM');
    }
  });

  it('startBuild may start BuildAmi and read, nothing else', () => {
    const statements = statementsOf(roleOf('StartBuildLambdaFunction'));
    const actions = statements.flatMap((s) => [s.Action].flat()).sort();
    expect(actions).toEqual([
      'ec2:DescribeImages',
      'ec2:DescribeInstanceTypes',
      'states:DescribeExecution',
      'states:ListExecutions',
      // The second one counts the running validations (the 429 limit).
      'states:ListExecutions',
      'states:StartExecution',
    ]);
    const start = statements.find((s) => [s.Action].flat().includes('states:StartExecution'));
    expect(start?.Resource).toEqual([{ Ref: 'BuildAmiStateMachine' }]);
  });

  it('the build readers share a role that reads only: the build executions, their validations, the project, its logs', () => {
    const role = roleOf('GetBuildLambdaFunction');
    expect(roleOf('ListBuildsLambdaFunction')).toBe(role);
    expect(roleOf('GetBuildLogsLambdaFunction')).toBe(role);
    for (const s of statementsOf(role)) {
      for (const action of [s.Action].flat()) {
        expect(action).toMatch(
          /^(states:(ListExecutions|DescribeExecution|GetExecutionHistory)|codebuild:BatchGetBuilds|logs:GetLogEvents)$/,
        );
      }
      expect(JSON.stringify(s.Resource)).not.toMatch(/"\*"/);
    }
    const logs = statementsOf(role).find((s) => [s.Action].flat().includes('logs:GetLogEvents'));
    expect(JSON.stringify(logs?.Resource)).toContain(
      'log-group:/aws/codebuild/pulsar-ami-test-build-ami:log-stream:*',
    );
  });

  it('startBuild checks the version against the archive from its configuration', () => {
    const environment = template.Resources.StartBuildLambdaFunction?.Properties?.Environment as
      | { Variables: Record<string, unknown> }
      | undefined;
    const env = environment?.Variables ?? {};
    expect(env.ARCHIVE_BASE_URL).toBe('https://archive.apache.org/dist');
    expect(env.BUILD_AMI_STATE_MACHINE_ARN).toEqual({ Ref: 'BuildAmiStateMachine' });
  });
});
