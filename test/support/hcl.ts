/**
 * Reading the Packer template with a real HCL parser (@cdktf/hcl2json, HashiCorp's HCL
 * library compiled to WebAssembly), so tests assert on its structure, not on its text.
 *
 * hcl2json turns every block into JSON: attributes keep their expression source wrapped in
 * `${…}` (literals stay literals), and blocks of one kind become arrays. It groups
 * provisioners by type, which loses the order between a `file` and a `shell` provisioner;
 * `provisionerOrder` recovers that order from the block headers of the build block, and is
 * checked against the parsed blocks so the two cannot disagree silently.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from '@cdktf/hcl2json';

export const PACKER_DIR = join(import.meta.dirname, '..', '..', 'packer');
export const TEMPLATE_PATH = join(PACKER_DIR, 'pulsar-base.pkr.hcl');

export type HclValue = string | number | boolean | null | HclValue[] | { [key: string]: HclValue };
export type HclObject = { [key: string]: HclValue };

export interface PackerVariable {
  type?: string;
  default?: HclValue;
  description?: string;
  validation?: { condition: string; error_message: string }[];
}

export interface Provisioner {
  type: string;
  body: HclObject;
}

export interface PackerTemplate {
  /** hcl2json's output as is. */
  raw: HclObject;
  packer: HclObject;
  variables: Record<string, PackerVariable>;
  locals: Record<string, HclValue>;
  data: Record<string, Record<string, HclObject>>;
  sources: Record<string, Record<string, HclObject>>;
  build: HclObject;
  /** The build's provisioners in the order they run. */
  provisioners: Provisioner[];
  postProcessors: Record<string, HclObject[]>;
}

function asObject(value: HclValue | undefined, what: string): HclObject {
  if (value === null || value === undefined || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`${what} is not an object`);
  }
  return value;
}

function single(value: HclValue | undefined, what: string): HclObject {
  if (Array.isArray(value)) {
    if (value.length !== 1) throw new Error(`expected exactly one ${what}, found ${value.length}`);
    return asObject(value[0], what);
  }
  return asObject(value, what);
}

/**
 * The index just past the quoted string that starts at `start`, template interpolations
 * (`${…}`, `%{…}`) included, whose expressions may hold strings of their own.
 */
function skipString(source: string, start: number): number {
  let i = start + 1;
  while (i < source.length) {
    const c = source[i];
    if (c === '\\') {
      i += 2;
    } else if (c === '"') {
      return i + 1;
    } else if ((c === '$' || c === '%') && source[i + 1] === '{') {
      let depth = 1;
      i += 2;
      while (i < source.length && depth > 0) {
        const d = source[i];
        if (d === '"') {
          i = skipString(source, i);
          continue;
        }
        if (d === '{') depth++;
        if (d === '}') depth--;
        i++;
      }
    } else {
      i++;
    }
  }
  return i;
}

/**
 * The provisioner block types of a build block, in source order. Only block headers at
 * the build block's top level count: strings, comments and nested braces are skipped.
 */
export function provisionerOrder(source: string): string[] {
  const order: string[] = [];
  let depth = 0;
  let inBuild = false;
  let i = 0;
  const atLineStart = () => {
    let j = i - 1;
    while (j >= 0 && (source[j] === ' ' || source[j] === '\t')) j--;
    return j < 0 || source[j] === '\n';
  };
  while (i < source.length) {
    const c = source[i];
    if (c === '#' || (c === '/' && source[i + 1] === '/')) {
      while (i < source.length && source[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && source[i + 1] === '*') {
      const end = source.indexOf('*/', i + 2);
      i = end < 0 ? source.length : end + 2;
      continue;
    }
    if (c === '"') {
      i = skipString(source, i);
      continue;
    }
    if (c === '{') depth++;
    if (c === '}') {
      depth--;
      if (depth === 0) inBuild = false;
    }
    if (depth === 0 && atLineStart() && /^build\s*\{/.test(source.slice(i))) inBuild = true;
    if (inBuild && depth === 1 && atLineStart()) {
      const header = /^provisioner\s+"([^"]+)"\s*\{/.exec(source.slice(i));
      if (header?.[1]) order.push(header[1]);
    }
    i++;
  }
  return order;
}

export async function loadPackerTemplate(path = TEMPLATE_PATH): Promise<PackerTemplate> {
  const source = readFileSync(path, 'utf8');
  const raw = (await parse(path, source)) as HclObject;

  const variables: Record<string, PackerVariable> = {};
  for (const [name, blocks] of Object.entries(asObject(raw.variable, 'variable'))) {
    variables[name] = single(blocks, `variable "${name}"`) as unknown as PackerVariable;
  }
  const locals: Record<string, HclValue> = {};
  for (const block of (raw.locals as HclObject[] | undefined) ?? []) Object.assign(locals, block);

  const nested = (value: HclValue | undefined, what: string) => {
    const out: Record<string, Record<string, HclObject>> = {};
    for (const [type, named] of Object.entries(asObject(value, what))) {
      out[type] = {};
      for (const [name, blocks] of Object.entries(asObject(named, `${what} ${type}`))) {
        const byType = out[type] as Record<string, HclObject>;
        byType[name] = single(blocks, `${what} "${type}" "${name}"`);
      }
    }
    return out;
  };

  const build = single(raw.build, 'build');
  const byType = asObject(build.provisioner ?? {}, 'provisioner');
  const order = provisionerOrder(source);
  const seen: Record<string, number> = {};
  const provisioners: Provisioner[] = order.map((type) => {
    const index = seen[type] ?? 0;
    seen[type] = index + 1;
    const blocks = byType[type];
    const body = Array.isArray(blocks) ? blocks[index] : undefined;
    if (body === undefined)
      throw new Error(`provisioner "${type}" #${index + 1} is not in the parsed template`);
    return { type, body: asObject(body, `provisioner "${type}"`) };
  });
  for (const [type, blocks] of Object.entries(byType)) {
    const parsed = Array.isArray(blocks) ? blocks.length : 1;
    if (parsed !== (seen[type] ?? 0)) {
      throw new Error(`parsed ${parsed} "${type}" provisioners, found ${seen[type] ?? 0} block headers`);
    }
  }

  const postProcessors: Record<string, HclObject[]> = {};
  for (const [type, blocks] of Object.entries(asObject(build['post-processor'] ?? {}, 'post-processor'))) {
    postProcessors[type] = (Array.isArray(blocks) ? blocks : [blocks]).map((b) => asObject(b, type));
  }

  return {
    raw,
    packer: single(raw.packer, 'packer'),
    variables,
    locals,
    data: nested(raw.data, 'data'),
    sources: nested(raw.source, 'source'),
    build,
    provisioners,
    postProcessors,
  };
}

/**
 * HCL text written as a template literal with its `${` escaped (hcl`var-\${var.x}`), so a
 * test can spell the template's interpolations without a JavaScript placeholder.
 */
export function hcl(strings: TemplateStringsArray): string {
  return strings.raw.join('').replaceAll('$\\{', '${');
}

/** The body of a `${…}` expression, or null for a literal. */
export function expression(value: HclValue | undefined): string | null {
  if (typeof value !== 'string') return null;
  const m = /^\$\{([\s\S]*)\}$/.exec(value);
  return m?.[1] ?? null;
}

/**
 * Follows `${local.name}` through the template's locals until it reaches something else,
 * so an attribute set from a local can be compared with what the local holds.
 */
export function resolveLocals(template: PackerTemplate, value: HclValue | undefined): HclValue | undefined {
  let current = value;
  for (let hops = 0; hops < 10; hops++) {
    const expr = expression(current);
    const m = expr === null ? null : /^local\.([A-Za-z_][A-Za-z0-9_-]*)$/.exec(expr.trim());
    if (!m?.[1]) return current;
    current = template.locals[m[1]];
  }
  throw new Error('locals refer to each other in a loop');
}

/**
 * The regular expression of a validation condition written as
 * `can(regex("PATTERN", var.NAME))`, as a JavaScript RegExp (the patterns used are in the
 * common subset of RE2 and JavaScript).
 */
export function validationRegex(variable: PackerVariable, name: string): RegExp {
  const conditions = (variable.validation ?? []).map((v) => expression(v.condition) ?? '');
  for (const condition of conditions) {
    const m = /^can\(regex\(("(?:[^"\\]|\\.)*"),\s*var\.([A-Za-z0-9_]+)\)\)$/.exec(condition.trim());
    if (m?.[1] && m[2] === name) return new RegExp(JSON.parse(m[1]) as string);
  }
  throw new Error(`variable "${name}" has no can(regex(…, var.${name})) validation`);
}

/** Every `var.NAME` an expression anywhere in the template refers to. */
export function referencedVariables(value: HclValue | undefined, into = new Set<string>()): Set<string> {
  if (typeof value === 'string') {
    for (const m of value.matchAll(/\bvar\.([A-Za-z_][A-Za-z0-9_]*)/g)) if (m[1]) into.add(m[1]);
  } else if (Array.isArray(value)) {
    for (const v of value) referencedVariables(v, into);
  } else if (value && typeof value === 'object') {
    for (const v of Object.values(value)) referencedVariables(v, into);
  }
  return into;
}
