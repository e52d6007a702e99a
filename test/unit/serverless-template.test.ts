import { describe, expect, it } from 'vitest';
import { actionsOf, iamStatements, loadTemplate, resourcesOfType, serverlessYml } from '../support/template';

const template = loadTemplate();

describe('CloudFormation from serverless package', () => {
  it('puts every API method behind AWS_IAM, one method per http event of serverless.yml', () => {
    const methods = resourcesOfType(template, 'AWS::ApiGateway::Method');
    const declared = Object.values(serverlessYml().functions).flatMap((fn) =>
      (fn.events ?? []).filter((e) => e.http),
    );
    expect(declared.length).toBeGreaterThanOrEqual(4);
    expect(methods).toHaveLength(declared.length);
    for (const [name, method] of methods) {
      expect([name, method.Properties?.AuthorizationType]).toEqual([name, 'AWS_IAM']);
    }
  });

  it('runs every function on nodejs22.x', () => {
    const functions = resourcesOfType(template, 'AWS::Lambda::Function');
    expect(functions.length).toBeGreaterThanOrEqual(4);
    for (const [name, fn] of functions) expect([name, fn.Properties?.Runtime]).toEqual([name, 'nodejs22.x']);
  });

  it('never allows DeregisterImage or DeleteSnapshot on * or without the ManagedBy tag condition', () => {
    const destructive = iamStatements(template).filter((s) =>
      actionsOf(s).some((a) => ['ec2:DeregisterImage', 'ec2:DeleteSnapshot', 'ec2:*', '*'].includes(a)),
    );
    expect(destructive.length).toBeGreaterThanOrEqual(2);
    for (const statement of destructive) {
      expect(actionsOf(statement)).not.toContain('ec2:*');
      expect(statement.Resource).not.toBe('*');
      expect(JSON.stringify(statement.Resource)).not.toMatch(/"\*"/);
      expect(statement.Condition?.StringEquals?.['aws:ResourceTag/ManagedBy']).toBe('pulsar-ami');
    }
  });

  it('scopes SSM parameter access to the stage path', () => {
    const ssm = iamStatements(template).filter((s) => actionsOf(s).some((a) => a.startsWith('ssm:')));
    const parameterStatements = ssm.filter((s) => actionsOf(s).includes('ssm:PutParameter'));
    expect(parameterStatements).toHaveLength(1);
    expect(JSON.stringify(parameterStatements[0]?.Resource)).toContain('parameter/pulsar-ami/test/*');
  });

  it('publishes the API endpoint the CLI discovers', () => {
    expect(template.Outputs).toHaveProperty('ServiceEndpoint');
  });
});
