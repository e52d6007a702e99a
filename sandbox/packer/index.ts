/**
 * The sandbox's Packer: what `packer` does when a CodeBuild build in the sandbox runs it (the
 * shim from the sandbox's Packer release hands each invocation over, see codebuild/bridge.ts).
 *
 *   packer version                     Packer v<the version the buildspec pins>
 *   packer init <dir|file>             checks required_version and required_plugins, installs
 *                                      the amazon plugin (a marker under ~/.config/packer/plugins)
 *   packer validate [flags] <dir|file> variables set and valid, sources and blocks known,
 *                                      provisioner files present: "The configuration is valid."
 *   packer build [flags] <dir|file>    builds in the sandbox's EC2 (build.ts), then the manifest
 *
 * Flags (Go style, `-name=value` or `-name value`): -var, -var-file, -only, -except, -color,
 * -force, -on-error=cleanup|run-cleanup-provisioner, -timestamp-ui, -parallel-builds,
 * -syntax-only, -evaluate-datasources, -upgrade; anything else is Packer's "flag provided but
 * not defined" (exit 1). Template problems are Packer's `Error: …` diagnostics (exit 1).
 *
 * Every file of the build is read through untrusted-fs.ts (the build runs while Packer does).
 * The request and context types are the bridge's (codebuild/bridge.ts).
 */
import { randomUUID } from 'node:crypto';
import { posix } from 'node:path';
import type { PackerContext, PackerRequest } from '../codebuild/bridge';
import { jailOwner } from '../ssm/executor';
import { AmazonEbsBuild, BuildCancelled, type BuildEnvironment, buildHas } from './build';
import {
  appliesTo,
  type BuildContext,
  ebsConfig,
  evaluateBody,
  type ManifestPostProcessor,
  type Provisioner,
  postProcessorConfig,
  provisionerConfig,
  Session,
} from './config';
import { asString, evaluate, HclError, isUnknown, literalOf, UNKNOWN } from './hcl';
import { checkVariables, loadTemplate, resolveVariables, type Template } from './template';
import { listIn, mkdirIn, readFileIn, typeIn, UntrustedPathError, writeFileIn } from './untrusted-fs';

/** The version `packer version` answers when the store pins none. */
export const DEFAULT_PACKER_VERSION = '1.11.2';
/** The amazon plugin the stand-in "installs". */
export const AMAZON_PLUGIN = { source: 'github.com/hashicorp/amazon', version: '1.3.3' } as const;

class UsageError extends Error {}

interface Cli {
  command: 'version' | 'init' | 'validate' | 'build';
  path: string;
  vars: [string, string][];
  varFiles: string[];
  only: string[];
  except: string[];
  syntaxOnly: boolean;
  evaluateDatasources: boolean;
  onError: string;
}

const FLAGS: Record<Cli['command'], Record<string, 'bool' | 'value'>> = {
  version: {},
  init: { upgrade: 'bool' },
  validate: {
    var: 'value',
    'var-file': 'value',
    only: 'value',
    except: 'value',
    'syntax-only': 'bool',
    'evaluate-datasources': 'bool',
    'no-warn-undeclared-var': 'bool',
  },
  build: {
    var: 'value',
    'var-file': 'value',
    only: 'value',
    except: 'value',
    color: 'bool',
    force: 'bool',
    'on-error': 'value',
    'parallel-builds': 'value',
    'timestamp-ui': 'bool',
    'warn-on-undeclared-var': 'bool',
  },
};

function parseCli(args: string[]): Cli {
  const [first, ...rest] = args;
  if (first === '-v' || first === '--version' || first === '-version' || first === 'version') {
    return {
      command: 'version',
      path: '.',
      vars: [],
      varFiles: [],
      only: [],
      except: [],
      syntaxOnly: false,
      evaluateDatasources: false,
      onError: 'cleanup',
    };
  }
  if (first !== 'init' && first !== 'validate' && first !== 'build') {
    throw new UsageError(
      first === undefined
        ? 'Usage: packer [--version] [--help] <command> [<args>]'
        : `packer: the sandbox's Packer runs version, init, validate and build, not '${first}'`,
    );
  }
  const cli: Cli = {
    command: first,
    path: '',
    vars: [],
    varFiles: [],
    only: [],
    except: [],
    syntaxOnly: false,
    evaluateDatasources: false,
    onError: 'cleanup',
  };
  const flags = FLAGS[first];
  const positional: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] as string;
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    if (arg === '--') {
      positional.push(...rest.slice(i + 1));
      break;
    }
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq === -1 ? body : body.slice(0, eq);
    const kind = flags[name];
    if (!kind) throw new UsageError(`flag provided but not defined: -${name}`);
    let value: string;
    if (eq !== -1) value = body.slice(eq + 1);
    else if (kind === 'bool') value = 'true';
    else {
      const next = rest[i + 1];
      if (next === undefined) throw new UsageError(`flag needs an argument: -${name}`);
      value = next;
      i += 1;
    }
    if (name === 'var') {
      const at = value.indexOf('=');
      if (at <= 0) throw new UsageError(`invalid value "${value}" for flag -var: expected NAME=VALUE`);
      cli.vars.push([value.slice(0, at), value.slice(at + 1)]);
    } else if (name === 'var-file') cli.varFiles.push(value);
    else if (name === 'only') cli.only.push(...value.split(',').filter(Boolean));
    else if (name === 'except') cli.except.push(...value.split(',').filter(Boolean));
    else if (name === 'syntax-only') cli.syntaxOnly = value !== 'false';
    else if (name === 'evaluate-datasources') cli.evaluateDatasources = value !== 'false';
    else if (name === 'on-error') {
      if (
        value !== 'cleanup' &&
        value !== 'run-cleanup-provisioner' &&
        value !== 'abort' &&
        value !== 'ask'
      ) {
        throw new UsageError(
          `-on-error must be cleanup, abort, ask or run-cleanup-provisioner, got "${value}"`,
        );
      }
      if (value === 'abort' || value === 'ask') {
        throw new UsageError(
          `-on-error=${value}: the sandbox's Packer always cleans up (the build instance is terminated)`,
        );
      }
      cli.onError = value;
    } else if (name === 'parallel-builds' && !/^\d+$/.test(value)) {
      throw new UsageError(`invalid value "${value}" for flag -parallel-builds`);
    }
  }
  if (positional.length !== 1) {
    throw new UsageError(
      `Usage: packer ${first} [options] TEMPLATE (one template file or folder, got ${positional.length})`,
    );
  }
  cli.path = positional[0] as string;
  return cli;
}

/** A jail path of the build, from one relative to the working directory. */
const jailPath = (cwd: string, path: string): string =>
  posix.normalize(path.startsWith('/') ? path : posix.join(cwd, path));

interface Loaded {
  template: Template;
  templateDir: string;
  autoVarFiles: string[];
}

async function readTemplate(ctx: PackerContext, cwd: string, path: string): Promise<Loaded> {
  const target = jailPath(cwd, path);
  const type = typeIn(ctx.buildRoot, target);
  let files: string[];
  let templateDir: string;
  let autoVarFiles: string[] = [];
  if (type === 'dir') {
    const names = listIn(ctx.buildRoot, target);
    if (names.some((n) => n.endsWith('.pkr.json'))) {
      throw new HclError(
        'Unsupported template',
        `${path}: JSON templates (.pkr.json) are not supported by the sandbox's Packer.`,
      );
    }
    files = names.filter((n) => n.endsWith('.pkr.hcl')).map((n) => posix.join(target, n));
    autoVarFiles = names.filter((n) => n.endsWith('.auto.pkrvars.hcl')).map((n) => posix.join(target, n));
    templateDir = target;
  } else if (type === 'file') {
    if (!target.endsWith('.pkr.hcl')) {
      throw new HclError(
        'Unsupported template',
        `${path}: the sandbox's Packer reads HCL2 templates (*.pkr.hcl).`,
      );
    }
    files = [target];
    templateDir = posix.dirname(target);
  } else {
    throw new HclError('Failed to read the template', `${path}: no such file or directory`);
  }
  if (files.length === 0) {
    throw new HclError('Could not find any config file', `${path} contains no *.pkr.hcl file.`);
  }
  const sources = files.map((file) => ({
    name: posix.basename(file),
    source: readFileIn(ctx.buildRoot, file, 1 << 20).toString('utf8'),
  }));
  return { template: await loadTemplate(sources), templateDir, autoVarFiles };
}

// ---------------------------------------------------------------------------------------------
// Versions

function parseVersion(v: string): number[] {
  return v
    .replace(/^v/, '')
    .split('.')
    .map((n) => Number.parseInt(n, 10) || 0);
}

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Whether `version` meets a HashiCorp version constraint (`>= 1.10.0, < 2`, `~> 1.3`). */
export function satisfies(version: string, constraint: string): boolean {
  const v = parseVersion(version);
  return constraint.split(',').every((part) => {
    const m = /^\s*(>=|<=|!=|~>|=|>|<)?\s*v?([0-9][0-9.]*)\s*$/.exec(part);
    if (!m) throw new HclError('Invalid version constraint', `"${constraint}" is not a version constraint.`);
    const op = m[1] ?? '=';
    const wanted = parseVersion(m[2] as string);
    const c = compare(v, wanted);
    switch (op) {
      case '=':
        return c === 0;
      case '!=':
        return c !== 0;
      case '>':
        return c > 0;
      case '>=':
        return c >= 0;
      case '<':
        return c < 0;
      case '<=':
        return c <= 0;
      default: {
        // ~> 1.3 allows >= 1.3 and < 2.0; ~> 1.3.2 allows >= 1.3.2 and < 1.4.
        const parts = (m[2] as string).split('.').length;
        const upper = wanted.slice(0, Math.max(parts - 1, 1));
        upper[upper.length - 1] = (upper[upper.length - 1] ?? 0) + 1;
        return c >= 0 && compare(v.slice(0, upper.length), upper) < 0;
      }
    }
  });
}

/** Where `packer init` puts the amazon plugin (PACKER_PLUGIN_PATH or ~/.config/packer/plugins). */
function pluginFile(env: Record<string, string>): string {
  const base = env.PACKER_PLUGIN_PATH?.startsWith('/')
    ? env.PACKER_PLUGIN_PATH
    : '/root/.config/packer/plugins';
  return posix.join(
    base,
    AMAZON_PLUGIN.source,
    `packer-plugin-amazon_v${AMAZON_PLUGIN.version}_x5.0_linux_${process.arch === 'arm64' ? 'arm64' : 'amd64'}`,
  );
}

async function checkRequirements(
  template: Template,
  packerVersion: string,
): Promise<{ source: string; version: string }[]> {
  const plugins: { source: string; version: string }[] = [];
  for (const block of template.packer) {
    for (const key of Object.keys(block)) {
      if (key !== 'required_version' && key !== 'required_plugins') {
        throw new HclError(
          'Unsupported argument',
          `An argument named "${key}" is not expected in the packer block.`,
        );
      }
    }
    if (block.required_version !== undefined) {
      const constraint = literalOf(String(block.required_version));
      if (!satisfies(packerVersion, constraint)) {
        throw new HclError(
          'Unsupported Packer Core version',
          `This configuration does not support Packer version ${packerVersion}. To proceed, either choose another supported Packer version or update this version constraint (${constraint}).`,
        );
      }
    }
    const required = Array.isArray(block.required_plugins)
      ? block.required_plugins
      : [block.required_plugins ?? {}];
    for (const group of required as Record<string, Record<string, unknown>>[]) {
      for (const [name, spec] of Object.entries(group)) {
        const source = String(spec?.source ?? '');
        const version = String(spec?.version ?? '');
        if (source !== AMAZON_PLUGIN.source) {
          throw new HclError(
            `Failed getting the "${source || name}" plugin`,
            `The sandbox's Packer has the ${AMAZON_PLUGIN.source} plugin only.`,
          );
        }
        if (version && !satisfies(AMAZON_PLUGIN.version, literalOf(version))) {
          throw new HclError(
            `Failed getting the "${source}" plugin`,
            `no release version found for constraints: "${version}" (the sandbox has v${AMAZON_PLUGIN.version})`,
          );
        }
        plugins.push({ source, version });
      }
    }
  }
  return plugins;
}

// ---------------------------------------------------------------------------------------------
// Commands

interface Prepared {
  session: Session;
  template: Template;
  /** Selected builds: display name, source block and the evaluated steps. */
  builds: {
    displayName: string;
    buildName: string | undefined;
    source: { type: string; name: string };
    blockIndex: number;
  }[];
}

const globMatch = (pattern: string, value: string): boolean =>
  new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(value);

async function prepare(
  request: PackerRequest,
  ctx: PackerContext,
  cli: Cli,
  mode: 'validate' | 'build',
  packerVersion: string,
  now: Date,
): Promise<Prepared> {
  const { template, templateDir, autoVarFiles } = await readTemplate(ctx, request.cwd, cli.path);
  await checkRequirements(template, packerVersion);
  const varFiles = [...autoVarFiles, ...cli.varFiles.map((f) => jailPath(request.cwd, f))].map((file) => {
    try {
      return {
        name: posix.basename(file),
        source: readFileIn(ctx.buildRoot, file, 1 << 20).toString('utf8'),
      };
    } catch (error) {
      if (error instanceof UntrustedPathError)
        throw new HclError('Failed to read a variables file', error.message);
      throw error;
    }
  });
  const variables = await resolveVariables(template, { env: request.env, varFiles, vars: cli.vars, now });
  await checkVariables(template, variables, now);
  const session = new Session({
    template,
    variables,
    mode,
    packerVersion,
    templateDir,
    cwd: request.cwd,
    now,
    defaultRegion: request.env.AWS_REGION ?? ctx.region,
    region: (name) => ctx.world.region(name),
    accountId: ctx.world.accountId,
  });
  const builds: Prepared['builds'] = [];
  for (const [blockIndex, build] of template.builds.entries()) {
    const nameValue =
      build.body.name === undefined ? undefined : await evaluate(build.body.name, session.scope());
    if (isUnknown(nameValue))
      throw new HclError(
        'Invalid build name',
        `${build.file}: the build's name must be known before the build.`,
      );
    const buildName =
      nameValue === undefined || nameValue === null ? undefined : asString(nameValue, 'build name');
    const names = Array.isArray(build.body.sources) ? (build.body.sources as unknown[]) : [];
    if (build.body.source !== undefined) {
      throw new HclError(
        'Unsupported block type',
        `${build.file}: source blocks inside a build are not supported by the sandbox's Packer; use sources = [...].`,
      );
    }
    if (names.length === 0)
      throw new HclError(
        'Missing sources',
        `${build.file}: a build block needs sources = ["source.<type>.<name>"].`,
      );
    for (const raw of names) {
      const ref = literalOf(String(raw));
      const m = /^source\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(ref);
      if (!m) throw new HclError('Invalid source reference', `"${ref}" is not source.<type>.<name>.`);
      const [, type, name] = m as unknown as [string, string, string];
      if (!template.sources.has(`${type}.${name}`)) {
        throw new HclError('Unknown source', `${build.file}: Unknown source ${type}.${name}`);
      }
      if (type !== 'amazon-ebs') {
        throw new HclError('Unknown source type', `${type}: the sandbox's Packer builds amazon-ebs sources.`);
      }
      const displayName = buildName ? `${buildName}.${type}.${name}` : `${type}.${name}`;
      const selected =
        (cli.only.length === 0 ||
          cli.only.some((p) => globMatch(p, displayName) || globMatch(p, `${type}.${name}`))) &&
        !cli.except.some((p) => globMatch(p, displayName) || globMatch(p, `${type}.${name}`));
      if (selected) builds.push({ displayName, buildName, source: { type, name }, blockIndex });
    }
  }
  return { session, template, builds };
}

async function sourceConfig(
  prepared: Prepared,
  source: { type: string; name: string },
  mode: 'validate' | 'build',
) {
  const block = prepared.template.sources.get(`${source.type}.${source.name}`);
  if (!block) throw new HclError('Unknown source', `${source.type}.${source.name}`);
  const context: BuildContext = { source: { name: source.name, type: source.type }, build: UNKNOWN };
  return ebsConfig(block, await evaluateBody(block.body, prepared.session.scope(context)), mode);
}

/** The steps of one build evaluated with `context` (build.* known only while it runs). */
async function steps(prepared: Prepared, blockIndex: number, context: BuildContext) {
  const build = prepared.template.builds[blockIndex];
  const provisioners: { kind: string; step: Provisioner }[] = [];
  const postProcessors: ManifestPostProcessor[] = [];
  let index = 0;
  for (const nested of build?.blocks ?? []) {
    const config = await evaluateBody(nested.body, prepared.session.scope(context));
    if (nested.kind === 'post-processor') postProcessors.push(postProcessorConfig(nested, config));
    else provisioners.push({ kind: nested.kind, step: provisionerConfig(nested, config, index++) });
  }
  return { provisioners, postProcessors };
}

function checkFiles(ctx: PackerContext, cwd: string, provisioners: { step: Provisioner }[]): void {
  for (const { step } of provisioners) {
    if (step.type === 'shell') {
      for (const script of step.scripts) {
        if (typeIn(ctx.buildRoot, jailPath(cwd, script)) !== 'file') {
          throw new HclError(
            '1 error(s) occurred',
            `* Bad script '${script}': stat ${script}: no such file or directory`,
          );
        }
      }
    } else if (!step.generated) {
      for (const source of step.sources) {
        if (!buildHas(ctx.buildRoot, jailPath(cwd, source))) {
          throw new HclError(
            '1 error(s) occurred',
            `* Bad source '${source}': stat ${source}: no such file or directory`,
          );
        }
      }
    }
  }
}

/** Packer's durations: the two largest units (`2 seconds 310 milliseconds`). */
export function humanDuration(ms: number): string {
  const units: [string, number][] = [
    ['hour', 3_600_000],
    ['minute', 60_000],
    ['second', 1000],
    ['millisecond', 1],
  ];
  const parts: string[] = [];
  let rest = Math.max(0, Math.round(ms));
  for (const [name, size] of units) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0 && parts.length < 2) parts.push(`${n} ${name}${n === 1 ? '' : 's'}`);
  }
  return parts.length > 0 ? parts.join(' ') : '0 milliseconds';
}

interface Manifest {
  builds: Record<string, unknown>[];
  last_run_uuid: string;
}

/** The manifest's jail path: only in the build's own folders, no symlink on the way (the bridge's rule). */
function manifestPath(ctx: PackerContext, cwd: string, post: ManifestPostProcessor): string {
  const path = jailPath(cwd, post.output);
  try {
    ctx.hostPath(path);
  } catch (error) {
    throw new HclError(`Error writing the manifest ${post.output}: ${(error as Error).message}`);
  }
  return path;
}

function writeManifest(
  ctx: PackerContext,
  cwd: string,
  post: ManifestPostProcessor,
  entry: Record<string, unknown>,
  runUuid: string,
): void {
  const path = manifestPath(ctx, cwd, post);
  let manifest: Manifest = { builds: [], last_run_uuid: runUuid };
  if (typeIn(ctx.buildRoot, path) === 'file') {
    try {
      const existing = JSON.parse(
        readFileIn(ctx.buildRoot, path, 16 << 20).toString('utf8'),
      ) as Partial<Manifest>;
      manifest = { builds: Array.isArray(existing.builds) ? existing.builds : [], last_run_uuid: runUuid };
    } catch (error) {
      throw new HclError(
        `Error unmarshalling the existing manifest ${post.output}: ${(error as Error).message}`,
      );
    }
  }
  manifest.builds.push(entry);
  manifest.last_run_uuid = runUuid;
  writeFileIn(ctx.buildRoot, path, `${JSON.stringify(manifest, null, 2)}\n`, jailOwner());
}

async function runBuild(
  request: PackerRequest,
  ctx: PackerContext,
  cli: Cli,
  packerVersion: string,
): Promise<number> {
  const now = new Date();
  const started = Date.now();
  if (typeIn(ctx.buildRoot, pluginFile(request.env)) !== 'file') {
    await checkRequirements((await readTemplate(ctx, request.cwd, cli.path)).template, packerVersion);
    throw new HclError(
      'Missing plugins',
      `The following plugins are required, but not installed:\n\n${AMAZON_PLUGIN.source} (the template's constraint)\n\nDid you run packer init for this project ?`,
    );
  }
  const prepared = await prepare(request, ctx, cli, 'build', packerVersion, now);
  await prepared.session.checkDataSources();
  const runUuid = randomUUID();
  const artifacts: { displayName: string; region: string; imageId: string }[] = [];
  const failures: { displayName: string; message: string }[] = [];
  let cancelled = false;
  for (const selected of prepared.builds) {
    ctx.log(`${selected.displayName}: output will be in this color.`);
    ctx.log('');
  }
  for (const selected of prepared.builds) {
    const { displayName } = selected;
    const buildStarted = Date.now();
    const env: BuildEnvironment = {
      world: ctx.world,
      region: ctx.region,
      buildRoot: ctx.buildRoot,
      cwd: request.cwd,
      signal: ctx.signal,
      displayName,
      sourceName: selected.source.name,
      say: (line) => ctx.log(`==> ${displayName}: ${line}`),
      message: (line) => ctx.log(`    ${displayName}: ${line}`),
    };
    const config = await sourceConfig(prepared, selected.source, 'build');
    // Where the manifest goes is known now: refused before anything is launched, not after.
    const planned = await steps(prepared, selected.blockIndex, {
      source: { ...selected.source },
      build: UNKNOWN,
    });
    for (const post of planned.postProcessors) manifestPath(ctx, request.cwd, post);
    const build = new AmazonEbsBuild(env, config);
    const context = (): BuildContext => ({ source: { ...selected.source }, build: build.buildVariables() });
    let succeeded = false;
    try {
      await build.launch();
      const { provisioners, postProcessors } = await steps(prepared, selected.blockIndex, context());
      checkFiles(ctx, request.cwd, provisioners);
      const names = [displayName, `${selected.source.type}.${selected.source.name}`];
      const main = provisioners.filter((p) => p.kind === 'provisioner');
      const onError = provisioners.filter((p) => p.kind === 'error-cleanup-provisioner');
      try {
        for (const { step } of main) {
          if (appliesTo(step, names)) await build.provision(step, selected.source.name);
        }
      } catch (error) {
        if (!(error instanceof BuildCancelled) && onError.length > 0) {
          env.say('Provisioning step had errors: Running the cleanup provisioner, if present...');
          for (const { step } of onError) {
            try {
              await build.provision(step, selected.source.name);
            } catch {
              // The error-cleanup provisioner's own failure does not hide the first one.
            }
          }
        }
        throw error;
      }
      const artifact = await build.createImage();
      succeeded = true;
      await build.cleanup(true);
      for (const post of postProcessors) {
        if (!appliesTo(post, names)) continue;
        env.say('Running post-processor:  (type manifest)');
        writeManifest(
          ctx,
          request.cwd,
          post,
          {
            name: selected.source.name,
            builder_type: selected.source.type,
            build_time: Math.floor(Date.now() / 1000),
            files: null,
            artifact_id: `${artifact.region}:${artifact.imageId}`,
            packer_run_uuid: runUuid,
            custom_data: post.customData,
          },
          runUuid,
        );
      }
      artifacts.push({ displayName, ...artifact });
      ctx.log(`Build '${displayName}' finished after ${humanDuration(Date.now() - buildStarted)}.`);
    } catch (error) {
      if (!succeeded) await build.cleanup(false);
      const message =
        error instanceof BuildCancelled
          ? 'Build was cancelled.'
          : error instanceof HclError
            ? error.message
            : `unexpected error: ${(error as Error).message}`;
      if (error instanceof BuildCancelled) cancelled = true;
      else env.say(message);
      failures.push({ displayName, message });
      ctx.log(`Build '${displayName}' errored after ${humanDuration(Date.now() - buildStarted)}: ${message}`);
      if (cancelled) break;
    }
  }
  ctx.log('');
  ctx.log(`==> Wait completed after ${humanDuration(Date.now() - started)}`);
  ctx.log('');
  if (cancelled) {
    ctx.log('Cleanly cancelled builds after being interrupted.');
    return 1;
  }
  if (failures.length > 0) {
    ctx.log("==> Some builds didn't complete successfully and had errors:");
    for (const failure of failures) ctx.log(`--> ${failure.displayName}: ${failure.message}`);
    ctx.log('');
  }
  if (artifacts.length === 0) {
    ctx.log('==> Builds finished but no artifacts were created.');
    return 1;
  }
  ctx.log('==> Builds finished. The artifacts of successful builds are:');
  for (const artifact of artifacts) {
    ctx.log(`--> ${artifact.displayName}: AMIs were created:`);
    ctx.log(`${artifact.region}: ${artifact.imageId}`);
    ctx.log('');
  }
  return failures.length > 0 ? 1 : 0;
}

async function runValidate(
  request: PackerRequest,
  ctx: PackerContext,
  cli: Cli,
  packerVersion: string,
): Promise<number> {
  const now = new Date();
  if (cli.syntaxOnly) {
    await readTemplate(ctx, request.cwd, cli.path);
    ctx.log('Syntax-only check passed. Everything looks okay.');
    return 0;
  }
  const prepared = await prepare(
    request,
    ctx,
    cli,
    cli.evaluateDatasources ? 'build' : 'validate',
    packerVersion,
    now,
  );
  await prepared.session.checkDataSources();
  for (const selected of prepared.builds) {
    await sourceConfig(prepared, selected.source, 'validate');
    const { provisioners } = await steps(prepared, selected.blockIndex, {
      source: { ...selected.source },
      build: UNKNOWN,
    });
    checkFiles(ctx, request.cwd, provisioners);
  }
  ctx.log('The configuration is valid.');
  return 0;
}

async function runInit(
  request: PackerRequest,
  ctx: PackerContext,
  cli: Cli,
  packerVersion: string,
): Promise<number> {
  const { template } = await readTemplate(ctx, request.cwd, cli.path);
  const plugins = await checkRequirements(template, packerVersion);
  if (plugins.length === 0) {
    ctx.log(
      'No plugins requirement found, make sure you reference a Packer config containing a packer.required_plugins block.',
    );
    return 0;
  }
  const file = pluginFile(request.env);
  if (typeIn(ctx.buildRoot, file) === 'file') return 0;
  try {
    mkdirIn(ctx.buildRoot, posix.dirname(file), jailOwner());
    writeFileIn(
      ctx.buildRoot,
      file,
      "#!/bin/sh\n# The amazon plugin of the pulsar-ami sandbox's Packer (built in).\n",
      jailOwner(),
    );
    writeFileIn(ctx.buildRoot, `${file}_SHA256SUM`, `${randomUUID().replaceAll('-', '')}\n`, jailOwner());
  } catch (error) {
    if (error instanceof UntrustedPathError)
      throw new HclError('Failed to install the plugin', error.message);
    throw error;
  }
  ctx.log(`Installed plugin ${AMAZON_PLUGIN.source} v${AMAZON_PLUGIN.version} in "${file}"`);
  return 0;
}

/** Runs one `packer …` invocation of a sandbox build; resolves to Packer's exit code. */
export async function runPacker(request: PackerRequest, ctx: PackerContext): Promise<number> {
  try {
    const cli = parseCli(request.args);
    const packerVersion = (await ctx.world.artifacts.packerVersion()) ?? DEFAULT_PACKER_VERSION;
    switch (cli.command) {
      case 'version':
        ctx.log(request.args[0] === 'version' ? `Packer v${packerVersion}` : packerVersion);
        return 0;
      case 'init':
        return await runInit(request, ctx, cli, packerVersion);
      case 'validate':
        return await runValidate(request, ctx, cli, packerVersion);
      case 'build':
        return await runBuild(request, ctx, cli, packerVersion);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      ctx.log(error.message);
      return 1;
    }
    if (error instanceof HclError) {
      for (const line of error.render().split('\n')) ctx.log(line);
      return 1;
    }
    if (error instanceof UntrustedPathError) {
      ctx.log(`Error: ${error.message}`);
      return 1;
    }
    ctx.log(`Error: the sandbox's Packer failed: ${(error as Error).message}`);
    return 1;
  }
}
