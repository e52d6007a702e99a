/**
 * docs/architecture.md section 9, "each Lambda bundle small, init time measured": bundles every function
 * of serverless.yml with esbuild and the options of its `custom.esbuild`, then reports per
 * function the bundle size, the packages that weigh most in it (from the metafile) and its
 * init time — the median wall time of `node -e "require(bundle)"` as a ratio to `node -e 0`,
 * measured interleaved in the same run. Module init makes no AWS call (config reads env, client
 * construction sends nothing), so no network and no credentials are needed.
 *
 * `npm run bench` prints this table after its own; `npm run bench:lambda` prints it alone.
 * `--runs N` sets the repetitions (default 15).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BuildOptions, build, type Metafile, type Plugin } from 'esbuild';
import { parse } from 'yaml';
import { median, time } from './timing';

export const ROOT = resolve(import.meta.dirname, '..');

export interface LambdaFunction {
  /** The function's key in serverless.yml, e.g. `listAmis`. */
  name: string;
  /** Its source, relative to the root, e.g. `functions/list-amis.ts`. */
  entry: string;
}

interface ServerlessYml {
  custom?: { esbuild?: Record<string, unknown> };
  functions?: Record<string, { handler?: string }>;
}

const serverlessYml = (): ServerlessYml =>
  parse(readFileSync(join(ROOT, 'serverless.yml'), 'utf8')) as ServerlessYml;

/** Every function of serverless.yml, with the TypeScript file its handler lives in. */
export function lambdaFunctions(): LambdaFunction[] {
  return Object.entries(serverlessYml().functions ?? {}).map(([name, fn]) => {
    const handler = fn.handler ?? '';
    return { name, entry: `${handler.slice(0, handler.lastIndexOf('.'))}.ts` };
  });
}

/** serverless-esbuild's `plugins`: a file of the service that exports the list. */
function pluginsFrom(file: string | undefined): Plugin[] {
  return file ? (createRequire(import.meta.url)(join(ROOT, file)) as Plugin[]) : [];
}

/** The esbuild options serverless-esbuild uses: those of serverless.yml's `custom.esbuild`. */
export function bundleOptions(): BuildOptions {
  const custom = serverlessYml().custom?.esbuild ?? {};
  const pick = <T>(key: string) => custom[key] as T;
  return {
    absWorkingDir: ROOT,
    bundle: pick<boolean>('bundle'),
    minify: pick<boolean>('minify'),
    sourcemap: pick<boolean>('sourcemap'),
    target: pick<string>('target'),
    platform: pick<'node'>('platform'),
    format: pick<'cjs'>('format'),
    mainFields: pick<string[] | undefined>('mainFields'),
    plugins: pluginsFrom(pick<string | undefined>('plugins')),
    metafile: true,
    logLevel: 'error',
  };
}

/** Bytes in the output per npm package (`(project)` for the project's own files). */
export function packagesIn(metafile: Metafile): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [path, input] of Object.entries(output.inputs)) {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
      const key = match?.[1] ?? '(project)';
      sizes.set(key, (sizes.get(key) ?? 0) + input.bytesInOutput);
    }
  }
  return new Map([...sizes].sort((a, b) => b[1] - a[1]));
}

const kib = (bytes: number) => (bytes / 1024).toFixed(0);

/** What the Lambda environment gives module init: serverless.yml's provider env, no network. */
const lambdaEnv = (): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  AWS_REGION: 'us-west-2',
  AWS_EC2_METADATA_DISABLED: 'true',
  STAGE: 'dev',
  LATEST_AMI_PARAMETER: '/pulsar-ami/dev/latest-ami-id',
  POWERTOOLS_SERVICE_NAME: 'pulsar-ami',
  POWERTOOLS_LOG_LEVEL: 'ERROR',
  VALIDATE_AMI_STATE_MACHINE_ARN:
    'arn:aws:states:us-west-2:123456789012:stateMachine:pulsar-ami-dev-validate-ami',
});

/** Bundles each function, times its init against `node -e 0`, prints a Markdown table. */
export async function reportLambdaBundles(runs: number): Promise<void> {
  const functions = lambdaFunctions();
  const outdir = await mkdtemp(join(tmpdir(), 'pulsar-ami-lambda-bundles-'));
  try {
    const bundles = await Promise.all(
      functions.map(async (fn) => {
        const outfile = join(outdir, `${fn.name}.js`);
        const { metafile } = await build({ ...bundleOptions(), entryPoints: [fn.entry], outfile });
        const bytes = Object.values(metafile?.outputs ?? {}).reduce((sum, o) => sum + o.bytes, 0);
        return { ...fn, outfile, bytes, packages: metafile ? packagesIn(metafile) : new Map() };
      }),
    );
    const env = lambdaEnv();
    const load = (file: string) => ['-e', `require(${JSON.stringify(file)})`];
    for (const b of bundles) {
      // Once, untimed: the bundle loads and exports a handler (and the file cache is warm).
      await time(
        ['-e', `if (typeof require(${JSON.stringify(b.outfile)}).handler !== 'function') process.exit(3)`],
        env,
      );
    }
    const samples = new Map<string, number[]>([
      ['baseline', []],
      ...bundles.map((b) => [b.name, []] as [string, number[]]),
    ]);
    for (let i = 0; i < runs; i++) {
      samples.get('baseline')?.push(await time(['-e', '0'], env));
      for (const b of bundles) samples.get(b.name)?.push(await time(load(b.outfile), env));
    }
    const baseline = median(samples.get('baseline') ?? []);
    const row = (...cells: string[]) => console.log(`| ${cells.join(' | ')} |`);
    console.log(
      `\nLambda bundles (serverless.yml custom.esbuild options); init = median of ${runs} runs of \`node -e "require(bundle)"\`, interleaved with \`node -e 0\`; node ${process.version}.\n`,
    );
    row('function', 'bundle KiB', 'biggest packages (KiB)', 'init ms', 'ratio to `node -e 0`');
    row('---', '---', '---', '---', '---');
    row('`node -e 0` (baseline)', '', '', baseline.toFixed(1), '1.00');
    for (const b of bundles) {
      const init = median(samples.get(b.name) ?? []);
      const biggest = [...b.packages]
        .slice(0, 4)
        .map(([name, bytes]) => `${name} ${kib(bytes)}`)
        .join(', ');
      row(`${b.name} (${b.entry})`, kib(b.bytes), biggest, init.toFixed(1), (init / baseline).toFixed(2));
    }
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const runsArg = process.argv.indexOf('--runs');
  reportLambdaBundles(runsArg > 0 ? Number(process.argv[runsArg + 1]) : 15).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
