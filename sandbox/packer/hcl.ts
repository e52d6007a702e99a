/**
 * HCL for the Packer stand-in: files parsed with the real HCL parser (@cdktf/hcl2json, HashiCorp's
 * hcl/v2 compiled to WebAssembly), expressions parsed into its syntax tree (getExpressionAst) and
 * evaluated here for the subset Packer templates use: literals, string templates (`${…}`,
 * `%{ if }`), variable/local/data/packer/path/source/build references, indexes and attributes,
 * arithmetic, comparison and logic, conditionals, tuple/object constructors, `for` expressions and
 * Packer's common functions. A value not known yet (a data source during `validate`, `build.*`
 * outside a build) is `UNKNOWN` and makes what uses it unknown. Anything else is an `HclError`,
 * never a silent guess.
 *
 * hcl2json hands every attribute over as JSON: numbers and booleans as they are, everything else
 * as a string in which literal text is decoded and each `${…}`/`%{…}` is the expression's source.
 * `templateSource` turns such a string back into an HCL quoted template for the parser.
 */
import { createHash, randomUUID } from 'node:crypto';
import { getExpressionAst, parse as parseHcl } from '@cdktf/hcl2json';

/** A value not known until the build runs. */
export class Unknown {
  /** Makes the class nominal: no list or map is an Unknown. */
  readonly unknown = true as const;

  toString(): string {
    return '(known after apply)';
  }
}
export const UNKNOWN = new Unknown();

export type Value = string | number | boolean | null | Unknown | Value[] | { [key: string]: Value };

export const isUnknown = (value: unknown): value is Unknown => value instanceof Unknown;

/** A diagnostic as Packer words it: `Error: <summary>` and a detail paragraph. */
export class HclError extends Error {
  constructor(
    readonly summary: string,
    readonly detail = '',
  ) {
    super(detail ? `${summary}: ${detail}` : summary);
    this.name = 'HclError';
  }

  /** Packer's way of printing it. */
  render(): string {
    return this.detail ? `Error: ${this.summary}\n\n${this.detail}` : `Error: ${this.summary}`;
  }
}

/** The lookups an expression can make; each answers a value or throws an HclError. */
export interface Scope {
  variable(name: string): Value;
  local(name: string): Promise<Value>;
  data(type: string, name: string): Promise<Value>;
  /** `packer.*`, `path.*`, `source.*`, `build.*`; undefined when the root is not known here. */
  root(name: string): Value | undefined;
  /** `env()` is only allowed in variable defaults (as in Packer); undefined elsewhere. */
  env?: (name: string) => string;
  /** The clock of this run: every `timestamp()` answers the same instant. */
  now: Date;
}

interface Node {
  type: string;
  children?: Node[];
  meta?: Record<string, unknown>;
  range?: { start: { byte: number }; end: { byte: number } };
}

interface Traversal {
  type: 'nameTraversal' | 'indexTraversal';
  segment: string;
}

// ---------------------------------------------------------------------------------------------
// Parsing

/** One template file's parsed body (hcl2json's JSON) and its source (for block order). */
export interface ParsedFile {
  name: string;
  source: string;
  body: Record<string, unknown>;
}

export async function parseFile(name: string, source: string): Promise<ParsedFile> {
  let body: Record<string, unknown>;
  try {
    body = (await parseHcl(name, source)) as Record<string, unknown>;
  } catch (error) {
    throw new HclError('Failed to parse the configuration', `${name}: ${(error as Error).message}`);
  }
  return { name, source, body };
}

/**
 * The end of the `${`/`%{` sequence starting its expression at `from` in a hcl2json string:
 * the index of its closing `}`. Strings inside (with their own templates) are skipped.
 */
function sequenceEnd(s: string, from: number): number {
  let depth = 1;
  let i = from;
  while (i < s.length) {
    const c = s[i];
    if (c === '"') {
      i += 1;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\') i += 2;
        else if ((s[i] === '$' || s[i] === '%') && s[i + 1] === '{') i = sequenceEnd(s, i + 2) + 1;
        else i += 1;
      }
      i += 1;
      continue;
    }
    if (c === '{') depth += 1;
    if (c === '}') {
      depth -= 1;
      if (depth === 0) return i;
    }
    i += 1;
  }
  throw new HclError('Invalid template', `unclosed template sequence in "${s.slice(0, 80)}"`);
}

function escapeLiteral(c: string): string {
  if (c === '\\') return '\\\\';
  if (c === '"') return '\\"';
  if (c === '\n') return '\\n';
  if (c === '\r') return '\\r';
  if (c === '\t') return '\\t';
  const code = c.charCodeAt(0);
  if (code < 0x20 || code === 0x7f) return `\\u${code.toString(16).padStart(4, '0')}`;
  return c;
}

/**
 * A hcl2json string as an HCL quoted template (`"…"`), or null when it has no template sequence
 * (then `literalOf` is its value).
 */
export function templateSource(s: string): string | null {
  let out = '"';
  let templated = false;
  let i = 0;
  while (i < s.length) {
    if (s.startsWith('$${', i) || s.startsWith('%%{', i)) {
      out += s.slice(i, i + 3);
      i += 3;
      continue;
    }
    if (s.startsWith('${', i) || s.startsWith('%{', i)) {
      const end = sequenceEnd(s, i + 2);
      out += s.slice(i, end + 1);
      i = end + 1;
      templated = true;
      continue;
    }
    out += escapeLiteral(s[i] as string);
    i += 1;
  }
  return templated ? `${out}"` : null;
}

/** A hcl2json literal string's value (`$${` and `%%{` are escapes). */
export const literalOf = (s: string): string => s.replaceAll('$${', '${').replaceAll('%%{', '%{');

/** Decodes the escapes of a string literal as the parser's syntax tree keeps it (raw source). */
function decodeLiteral(raw: string): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as string;
    if (c === '\\') {
      const next = raw[i + 1];
      i += 1;
      if (next === 'n') out += '\n';
      else if (next === 'r') out += '\r';
      else if (next === 't') out += '\t';
      else if (next === '"') out += '"';
      else if (next === '\\') out += '\\';
      else if (next === 'u' || next === 'U') {
        const width = next === 'u' ? 4 : 8;
        const hex = raw.slice(i + 1, i + 1 + width);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== width) {
          throw new HclError('Invalid escape sequence', `\\${next}${hex}`);
        }
        out += String.fromCodePoint(Number.parseInt(hex, 16));
        i += width;
      } else throw new HclError('Invalid escape sequence', `\\${next ?? ''}`);
    } else if ((c === '$' || c === '%') && raw[i + 1] === c && raw[i + 2] === '{') {
      out += `${c}{`;
      i += 2;
    } else out += c;
  }
  return out;
}

const astCache = new Map<string, Promise<Node>>();

async function astOf(source: string): Promise<Node> {
  let cached = astCache.get(source);
  if (!cached) {
    cached = getExpressionAst('expression.hcl', source).then((ast) => {
      if (!ast) throw new HclError('Invalid expression', source);
      return ast as unknown as Node;
    });
    // Bounded: an attacker's template cannot grow the memo without limit.
    if (astCache.size > 5000) astCache.clear();
    astCache.set(source, cached);
    cached.catch(() => astCache.delete(source));
  }
  try {
    return await cached;
  } catch (error) {
    if (error instanceof HclError) throw error;
    throw new HclError('Invalid expression', `${source}: ${(error as Error).message}`);
  }
}

/** Parses an HCL expression's source (e.g. a -var value of a list type). */
export async function evaluateSource(source: string, scope: Scope): Promise<Value> {
  return evaluateNode(await astOf(source), source, scope, new Map());
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/** Evaluates a hcl2json value (a string template, number, boolean, null, list or map) deeply. */
export async function evaluate(raw: unknown, scope: Scope): Promise<Value> {
  if (raw === null || typeof raw === 'number' || typeof raw === 'boolean') return raw;
  if (typeof raw === 'string') {
    const source = templateSource(raw);
    if (source === null) return literalOf(raw);
    return evaluateNode(await astOf(source), source, scope, new Map());
  }
  if (Array.isArray(raw)) {
    const out: Value[] = [];
    for (const item of raw) out.push(await evaluate(item, scope));
    return out;
  }
  if (typeof raw === 'object') {
    const out: Record<string, Value> = {};
    for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
      const name = await evaluate(key, scope);
      if (isUnknown(name)) return UNKNOWN;
      if (typeof name !== 'string') throw new HclError('Invalid object key', 'a key must be a string');
      out[name] = await evaluate(value, scope);
    }
    return out;
  }
  throw new HclError('Unsupported value', String(raw));
}

function typeName(value: Value): string {
  if (value === null) return 'null';
  if (isUnknown(value)) return 'unknown';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'object') return 'object';
  return typeof value;
}

function isObject(value: Value): value is Record<string, Value> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !isUnknown(value);
}

function containsUnknown(value: Value): boolean {
  if (isUnknown(value)) return true;
  if (Array.isArray(value)) return value.some(containsUnknown);
  if (isObject(value)) return Object.values(value).some(containsUnknown);
  return false;
}

/** A value as template text: strings, numbers and booleans only. */
export function asString(value: Value, what = 'value'): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value === null) {
    throw new HclError('Invalid template interpolation value', `The ${what} is null.`);
  }
  throw new HclError(
    'Invalid template interpolation value',
    `Cannot include a ${typeName(value)} in a string.`,
  );
}

function asBool(value: Value, what: string): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new HclError('Incorrect condition type', `The ${what} must be a bool, got ${typeName(value)}.`);
}

function asNumber(value: Value, what: string): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
    return Number(value);
  throw new HclError('Invalid operand', `The ${what} must be a number, got ${typeName(value)}.`);
}

function equal(a: Value, b: Value): boolean {
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => equal(x, b[i] as Value));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return (
      ka.length === Object.keys(b).length && ka.every((k) => k in b && equal(a[k] as Value, b[k] as Value))
    );
  }
  return a === b;
}

function index(collection: Value, key: Value, shown: string): Value {
  if (isUnknown(collection) || isUnknown(key)) return UNKNOWN;
  if (Array.isArray(collection)) {
    const i = asNumber(key, 'index');
    if (!Number.isInteger(i) || i < 0 || i >= collection.length) {
      throw new HclError(
        'Invalid index',
        `${shown}: the index ${i} is out of range for a list of ${collection.length}.`,
      );
    }
    return collection[i] as Value;
  }
  if (isObject(collection)) {
    const k = asString(key, 'key');
    if (!(k in collection))
      throw new HclError('Invalid index', `${shown}: the given key "${k}" does not exist.`);
    return collection[k] as Value;
  }
  throw new HclError('Invalid index', `${shown}: a ${typeName(collection)} cannot be indexed.`);
}

function segmentKey(part: Traversal): Value {
  if (part.type === 'nameTraversal') return part.segment;
  const raw = part.segment;
  if (raw.startsWith('"')) return JSON.parse(raw) as string;
  return Number(raw);
}

function applyTraversal(value: Value, parts: readonly Traversal[], shown: string): Value {
  let current = value;
  for (const part of parts) current = index(current, segmentKey(part), shown);
  return current;
}

type Locals = Map<string, Value>;

async function resolveRoot(parts: Traversal[], shown: string, scope: Scope, locals: Locals): Promise<Value> {
  const [first, second, third, ...rest] = parts;
  const root = first?.segment ?? '';
  if (locals.has(root)) return applyTraversal(locals.get(root) as Value, parts.slice(1), shown);
  if (root === 'var') {
    if (second?.type !== 'nameTraversal') throw new HclError('Invalid reference', shown);
    return applyTraversal(scope.variable(second.segment), parts.slice(2), shown);
  }
  if (root === 'local') {
    if (second?.type !== 'nameTraversal') throw new HclError('Invalid reference', shown);
    return applyTraversal(await scope.local(second.segment), parts.slice(2), shown);
  }
  if (root === 'data') {
    if (second?.type !== 'nameTraversal' || third?.type !== 'nameTraversal') {
      throw new HclError('Invalid data source reference', `${shown}: a data source is data.<type>.<name>.`);
    }
    return applyTraversal(await scope.data(second.segment, third.segment), rest, shown);
  }
  const value = scope.root(root);
  if (value === undefined) {
    throw new HclError('Unknown variable', `There is no variable named "${root}" (in ${shown}).`);
  }
  return applyTraversal(value, parts.slice(1), shown);
}

function sourceOf(node: Node, source: string): string {
  if (!node.range) return '';
  return Buffer.from(source).subarray(node.range.start.byte, node.range.end.byte).toString('utf8');
}

const children = (node: Node): Node[] => node.children ?? [];
const metaString = (node: Node, key: string): string => String(node.meta?.[key] ?? '');

async function evaluateNode(node: Node, source: string, scope: Scope, locals: Locals): Promise<Value> {
  const evalChild = (child: Node | undefined) => {
    if (!child) throw new HclError('Invalid expression', source);
    return evaluateNode(child, source, scope, locals);
  };
  const kids = children(node);
  switch (node.type) {
    case 'templateWrap':
      return evalChild(kids[0]);
    case 'template': {
      let out = '';
      let unknown = false;
      for (const child of kids) {
        const value =
          child.type === 'literalValue' && child.meta?.type === 'string'
            ? decodeLiteral(metaString(child, 'value'))
            : await evalChild(child);
        if (isUnknown(value)) unknown = true;
        else if (!unknown) out += asString(value, `interpolation in ${metaString(node, 'value')}`);
      }
      return unknown ? UNKNOWN : out;
    }
    case 'literalValue': {
      const type = node.meta?.type;
      const raw = metaString(node, 'value');
      if (type === 'string') return decodeLiteral(raw);
      if (type === 'number') return Number(raw);
      if (type === 'bool') return raw === 'true';
      if (raw === 'null') return null;
      throw new HclError('Unsupported literal', raw);
    }
    case 'scopeTraversal':
      return resolveRoot(node.meta?.traversal as Traversal[], metaString(node, 'value'), scope, locals);
    case 'relativeTraversal':
      return applyTraversal(
        await evalChild(kids[0]),
        node.meta?.traversal as Traversal[],
        metaString(node, 'value'),
      );
    case 'index':
      return index(await evalChild(kids[0]), await evalChild(kids[1]), metaString(node, 'value'));
    case '':
      // A parenthesised expression.
      if (kids.length === 1) return evalChild(kids[0]);
      throw new HclError('Unsupported expression', metaString(node, 'value') || source);
    case 'conditional': {
      const condition = await evalChild(kids[0]);
      if (isUnknown(condition)) return UNKNOWN;
      return asBool(condition, 'condition') ? evalChild(kids[1]) : evalChild(kids[2]);
    }
    case 'unaryOp': {
      const value = await evalChild(kids[0]);
      if (isUnknown(value)) return UNKNOWN;
      if (node.meta?.operator === 'logicalNot') return !asBool(value, 'operand of !');
      if (node.meta?.operator === 'negate') return -asNumber(value, 'operand of -');
      throw new HclError('Unsupported operator', String(node.meta?.operator));
    }
    case 'binaryOp':
      return binary(String(node.meta?.operator), kids, evalChild);
    case 'tuple': {
      const out: Value[] = [];
      for (const child of kids) out.push(await evalChild(child));
      return out;
    }
    case 'object': {
      const out: Record<string, Value> = {};
      for (let i = 0; i + 1 < kids.length; i += 2) {
        const keyNode = kids[i] as Node;
        let key: Value;
        const keyKids = children(keyNode);
        if (keyNode.type === '' && keyKids.length === 0) key = sourceOf(keyNode, source);
        else key = await evalChild(keyKids.length === 1 && keyNode.type === '' ? keyKids[0] : keyNode);
        if (isUnknown(key)) return UNKNOWN;
        out[asString(key, 'object key')] = await evalChild(kids[i + 1]);
      }
      return out;
    }
    case 'function':
      return callFunction(node, kids, source, scope, locals);
    case 'for':
      return forExpression(node, kids, source, scope, locals);
    case 'splat':
      throw new HclError(
        'Unsupported expression',
        `splat expressions ([*]) are not supported: ${metaString(node, 'value')}`,
      );
    default:
      throw new HclError('Unsupported expression', `${node.type}: ${metaString(node, 'value') || source}`);
  }
}

async function binary(
  operator: string,
  kids: Node[],
  evalChild: (child: Node | undefined) => Promise<Value>,
): Promise<Value> {
  const left = await evalChild(kids[0]);
  if (operator === 'logicalAnd' || operator === 'logicalOr') {
    if (isUnknown(left)) return UNKNOWN;
    const l = asBool(left, `left operand of ${operator === 'logicalAnd' ? '&&' : '||'}`);
    if (operator === 'logicalAnd' && !l) return false;
    if (operator === 'logicalOr' && l) return true;
    const right = await evalChild(kids[1]);
    return isUnknown(right) ? UNKNOWN : asBool(right, 'right operand');
  }
  const right = await evalChild(kids[1]);
  if (isUnknown(left) || isUnknown(right)) return UNKNOWN;
  switch (operator) {
    case 'equal':
      return equal(left, right);
    case 'notEqual':
      return !equal(left, right);
    case 'lessThan':
      return asNumber(left, 'operand') < asNumber(right, 'operand');
    case 'lessThanOrEqual':
      return asNumber(left, 'operand') <= asNumber(right, 'operand');
    case 'greaterThan':
      return asNumber(left, 'operand') > asNumber(right, 'operand');
    case 'greaterThanOrEqual':
      return asNumber(left, 'operand') >= asNumber(right, 'operand');
    case 'add':
      return asNumber(left, 'operand') + asNumber(right, 'operand');
    case 'subtract':
      return asNumber(left, 'operand') - asNumber(right, 'operand');
    case 'multiply':
      return asNumber(left, 'operand') * asNumber(right, 'operand');
    case 'divide':
      return asNumber(left, 'operand') / asNumber(right, 'operand');
    case 'modulo':
      return asNumber(left, 'operand') % asNumber(right, 'operand');
    default:
      throw new HclError('Unsupported operator', operator);
  }
}

async function forExpression(
  node: Node,
  kids: Node[],
  source: string,
  scope: Scope,
  locals: Locals,
): Promise<Value> {
  const meta = node.meta ?? {};
  const isObjectFor = meta.openRangeValue === '{';
  if (meta.groupedValue)
    throw new HclError('Unsupported expression', 'grouped for expressions (...) are not supported');
  const collection = await evaluateNode(kids[0] as Node, source, scope, locals);
  if (isUnknown(collection)) return UNKNOWN;
  const keyVar = String(meta.keyVar ?? '');
  const valVar = String(meta.valVar ?? '');
  const keyExpr = isObjectFor ? kids[1] : undefined;
  const valueExpr = isObjectFor ? kids[2] : kids[1];
  const condition = isObjectFor ? kids[3] : kids[2];
  const pairs: [Value, Value][] = Array.isArray(collection)
    ? collection.map((v, i) => [i, v])
    : isObject(collection)
      ? Object.keys(collection)
          .sort()
          .map((k) => [k, collection[k] as Value])
      : [];
  if (!Array.isArray(collection) && !isObject(collection)) {
    throw new HclError(
      'Iteration over non-iterable value',
      `a for expression needs a list or map, got ${typeName(collection)}`,
    );
  }
  const list: Value[] = [];
  const map: Record<string, Value> = {};
  for (const [key, value] of pairs) {
    const inner = new Map(locals);
    if (keyVar) inner.set(keyVar, key);
    inner.set(valVar, value);
    if (condition) {
      const keep = await evaluateNode(condition, source, scope, inner);
      if (isUnknown(keep)) return UNKNOWN;
      if (!asBool(keep, 'for condition')) continue;
    }
    const out = await evaluateNode(valueExpr as Node, source, scope, inner);
    if (isObjectFor) {
      const k = await evaluateNode(keyExpr as Node, source, scope, inner);
      if (isUnknown(k)) return UNKNOWN;
      map[asString(k, 'key')] = out;
    } else list.push(out);
  }
  return isObjectFor ? map : list;
}

// ---------------------------------------------------------------------------------------------
// Functions

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** RFC 3339 in UTC without fractions, as Packer's timestamp() answers. */
export const rfc3339 = (date: Date): string => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

function parseTimestamp(value: string): Date {
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.exec(value);
  const date = m ? new Date(value) : new Date(Number.NaN);
  if (Number.isNaN(date.getTime())) {
    throw new HclError('Invalid function argument', `"${value}" is not a valid RFC 3339 timestamp.`);
  }
  return date;
}

/** Terraform/Packer formatdate, in UTC (the timestamps Packer makes are UTC). */
export function formatDate(spec: string, date: Date): string {
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const hour = date.getUTCHours();
  const tokens: Record<string, () => string> = {
    YYYY: () => pad(date.getUTCFullYear(), 4),
    YY: () => pad(date.getUTCFullYear() % 100),
    MMMM: () => MONTHS[date.getUTCMonth()] as string,
    MMM: () => (MONTHS[date.getUTCMonth()] as string).slice(0, 3),
    MM: () => pad(date.getUTCMonth() + 1),
    M: () => String(date.getUTCMonth() + 1),
    DD: () => pad(date.getUTCDate()),
    D: () => String(date.getUTCDate()),
    EEEE: () => DAYS[date.getUTCDay()] as string,
    EEE: () => (DAYS[date.getUTCDay()] as string).slice(0, 3),
    hh: () => pad(hour),
    h: () => String(hour),
    HH: () => pad(hour % 12 === 0 ? 12 : hour % 12),
    H: () => String(hour % 12 === 0 ? 12 : hour % 12),
    AA: () => (hour < 12 ? 'AM' : 'PM'),
    aa: () => (hour < 12 ? 'am' : 'pm'),
    mm: () => pad(date.getUTCMinutes()),
    m: () => String(date.getUTCMinutes()),
    ss: () => pad(date.getUTCSeconds()),
    s: () => String(date.getUTCSeconds()),
    ZZZZZ: () => '+00:00',
    ZZZZ: () => '+0000',
    ZZZ: () => 'UTC',
    Z: () => 'Z',
  };
  let out = '';
  let i = 0;
  while (i < spec.length) {
    const c = spec[i] as string;
    if (c === "'") {
      const end = spec.indexOf("'", i + 1);
      if (end === -1) throw new HclError('Invalid function argument', 'formatdate: unterminated literal');
      out += end === i + 1 ? "'" : spec.slice(i + 1, end);
      i = end + 1;
      continue;
    }
    if (/[A-Za-z]/.test(c)) {
      let j = i;
      while (j < spec.length && spec[j] === c) j += 1;
      const token = spec.slice(i, j);
      const format = tokens[token];
      if (!format)
        throw new HclError('Invalid function argument', `formatdate: invalid date format verb "${token}"`);
      out += format();
      i = j;
      continue;
    }
    out += c;
    i += 1;
  }
  return out;
}

/** RE2 patterns as JavaScript ones (the syntax both share; named groups `(?P<n>` → `(?<n>`). */
function regExp(pattern: string, flags = ''): RegExp {
  try {
    return new RegExp(pattern.replace(/\(\?P</g, '(?<'), flags);
  } catch (error) {
    throw new HclError(
      'Invalid function argument',
      `invalid regular expression "${pattern}": ${(error as Error).message}`,
    );
  }
}

function regexResult(match: RegExpExecArray): Value {
  if (match.groups && Object.keys(match.groups).length > 0) {
    return Object.fromEntries(Object.entries(match.groups).map(([k, v]) => [k, v ?? '']));
  }
  if (match.length > 1) return match.slice(1).map((v) => v ?? '');
  return match[0];
}

function format(spec: string, args: Value[]): string {
  let n = 0;
  return spec.replace(/%([%sdvqtf])/g, (_, verb: string) => {
    if (verb === '%') return '%';
    const arg = args[n++];
    if (arg === undefined) throw new HclError('Invalid function argument', 'format: not enough arguments');
    if (verb === 'd') return String(Math.trunc(asNumber(arg, 'argument')));
    if (verb === 'q') return JSON.stringify(asString(arg));
    if (verb === 'v' && typeof arg === 'object' && arg !== null) return JSON.stringify(arg);
    return asString(arg);
  });
}

type Fn = (args: Value[], scope: Scope) => Value;

const str = (args: Value[], i: number, name: string): string => {
  const value = args[i];
  if (value === undefined)
    throw new HclError('Not enough function arguments', `${name} needs more arguments.`);
  return asString(value, `argument ${i + 1} of ${name}`);
};
const list = (args: Value[], i: number, name: string): Value[] => {
  const value = args[i];
  if (!Array.isArray(value))
    throw new HclError('Invalid function argument', `${name}: argument ${i + 1} must be a list.`);
  return value;
};
const map = (args: Value[], i: number, name: string): Record<string, Value> => {
  const value = args[i] as Value;
  if (!isObject(value))
    throw new HclError('Invalid function argument', `${name}: argument ${i + 1} must be a map.`);
  return value;
};

const FUNCTIONS: Record<string, Fn> = {
  lower: (a) => str(a, 0, 'lower').toLowerCase(),
  upper: (a) => str(a, 0, 'upper').toUpperCase(),
  title: (a) => str(a, 0, 'title').replace(/\b\w/g, (c) => c.toUpperCase()),
  trimspace: (a) => str(a, 0, 'trimspace').trim(),
  trimprefix: (a) => {
    const s = str(a, 0, 'trimprefix');
    const p = str(a, 1, 'trimprefix');
    return s.startsWith(p) ? s.slice(p.length) : s;
  },
  trimsuffix: (a) => {
    const s = str(a, 0, 'trimsuffix');
    const p = str(a, 1, 'trimsuffix');
    return p !== '' && s.endsWith(p) ? s.slice(0, -p.length) : s;
  },
  chomp: (a) => str(a, 0, 'chomp').replace(/(\r?\n)+$/, ''),
  replace: (a) => {
    const s = str(a, 0, 'replace');
    const search = str(a, 1, 'replace');
    const replacement = str(a, 2, 'replace');
    if (search.length > 1 && search.startsWith('/') && search.endsWith('/')) {
      return s.replace(regExp(search.slice(1, -1), 'g'), replacement.replace(/\$\{?(\d+)\}?/g, '$$$1'));
    }
    return s.split(search).join(replacement);
  },
  regex_replace: (a) =>
    str(a, 0, 'regex_replace').replace(
      regExp(str(a, 1, 'regex_replace'), 'g'),
      str(a, 2, 'regex_replace').replace(/\$\{?(\d+)\}?/g, '$$$1'),
    ),
  regex: (a) => {
    const pattern = str(a, 0, 'regex');
    const match = regExp(pattern).exec(str(a, 1, 'regex'));
    if (!match) throw new HclError('Invalid function argument', `regex: pattern "${pattern}" did not match.`);
    return regexResult(match);
  },
  regexall: (a) => [...str(a, 1, 'regexall').matchAll(regExp(str(a, 0, 'regexall'), 'g'))].map(regexResult),
  split: (a) => str(a, 1, 'split').split(str(a, 0, 'split')),
  join: (a) =>
    list(a, 1, 'join')
      .map((v) => asString(v))
      .join(str(a, 0, 'join')),
  format: (a) => format(str(a, 0, 'format'), a.slice(1)),
  substr: (a) => {
    const s = [...str(a, 0, 'substr')];
    const offset = asNumber(a[1] ?? null, 'offset');
    const length = asNumber(a[2] ?? null, 'length');
    const start = offset < 0 ? s.length + offset : offset;
    return s.slice(start, length < 0 ? undefined : start + length).join('');
  },
  startswith: (a) => str(a, 0, 'startswith').startsWith(str(a, 1, 'startswith')),
  endswith: (a) => str(a, 0, 'endswith').endsWith(str(a, 1, 'endswith')),
  strcontains: (a) => str(a, 0, 'strcontains').includes(str(a, 1, 'strcontains')),
  length: (a) => {
    const v = a[0] ?? null;
    if (typeof v === 'string') return [...v].length;
    if (Array.isArray(v)) return v.length;
    if (isObject(v)) return Object.keys(v).length;
    throw new HclError('Invalid function argument', 'length: a string, list or map is required.');
  },
  concat: (a) => a.flatMap((_, i) => list(a, i, 'concat')),
  contains: (a) => list(a, 0, 'contains').some((v) => equal(v, a[1] ?? null)),
  distinct: (a) => list(a, 0, 'distinct').filter((v, i, all) => all.findIndex((w) => equal(v, w)) === i),
  element: (a) => {
    const l = list(a, 0, 'element');
    if (l.length === 0) throw new HclError('Invalid function argument', 'element: the list is empty.');
    return l[asNumber(a[1] ?? null, 'index') % l.length] as Value;
  },
  flatten: (a) => {
    const flat = (v: Value[]): Value[] => v.flatMap((x) => (Array.isArray(x) ? flat(x) : [x]));
    return flat(list(a, 0, 'flatten'));
  },
  reverse: (a) => [...list(a, 0, 'reverse')].reverse(),
  slice: (a) => list(a, 0, 'slice').slice(asNumber(a[1] ?? null, 'start'), asNumber(a[2] ?? null, 'end')),
  sort: (a) =>
    list(a, 0, 'sort')
      .map((v) => asString(v))
      .sort(),
  compact: (a) => list(a, 0, 'compact').filter((v) => v !== null && v !== ''),
  keys: (a) => Object.keys(map(a, 0, 'keys')).sort(),
  values: (a) => {
    const m = map(a, 0, 'values');
    return Object.keys(m)
      .sort()
      .map((k) => m[k] as Value);
  },
  lookup: (a) => {
    const m = map(a, 0, 'lookup');
    const k = str(a, 1, 'lookup');
    if (k in m) return m[k] as Value;
    if (a.length > 2) return a[2] as Value;
    throw new HclError('Invalid function argument', `lookup: the given key "${k}" does not exist.`);
  },
  merge: (a) => Object.assign({}, ...a.map((_, i) => (a[i] === null ? {} : map(a, i, 'merge')))),
  zipmap: (a) => {
    const k = list(a, 0, 'zipmap');
    const v = list(a, 1, 'zipmap');
    return Object.fromEntries(k.map((key, i) => [asString(key), v[i] ?? null]));
  },
  coalesce: (a) => {
    const found = a.find((v) => v !== null && v !== '');
    if (found === undefined)
      throw new HclError('Invalid function argument', 'coalesce: no non-null, non-empty argument.');
    return found;
  },
  coalescelist: (a) => a.find((v) => Array.isArray(v) && v.length > 0) ?? [],
  tostring: (a) => (a[0] === null ? null : asString(a[0] ?? null)),
  tonumber: (a) => (a[0] === null ? null : asNumber(a[0] ?? null, 'argument')),
  tobool: (a) => (a[0] === null ? null : asBool(a[0] ?? null, 'argument')),
  tolist: (a) => list(a, 0, 'tolist'),
  toset: (a) => FUNCTIONS.distinct?.(a, {} as Scope) ?? [],
  tomap: (a) => map(a, 0, 'tomap'),
  abs: (a) => Math.abs(asNumber(a[0] ?? null, 'argument')),
  ceil: (a) => Math.ceil(asNumber(a[0] ?? null, 'argument')),
  floor: (a) => Math.floor(asNumber(a[0] ?? null, 'argument')),
  max: (a) => Math.max(...a.map((v) => asNumber(v, 'argument'))),
  min: (a) => Math.min(...a.map((v) => asNumber(v, 'argument'))),
  parseint: (a) => {
    const n = Number.parseInt(str(a, 0, 'parseint'), asNumber(a[1] ?? null, 'base'));
    if (Number.isNaN(n))
      throw new HclError('Invalid function argument', 'parseint: not a number in that base.');
    return n;
  },
  timestamp: (_a, scope) => rfc3339(scope.now),
  formatdate: (a) => formatDate(str(a, 0, 'formatdate'), parseTimestamp(str(a, 1, 'formatdate'))),
  timeadd: (a) => {
    const date = parseTimestamp(str(a, 0, 'timeadd'));
    const m = /^(-?\d+(?:\.\d+)?)(h|m|s|ms)$/.exec(str(a, 1, 'timeadd'));
    if (!m)
      throw new HclError('Invalid function argument', 'timeadd: a duration such as 1h or 30m is required.');
    const unit = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 }[m[2] as 'h' | 'm' | 's' | 'ms'];
    return rfc3339(new Date(date.getTime() + Number(m[1]) * unit));
  },
  uuidv4: () => randomUUID(),
  md5: (a) =>
    createHash('md5')
      .update(str(a, 0, 'md5'))
      .digest('hex'),
  sha1: (a) =>
    createHash('sha1')
      .update(str(a, 0, 'sha1'))
      .digest('hex'),
  sha256: (a) =>
    createHash('sha256')
      .update(str(a, 0, 'sha256'))
      .digest('hex'),
  sha512: (a) =>
    createHash('sha512')
      .update(str(a, 0, 'sha512'))
      .digest('hex'),
  base64encode: (a) => Buffer.from(str(a, 0, 'base64encode')).toString('base64'),
  base64decode: (a) => Buffer.from(str(a, 0, 'base64decode'), 'base64').toString('utf8'),
  jsonencode: (a) => JSON.stringify(a[0] ?? null),
  jsondecode: (a) => {
    try {
      return JSON.parse(str(a, 0, 'jsondecode')) as Value;
    } catch (error) {
      throw new HclError('Invalid function argument', `jsondecode: ${(error as Error).message}`);
    }
  },
  env: (a, scope) => {
    if (!scope.env) {
      throw new HclError(
        'Call to unknown function',
        'There is no function named "env" here: env() can only be used in a variable\'s default.',
      );
    }
    return scope.env(str(a, 0, 'env'));
  },
};

/** Functions that read files or the network are not in the sandbox's Packer. */
const NOT_IMPLEMENTED = new Set([
  'file',
  'fileexists',
  'fileset',
  'templatefile',
  'abspath',
  'vault',
  'consul_key',
  'aws_secretsmanager',
  'aws_secretsmanager_raw',
  'bcrypt',
]);

async function callFunction(
  node: Node,
  kids: Node[],
  source: string,
  scope: Scope,
  locals: Locals,
): Promise<Value> {
  const name = metaString(node, 'name');
  if (node.meta?.expandedFinalArgument) {
    throw new HclError(
      'Unsupported expression',
      `${name}(…...): expanding the last argument is not supported`,
    );
  }
  if (name === 'can' || name === 'try') {
    for (const [i, child] of kids.entries()) {
      try {
        const value = await evaluateNode(child, source, scope, locals);
        if (name === 'can') return isUnknown(value) ? UNKNOWN : true;
        if (containsUnknown(value)) return UNKNOWN;
        return value;
      } catch (error) {
        if (!(error instanceof HclError)) throw error;
        if (name === 'can') return false;
        if (i === kids.length - 1) {
          throw new HclError(
            'Error in function call',
            `try: no expression succeeded (last: ${error.message})`,
          );
        }
      }
    }
    throw new HclError('Not enough function arguments', `${name} needs an argument.`);
  }
  if (NOT_IMPLEMENTED.has(name)) {
    throw new HclError('Unsupported function', `The sandbox's Packer does not implement ${name}().`);
  }
  const fn = FUNCTIONS[name];
  if (!fn) throw new HclError('Call to unknown function', `There is no function named "${name}".`);
  const args: Value[] = [];
  for (const child of kids) args.push(await evaluateNode(child, source, scope, locals));
  if (name !== 'timestamp' && name !== 'uuidv4' && args.some(containsUnknown)) return UNKNOWN;
  return fn(args, scope);
}
