import { describe, expect, it } from 'vitest';
import {
  actionsOf,
  iamStatements,
  loadTemplate,
  packageOutput,
  resourcesOfType,
  serverlessYml,
} from '../support/template';

const template = loadTemplate();

describe('CloudFormation from serverless package', () => {
  it('is packaged without a warning from the framework (serverless v3 warned about nodejs22.x)', () => {
    const output = packageOutput();
    expect(output).toContain('Service packaged');
    const warnings = output.split('\n').filter((line) => /warn/i.test(line));
    expect(warnings, output).toEqual([]);
  });

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
    const destructive = iamStatements(template).filter(
      (s) =>
        s.Effect === 'Allow' &&
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
    // deleteAmi and republishLatest publish the latest; nothing else writes parameters.
    expect(parameterStatements).toHaveLength(2);
    for (const statement of parameterStatements) {
      expect(JSON.stringify(statement.Resource)).toContain('parameter/pulsar-ami/test/*');
    }
  });

  it('publishes the API endpoint the CLI discovers', () => {
    expect(template.Outputs).toHaveProperty('ServiceEndpoint');
  });
});

/** Logical ids a value refers to: Ref, Fn::GetAtt, and ${Name} or ${Name.Attr} in Fn::Sub. */
function referencesIn(value: unknown, ids: Set<string>, found = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) referencesIn(item, ids, found);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, inner] of Object.entries(value)) {
      if (key === 'Ref' && typeof inner === 'string' && ids.has(inner)) found.add(inner);
      else if (key === 'Fn::GetAtt') {
        const id = Array.isArray(inner) ? inner[0] : String(inner).split('.')[0];
        if (typeof id === 'string' && ids.has(id)) found.add(id);
      } else if (key === 'Fn::Sub') {
        const text = Array.isArray(inner) ? inner[0] : inner;
        for (const match of String(text).matchAll(/\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}/g)) {
          if (match[1] && ids.has(match[1])) found.add(match[1]);
        }
        if (Array.isArray(inner)) referencesIn(inner[1], ids, found);
      } else referencesIn(inner, ids, found);
    }
  }
  return found;
}

describe('CloudFormation dependencies', () => {
  it('have no cycle, so the stack can be created', () => {
    const ids = new Set(Object.keys(template.Resources));
    const edges = new Map<string, Set<string>>();
    for (const [id, resource] of Object.entries(template.Resources)) {
      const refs = referencesIn(resource, ids);
      const dependsOn = (resource as { DependsOn?: string | string[] }).DependsOn;
      for (const d of [dependsOn ?? []].flat()) if (ids.has(d)) refs.add(d);
      refs.delete(id);
      edges.set(id, refs);
    }
    const cycles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (id: string, path: string[]) => {
      if (state.get(id) === 'done') return;
      if (state.get(id) === 'visiting') {
        cycles.push([...path.slice(path.indexOf(id)), id].join(' → '));
        return;
      }
      state.set(id, 'visiting');
      for (const next of edges.get(id) ?? []) visit(next, [...path, id]);
      state.set(id, 'done');
    };
    for (const id of ids) visit(id, []);
    expect(cycles).toEqual([]);
  });
});

describe('each function has the rights it uses, and no more', () => {
  const roleOf = (functionId: string): string => {
    const role = template.Resources[functionId]?.Properties?.Role as { 'Fn::GetAtt': [string, string] };
    return role['Fn::GetAtt'][0];
  };
  const actionsOfRole = (roleId: string): string[] => {
    const policies = (template.Resources[roleId]?.Properties?.Policies ?? []) as {
      PolicyDocument: { Statement: { Action: string | string[] }[] };
    }[];
    return policies.flatMap((p) => p.PolicyDocument.Statement.flatMap((s) => [s.Action].flat()));
  };
  const functionsWith = (action: string) =>
    resourcesOfType(template, 'AWS::Lambda::Function')
      .map(([id]) => id)
      .filter((id) => actionsOfRole(roleOf(id)).includes(action))
      .sort();

  it('lets the read-only functions change nothing', () => {
    for (const id of [
      'ListAmisLambdaFunction',
      'GetAmiLambdaFunction',
      'GetLatestAmiLambdaFunction',
      'GetValidationLambdaFunction',
      'EvaluateCheckResultsLambdaFunction',
    ]) {
      for (const action of actionsOfRole(roleOf(id))) {
        expect([id, action]).toEqual([
          id,
          expect.stringMatching(
            /^(ec2:Describe\w+|ssm:GetParameter|states:(DescribeExecution|GetExecutionHistory)|logs:\w+|xray:\w+)$/,
          ),
        ]);
      }
    }
  });

  it('gives each change to the one function that makes it', () => {
    expect(functionsWith('ec2:DeregisterImage')).toEqual(['DeleteAmiLambdaFunction']);
    expect(functionsWith('ec2:DeleteSnapshot')).toEqual(['DeleteAmiLambdaFunction']);
    expect(functionsWith('ssm:PutParameter')).toEqual([
      'DeleteAmiLambdaFunction',
      'RepublishLatestLambdaFunction',
    ]);
    expect(functionsWith('states:StartExecution')).toEqual([
      'StartBuildLambdaFunction',
      'StartValidationLambdaFunction',
    ]);
    expect(functionsWith('ec2:CreateTags')).toEqual([
      'DeleteAmiLambdaFunction',
      'StartValidationLambdaFunction',
    ]);
    expect(functionsWith('ec2:TerminateInstances')).toEqual([
      'SweepValidationInstancesLambdaFunction',
      'TerminateExecutionInstancesLambdaFunction',
    ]);
  });

  it('lets the functions with their own role write their logs and traces', () => {
    for (const role of ['DeleteAmiRole', 'StartValidationRole', 'ValidationCleanupRole']) {
      const managed = JSON.stringify(template.Resources[role]?.Properties?.ManagedPolicyArns);
      expect(managed).toContain('service-role/AWSLambdaBasicExecutionRole');
      expect(managed).toContain('AWSXRayDaemonWriteAccess');
    }
  });
});

describe('no role can grant itself the condition it is checked against', () => {
  interface Statement {
    Sid?: string;
    Effect: string;
    Action: string | string[];
    Resource?: unknown;
    Condition?: Record<string, Record<string, unknown>>;
  }
  const statementsOfEveryRole = (): [string, Statement][] =>
    resourcesOfType(template, 'AWS::IAM::Role').flatMap(([id, resource]) =>
      ((resource.Properties?.Policies ?? []) as { PolicyDocument: { Statement: Statement[] } }[]).flatMap(
        (p) => p.PolicyDocument.Statement.map((s): [string, Statement] => [id, s]),
      ),
    );
  const onImagesOrSnapshots = (s: Statement) =>
    /::(image|snapshot)\/\*/.test(JSON.stringify(s.Resource ?? '*'));

  it('allows CreateTags on images and snapshots only on ours, or, for ManagedBy, only where no ManagedBy tag exists', () => {
    const tagging = statementsOfEveryRole().filter(
      ([, s]) =>
        s.Effect === 'Allow' && [s.Action].flat().includes('ec2:CreateTags') && onImagesOrSnapshots(s),
    );
    expect(tagging.length).toBeGreaterThanOrEqual(3);
    for (const [role, s] of tagging) {
      const keys = [s.Condition?.['ForAllValues:StringEquals']?.['aws:TagKeys']].flat();
      expect([role, s.Sid, keys.length > 0]).toEqual([role, s.Sid, true]);
      if (keys.includes('ManagedBy')) {
        // Adoption: only the value pulsar-ami, only onto a resource without the tag.
        expect([role, s.Sid, s.Condition?.Null]).toEqual([
          role,
          s.Sid,
          { 'aws:ResourceTag/ManagedBy': 'true' },
        ]);
        expect(s.Condition?.StringEquals?.['aws:RequestTag/ManagedBy']).toBe('pulsar-ami');
      } else {
        expect([role, s.Sid, s.Condition?.StringEquals?.['aws:ResourceTag/ManagedBy']]).toEqual([
          role,
          s.Sid,
          'pulsar-ami',
        ]);
      }
    }
  });

  it('denies deregistering an image tagged Protected=true to every role that may deregister', () => {
    const statements = statementsOfEveryRole();
    const deregistering = new Set(
      statements
        .filter(([, s]) => s.Effect === 'Allow' && [s.Action].flat().includes('ec2:DeregisterImage'))
        .map(([role]) => role),
    );
    expect(deregistering.size).toBeGreaterThan(0);
    for (const role of deregistering) {
      const deny = statements.find(
        ([r, s]) => r === role && s.Effect === 'Deny' && [s.Action].flat().includes('ec2:DeregisterImage'),
      );
      expect([role, deny?.[1].Condition]).toEqual([
        role,
        { StringEqualsIgnoreCase: { 'aws:ResourceTag/Protected': 'true' } },
      ]);
    }
  });
});
