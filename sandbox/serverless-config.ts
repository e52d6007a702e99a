/**
 * Reads serverless.yml once for the whole sandbox (`loadServerlessApp`): functions with their
 * handlers, `http`, `eventBridge` and `schedule` events, state machines, and the environment
 * with the usual `${…}` variables resolved for the served stage and region. The API Gateway's
 * routes and their matching are in api-gateway.ts.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, resolve } from 'node:path';
import { parse } from 'yaml';

type Yaml = Record<string, unknown>;

const isRecord = (value: unknown): value is Yaml =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

interface VariableContext {
  doc: Yaml;
  stage: string;
  region: string;
  accountId: string;
  /** What `${env:NAME}` reads; only `PULSAR_AMI_…` names, the deploy-time settings. */
  env?: Readonly<Record<string, string | undefined>>;
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
  if (source.startsWith('env:PULSAR_AMI_')) {
    const value = ctx.env?.[source.slice(4)];
    if (value !== undefined && value !== '') return value;
  }
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

// ---------------------------------------------------------------------------------------------
// The whole application, for Lambdas invoked outside API Gateway, Step Functions and EventBridge:
// every function (handler, environment, eventBridge patterns, schedules), every state machine of
// serverless-step-functions (`stepFunctions.stateMachines`, definition through `${file(...)}`), and
// the environment with CloudFormation references the sandbox can answer: `Ref: <X>StateMachine`
// (its ARN), `Ref: <Fn>LambdaFunction` (its name), `Fn::GetAtt: [<Fn>LambdaFunction, Arn]` and
// `Fn::GetAtt: [<X>StateMachine, Arn|Name]`. Anything else unresolvable is left out of the
// environment and left as written elsewhere.

export interface ServerlessFunction {
  functionKey: string;
  /** `{service}-{stage}-{functionKey}` unless `name` is given. */
  functionName: string;
  arn: string;
  modulePath: string;
  exportName: string;
  timeoutSeconds: number;
  memorySize: number;
  /** The function's own `environment` (plain values and resolvable references). */
  environment: Record<string, string>;
  http: { method: string; path: string; authorizer: string | null }[];
  eventBridge: { pattern: unknown; input?: unknown; inputPath?: string }[];
  schedules: { expression: string; input?: unknown; enabled: boolean }[];
}

export interface ServerlessStateMachine {
  /** The key under `stepFunctions.stateMachines`. */
  key: string;
  logicalId: string;
  name: string;
  arn: string;
  /** The ASL as loaded (YAML or JSON), references resolved; null when it could not be read. */
  definition: unknown;
  /** Why the definition could not be loaded. */
  definitionError?: string;
}

/** A `Type: AWS::CodeBuild::Project` resource, as the sandbox's CodeBuild serves it. */
export interface ServerlessCodeBuildProject {
  logicalId: string;
  name: string;
  description?: string;
  /** Source.BuildSpec: a path relative to the source folder, or an inline buildspec. */
  buildSpec: string;
  sourceType: string;
  sourceLocation?: string;
  environment: { type: string; image: string; computeType: string };
  /** Environment.EnvironmentVariables; a value the sandbox cannot resolve is empty. */
  environmentVariables: {
    name: string;
    value: string;
    type: 'PLAINTEXT' | 'PARAMETER_STORE' | 'SECRETS_MANAGER';
  }[];
  /** TimeoutInMinutes (default 60). The sandbox takes any positive number (AWS: 5 to 2160). */
  timeoutInMinutes: number;
  queuedTimeoutInMinutes: number;
  /** ConcurrentBuildLimit: builds of the project running at once (none: only the account's). */
  concurrentBuildLimit?: number;
  serviceRole: string;
  /** LogsConfig.CloudWatchLogs.GroupName, default `/aws/codebuild/<name>`. */
  logGroupName: string;
  /** LogsConfig.CloudWatchLogs.StreamName (a prefix for the build's stream). */
  logStreamPrefix?: string;
}

/** A `Type: AWS::EC2::SecurityGroup` resource, as the sandbox's EC2 deploys it. */
export interface ServerlessSecurityGroup {
  logicalId: string;
  /** A stable id per stage, region and logical id (what `Fn::GetAtt [X, GroupId]` answers). */
  groupId: string;
  description: string;
  /** Properties.VpcId when given and resolvable; undefined: the default VPC (as CloudFormation does). */
  vpcId?: string;
  ingressRules: number;
  egress: { ipProtocol: string; fromPort?: number; toPort?: number; cidrIp?: string }[];
}

/** A `Type: AWS::SSM::Document` resource, as the sandbox's SSM deploys it. */
export interface ServerlessSsmDocument {
  logicalId: string;
  name: string;
  documentType: string;
  /** The document's content (schemaVersion, parameters, mainSteps), as an object. */
  content: unknown;
}

export interface ServerlessApp {
  serviceName: string;
  stage: string;
  region: string;
  accountId: string;
  /** provider.environment plus every function's environment, resolved. */
  environment: Record<string, string>;
  functions: ServerlessFunction[];
  stateMachines: ServerlessStateMachine[];
  /** resources.Resources of Type AWS::CodeBuild::Project. */
  codeBuildProjects: ServerlessCodeBuildProject[];
  /** resources.Resources of Type AWS::EC2::SecurityGroup. */
  securityGroups: ServerlessSecurityGroup[];
  /** resources.Resources of Type AWS::SSM::Document. */
  ssmDocuments: ServerlessSsmDocument[];
}

const UNRESOLVED = Symbol('unresolved');
type Resolved = unknown | typeof UNRESOLVED;

/** Serverless' logical-id normalisation: `-` → `Dash`, `_` → `Underscore`, first letter upper. */
export function normalizedName(name: string): string {
  const replaced = name.replace(/-/g, 'Dash').replace(/_/g, 'Underscore');
  return replaced.charAt(0).toUpperCase() + replaced.slice(1);
}

interface AppContext extends VariableContext {
  baseDir: string;
  /** Logical id → what `Ref` answers. */
  refs: Map<string, string>;
  /** Logical id → attribute → value. */
  attributes: Map<string, Record<string, string>>;
}

function resolveIntrinsic(value: Yaml, ctx: AppContext): Resolved {
  const keys = Object.keys(value);
  if (keys.length !== 1) return undefined;
  if (typeof value.Ref === 'string') return ctx.refs.get(value.Ref) ?? UNRESOLVED;
  const getAtt = value['Fn::GetAtt'];
  if (getAtt !== undefined) {
    const [id, attribute] = Array.isArray(getAtt)
      ? getAtt.map(String)
      : typeof getAtt === 'string'
        ? getAtt.split('.')
        : [];
    if (id === undefined || attribute === undefined) return UNRESOLVED;
    return ctx.attributes.get(id)?.[attribute] ?? UNRESOLVED;
  }
  const join = value['Fn::Join'];
  if (Array.isArray(join) && typeof join[0] === 'string') {
    const parts = resolveDeep(join[1], ctx, false);
    if (!Array.isArray(parts) || !parts.every((p) => typeof p === 'string' || typeof p === 'number'))
      return UNRESOLVED;
    return parts.join(join[0]);
  }
  return undefined;
}

/** `${file(x.cjs)}` / `${file(x.js)}`: the module's export (a plain value; functions are not called). */
function loadScriptFile(path: string): unknown {
  const loaded = createRequire(import.meta.url)(path) as unknown;
  return typeof loaded === 'function' ? undefined : loaded;
}

/**
 * Resolves `${…}` variables (including a whole-value `${file(path)}` or `${file(path):key}`),
 * `Ref` and `Fn::GetAtt`, deeply. Lenient mode keeps what it cannot resolve as written.
 */
function resolveDeep(value: unknown, ctx: AppContext, lenient: boolean, depth = 0): Resolved {
  if (depth > 50) return lenient ? value : UNRESOLVED;
  if (typeof value === 'string') {
    const file = /^\$\{file\(([^)]+)\)(?::([\w.-]+))?\}$/.exec(value.trim());
    if (file?.[1] !== undefined) {
      const path = resolve(ctx.baseDir, file[1].trim().replace(/^['"]|['"]$/g, ''));
      if (!existsSync(path)) return lenient ? value : UNRESOLVED;
      let loaded: unknown = ['.cjs', '.js'].includes(extname(path))
        ? loadScriptFile(path)
        : parse(readFileSync(path, 'utf8'), { logLevel: 'silent' });
      if (file[2] !== undefined) loaded = isRecord(loaded) ? lookup(loaded, file[2]) : undefined;
      return resolveDeep(loaded, { ...ctx, baseDir: dirname(path) }, lenient, depth + 1);
    }
    if (!value.includes('${')) return value;
    // A whole value `${self:a.b}` naming a list or a map is that list or map (serverless does so).
    const whole = /^\$\{self:([\w.-]+)\}$/.exec(value.trim());
    if (whole?.[1] !== undefined) {
      const target = lookup(ctx.doc, whole[1]);
      if (Array.isArray(target) || isRecord(target)) return resolveDeep(target, ctx, lenient, depth + 1);
    }
    const resolved = resolveString(value, ctx);
    return resolved ?? (lenient ? value : UNRESOLVED);
  }
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const item of value) {
      const resolved = resolveDeep(item, ctx, lenient, depth + 1);
      if (resolved === UNRESOLVED) return UNRESOLVED;
      out.push(resolved);
    }
    return out;
  }
  if (isRecord(value)) {
    const intrinsic = resolveIntrinsic(value, ctx);
    if (intrinsic === UNRESOLVED) return lenient ? value : UNRESOLVED;
    if (intrinsic !== undefined) return intrinsic;
    const out: Yaml = {};
    for (const [key, item] of Object.entries(value)) {
      const resolved = resolveDeep(item, ctx, lenient, depth + 1);
      if (resolved === UNRESOLVED) return UNRESOLVED;
      out[key] = resolved;
    }
    return out;
  }
  return value;
}

function environmentOf(raw: unknown, ctx: AppContext): Record<string, string> {
  const env: Record<string, string> = {};
  if (!isRecord(raw)) return env;
  for (const [key, value] of Object.entries(raw)) {
    const resolved = resolveDeep(value, ctx, false);
    if (typeof resolved === 'string' || typeof resolved === 'number' || typeof resolved === 'boolean')
      env[key] = String(resolved);
  }
  return env;
}

function eventsOf(fn: Yaml): Yaml[] {
  return (Array.isArray(fn.events) ? fn.events : []).filter(isRecord);
}

export function loadServerlessApp(
  file: string,
  options: {
    stage: string;
    region: string;
    accountId: string;
    env?: Readonly<Record<string, string | undefined>>;
  },
): ServerlessApp {
  const doc = parse(readFileSync(file, 'utf8'), { logLevel: 'silent' }) as unknown;
  if (!isRecord(doc)) throw new Error(`${file} is not a serverless.yml document`);
  const baseDir = dirname(file);
  const ctx: AppContext = { doc, ...options, baseDir, refs: new Map(), attributes: new Map() };
  const serviceName = serviceNameOf(doc);
  const provider = isRecord(doc.provider) ? doc.provider : {};
  const providerTimeout = typeof provider.timeout === 'number' ? provider.timeout : 6;
  const providerMemory = typeof provider.memorySize === 'number' ? provider.memorySize : 1024;
  const { stage, region, accountId } = options;

  // Names and ARNs first, so that references anywhere can be answered.
  const rawFunctions = isRecord(doc.functions) ? doc.functions : {};
  const functionNames = new Map<string, string>();
  for (const [key, fn] of Object.entries(rawFunctions)) {
    if (!isRecord(fn)) continue;
    const named = typeof fn.name === 'string' ? resolveString(fn.name, ctx) : undefined;
    const name = named ?? `${serviceName}-${stage}-${key}`;
    functionNames.set(key, name);
    const arn = `arn:aws:lambda:${region}:${accountId}:function:${name}`;
    const logicalId = `${normalizedName(key)}LambdaFunction`;
    ctx.refs.set(logicalId, name);
    ctx.attributes.set(logicalId, { Arn: arn });
    // serverless-step-functions also accepts the function key itself: Fn::GetAtt: [hello, Arn].
    ctx.attributes.set(key, { Arn: arn });
  }
  const stepFunctions = isRecord(doc.stepFunctions) ? doc.stepFunctions : {};
  const rawMachines = isRecord(stepFunctions.stateMachines) ? stepFunctions.stateMachines : {};
  const machineHeads: { key: string; logicalId: string; name: string; arn: string; raw: Yaml }[] = [];
  for (const [key, machine] of Object.entries(rawMachines)) {
    if (!isRecord(machine)) continue;
    const logicalId =
      typeof machine.id === 'string' ? machine.id : `${normalizedName(key)}StepFunctionsStateMachine`;
    const named = typeof machine.name === 'string' ? resolveString(machine.name, ctx) : undefined;
    const name = named ?? logicalId;
    const arn = `arn:aws:states:${region}:${accountId}:stateMachine:${name}`;
    for (const id of new Set([logicalId, `${normalizedName(key)}StepFunctionsStateMachine`])) {
      ctx.refs.set(id, arn);
      ctx.attributes.set(id, { Arn: arn, Name: name });
    }
    machineHeads.push({ key, logicalId, name, arn, raw: machine });
  }

  const resources =
    isRecord(doc.resources) && isRecord(doc.resources.Resources) ? doc.resources.Resources : {};
  for (const [logicalId, resource] of Object.entries(resources)) {
    if (!isRecord(resource) || resource.Type !== 'AWS::EC2::SecurityGroup') continue;
    const groupId = securityGroupId(stage, region, logicalId);
    ctx.refs.set(logicalId, groupId);
    ctx.attributes.set(logicalId, { GroupId: groupId });
  }

  const functions: ServerlessFunction[] = [];
  const environment = environmentOf(provider.environment, ctx);
  for (const [functionKey, fn] of Object.entries(rawFunctions)) {
    if (!isRecord(fn) || typeof fn.handler !== 'string') continue;
    const { modulePath, exportName } = handlerModule(baseDir, fn.handler);
    const functionName = functionNames.get(functionKey) ?? functionKey;
    const fnEnvironment = environmentOf(fn.environment, ctx);
    Object.assign(environment, fnEnvironment);
    const eventBridge: ServerlessFunction['eventBridge'] = [];
    const schedules: ServerlessFunction['schedules'] = [];
    for (const event of eventsOf(fn)) {
      if (isRecord(event.eventBridge)) {
        const rule = resolveDeep(event.eventBridge, ctx, true) as Yaml;
        eventBridge.push({
          pattern: rule.pattern,
          ...(rule.input !== undefined ? { input: rule.input } : {}),
          ...(typeof rule.inputPath === 'string' ? { inputPath: rule.inputPath } : {}),
        });
      }
      const schedule = resolveDeep(event.schedule, ctx, true);
      if (typeof schedule === 'string') schedules.push({ expression: schedule, enabled: true });
      else if (isRecord(schedule)) {
        const rate = Array.isArray(schedule.rate) ? schedule.rate[0] : schedule.rate;
        schedules.push({
          expression: String(rate ?? ''),
          enabled: schedule.enabled !== false,
          ...(schedule.input !== undefined ? { input: schedule.input } : {}),
        });
      }
    }
    functions.push({
      functionKey,
      functionName,
      arn: `arn:aws:lambda:${region}:${accountId}:function:${functionName}`,
      modulePath,
      exportName,
      timeoutSeconds: typeof fn.timeout === 'number' ? fn.timeout : providerTimeout,
      memorySize: typeof fn.memorySize === 'number' ? fn.memorySize : providerMemory,
      environment: fnEnvironment,
      http: httpEvents(fn),
      eventBridge,
      schedules,
    });
  }

  const stateMachines: ServerlessStateMachine[] = machineHeads.map(({ raw, ...head }) => {
    try {
      const definition = resolveDeep(raw.definition, ctx, true);
      if (!isRecord(definition)) return { ...head, definition: null, definitionError: 'no definition' };
      return { ...head, definition };
    } catch (error) {
      return { ...head, definition: null, definitionError: (error as Error).message };
    }
  });
  const codeBuildProjects = codeBuildProjectsOf(doc, ctx);
  return {
    serviceName,
    stage,
    region,
    accountId,
    environment,
    functions,
    stateMachines,
    codeBuildProjects,
    securityGroups: securityGroupsOf(resources, ctx),
    ssmDocuments: ssmDocumentsOf(resources, ctx),
  };
}

/** The id the sandbox gives a template's security group: stable per stage, region and logical id. */
export function securityGroupId(stage: string, region: string, logicalId: string): string {
  return `sg-${createHash('sha256').update(`${stage}/${region}/${logicalId}`).digest('hex').slice(0, 17)}`;
}

function securityGroupsOf(resources: Yaml, ctx: AppContext): ServerlessSecurityGroup[] {
  const groups: ServerlessSecurityGroup[] = [];
  for (const [logicalId, resource] of Object.entries(resources)) {
    if (!isRecord(resource) || resource.Type !== 'AWS::EC2::SecurityGroup') continue;
    const props = isRecord(resource.Properties) ? resource.Properties : {};
    // VpcId is usually an Fn::If on a condition; the sandbox takes a plain vpc- id only.
    const vpc = resolveDeep(props.VpcId, ctx, false);
    const egress = Array.isArray(props.SecurityGroupEgress) ? props.SecurityGroupEgress.filter(isRecord) : [];
    groups.push({
      logicalId,
      groupId: ctx.attributes.get(logicalId)?.GroupId ?? securityGroupId(ctx.stage, ctx.region, logicalId),
      description: stringOf(resolveDeep(props.GroupDescription, ctx, true)) ?? '',
      ...(typeof vpc === 'string' && vpc.startsWith('vpc-') ? { vpcId: vpc } : {}),
      ingressRules: Array.isArray(props.SecurityGroupIngress) ? props.SecurityGroupIngress.length : 0,
      egress: egress.map((rule) => ({
        ipProtocol: String(rule.IpProtocol ?? '-1'),
        ...(rule.FromPort !== undefined ? { fromPort: Number(rule.FromPort) } : {}),
        ...(rule.ToPort !== undefined ? { toPort: Number(rule.ToPort) } : {}),
        ...(typeof rule.CidrIp === 'string' ? { cidrIp: rule.CidrIp } : {}),
      })),
    });
  }
  return groups;
}

function ssmDocumentsOf(resources: Yaml, ctx: AppContext): ServerlessSsmDocument[] {
  const documents: ServerlessSsmDocument[] = [];
  for (const [logicalId, resource] of Object.entries(resources)) {
    if (!isRecord(resource) || resource.Type !== 'AWS::SSM::Document') continue;
    const props = isRecord(resource.Properties) ? resource.Properties : {};
    const name = resolveDeep(props.Name, ctx, false);
    const content = resolveDeep(props.Content, ctx, false);
    if (typeof name !== 'string' || content === UNRESOLVED) continue;
    documents.push({
      logicalId,
      name,
      documentType: stringOf(props.DocumentType) ?? 'Command',
      content: typeof content === 'string' ? JSON.parse(content) : content,
    });
  }
  return documents;
}

const stringOf = (value: unknown): string | undefined =>
  typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? String(value)
    : undefined;

/** Every AWS::CodeBuild::Project of `resources.Resources`, references resolved where the sandbox can. */
function codeBuildProjectsOf(doc: Yaml, ctx: AppContext): ServerlessCodeBuildProject[] {
  const resources =
    isRecord(doc.resources) && isRecord(doc.resources.Resources) ? doc.resources.Resources : {};
  const projects: ServerlessCodeBuildProject[] = [];
  for (const [logicalId, resource] of Object.entries(resources)) {
    if (!isRecord(resource) || resource.Type !== 'AWS::CodeBuild::Project') continue;
    const props = isRecord(resource.Properties) ? resource.Properties : {};
    const value = (raw: unknown): string | undefined => {
      const resolved = resolveDeep(raw, ctx, false);
      return resolved === UNRESOLVED ? undefined : stringOf(resolved);
    };
    const name = value(props.Name) ?? logicalId;
    const source = isRecord(props.Source) ? props.Source : {};
    const environment = isRecord(props.Environment) ? props.Environment : {};
    const variables = Array.isArray(environment.EnvironmentVariables) ? environment.EnvironmentVariables : [];
    const logs =
      isRecord(props.LogsConfig) && isRecord(props.LogsConfig.CloudWatchLogs)
        ? props.LogsConfig.CloudWatchLogs
        : {};
    const minutes = (raw: unknown, fallback: number) => {
      const n = Number(value(raw));
      return Number.isFinite(n) && n > 0 ? n : fallback;
    };
    const sourceLocation = value(source.Location);
    const description = value(props.Description);
    const logStreamPrefix = value(logs.StreamName);
    projects.push({
      logicalId,
      name,
      ...(description !== undefined ? { description } : {}),
      buildSpec: value(source.BuildSpec) ?? 'buildspec.yml',
      sourceType: value(source.Type) ?? 'NO_SOURCE',
      ...(sourceLocation !== undefined ? { sourceLocation } : {}),
      environment: {
        type: value(environment.Type) ?? 'LINUX_CONTAINER',
        image: value(environment.Image) ?? 'aws/codebuild/amazonlinux-x86_64-standard:5.0',
        computeType: value(environment.ComputeType) ?? 'BUILD_GENERAL1_SMALL',
      },
      environmentVariables: variables.filter(isRecord).flatMap((variable) => {
        const variableName = value(variable.Name);
        if (variableName === undefined) return [];
        const type = value(variable.Type);
        return [
          {
            name: variableName,
            value: value(variable.Value) ?? '',
            type: type === 'PARAMETER_STORE' || type === 'SECRETS_MANAGER' ? type : 'PLAINTEXT',
          },
        ];
      }),
      timeoutInMinutes: minutes(props.TimeoutInMinutes, 60),
      queuedTimeoutInMinutes: minutes(props.QueuedTimeoutInMinutes, 480),
      ...(Number.isInteger(Number(props.ConcurrentBuildLimit)) && Number(props.ConcurrentBuildLimit) >= 1
        ? { concurrentBuildLimit: Number(props.ConcurrentBuildLimit) }
        : {}),
      serviceRole:
        value(props.ServiceRole) ??
        `arn:aws:iam::${ctx.accountId}:role/${stringOf(props.ServiceRole) ?? `${name}-service-role`}`,
      logGroupName: value(logs.GroupName) ?? `/aws/codebuild/${name}`,
      ...(logStreamPrefix !== undefined ? { logStreamPrefix } : {}),
    });
  }
  return projects;
}

/** A function by name, full or partial ARN (with or without a qualifier), or serverless key. */
export function findFunction(app: ServerlessApp, nameOrArn: string): ServerlessFunction | undefined {
  const arn = /^(?:arn:aws[\w-]*:lambda:[\w-]+:)?(?:\d{12}:)?(?:function:)?([\w-]+)(?::[\w$-]+)?$/.exec(
    nameOrArn,
  );
  const name = arn?.[1] ?? nameOrArn;
  return (
    app.functions.find((f) => f.functionName === name) ?? app.functions.find((f) => f.functionKey === name)
  );
}
