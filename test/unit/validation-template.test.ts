// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub strings, compared as written
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEFAULT_ALLOWED_INSTANCE_TYPES } from '../../functions/lib/config';
import { actionsOf, iamStatements, loadTemplate, resourcesOfType, type Statement } from '../support/template';

const template = loadTemplate();
const machineFile = join(import.meta.dirname, '../../statemachines/validate-ami.asl.yml');
const checkScript = join(import.meta.dirname, '../../packer/checks/run-checks.sh');
const custom = () =>
  (
    parse(readFileSync(join(import.meta.dirname, '../../serverless.yml'), 'utf8')) as {
      custom: { validation: { allowedInstanceTypes: string[] } };
    }
  ).custom;
const validateAmiStatements = () => {
  const policies = template.Resources.ValidateAmiRole?.Properties?.Policies as {
    PolicyDocument: { Statement: Statement[] };
  }[];
  return policies.flatMap((p) => p.PolicyDocument.Statement);
};
const launchStatements = () =>
  validateAmiStatements().filter((st) => actionsOf(st).includes('ec2:RunInstances'));
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

  it('allows SendCommand only with the stack’s checks document and for instances tagged as its test instances', () => {
    const send = withAction('ssm:SendCommand');
    expect(send.length).toBeGreaterThanOrEqual(2);
    for (const statement of send) {
      expect(actionsOf(statement)).toEqual(['ssm:SendCommand']);
      const resource = JSON.stringify(statement.Resource);
      expect(resource).not.toMatch(/"\*"/);
      expect(resource).not.toContain('AWS-RunShellScript');
      if (resource.includes('document/')) {
        expect(statement.Resource).toEqual([
          {
            'Fn::Sub':
              'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:document/pulsar-ami-test-validation-checks',
          },
        ]);
      } else {
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

  it('gives the test instance a role with only what the SSM agent needs for Run Command (no parameters)', () => {
    const role = template.Resources.ValidationInstanceRole?.Properties;
    expect(JSON.stringify(role?.AssumeRolePolicyDocument)).toContain('ec2.amazonaws.com');
    expect(role?.ManagedPolicyArns).toBeUndefined();
    const policies = role?.Policies as { PolicyDocument: { Statement: Statement[] } }[];
    const instanceStatements = policies.flatMap((p) => p.PolicyDocument.Statement);
    const actions = instanceStatements.flatMap(actionsOf).sort();
    expect(actions).toEqual(
      [
        'ssm:UpdateInstanceInformation',
        'ec2messages:AcknowledgeMessage',
        'ec2messages:DeleteMessage',
        'ec2messages:FailMessage',
        'ec2messages:GetEndpoint',
        'ec2messages:GetMessages',
        'ec2messages:SendReply',
        'ssmmessages:CreateControlChannel',
        'ssmmessages:CreateDataChannel',
        'ssmmessages:OpenControlChannel',
        'ssmmessages:OpenDataChannel',
      ].sort(),
    );
    for (const statement of instanceStatements) expect(statement.Effect).toBe('Allow');
    expect(actions.filter((a) => /^ssm:Get|^s3:|^kms:|\*/.test(a))).toEqual([]);
    const register = instanceStatements.find((st) => actionsOf(st).includes('ssm:UpdateInstanceInformation'));
    expect(JSON.stringify(register?.Resource)).toContain(':instance/*');
  });

  it('launches only from this account’s images tagged ManagedBy=pulsar-ami', () => {
    const images = launchStatements().filter((st) => JSON.stringify(st.Resource).includes('::image/'));
    expect(images).toHaveLength(1);
    expect(images[0]?.Condition).toEqual({
      StringEquals: { 'ec2:Owner': { Ref: 'AWS::AccountId' }, 'ec2:ResourceTag/ManagedBy': 'pulsar-ami' },
    });
  });

  it('launches only an allowed type, with the stack’s instance profile and IMDSv2 required, tagged as a test instance', () => {
    const instances = launchStatements().filter((st) => JSON.stringify(st.Resource).includes(':instance/'));
    expect(instances).toHaveLength(1);
    const condition = instances[0]?.Condition ?? {};
    expect(condition.StringEquals?.['ec2:InstanceType']).toEqual([...DEFAULT_ALLOWED_INSTANCE_TYPES]);
    expect(condition.StringEquals?.['ec2:InstanceType']).toEqual(custom().validation.allowedInstanceTypes);
    expect(condition.StringEquals?.['ec2:MetadataHttpTokens']).toBe('required');
    expect(condition.StringEquals?.['aws:RequestTag/ManagedBy']).toBe('pulsar-ami');
    expect(condition.StringEquals?.['aws:RequestTag/Purpose']).toBe('AMI-Validation');
    expect(condition.ArnEquals?.['ec2:InstanceProfile']).toEqual({
      'Fn::GetAtt': ['ValidationInstanceProfile', 'Arn'],
    });
    // The API's allowlist is the same list.
    expect(template.Resources.StartValidationLambdaFunction?.Properties?.Environment).toMatchObject({
      Variables: { ALLOWED_INSTANCE_TYPES: { 'Fn::Join': [',', [...DEFAULT_ALLOWED_INSTANCE_TYPES]] } },
    });
  });

  it('launches only with the stack’s security group, into the configured subnet or the security group’s (default) VPC', () => {
    const groups = launchStatements().filter((st) =>
      JSON.stringify(st.Resource).includes(':security-group/'),
    );
    expect(groups.map((st) => st.Resource)).toEqual([
      [
        {
          'Fn::Sub':
            'arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:security-group/${ValidationSecurityGroup.GroupId}',
        },
      ],
    ]);
    const network = launchStatements().filter((st) => JSON.stringify(st.Resource).includes(':subnet/'));
    expect(network).toHaveLength(1);
    const [subnet, nic] = (network[0]?.Resource ?? []) as unknown[];
    expect(subnet).toEqual({
      'Fn::If': [
        'HasValidationSubnet',
        // No subnet configured in this package: the true branch names the empty configured subnet.
        { 'Fn::Sub': 'arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:subnet/' },
        { 'Fn::Sub': 'arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:subnet/*' },
      ],
    });
    expect(nic).toEqual({
      'Fn::Sub': 'arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:network-interface/*',
    });
    expect(network[0]?.Condition).toEqual({
      ArnEquals: {
        'ec2:Vpc': {
          'Fn::Sub':
            'arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:vpc/${ValidationSecurityGroup.VpcId}',
        },
      },
    });
    // Every resource RunInstances may touch is one of these, each scoped above: nothing on `*`.
    const kinds = launchStatements().flatMap((st) =>
      [
        JSON.stringify(st.Resource).match(
          /:(image|instance|volume|security-group|subnet|network-interface|[\w-]+)\/[^"]*"/g,
        ),
      ]
        .flat()
        .map((m) => m?.split('/')[0]?.replace(/^:/, '')),
    );
    expect(new Set(kinds)).toEqual(
      new Set(['image', 'instance', 'volume', 'security-group', 'subnet', 'network-interface']),
    );
    for (const st of launchStatements()) expect(JSON.stringify(st.Resource)).not.toBe('"*"');
  });

  it('gives test instances a security group with no inbound rule and HTTPS out only', () => {
    const group = template.Resources.ValidationSecurityGroup?.Properties ?? {};
    expect(group.SecurityGroupIngress).toBeUndefined();
    expect(group.SecurityGroupEgress).toEqual([
      expect.objectContaining({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIp: '0.0.0.0/0' }),
    ]);
    expect(group.VpcId).toEqual({ 'Fn::If': ['HasValidationVpc', '', { Ref: 'AWS::NoValue' }] });
  });

  it('ships packer/checks/run-checks.sh, byte for byte, as a Command document whose only parameter is the version', () => {
    const documents = resourcesOfType(template, 'AWS::SSM::Document');
    expect(documents.map(([id]) => id)).toEqual(['ValidationChecksDocument']);
    const props = documents[0]?.[1].Properties ?? {};
    expect(props).toMatchObject({
      Name: 'pulsar-ami-test-validation-checks',
      DocumentType: 'Command',
      UpdateMethod: 'NewVersion',
    });
    const content = props.Content as {
      schemaVersion: string;
      parameters: Record<string, { type: string; allowedPattern: string }>;
      mainSteps: { action: string; inputs: { runCommand: string[] } }[];
    };
    expect(content.schemaVersion).toBe('2.2');
    expect(Object.keys(content.parameters)).toEqual(['version']);
    expect(content.parameters.version).toMatchObject({
      type: 'String',
      allowedPattern: '^\\d+\\.\\d+\\.\\d+$',
    });
    expect(content.mainSteps.map((step) => step.action)).toEqual(['aws:runShellScript']);
    const lines = content.mainSteps[0]?.inputs.runCommand ?? [];
    const embedded = lines.map(
      (line) => /^echo '([A-Za-z0-9+/=]+)' \| base64 -d > "\$checks_file"/.exec(line)?.[1],
    );
    const base64 = embedded.filter((b): b is string => b !== undefined);
    expect(base64).toHaveLength(1);
    expect(Buffer.from(base64[0] ?? '', 'base64').toString('utf8')).toBe(readFileSync(checkScript, 'utf8'));
    // The version is the only thing SSM substitutes, and it reaches the script as its input.
    expect(lines.join('\n').match(/\{\{[^}]*\}\}/g)).toEqual(['{{ version }}']);
    expect(lines).toContain(`PULSAR_EXPECTED_VERSION='{{ version }}' bash "$checks_file" </dev/null`);
    // The machine sends exactly this document.
    expect(JSON.stringify(validate?.Properties?.DefinitionString)).toContain(
      '\\"DocumentName\\": \\"pulsar-ami-test-validation-checks\\"',
    );
  });

  it('bakes the security group into the machine’s definition; the input carries no commands or user data', () => {
    const definition = validate?.Properties?.DefinitionString as {
      'Fn::Sub': [string, Record<string, unknown>];
    };
    const [text, variables] = definition['Fn::Sub'];
    expect(Object.values(variables)).toContainEqual({ 'Fn::GetAtt': ['ValidationSecurityGroup', 'GroupId'] });
    const asl = JSON.parse(text.replace(/\$\{[0-9a-f]{32}\}/g, 'sg-placeholder')) as {
      States: Record<string, { Parameters?: Record<string, unknown>; Result?: Record<string, unknown> }>;
    };
    const read = asl.States['Read Validation Request']?.Parameters ?? {};
    // Read from the input: the image, the type and the polling; the client token is drawn here.
    expect(Object.keys(read).sort()).toEqual(['clientToken.$', 'imageId.$', 'instanceType.$', 'polling']);
    expect(read['clientToken.$']).toBe('States.UUID()');
    const launch = asl.States['Prepare Launch Request']?.Parameters ?? {};
    expect(launch.SecurityGroupIds).toEqual(['sg-placeholder']);
    expect(launch.IamInstanceProfile).toEqual({ Name: 'pulsar-ami-test-validation' });
    expect(launch.MetadataOptions).toEqual({ HttpTokens: 'required', HttpEndpoint: 'enabled' });
    expect(launch.InstanceInitiatedShutdownBehavior).toBe('terminate');
    expect(asl.States['Load Validation Settings']?.Result?.subnetId).toBe('');
    // No state reads anything executable from the input.
    expect(text).not.toMatch(
      /"\$\.(checks|userData|commands|instanceProfileName|subnetId|evaluateFunction|republishFunction)/,
    );
  });

  it('is the project’s machine file, every state of it', () => {
    const definition = validate?.Properties?.DefinitionString;
    const states = Object.keys((parse(readFileSync(machineFile, 'utf8')) as { States: object }).States);
    for (const state of states) expect(JSON.stringify(definition)).toContain(state);
  });
});
