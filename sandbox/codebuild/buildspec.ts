/**
 * The buildspec (version 0.2) as the sandbox runs it: `env` (`shell`, `variables`,
 * `parameter-store`, `exported-variables`) and `phases` (install, pre_build, build, post_build,
 * each with `on-failure`, `commands` and `finally`). Other sections (artifacts, reports, cache,
 * run-as, proxy, batch, runtime-versions) are accepted and not acted on. A buildspec that does
 * not fit fails the build in DOWNLOAD_SOURCE with YAML_FILE_ERROR, as CodeBuild's does.
 */
import { parse } from 'yaml';
import { z } from 'zod';
import type { CommandPhase } from './models/records';

export interface BuildspecPhase {
  onFailure: 'ABORT' | 'CONTINUE';
  commands: string[];
  finally: string[];
}

export interface Buildspec {
  shell: 'bash' | 'sh';
  variables: Record<string, string>;
  /** Variable name → SSM parameter name. */
  parameterStore: Record<string, string>;
  exportedVariables: string[];
  phases: Partial<Record<CommandPhase, BuildspecPhase>>;
}

export const MAX_BUILDSPEC_BYTES = 1024 * 1024;
const MAX_COMMANDS = 1000;
const MAX_COMMAND_CHARS = 256 * 1024;

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,254}$/;

/** Scalars as CodeBuild reads them: strings, and numbers or booleans written as such. */
const scalar = z.union([z.string(), z.number(), z.boolean()]).transform(String);

const command = scalar.refine(
  (text) => text.length <= MAX_COMMAND_CHARS && !text.includes('\0'),
  'a command must be a string without NUL, at most 256 KiB',
);

const phaseSchema = z
  .object({
    'on-failure': z.enum(['ABORT', 'CONTINUE']).optional(),
    'run-as': z.string().optional(),
    'runtime-versions': z.record(z.string(), z.unknown()).optional(),
    commands: z.array(command).max(MAX_COMMANDS).optional(),
    finally: z.array(command).max(MAX_COMMANDS).optional(),
  })
  .strict();

const variableMap = z
  .record(
    z.string().regex(VARIABLE_NAME, 'a variable name must be a shell name'),
    z.union([scalar, z.null().transform(() => '')]),
  )
  .optional();

const buildspecSchema = z
  .object({
    version: z.union([z.literal(0.2), z.literal('0.2')]),
    'run-as': z.string().optional(),
    env: z
      .object({
        shell: z.enum(['bash', 'sh', '/bin/sh', '/bin/bash']).optional(),
        variables: variableMap,
        'parameter-store': z
          .record(z.string().regex(VARIABLE_NAME, 'a variable name must be a shell name'), z.string())
          .optional(),
        'exported-variables': z
          .array(z.string().regex(VARIABLE_NAME, 'an exported variable must be a shell name'))
          .max(100)
          .optional(),
        'secrets-manager': z.record(z.string(), z.string()).optional(),
        'git-credential-helper': z.unknown().optional(),
      })
      .strict()
      .optional(),
    proxy: z.unknown().optional(),
    batch: z.unknown().optional(),
    phases: z
      .object({
        install: phaseSchema.nullish(),
        pre_build: phaseSchema.nullish(),
        build: phaseSchema.nullish(),
        post_build: phaseSchema.nullish(),
      })
      .strict(),
    reports: z.unknown().optional(),
    artifacts: z.unknown().optional(),
    'secondary-artifacts': z.unknown().optional(),
    cache: z.unknown().optional(),
  })
  .strict();

export class BuildspecError extends Error {
  override name = 'BuildspecError';
}

const PHASE_KEYS: [keyof z.infer<typeof buildspecSchema>['phases'], CommandPhase][] = [
  ['install', 'INSTALL'],
  ['pre_build', 'PRE_BUILD'],
  ['build', 'BUILD'],
  ['post_build', 'POST_BUILD'],
];

/** Parses a buildspec's text; throws BuildspecError with CodeBuild-like wording. */
export function parseBuildspec(text: string): Buildspec {
  if (Buffer.byteLength(text) > MAX_BUILDSPEC_BYTES) {
    throw new BuildspecError('YAML file is larger than 1 MiB');
  }
  let doc: unknown;
  try {
    doc = parse(text, { logLevel: 'silent', maxAliasCount: 100 });
  } catch (error) {
    throw new BuildspecError(`Invalid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new BuildspecError('YAML file is not a mapping');
  }
  const parsed = buildspecSchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || 'buildspec';
    if (issue?.path[0] === 'version')
      throw new BuildspecError('invalid buildspec version: only 0.2 is supported');
    throw new BuildspecError(`Invalid buildspec at ${where}: ${issue?.message ?? 'not valid'}`);
  }
  const spec = parsed.data;
  if (spec.env?.['secrets-manager'] !== undefined) {
    throw new BuildspecError('env.secrets-manager is not served by the sandbox');
  }
  const phases: Buildspec['phases'] = {};
  for (const [key, type] of PHASE_KEYS) {
    const phase = spec.phases[key];
    if (!phase) continue;
    phases[type] = {
      onFailure: phase['on-failure'] ?? 'ABORT',
      commands: phase.commands ?? [],
      finally: phase.finally ?? [],
    };
  }
  const shell = spec.env?.shell;
  return {
    shell: shell === 'bash' || shell === '/bin/bash' ? 'bash' : 'sh',
    variables: { ...(spec.env?.variables ?? {}) },
    parameterStore: { ...(spec.env?.['parameter-store'] ?? {}) },
    exportedVariables: [...new Set(spec.env?.['exported-variables'] ?? [])],
    phases,
  };
}
