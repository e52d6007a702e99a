import { describe, expect, it } from 'vitest';
import {
  actionsOf,
  iamStatements,
  loadTemplate,
  packageOutput,
  resourcesOfType,
  type Statement,
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
    // deleteAmi, republishLatest and publishAmi publish; nothing else writes parameters.
    expect(parameterStatements).toHaveLength(3);
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
    expect(functionsWith('ec2:DeregisterImage')).toEqual([
      'DeleteAmiLambdaFunction',
      'DeleteFailedAmiLambdaFunction',
      // CleanupAmis' Retire AMI.
      'RetireAmiLambdaFunction',
      // The safety net: an aborted build's unvalidated images.
      'TerminateExecutionInstancesLambdaFunction',
    ]);
    expect(functionsWith('ec2:DeleteSnapshot')).toEqual([
      'DeleteAmiLambdaFunction',
      'DeleteFailedAmiLambdaFunction',
      // CleanupAmis' Delete Orphaned Snapshot and Retire AMI.
      'DeleteOrphanedSnapshotLambdaFunction',
      'RetireAmiLambdaFunction',
      // The safety net: an aborted build's unvalidated images.
      'TerminateExecutionInstancesLambdaFunction',
    ]);
    expect(functionsWith('ec2:DisableImage')).toEqual(['RetireAmiLambdaFunction']);
    expect(functionsWith('ec2:EnableImageDeprecation')).toEqual(['RetireAmiLambdaFunction']);
    expect(functionsWith('ssm:PutParameter')).toEqual([
      'DeleteAmiLambdaFunction',
      'PublishAmiLambdaFunction',
      'RepublishLatestLambdaFunction',
    ]);
    expect(functionsWith('states:StartExecution')).toEqual([
      'StartBuildLambdaFunction',
      'StartCleanupLambdaFunction',
      'StartValidationLambdaFunction',
    ]);
    expect(functionsWith('ec2:CopyImage')).toEqual(['CopyAmiToRegionLambdaFunction']);
    expect(functionsWith('codebuild:StopBuild')).toEqual(['TerminateExecutionInstancesLambdaFunction']);
    expect(functionsWith('ec2:CreateTags')).toEqual([
      'CopyAmiToRegionLambdaFunction',
      'DeleteAmiLambdaFunction',
      'DeleteFailedAmiLambdaFunction',
      'PublishAmiLambdaFunction',
      'RestoreAmiLambdaFunction',
      'RetireAmiLambdaFunction',
      'StartValidationLambdaFunction',
      'TerminateExecutionInstancesLambdaFunction',
    ]);
    expect(functionsWith('ec2:TerminateInstances')).toEqual([
      'SweepValidationInstancesLambdaFunction',
      'TerminateExecutionInstancesLambdaFunction',
    ]);
  });

  it('lets the functions with their own role write their logs and traces', () => {
    for (const role of [
      'DeleteAmiRole',
      'StartValidationRole',
      'ExecutionCleanupRole',
      'InstanceSweepRole',
      'DeleteFailedAmiRole',
      'PublishAmiRole',
      'CopyAmiToRegionRole',
      'PlanCleanupRole',
      'RetireAmiRole',
      'DeleteOrphanedSnapshotRole',
    ]) {
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
        // Adoption or a new image: only the value pulsar-ami, only onto a resource without the
        // tag; or re-tagging (a build's own tags) an image that is ours already, as ours.
        const ours = s.Condition?.StringEquals?.['aws:ResourceTag/ManagedBy'] === 'pulsar-ami';
        if (!ours) {
          expect([role, s.Sid, s.Condition?.Null]).toEqual([
            role,
            s.Sid,
            { 'aws:ResourceTag/ManagedBy': 'true' },
          ]);
        }
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

  it('lets no role tag an existing snapshot as ours: DeleteSnapshot is checked against that tag', () => {
    const snapshotTagging = statementsOfEveryRole().filter(
      ([, s]) =>
        s.Effect === 'Allow' &&
        [s.Action].flat().includes('ec2:CreateTags') &&
        /::snapshot\/\*/.test(JSON.stringify(s.Resource ?? '*')),
    );
    expect(snapshotTagging.length).toBeGreaterThan(0);
    for (const [role, s] of snapshotTagging) {
      const keys = [s.Condition?.['ForAllValues:StringEquals']?.['aws:TagKeys']].flat();
      const ours = s.Condition?.StringEquals?.['aws:ResourceTag/ManagedBy'] === 'pulsar-ami';
      const atCreation = s.Condition?.StringEquals?.['ec2:CreateAction'] !== undefined;
      // Either the snapshot is ours already, or the tag is set as CreateImage makes it.
      expect([role, s.Sid, !keys.includes('ManagedBy') || ours || atCreation]).toEqual([role, s.Sid, true]);
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

describe('BuildAmi in the CloudFormation template', () => {
  const machine = template.Resources.BuildAmiStateMachine;
  const roleStatements = (roleId: string): Statement[] =>
    (
      (template.Resources[roleId]?.Properties?.Policies ?? []) as {
        PolicyDocument: { Statement: Statement[] };
      }[]
    ).flatMap((p) => p.PolicyDocument.Statement);
  const bySid = (roleId: string, sid: string) => roleStatements(roleId).find((s) => s.Sid === sid);
  const definition = JSON.parse(String(machine?.Properties?.DefinitionString)) as {
    States: Record<string, unknown>;
  };
  const invoked = new Set(
    [...JSON.stringify(definition).matchAll(/"FunctionName":"pulsar-ami-test-(\w+)"/g)].map((m) => m[1]),
  );

  it('is the machine of statemachines/build-ami.asl.yml, logged and traced, with its own role', () => {
    expect(machine?.Properties).toMatchObject({
      StateMachineName: 'pulsar-ami-test-build-ami',
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: true },
      TracingConfiguration: { Enabled: true },
      RoleArn: { 'Fn::GetAtt': ['BuildAmiRole', 'Arn'] },
    });
    expect(Object.keys(definition.States)).toContain('Build Image With Packer');
    expect(JSON.stringify(definition)).toContain('"ProjectName":"pulsar-ami-test-build-ami"');
  });

  it('lets the machine do only what its states do', () => {
    const statements = roleStatements('BuildAmiRole');
    expect(statements.map((s) => s.Sid)).toEqual([
      'RunBuildProject',
      'SyncManagedRules',
      'StartValidation',
      'FollowValidation',
      'InvokeBuildLambdas',
      'DeliverExecutionLogs',
      'Tracing',
    ]);
    const run = bySid('BuildAmiRole', 'RunBuildProject');
    expect(run?.Action).toEqual(['codebuild:StartBuild', 'codebuild:StopBuild', 'codebuild:BatchGetBuilds']);
    expect(run?.Resource).toHaveLength(1);
    expect(JSON.stringify(run?.Resource)).toMatch(/:project\/pulsar-ami-test-build-ami"/);
    expect(JSON.stringify(bySid('BuildAmiRole', 'SyncManagedRules')?.Resource)).toContain(
      'rule/StepFunctionsGetEventForCodeBuildStartBuildRule',
    );
    expect(bySid('BuildAmiRole', 'StartValidation')?.Resource).toEqual([{ Ref: 'ValidateAmiStateMachine' }]);
    expect(JSON.stringify(bySid('BuildAmiRole', 'FollowValidation')?.Resource)).toContain(
      'execution:pulsar-ami-test-validate-ami:*',
    );
    // Exactly the Lambdas the definition invokes, by name, each a function of the stack.
    const resources = (bySid('BuildAmiRole', 'InvokeBuildLambdas')?.Resource ?? []) as {
      'Fn::Sub': string;
    }[];
    const allowed = new Set(
      resources.map((r) => /function:pulsar-ami-test-(\w+)(?::\*)?$/.exec(r['Fn::Sub'])?.[1]),
    );
    expect([...allowed].sort()).toEqual([...invoked].sort());
    const functionNames = resourcesOfType(template, 'AWS::Lambda::Function').map(
      ([, f]) => f.Properties?.FunctionName,
    );
    for (const name of invoked) expect(functionNames).toContain(`pulsar-ami-test-${name}`);
    for (const statement of statements) {
      if (statement.Resource === '*') expect(['DeliverExecutionLogs', 'Tracing']).toContain(statement.Sid);
    }
  });

  it('has no wildcard action in any policy of the stack', () => {
    for (const statement of iamStatements(template)) {
      for (const action of actionsOf(statement))
        expect([statement.Sid, action]).not.toEqual([statement.Sid, expect.stringContaining('*')]);
    }
  });

  it('runs buildspec/build-ami.yml in the one CodeBuild project the machine names', () => {
    const projects = resourcesOfType(template, 'AWS::CodeBuild::Project');
    expect(projects.map(([id]) => id)).toEqual(['BuildAmiProject']);
    const project = projects[0]?.[1].Properties ?? {};
    expect(project).toMatchObject({
      Name: 'pulsar-ami-test-build-ami',
      ServiceRole: { 'Fn::GetAtt': ['BuildAmiCodeBuildRole', 'Arn'] },
      Source: { Type: 'S3', BuildSpec: 'buildspec/build-ami.yml' },
      Environment: { Type: 'LINUX_CONTAINER', Image: 'aws/codebuild/amazonlinux-x86_64-standard:5.0' },
      TimeoutInMinutes: 60,
      // At most this many builds at once: each is a Packer instance and then a validation.
      ConcurrentBuildLimit: '2',
      LogsConfig: {
        CloudWatchLogs: { Status: 'ENABLED', GroupName: '/aws/codebuild/pulsar-ami-test-build-ami' },
      },
    });
    const variables = (project.Environment as { EnvironmentVariables: { Name: string; Value: unknown }[] })
      .EnvironmentVariables;
    expect(variables.map((v) => v.Name)).toEqual([
      'ARCHIVE_BASE_URL',
      'BUILD_INSTANCE_PROFILE',
      'BUILD_SUBNET_ID',
      'BUILD_SECURITY_GROUP_ID',
    ]);
    expect(variables.find((v) => v.Name === 'BUILD_INSTANCE_PROFILE')?.Value).toBe(
      template.Resources.BuildInstanceProfile?.Properties?.InstanceProfileName,
    );
    // The machine's task outlasts the build's own timeouts, so CodeBuild ends it first.
    const task = (definition.States['Build Image With Packer'] ?? {}) as { TimeoutSeconds: number };
    expect(task.TimeoutSeconds).toBeGreaterThan(
      ((project.TimeoutInMinutes as number) + (project.QueuedTimeoutInMinutes as number)) * 60 - 1,
    );
    expect(template.Resources.BuildAmiCodeBuildLogGroup?.Properties?.LogGroupName).toBe(
      '/aws/codebuild/pulsar-ami-test-build-ami',
    );
    expect(template.Outputs).toHaveProperty('BuildSourceBucketName');
  });

  it("gives Packer's build only build instances, tagged, and images it tags as ours", () => {
    const launch = bySid('BuildAmiCodeBuildRole', 'LaunchTaggedBuildInstance');
    expect(launch?.Condition?.StringEquals).toEqual({
      'aws:RequestTag/ManagedBy': 'pulsar-ami',
      'aws:RequestTag/Purpose': 'AMI-Build',
    });
    expect(JSON.stringify(bySid('BuildAmiCodeBuildRole', 'LaunchIntoBuildNetwork')?.Resource)).toContain(
      'security-group/$' + '{BuildSecurityGroup.GroupId}',
    );
    const own = bySid('BuildAmiCodeBuildRole', 'ManageOwnBuildInstances');
    expect(own?.Condition?.StringEquals).toEqual({
      'aws:ResourceTag/ManagedBy': 'pulsar-ami',
      'aws:ResourceTag/Purpose': 'AMI-Build',
    });
    expect(bySid('BuildAmiCodeBuildRole', 'CreateImageAsOurs')?.Condition?.StringEquals).toEqual({
      'aws:RequestTag/ManagedBy': 'pulsar-ami',
    });
    const tags = bySid('BuildAmiCodeBuildRole', 'TagNewImagesAsOurs');
    expect(tags?.Condition?.StringEquals).toEqual({
      'ec2:CreateAction': 'CreateImage',
      'aws:RequestTag/ManagedBy': 'pulsar-ami',
    });
    expect(tags?.Condition?.Null).toEqual({ 'aws:ResourceTag/ManagedBy': 'true' });
    expect(bySid('BuildAmiCodeBuildRole', 'TagOwnImages')?.Condition?.StringEquals).toEqual({
      'aws:ResourceTag/ManagedBy': 'pulsar-ami',
      'aws:RequestTag/ManagedBy': 'pulsar-ami',
    });
    // Never a validated (or published) image: a build cannot re-version or re-own it.
    expect(bySid('BuildAmiCodeBuildRole', 'TagOwnImages')?.Condition?.Null).toEqual({
      'aws:ResourceTag/Validated': 'true',
    });
    expect(bySid('BuildAmiCodeBuildRole', 'ModifyOwnImageAttributes')?.Condition?.StringEquals).toEqual({
      'aws:ResourceTag/ManagedBy': 'pulsar-ami',
    });
    expect(bySid('BuildAmiCodeBuildRole', 'SessionToBuildInstances')?.Condition?.StringEquals).toEqual({
      'ssm:resourceTag/ManagedBy': 'pulsar-ami',
      'ssm:resourceTag/Purpose': 'AMI-Build',
    });
    expect(JSON.stringify(bySid('BuildAmiCodeBuildRole', 'ReadBaseImageParameter')?.Resource)).toContain(
      'parameter/aws/service/ami-amazon-linux-latest/*',
    );
    const actions = roleStatements('BuildAmiCodeBuildRole').flatMap(actionsOf);
    for (const never of ['ec2:DeregisterImage', 'ec2:DeleteSnapshot', 'ssm:SendCommand', 'ssm:PutParameter'])
      expect(actions).not.toContain(never);
    const group = template.Resources.BuildSecurityGroup?.Properties ?? {};
    expect(group.SecurityGroupIngress).toBeUndefined();
    expect(JSON.stringify(template.Resources.BuildInstanceRole?.Properties?.ManagedPolicyArns)).toContain(
      'AmazonSSMManagedInstanceCore',
    );
  });

  it('copies and publishes in other regions only as this tool', () => {
    const copy = bySid('CopyAmiToRegionRole', 'CopyAsManagedImage');
    expect(copy?.Condition?.StringEquals).toEqual({ 'aws:RequestTag/ManagedBy': 'pulsar-ami' });
    const tagCopies = bySid('CopyAmiToRegionRole', 'TagCopiesAtCreation');
    expect(tagCopies?.Condition?.StringEquals).toMatchObject({ 'ec2:CreateAction': 'CopyImage' });
    expect(JSON.stringify(bySid('PublishAmiRole', 'PublishAmis')?.Resource)).toContain(
      'parameter/pulsar-ami/test/*',
    );
    expect(bySid('PublishAmiRole', 'RecordValidationOnCopies')?.Condition?.StringEquals).toEqual({
      'aws:ResourceTag/ManagedBy': 'pulsar-ami',
    });
  });

  it('cleans up after a BuildAmi execution that fails, times out or is aborted', () => {
    const rule = resourcesOfType(template, 'AWS::Events::Rule')
      .map(([, r]) => r.Properties ?? {})
      .find((r) => JSON.stringify(r.Targets).includes('TerminateExecutionInstancesLambdaFunction'));
    expect(JSON.stringify(rule?.EventPattern)).toContain('"Ref":"BuildAmiStateMachine"');
    expect(bySid('ExecutionCleanupRole', 'StopExecutionBuilds')).toMatchObject({
      Action: ['codebuild:ListBuildsForProject', 'codebuild:BatchGetBuilds', 'codebuild:StopBuild'],
    });
    expect(bySid('ExecutionCleanupRole', 'TerminateBuildInstances')?.Condition?.StringEquals).toEqual({
      'aws:ResourceTag/ManagedBy': 'pulsar-ami',
      'aws:ResourceTag/Purpose': 'AMI-Build',
    });
  });
});

describe('the roles that delete images find where an image is in use', () => {
  type RoleStatement = Statement & { Sid?: string; Condition?: Record<string, Record<string, unknown>> };
  const statementsOf = (role: string): RoleStatement[] =>
    (
      (template.Resources[role]?.Properties?.Policies ?? []) as {
        PolicyDocument: { Statement: RoleStatement[] };
      }[]
    ).flatMap((p) => p.PolicyDocument.Statement);
  const VIA_EC2 = [
    'ec2:DescribeInstances',
    'ec2:DescribeLaunchTemplates',
    'ec2:DescribeLaunchTemplateVersions',
    'ssm:DescribeParameters',
    'ssm:GetParameters',
    'imagebuilder:ListImageRecipes',
    'imagebuilder:ListContainerRecipes',
    'imagebuilder:GetContainerRecipe',
  ];

  it.each([
    'DeleteAmiRole',
    'DeleteFailedAmiRole',
    'ExecutionCleanupRole',
    'PlanCleanupRole',
    'RetireAmiRole',
  ])(
    '%s: DescribeImageReferences on * (no resource-level permissions), the referencing resources read only via ec2-images, launch template versions named',
    (role) => {
      const statements = statementsOf(role);
      const find = statements.find((s) => actionsOf(s).includes('ec2:DescribeImageReferences'));
      expect(find).toMatchObject({ Effect: 'Allow', Action: ['ec2:DescribeImageReferences'], Resource: '*' });
      const via = statements.find((s) => s.Sid === 'ReadReferencingResourcesViaEc2');
      expect(via?.Action).toEqual(VIA_EC2);
      expect(via?.Condition).toEqual({
        'ForAnyValue:StringEquals': { 'aws:CalledVia': ['ec2-images.amazonaws.com'] },
      });
      const versions = statements.find((s) => s.Sid === 'NameLaunchTemplateVersions');
      expect(versions).toMatchObject({
        Effect: 'Allow',
        Action: ['ec2:DescribeLaunchTemplates', 'ec2:DescribeLaunchTemplateVersions'],
        Resource: '*',
      });
      expect(versions?.Condition).toBeUndefined();
    },
  );

  it('DeleteAmiRole reads instances only through DescribeImageReferences, not on its own', () => {
    const direct = statementsOf('DeleteAmiRole').filter(
      (s) => actionsOf(s).includes('ec2:DescribeInstances') && s.Condition === undefined,
    );
    expect(direct).toEqual([]);
  });
});

describe('CleanupAmis in the CloudFormation template', () => {
  const machine = template.Resources.CleanupAmisStateMachine;
  type Task = { Type: string; TimeoutSeconds?: number; Parameters?: { FunctionName?: string } };
  const definition = JSON.parse(String(machine?.Properties?.DefinitionString)) as {
    TimeoutSeconds?: number;
    States: Record<string, Task & { ItemProcessor?: { States: Record<string, Task> } }>;
  };
  const tasks = Object.entries(definition.States)
    .flatMap(([name, state]) => [
      [name, state] as [string, Task],
      ...Object.entries(state.ItemProcessor?.States ?? {}),
    ])
    .filter(([, state]) => state.Type === 'Task');
  const statementsOf = (role: string): Statement[] =>
    (
      (template.Resources[role]?.Properties?.Policies ?? []) as {
        PolicyDocument: { Statement: Statement[] };
      }[]
    ).flatMap((p) => p.PolicyDocument.Statement);
  const CLEANUP_FUNCTIONS = ['PlanCleanup', 'RetireAmi', 'DeleteOrphanedSnapshot', 'ReportCleanup'];

  it('is the machine of statemachines/cleanup-amis.asl.yml, logged and traced, with its own role and a timeout on it and every Task', () => {
    expect(machine?.Properties).toMatchObject({
      StateMachineName: 'pulsar-ami-test-cleanup-amis',
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: true },
      TracingConfiguration: { Enabled: true },
      RoleArn: { 'Fn::GetAtt': ['CleanupAmisRole', 'Arn'] },
    });
    expect(definition.TimeoutSeconds).toBeGreaterThan(0);
    expect(tasks.map(([name]) => name)).toEqual([
      'Plan Cleanup',
      'Retire AMI',
      'Delete Orphaned Snapshot',
      'Report Cleanup',
    ]);
    for (const [name, task] of tasks) {
      const fn = /pulsar-ami-test-(\w+)$/.exec(task.Parameters?.FunctionName ?? '')?.[1] ?? '';
      const lambda = template.Resources[`${fn.charAt(0).toUpperCase()}${fn.slice(1)}LambdaFunction`];
      // The Task waits longer than the function may run, and the machine longer than any Task.
      expect([name, (task.TimeoutSeconds ?? 0) > Number(lambda?.Properties?.Timeout)]).toEqual([name, true]);
      expect(task.TimeoutSeconds).toBeLessThan(definition.TimeoutSeconds ?? 0);
    }
  });

  it('runs on the schedule (custom.cleanup.schedule, rate(1 day) by default) with {"source":"schedule"}', () => {
    const rules = resourcesOfType(template, 'AWS::Events::Rule').filter(([, r]) =>
      JSON.stringify(r.Properties?.Targets).includes('CleanupAmisStateMachine'),
    );
    expect(rules).toHaveLength(1);
    const rule = rules[0]?.[1].Properties ?? {};
    expect(rule.ScheduleExpression).toBe('rate(1 day)');
    expect(rule.State).toBe('ENABLED');
    const [target] = rule.Targets as {
      Arn: unknown;
      Input: string;
      RoleArn: { 'Fn::GetAtt': [string, string] };
    }[];
    expect(target?.Arn).toEqual({ Ref: 'CleanupAmisStateMachine' });
    expect(JSON.parse(target?.Input ?? '{}')).toEqual({ source: 'schedule' });
    const scheduleRole = template.Resources[target?.RoleArn['Fn::GetAtt'][0] ?? ''];
    const statements = (
      (scheduleRole?.Properties?.Policies ?? []) as { PolicyDocument: { Statement: Statement[] } }[]
    ).flatMap((p) => p.PolicyDocument.Statement);
    expect(statements).toEqual([
      { Effect: 'Allow', Action: ['states:StartExecution'], Resource: { Ref: 'CleanupAmisStateMachine' } },
    ]);
  });

  it('lets the machine invoke exactly its four Lambdas, and nothing else but logs and traces', () => {
    const statements = statementsOf('CleanupAmisRole');
    expect(statements.map((s) => s.Sid)).toEqual(['InvokeCleanupLambdas', 'DeliverExecutionLogs', 'Tracing']);
    const invoked = new Set(
      ((statements[0]?.Resource ?? []) as { 'Fn::Sub': string }[]).map(
        (r) => /function:pulsar-ami-test-(\w+)(?::\*)?$/.exec(r['Fn::Sub'])?.[1],
      ),
    );
    expect([...invoked].sort()).toEqual([
      'deleteOrphanedSnapshot',
      'planCleanup',
      'reportCleanup',
      'retireAmi',
    ]);
  });

  it('lets the cleanup Lambdas change only images and snapshots tagged ManagedBy=pulsar-ami, never a Protected one, never a parameter', () => {
    for (const role of ['PlanCleanupRole', 'RetireAmiRole', 'DeleteOrphanedSnapshotRole']) {
      for (const s of statementsOf(role)) {
        if (s.Effect !== 'Allow') continue;
        const changing = actionsOf(s).filter(
          (a) =>
            !/^(ec2:Describe\w+|ssm:(GetParameter|GetParameters|GetParametersByPath|DescribeParameters)|autoscaling:Describe\w+|imagebuilder:(List|Get)\w+|states:ListExecutions)$/.test(
              a,
            ),
        );
        if (changing.length === 0) continue;
        expect([role, s.Sid, JSON.stringify(s.Resource)]).toEqual([
          role,
          s.Sid,
          expect.stringMatching(/::(image|snapshot)\/\*"\}\]$/),
        ]);
        const ours = s.Condition?.StringEquals?.['aws:ResourceTag/ManagedBy'] === 'pulsar-ami';
        // Or adopting a legacy image: only ManagedBy=pulsar-ami, only where no ManagedBy tag is.
        const adoption =
          s.Condition?.StringEquals?.['aws:RequestTag/ManagedBy'] === 'pulsar-ami' &&
          s.Condition?.Null?.['aws:ResourceTag/ManagedBy'] === 'true';
        expect([role, s.Sid, ours || adoption]).toEqual([role, s.Sid, true]);
      }
      expect(
        statementsOf(role)
          .flatMap(actionsOf)
          .filter((a) => /^ssm:(Put|Delete)/.test(a)),
      ).toEqual([]);
    }
    expect(
      statementsOf('PlanCleanupRole')
        .flatMap(actionsOf)
        .every((a) => /:(Describe|Get|List)\w+$/.test(a)),
    ).toBe(true);
    // Every stage's published AMIs are read (stages in one account and region share the images).
    const reads = statementsOf('PlanCleanupRole').find((s) => s.Sid === 'ReadPublishedAmis');
    expect(JSON.stringify(reads?.Resource)).toContain(':parameter/pulsar-ami/*"');
    expect(JSON.stringify(reads?.Resource)).toContain(':parameter/pulsar-ami"');
    // One at a time: Plan Cleanup lists the RUNNING executions of its own machine, and only those.
    const listing = statementsOf('PlanCleanupRole').filter((s) =>
      actionsOf(s).some((a) => a.startsWith('states:')),
    );
    expect(listing.map((s) => [actionsOf(s), s.Resource])).toEqual([
      [['states:ListExecutions'], [{ Ref: 'CleanupAmisStateMachine' }]],
    ]);
    const deny = statementsOf('RetireAmiRole').find((s) => s.Effect === 'Deny');
    expect(deny?.Action).toEqual(['ec2:EnableImageDeprecation', 'ec2:DisableImage', 'ec2:DeregisterImage']);
    expect(deny?.Condition).toEqual({ StringEqualsIgnoreCase: { 'aws:ResourceTag/Protected': 'true' } });
    const orphans = statementsOf('DeleteOrphanedSnapshotRole').find((s) =>
      actionsOf(s).includes('ec2:DeleteSnapshot'),
    );
    expect(orphans?.Condition).toEqual({
      StringEquals: { 'aws:ResourceTag/ManagedBy': 'pulsar-ami' },
      Null: { 'aws:ResourceTag/OrphanedFrom': 'false' },
    });
    expect(statementsOf('DeleteAmiRole').find((s) => s.Sid === 'FindLaunchConfigurations')?.Action).toEqual([
      'autoscaling:DescribeLaunchConfigurations',
    ]);
  });

  it('gives the cleanup Lambdas the cleanup settings, from custom.cleanup', () => {
    for (const fn of CLEANUP_FUNCTIONS) {
      const environment = template.Resources[`${fn}LambdaFunction`]?.Properties?.Environment as
        | { Variables: Record<string, unknown> }
        | undefined;
      const variables = environment?.Variables;
      expect([fn, variables]).toEqual([
        fn,
        expect.objectContaining({
          CLEANUP_KEEP: '3',
          CLEANUP_MIN_AGE_DAYS: '1',
          CLEANUP_LAST_LAUNCHED_WITHIN_DAYS: '30',
          CLEANUP_DEPRECATE_AFTER_DAYS: '',
          CLEANUP_DISABLE_AFTER_DAYS: '',
          CLEANUP_DELETE_AFTER_DAYS: '',
          CLEANUP_PRICE_PER_GB_MONTH: '0.05',
        }),
      ]);
    }
  });
});
