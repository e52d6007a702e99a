/**
 * SSM documents: AWS-RunShellScript (SSM's own), and the Command documents of the deployed
 * template (`AWS::SSM::Document` resources of serverless.yml, in the stack's region), with
 * SSM's parameter rules: only declared parameters, each a list of one string, required unless
 * the document gives a default, and matching its `allowedPattern`; `{{ name }}` in the
 * document's runShellScript commands replaced by the value.
 */
import { InvalidDocument, InvalidParameters } from '../../errors/ssm';
import type { World } from '../../world';

export interface CommandDocument {
  name: string;
  /** What runs: the document's aws:runShellScript commands, parameters substituted. */
  commands: string[];
  /** The step's timeoutSeconds (SSM's default 3600). */
  executionTimeoutSeconds: number;
}

interface DocumentParameter {
  type?: string;
  default?: unknown;
  allowedPattern?: string;
  allowedValues?: string[];
}

interface DocumentContent {
  schemaVersion?: string;
  parameters?: Record<string, DocumentParameter>;
  mainSteps?: {
    action?: string;
    name?: string;
    inputs?: { runCommand?: string[]; timeoutSeconds?: number };
  }[];
}

const DEFAULT_TIMEOUT_SECONDS = 3600;

/** The deployed Command document of this name (or ARN) in this region, if any. */
export function findDocument(
  world: World,
  regionName: string,
  nameOrArn: string,
): { name: string; content: DocumentContent } | undefined {
  const name = nameOrArn.replace(/^arn:aws[\w-]*:ssm:[a-z0-9-]*:\d*:document\//, '');
  const app = world.deployment();
  if (!app || app.region !== regionName) return undefined;
  const document = app.ssmDocuments.find((d) => d.name === name && d.documentType === 'Command');
  return document ? { name, content: document.content as DocumentContent } : undefined;
}

/** SendCommand with a deployed document: its parameters checked as SSM checks them, its commands. */
export function commandDocument(
  world: World,
  regionName: string,
  documentName: string,
  given: Record<string, string[]>,
): CommandDocument {
  const document = findDocument(world, regionName, documentName);
  if (!document) throw new InvalidDocument(documentName, 'AWS-RunShellScript and the template’s documents');
  const declared = document.content.parameters ?? {};
  for (const key of Object.keys(given)) {
    if (!(key in declared)) {
      throw new InvalidParameters(`Parameter "${key}" is not defined in document ${document.name}.`);
    }
  }
  const values: Record<string, string> = {};
  for (const [key, spec] of Object.entries(declared)) {
    const value = given[key];
    if (value === undefined) {
      if (spec.default === undefined) {
        throw new InvalidParameters(`Parameter "${key}" is required by document ${document.name}.`);
      }
      values[key] = String(spec.default);
      continue;
    }
    if (value.length !== 1 || typeof value[0] !== 'string') {
      throw new InvalidParameters(`Parameter "${key}" of type String takes exactly one value.`);
    }
    const text = value[0];
    if (spec.allowedPattern !== undefined && !new RegExp(spec.allowedPattern).test(text)) {
      throw new InvalidParameters(
        `Parameter "${key}" "${text}" failed to satisfy constraint: allowedPattern ${spec.allowedPattern}`,
      );
    }
    if (spec.allowedValues !== undefined && !spec.allowedValues.includes(text)) {
      throw new InvalidParameters(`Parameter "${key}" "${text}" is not one of the allowed values.`);
    }
    values[key] = text;
  }
  const step = (document.content.mainSteps ?? []).find((s) => s.action === 'aws:runShellScript');
  if (!step?.inputs?.runCommand) {
    throw new InvalidDocument(documentName, 'documents with an aws:runShellScript step');
  }
  const substitute = (line: string) =>
    line.replace(/\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g, (whole, key: string) => values[key] ?? whole);
  return {
    name: document.name,
    commands: step.inputs.runCommand.map(substitute),
    executionTimeoutSeconds: step.inputs.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS,
  };
}
