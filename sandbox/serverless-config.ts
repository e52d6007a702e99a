/**
 * Reads serverless.yml the way the sandbox's API Gateway needs it: the service name, each
 * function's handler and `http` events, its timeout, and the provider environment's plain
 * string values with the usual `${…}` variables resolved for the served stage and region.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';

export interface ApiRoute {
  functionKey: string;
  /** `{service}-{stage}-{functionKey}`, as serverless names the Lambda. */
  functionName: string;
  /** Absolute path of the handler's module, with its extension. */
  modulePath: string;
  exportName: string;
  /** Upper case, or `ANY`. */
  method: string;
  /** `/amis/{id}` */
  resource: string;
  segments: string[];
  timeoutSeconds: number;
  memorySize: number;
  authorizer: string | null;
}

export interface ServerlessApi {
  serviceName: string;
  routes: ApiRoute[];
  environment: Record<string, string>;
}

type Yaml = Record<string, unknown>;

const isRecord = (value: unknown): value is Yaml =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

interface VariableContext {
  doc: Yaml;
  stage: string;
  region: string;
  accountId: string;
}

function lookup(doc: Yaml, path: string): unknown {
  let node: unknown = doc;
  for (const key of path.split('.')) {
    if (!isRecord(node)) return undefined;
    node = node[key];
  }
  return node;
}

/** Resolves one `${…}` body; undefined when it cannot be resolved offline. */
function resolveVariable(body: string, ctx: VariableContext, depth: number): string | undefined {
  const [source = '', ...fallbacks] = body.split(',').map((s) => s.trim());
  const fallback = (): string | undefined => {
    const f = fallbacks.join(',').trim();
    const quoted = /^(['"])(.*)\1$/.exec(f);
    if (quoted) return quoted[2];
    return f ? resolveVariable(f, ctx, depth + 1) : undefined;
  };
  if (source === 'sls:stage' || source === 'opt:stage' || source === 'self:provider.stage') return ctx.stage;
  if (source === 'opt:region' || source === 'self:provider.region' || source === 'aws:region')
    return ctx.region;
  if (source === 'aws:accountId') return ctx.accountId;
  if (source === 'self:service') return serviceNameOf(ctx.doc);
  if (source.startsWith('self:')) {
    const value = lookup(ctx.doc, source.slice(5));
    if (typeof value === 'string' || typeof value === 'number') {
      return resolveString(String(value), ctx, depth + 1) ?? fallback();
    }
  }
  return fallback();
}

function resolveString(text: string, ctx: VariableContext, depth = 0): string | undefined {
  if (depth > 10) return undefined;
  let unresolved = false;
  const out = text.replace(/\$\{([^{}]+)\}/g, (_, body: string) => {
    const value = resolveVariable(body, ctx, depth);
    if (value === undefined) unresolved = true;
    return value ?? '';
  });
  return unresolved ? undefined : out;
}

function serviceNameOf(doc: Yaml): string {
  const service = doc.service;
  if (typeof service === 'string') return service;
  if (isRecord(service) && typeof service.name === 'string') return service.name;
  return 'service';
}

function handlerModule(baseDir: string, handler: string): { modulePath: string; exportName: string } {
  const dot = handler.lastIndexOf('.');
  const file = handler.slice(0, dot);
  const exportName = handler.slice(dot + 1);
  for (const ext of ['.ts', '.mts', '.js', '.mjs', '.cjs']) {
    const candidate = resolve(baseDir, `${file}${ext}`);
    if (existsSync(candidate)) return { modulePath: candidate, exportName };
  }
  return { modulePath: resolve(baseDir, `${file}.ts`), exportName };
}

function httpEvents(fn: Yaml): { method: string; path: string; authorizer: string | null }[] {
  const events = Array.isArray(fn.events) ? fn.events : [];
  return events.flatMap((event: unknown) => {
    if (!isRecord(event) || event.http === undefined) return [];
    const http = event.http;
    if (typeof http === 'string') {
      const [method = 'GET', path = ''] = http.trim().split(/\s+/);
      return [{ method: method.toUpperCase(), path, authorizer: null }];
    }
    if (!isRecord(http) || typeof http.path !== 'string' || typeof http.method !== 'string') return [];
    const auth = http.authorizer;
    const authorizer =
      typeof auth === 'string' ? auth : isRecord(auth) && typeof auth.type === 'string' ? auth.type : null;
    return [{ method: http.method.toUpperCase(), path: http.path, authorizer }];
  });
}

export function loadServerlessApi(
  file: string,
  options: { stage: string; region: string; accountId: string },
): ServerlessApi {
  const doc = parse(readFileSync(file, 'utf8'), { logLevel: 'silent' }) as unknown;
  if (!isRecord(doc)) throw new Error(`${file} is not a serverless.yml document`);
  const ctx: VariableContext = { doc, ...options };
  const serviceName = serviceNameOf(doc);
  const provider = isRecord(doc.provider) ? doc.provider : {};
  const environment: Record<string, string> = {};
  if (isRecord(provider.environment)) {
    for (const [key, value] of Object.entries(provider.environment)) {
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') continue;
      const resolved = resolveString(String(value), ctx);
      if (resolved !== undefined) environment[key] = resolved;
    }
  }
  const providerTimeout = typeof provider.timeout === 'number' ? provider.timeout : 6;
  const providerMemory = typeof provider.memorySize === 'number' ? provider.memorySize : 1024;
  const functions = isRecord(doc.functions) ? doc.functions : {};
  const routes: ApiRoute[] = [];
  for (const [functionKey, fn] of Object.entries(functions)) {
    if (!isRecord(fn) || typeof fn.handler !== 'string') continue;
    const { modulePath, exportName } = handlerModule(dirname(file), fn.handler);
    for (const event of httpEvents(fn)) {
      const resource = `/${event.path.replace(/^\/+|\/+$/g, '')}`;
      routes.push({
        functionKey,
        functionName:
          typeof fn.name === 'string' ? fn.name : `${serviceName}-${options.stage}-${functionKey}`,
        modulePath,
        exportName,
        method: event.method,
        resource,
        segments: resource.split('/').filter(Boolean),
        timeoutSeconds: typeof fn.timeout === 'number' ? fn.timeout : providerTimeout,
        memorySize: typeof fn.memorySize === 'number' ? fn.memorySize : providerMemory,
        authorizer: event.authorizer,
      });
    }
  }
  return { serviceName, routes, environment };
}

export interface RouteMatch {
  route: ApiRoute;
  pathParameters: Record<string, string>;
}

function matchSegments(route: ApiRoute, segments: string[]): Record<string, string> | null {
  const params: Record<string, string> = {};
  for (let i = 0; i < route.segments.length; i++) {
    const pattern = route.segments[i] ?? '';
    const greedy = /^\{(\w+)\+\}$/.exec(pattern);
    if (greedy?.[1] !== undefined) {
      if (i >= segments.length) return null;
      params[greedy[1]] = segments.slice(i).join('/');
      return params;
    }
    const segment = segments[i];
    if (segment === undefined) return null;
    const param = /^\{(\w+)\}$/.exec(pattern);
    if (param?.[1] !== undefined) params[param[1]] = segment;
    else if (pattern !== segment) return null;
  }
  return route.segments.length === segments.length ? params : null;
}

/** Literal segments win over `{param}`, which win over `{proxy+}`, position by position. */
function specificity(route: ApiRoute): number[] {
  return route.segments.map((s) => (/^\{\w+\+\}$/.test(s) ? 0 : /^\{\w+\}$/.test(s) ? 1 : 2));
}

function moreSpecific(a: ApiRoute, b: ApiRoute): number {
  const sa = specificity(a);
  const sb = specificity(b);
  for (let i = 0; i < Math.max(sa.length, sb.length); i++) {
    const diff = (sb[i] ?? -1) - (sa[i] ?? -1);
    if (diff !== 0) return diff;
  }
  return 0;
}

/**
 * The route for a path (split into segments) and method, as API Gateway picks it: the most
 * specific resource that matches the path, then that resource's method (or ANY). `null` when
 * nothing matches, including a known path with another method (API Gateway answers both 403).
 */
export function matchRoute(
  routes: readonly ApiRoute[],
  method: string,
  segments: string[],
): RouteMatch | null {
  const candidates = routes
    .map((route) => ({ route, params: matchSegments(route, segments) }))
    .filter((c): c is { route: ApiRoute; params: Record<string, string> } => c.params !== null)
    .sort((a, b) => moreSpecific(a.route, b.route));
  const best = candidates[0];
  if (!best) return null;
  const sameResource = candidates.filter((c) => c.route.resource === best.route.resource);
  const chosen =
    sameResource.find((c) => c.route.method === method) ?? sameResource.find((c) => c.route.method === 'ANY');
  return chosen ? { route: chosen.route, pathParameters: chosen.params } : null;
}
