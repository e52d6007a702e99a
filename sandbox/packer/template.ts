/**
 * A Packer HCL2 template as the stand-in reads it: the blocks of every `*.pkr.hcl` file of a
 * folder (or one file), the order of the provisioners in each build (hcl2json groups blocks by
 * type, so the order comes from the source, read with a small lexer that knows HCL's strings,
 * heredocs and comments), and the input variables resolved as Packer does: default, then
 * PKR_VAR_<name>, then *.auto.pkrvars.hcl and -var-file files, then -var, each converted to the
 * variable's type and checked by its validation blocks.
 */
import {
  evaluate,
  evaluateSource,
  HclError,
  isUnknown,
  type ParsedFile,
  parseFile,
  type Scope,
  UNKNOWN,
  type Value,
} from './hcl';

type Body = Record<string, unknown>;

/** A labelled block: `source "amazon-ebs" "pulsar" { … }`. */
export interface Block {
  type: string;
  name: string;
  body: Body;
  file: string;
}

export interface NestedBlock {
  /** `provisioner`, `post-processor`, `error-cleanup-provisioner` */
  kind: string;
  /** The label: `shell`, `file`, `manifest` */
  type: string;
  body: Body;
}

export interface BuildBlock {
  body: Body;
  file: string;
  /** Provisioners, post-processors and error-cleanup provisioners, in the template's order. */
  blocks: NestedBlock[];
}

export interface VariableBlock {
  name: string;
  body: Body;
  file: string;
}

export interface Template {
  files: ParsedFile[];
  packer: Body[];
  variables: Map<string, VariableBlock>;
  /** Local name → its raw expression and file. */
  locals: Map<string, { raw: unknown; file: string }>;
  data: Map<string, Block>;
  sources: Map<string, Block>;
  builds: BuildBlock[];
}

const TOP_LEVEL = new Set(['packer', 'variable', 'variables', 'locals', 'local', 'data', 'source', 'build']);
const BUILD_NESTED = new Set([
  'provisioner',
  'post-processor',
  'post-processors',
  'error-cleanup-provisioner',
]);

// ---------------------------------------------------------------------------------------------
// Block order in the source

interface Token {
  kind: 'ident' | 'string' | 'punct';
  value: string;
}

/** HCL's tokens as far as block structure needs them: names, quoted labels and punctuation. */
function tokens(source: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const skipString = (start: number): number => {
    let j = start + 1;
    while (j < source.length && source[j] !== '"') {
      if (source[j] === '\\') j += 2;
      else if ((source[j] === '$' || source[j] === '%') && source[j + 1] === '{') j = skipSequence(j + 2);
      else j += 1;
    }
    return j + 1;
  };
  const skipSequence = (start: number): number => {
    let depth = 1;
    let j = start;
    while (j < source.length && depth > 0) {
      const c = source[j];
      if (c === '"') {
        j = skipString(j);
        continue;
      }
      if (c === '{') depth += 1;
      if (c === '}') depth -= 1;
      j += 1;
    }
    return j;
  };
  while (i < source.length) {
    const c = source[i] as string;
    if (/\s/.test(c)) {
      i += 1;
    } else if (c === '#' || (c === '/' && source[i + 1] === '/')) {
      while (i < source.length && source[i] !== '\n') i += 1;
    } else if (c === '/' && source[i + 1] === '*') {
      const end = source.indexOf('*/', i + 2);
      i = end === -1 ? source.length : end + 2;
    } else if (c === '"') {
      const end = skipString(i);
      out.push({ kind: 'string', value: source.slice(i + 1, end - 1) });
      i = end;
    } else if (c === '<' && source[i + 1] === '<') {
      const m = /^<<-?([A-Za-z_][A-Za-z0-9_-]*)[ \t]*\r?\n/.exec(source.slice(i));
      if (!m) {
        out.push({ kind: 'punct', value: '<' });
        i += 1;
        continue;
      }
      const marker = m[1] as string;
      let j = i + m[0].length;
      for (;;) {
        const lineEnd = source.indexOf('\n', j);
        const line = source.slice(j, lineEnd === -1 ? source.length : lineEnd);
        j = lineEnd === -1 ? source.length : lineEnd + 1;
        if (line.trim() === marker || lineEnd === -1) break;
      }
      out.push({ kind: 'string', value: '' });
      i = j;
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < source.length && /[A-Za-z0-9_-]/.test(source[j] as string)) j += 1;
      out.push({ kind: 'ident', value: source.slice(i, j) });
      i = j;
    } else {
      out.push({ kind: 'punct', value: c });
      i += 1;
    }
  }
  return out;
}

/** For each top-level `build` block of a file, the kinds and labels of its nested blocks in order. */
export function buildBlockOrder(source: string): { kind: string; type: string }[][] {
  const toks = tokens(source);
  const builds: { kind: string; type: string }[][] = [];
  let depth = 0;
  let current: { kind: string; type: string }[] | undefined;
  let inPostProcessors = false;
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i] as Token;
    if (t.kind === 'punct' && (t.value === '{' || t.value === '[' || t.value === '(')) {
      depth += 1;
      continue;
    }
    if (t.kind === 'punct' && (t.value === '}' || t.value === ']' || t.value === ')')) {
      depth -= 1;
      if (depth === 0) current = undefined;
      if (depth === 1) inPostProcessors = false;
      continue;
    }
    if (t.kind !== 'ident') continue;
    const next = toks[i + 1];
    if (depth === 0 && t.value === 'build' && next?.kind === 'punct' && next.value === '{') {
      current = [];
      builds.push(current);
      continue;
    }
    if (!current) continue;
    const nestedHere = depth === 1 || (inPostProcessors && depth === 2);
    if (!nestedHere || !BUILD_NESTED.has(t.value)) continue;
    if (t.value === 'post-processors' && next?.kind === 'punct' && next.value === '{') {
      inPostProcessors = true;
      continue;
    }
    if (next?.kind === 'string' && toks[i + 2]?.kind === 'punct' && toks[i + 2]?.value === '{') {
      current.push({ kind: t.value, type: next.value });
    }
  }
  return builds;
}

// ---------------------------------------------------------------------------------------------
// Loading

function blocksOf(value: unknown): Body[] {
  if (Array.isArray(value)) return value as Body[];
  if (value && typeof value === 'object') return [value as Body];
  return [];
}

function labelled(value: unknown, file: string, what: string, into: Map<string, Block>): void {
  for (const [type, byName] of Object.entries((value ?? {}) as Record<string, unknown>)) {
    for (const [name, bodies] of Object.entries((byName ?? {}) as Record<string, unknown>)) {
      for (const body of blocksOf(bodies)) {
        const key = `${type}.${name}`;
        if (into.has(key))
          throw new HclError(`Duplicate ${what} block`, `A ${what} "${type}" "${name}" is already defined.`);
        into.set(key, { type, name, body, file });
      }
    }
  }
}

function nestedOf(build: Body, order: { kind: string; type: string }[], file: string): NestedBlock[] {
  const pools = new Map<string, Body[]>();
  const add = (kind: string, grouped: unknown) => {
    for (const [type, bodies] of Object.entries((grouped ?? {}) as Record<string, unknown>)) {
      pools.set(`${kind} ${type}`, [...(pools.get(`${kind} ${type}`) ?? []), ...blocksOf(bodies)]);
    }
  };
  add('provisioner', build.provisioner);
  add('error-cleanup-provisioner', build['error-cleanup-provisioner']);
  add('post-processor', build['post-processor']);
  for (const chain of blocksOf(build['post-processors'])) add('post-processors', chain['post-processor']);
  const total = [...pools.values()].reduce((n, list) => n + list.length, 0);
  const blocks: NestedBlock[] = [];
  for (const { kind, type } of order) {
    const key = `${kind === 'post-processor' && !pools.has(`post-processor ${type}`) ? 'post-processors' : kind} ${type}`;
    const body = pools.get(key)?.shift();
    if (!body) break;
    blocks.push({ kind: kind === 'post-processors' ? 'post-processor' : kind, type, body });
  }
  if (blocks.length !== total) {
    throw new HclError(
      'Cannot read the build block',
      `${file}: the order of its provisioners and post-processors could not be determined from the source.`,
    );
  }
  return blocks;
}

/** Reads the template from its files (name and source each). */
export async function loadTemplate(sources: { name: string; source: string }[]): Promise<Template> {
  const template: Template = {
    files: [],
    packer: [],
    variables: new Map(),
    locals: new Map(),
    data: new Map(),
    sources: new Map(),
    builds: [],
  };
  for (const { name, source } of sources) {
    const file = await parseFile(name, source);
    template.files.push(file);
    for (const key of Object.keys(file.body)) {
      if (!TOP_LEVEL.has(key)) {
        throw new HclError(
          'Unsupported block type',
          `${name}: Blocks of type "${key}" are not expected here.`,
        );
      }
    }
    if (file.body.variables !== undefined) {
      throw new HclError(
        'Unsupported block type',
        `${name}: use variable "name" blocks, not a variables block.`,
      );
    }
    template.packer.push(...blocksOf(file.body.packer));
    for (const [varName, bodies] of Object.entries((file.body.variable ?? {}) as Record<string, unknown>)) {
      for (const body of blocksOf(bodies)) {
        if (template.variables.has(varName)) {
          throw new HclError('Duplicate variable', `A variable named "${varName}" was already declared.`);
        }
        template.variables.set(varName, { name: varName, body, file: name });
      }
    }
    for (const locals of blocksOf(file.body.locals)) {
      for (const [localName, raw] of Object.entries(locals)) {
        if (template.locals.has(localName)) {
          throw new HclError('Duplicate local', `A local named "${localName}" was already defined.`);
        }
        template.locals.set(localName, { raw, file: name });
      }
    }
    for (const [localName, bodies] of Object.entries((file.body.local ?? {}) as Record<string, unknown>)) {
      for (const body of blocksOf(bodies)) {
        if (template.locals.has(localName)) {
          throw new HclError('Duplicate local', `A local named "${localName}" was already defined.`);
        }
        template.locals.set(localName, { raw: body.expression, file: name });
      }
    }
    labelled(file.body.data, name, 'data', template.data);
    labelled(file.body.source, name, 'source', template.sources);
    const order = buildBlockOrder(source);
    const builds = blocksOf(file.body.build);
    if (order.length !== builds.length) {
      throw new HclError(
        'Cannot read the build blocks',
        `${name}: found ${order.length} in the source, ${builds.length} parsed.`,
      );
    }
    builds.forEach((body, i) => {
      for (const key of Object.keys(body)) {
        if (!['name', 'description', 'sources', 'source', ...BUILD_NESTED].includes(key)) {
          throw new HclError('Unsupported block type', `${name}: "${key}" is not expected in a build block.`);
        }
      }
      template.builds.push({ body, file: name, blocks: nestedOf(body, order[i] ?? [], name) });
    });
  }
  return template;
}

// ---------------------------------------------------------------------------------------------
// Variables

export type VarType =
  | { kind: 'string' | 'number' | 'bool' | 'any' }
  | { kind: 'list' | 'set' | 'map'; of: VarType };

export function parseType(raw: unknown): VarType {
  if (raw === undefined) return { kind: 'any' };
  const text = typeof raw === 'string' ? raw.replace(/^\$\{([\s\S]*)\}$/, '$1').trim() : '';
  const read = (s: string): VarType => {
    const t = s.trim();
    if (t === 'string' || t === 'number' || t === 'bool' || t === 'any') return { kind: t };
    const m = /^(list|set|map)\(([\s\S]*)\)$/.exec(t);
    if (m) return { kind: m[1] as 'list' | 'set' | 'map', of: read(m[2] as string) };
    throw new HclError(
      'Unsupported type',
      `The sandbox's Packer supports string, number, bool, any, list(…), set(…) and map(…) variable types, not ${s}.`,
    );
  };
  return read(text);
}

function typeText(type: VarType): string {
  return 'of' in type ? `${type.kind}(${typeText(type.of)})` : type.kind;
}

/** A value converted to a variable's type, as HCL converts (numbers and bools to strings and back). */
export function convert(value: Value, type: VarType, what: string): Value {
  if (value === null || isUnknown(value) || type.kind === 'any') return value;
  const fail = () =>
    new HclError(
      'Invalid value for variable',
      `The value of ${what} must be ${typeText(type)}, got ${JSON.stringify(value)}.`,
    );
  switch (type.kind) {
    case 'string':
      if (typeof value === 'string') return value;
      if (typeof value === 'number' || typeof value === 'boolean') return String(value);
      throw fail();
    case 'number':
      if (typeof value === 'number') return value;
      if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
        return Number(value);
      throw fail();
    case 'bool':
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === 'false') return value === 'true';
      throw fail();
    case 'list':
    case 'set':
      if (!Array.isArray(value)) throw fail();
      return value.map((item) => convert(item, type.of, what));
    case 'map':
      if (typeof value !== 'object' || Array.isArray(value)) throw fail();
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, convert(v, type.of, what)]));
  }
}

const VARIABLE_ARGUMENTS = new Set(['type', 'default', 'description', 'validation', 'sensitive', 'nullable']);

/** A scope that knows nothing but functions (var files, -var values, defaults). */
export function literalScope(now: Date, env?: (name: string) => string): Scope {
  const none = (what: string) => {
    throw new HclError('Variables not allowed', `${what} cannot be used here.`);
  };
  return {
    variable: (name) => none(`var.${name}`),
    local: async (name) => none(`local.${name}`),
    data: async (type, name) => none(`data.${type}.${name}`),
    root: () => undefined,
    ...(env ? { env } : {}),
    now,
  };
}

export interface VariableInputs {
  /** The environment Packer runs with (PKR_VAR_* read from it). */
  env: Record<string, string>;
  /** Var files' contents in order (*.auto.pkrvars.hcl first, then -var-file). */
  varFiles: { name: string; source: string }[];
  /** -var name=value, in order. */
  vars: [string, string][];
  now: Date;
}

/** A value given as text (PKR_VAR_x, -var x=…): a string as it is, anything else parsed as HCL. */
async function fromText(text: string, type: VarType, what: string, now: Date): Promise<Value> {
  if (type.kind === 'string' || type.kind === 'any') return text;
  if (type.kind === 'number' || type.kind === 'bool') return convert(text, type, what);
  return convert(await evaluateSource(text, literalScope(now)), type, what);
}

/** Resolves every variable (without validating): the value and whether it is set at all. */
export async function resolveVariables(
  template: Template,
  inputs: VariableInputs,
): Promise<Map<string, Value | undefined>> {
  const values = new Map<string, Value | undefined>();
  const types = new Map<string, VarType>();
  for (const [name, variable] of template.variables) {
    for (const key of Object.keys(variable.body)) {
      if (!VARIABLE_ARGUMENTS.has(key)) {
        throw new HclError(
          'Unsupported argument',
          `${variable.file}: An argument named "${key}" is not expected in variable "${name}".`,
        );
      }
    }
    const type = parseType(variable.body.type);
    types.set(name, type);
    if ('default' in variable.body) {
      const scope = literalScope(inputs.now, (key) => inputs.env[key] ?? '');
      values.set(name, convert(await evaluate(variable.body.default, scope), type, `variable "${name}"`));
    } else values.set(name, undefined);
  }
  for (const [key, text] of Object.entries(inputs.env)) {
    if (!key.startsWith('PKR_VAR_')) continue;
    const name = key.slice('PKR_VAR_'.length);
    const type = types.get(name);
    if (type) values.set(name, await fromText(text, type, `variable "${name}"`, inputs.now));
  }
  for (const file of inputs.varFiles) {
    const parsed = await parseFile(file.name, file.source);
    for (const [name, raw] of Object.entries(parsed.body)) {
      const type = types.get(name);
      if (!type) continue;
      values.set(name, convert(await evaluate(raw, literalScope(inputs.now)), type, `variable "${name}"`));
    }
  }
  for (const [name, text] of inputs.vars) {
    const type = types.get(name);
    if (!type) {
      throw new HclError(
        'Undefined -var variable',
        `A "${name}" variable was passed in, but was not found in known variables. To declare variable "${name}", place this block in one of your .pkr.hcl files, such as variables.pkr.hcl`,
      );
    }
    values.set(name, await fromText(text, type, `variable "${name}"`, inputs.now));
  }
  return values;
}

/** Every variable set, and every validation block true; the first problem as Packer words it. */
export async function checkVariables(
  template: Template,
  values: Map<string, Value | undefined>,
  now: Date,
): Promise<void> {
  for (const [name, variable] of template.variables) {
    const value = values.get(name);
    if (value === undefined) {
      throw new HclError(
        `Unset variable "${name}"`,
        'A used variable must be set or have a default value; see https://packer.io/docs/templates/hcl_templates/syntax for details.',
      );
    }
    for (const rule of blocksOf(variable.body.validation)) {
      const scope: Scope = {
        ...literalScope(now),
        variable: (other) => {
          if (other !== name) {
            throw new HclError(
              'Invalid reference in variable validation',
              `The condition for variable "${name}" can only refer to the variable itself, using var.${name}.`,
            );
          }
          return value;
        },
      };
      const ok = await evaluate(rule.condition, scope);
      if (isUnknown(ok)) continue;
      if (ok !== true) {
        const message = await evaluate(rule.error_message ?? '', literalScope(now));
        throw new HclError(
          'Invalid value for variable',
          `${typeof message === 'string' ? message : 'The value is not valid.'}\n\nThis was checked by the validation rule at ${variable.file} (variable "${name}").`,
        );
      }
    }
  }
}

export { UNKNOWN };
