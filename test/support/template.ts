/** Reading the CloudFormation template that `serverless package` produced for this test run, and what it printed. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { parse } from 'yaml';

export interface Resource {
  Type: string;
  Properties?: Record<string, unknown>;
}

export interface Template {
  Resources: Record<string, Resource>;
  Outputs?: Record<string, unknown>;
}

export interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

export function loadTemplate(): Template {
  const file = join(inject('packageDir'), 'cloudformation-template-update-stack.json');
  return JSON.parse(readFileSync(file, 'utf8')) as Template;
}

/** What the framework printed (stdout, then stderr) while packaging for this test run. */
export function packageOutput(): string {
  return inject('packageOutput');
}

export function resourcesOfType(template: Template, type: string): [string, Resource][] {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

/** Every IAM statement of every role and inline policy in the template. */
export function iamStatements(template: Template): Statement[] {
  const statements: Statement[] = [];
  for (const [, role] of resourcesOfType(template, 'AWS::IAM::Role')) {
    const policies = (role.Properties?.Policies ?? []) as { PolicyDocument: { Statement: Statement[] } }[];
    for (const policy of policies) statements.push(...policy.PolicyDocument.Statement);
  }
  for (const [, policy] of resourcesOfType(template, 'AWS::IAM::Policy')) {
    const doc = policy.Properties?.PolicyDocument as { Statement: Statement[] };
    statements.push(...doc.Statement);
  }
  return statements;
}

export const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);

interface ServerlessYml {
  functions: Record<
    string,
    { handler: string; events?: { http?: unknown; eventBridge?: unknown; schedule?: unknown }[] }
  >;
}

/** serverless.yml as written (variables unresolved), to compare the template against. */
export function serverlessYml(): ServerlessYml {
  const file = join(import.meta.dirname, '../../serverless.yml');
  return parse(readFileSync(file, 'utf8')) as ServerlessYml;
}
