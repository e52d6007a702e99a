/**
 * Budgets from docs/architecture.md section 9, measured as ratios against a baseline in the same run:
 *  - `pulsar-ami latest` and cached `list`, per process, against a bare `node -e 0`;
 *  - a cached `pulsar-ami latest` as people run it: installed on the PATH (`npm link`, the
 *    README's step, into a temporary prefix), the binary run with `node`, and `npx pulsar-ami`;
 *  - AWS calls per `latest` (one parameter read) and per `list` over 10,000 images (pages of 1,000);
 *  - a sandbox validation: wall time against an uncached `latest` round trip, SSM calls and
 *    state transitions per validation (one SendCommand for all checks);
 *  - `latest`: the same number of AWS calls with 1 image and with 10,000 (the published parameter, O(1));
 *  - a sandbox build (Packer in CodeBuild, then the validation, publishing): `pulsar-ami build` wall
 *    time against an uncached `latest` round trip;
 *  - the cleanup plan over 1,000 and 10,000 images against `list --no-cache` of them (bench/cleanup.ts);
 *  - each Lambda bundle: size, biggest packages, init time against `node -e 0` (bench/lambda-bundles.ts).
 * `npm run bench` prints a Markdown table; `--runs N` sets the repetitions (default 15).
 */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { sandboxCredentials } from '../sandbox/credentials';
import { linkCli } from '../scripts/link-cli';
import { reportCleanupBench } from './cleanup';
import { reportLambdaBundles } from './lambda-bundles';
import { startBenchSandbox } from './sandbox';
import { median, time, timeCommand } from './timing';

process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';

const CLI = resolve(import.meta.dirname, '../dist/cli/pulsar-ami.mjs');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 15;

interface Call {
  service: string;
  action: string;
}

interface ExecutionSummary {
  status: string;
  transitions: number;
}

function output(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.on('error', fail);
    child.on('close', (code) =>
      code === 0 ? done(stdout) : fail(new Error(`${args.join(' ')} exited ${code}`)),
    );
  });
}

/** The AWS calls (not the API's own request) the sandbox saw while `run` ran. */
async function callsDuring(
  control: (method: string, path: string, body?: unknown) => Promise<{ calls: Call[] }>,
  run: () => Promise<unknown>,
): Promise<Call[]> {
  await control('DELETE', 'calls');
  await run();
  return (await control('GET', 'calls')).calls.filter((c) => c.service !== 'execute-api');
}

/** Interleaves the cases run by run, so machine noise hits each of them alike. */
async function measure(cases: Record<string, () => Promise<number>>): Promise<Record<string, number>> {
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (let i = 0; i < RUNS; i++) {
    for (const [name, run] of Object.entries(cases)) samples[name]?.push(await run());
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
}

async function main() {
  const bench = await startBenchSandbox('bench');
  const { sandbox, home, env } = bench;
  const bin = await linkCli(join(home, 'npm-prefix'));
  const control = (method: string, path: string, body?: unknown) =>
    bench.control<{ calls: Call[]; executions: ExecutionSummary[] }>(method, path, body);
  try {
    await time([CLI, 'list'], env); // fills the cache
    const perProcess = await measure({
      baseline: () => time(['-e', '0'], env),
      cachedList: () => time([CLI, 'list'], env),
      cachedLatest: () => time([CLI, 'latest'], env),
      latest: () => time([CLI, 'latest', '--no-cache'], env),
    });

    // The CLI as people start it, a cached `latest` each: on the PATH, the binary, npx.
    const pathEnv = { ...env, PATH: `${bin}:${env.PATH ?? ''}` };
    const root = resolve(import.meta.dirname, '..');
    const started = await measure({
      baseline: () => time(['-e', '0'], env),
      onPath: () => timeCommand('pulsar-ami', ['latest'], pathEnv),
      binary: () => time([CLI, 'latest'], env),
    });
    // npx costs seconds a call: a few runs tell it.
    const npxMs: number[] = [];
    for (let i = 0; i < Math.min(RUNS, 5); i++) {
      npxMs.push(await timeCommand('npx', ['pulsar-ami', 'latest'], env, root));
    }
    started.npx = median(npxMs);

    const amis = JSON.parse(await output([CLI, 'list', '--json', '--no-cache'], env)) as {
      items: { imageId: string }[];
    };
    const target = amis.items[0]?.imageId ?? '';
    const validateEnv = { ...env, PULSAR_AMI_POLL_INTERVAL_MS: '25' };
    const VALIDATIONS = Math.max(3, Math.round(RUNS / 3));
    const validationMs: number[] = [];
    const roundTripMs: number[] = [];
    await control('DELETE', 'calls');
    for (let i = 0; i < VALIDATIONS; i++) {
      roundTripMs.push(await time([CLI, 'latest', '--no-cache'], env));
      validationMs.push(await time([CLI, 'validate', '--ami-id', target], validateEnv));
    }
    const validationCalls = (await control('GET', 'calls')).calls.filter((c) => c.service === 'ssm');
    const executions = (await control('GET', 'executions')).executions;
    const transitions = executions.map((e) => e.transitions);
    const sends = validationCalls.filter((c) => c.action === 'SendCommand').length;

    // A sandbox build: CodeBuild runs the buildspec (Packer's stand-in), then ValidateAmi and publishing.
    const BUILDS = Math.max(2, Math.round(RUNS / 5));
    const buildMs: number[] = [];
    const buildRoundTripMs: number[] = [];
    let buildError: string | undefined;
    for (let i = 0; i < BUILDS && !buildError; i++) {
      buildRoundTripMs.push(await time([CLI, 'latest', '--no-cache'], env));
      try {
        buildMs.push(await time([CLI, 'build', '--version', '3.0.0', '--force', '--quiet'], validateEnv));
      } catch (error) {
        buildError = (error as Error).message.split('\n')[0];
      }
    }

    // `latest` with one image, then with 10,000 more: the published parameter answers, so the same calls.
    await control('POST', 'reset', { seed: false });
    const [one] = (
      (await control('POST', 'images', {
        images: [{ name: 'pulsar-base-3.0.0-20251001000000', tags: { Validated: 'true' } }],
      })) as unknown as { images: { imageId: string }[] }
    ).images;
    const ssm = new SSMClient({
      region: 'us-west-2',
      endpoint: sandbox.url,
      credentials: sandboxCredentials,
    });
    await ssm.send(
      new PutParameterCommand({
        Name: '/pulsar-ami/dev/latest-ami-id',
        Value: one?.imageId ?? '',
        Type: 'String',
        DataType: 'aws:ec2:image',
        Overwrite: true,
      }),
    );
    ssm.destroy();
    const latestCallsOne = await callsDuring(control, () => time([CLI, 'latest', '--no-cache'], env));

    await control('POST', 'images', {
      count: 10_000,
      images: [{ name: 'pulsar-base-3.1.0-20251101000000' }],
    });
    const latestCalls = await callsDuring(control, () => time([CLI, 'latest', '--no-cache'], env));

    await control('DELETE', 'calls');
    const memoryBefore = process.memoryUsage().rss;
    const listMs = await time([CLI, 'list', '--no-cache'], env);
    const listCalls = (await control('GET', 'calls')).calls.filter((c) => c.service !== 'execute-api');
    const memoryAfter = process.memoryUsage().rss;

    const ratio = (ms: number | undefined) =>
      ((ms ?? Number.NaN) / (perProcess.baseline ?? Number.NaN)).toFixed(2);
    const row = (...cells: string[]) => console.log(`| ${cells.join(' | ')} |`);
    console.log(`\nMedian of ${RUNS} runs per case, interleaved; node ${process.version}.\n`);
    row('case', 'median ms', 'ratio to `node -e 0`', 'budget');
    row('---', '---', '---', '---');
    row('`node -e 0` (baseline)', perProcess.baseline?.toFixed(1) ?? '', '1.00', '');
    row(
      '`pulsar-ami list` (cached)',
      perProcess.cachedList?.toFixed(1) ?? '',
      ratio(perProcess.cachedList),
      '< 100 ms',
    );
    row(
      '`pulsar-ami latest` (cached)',
      perProcess.cachedLatest?.toFixed(1) ?? '',
      ratio(perProcess.cachedLatest),
      '< 100 ms',
    );
    row(
      '`pulsar-ami latest --no-cache` (API: one SSM read, one image read)',
      perProcess.latest?.toFixed(1) ?? '',
      ratio(perProcess.latest),
      '< 100 ms',
    );
    console.log('');
    const startRatio = (ms: number | undefined) =>
      ((ms ?? Number.NaN) / (started.baseline ?? Number.NaN)).toFixed(2);
    const onPathRatio = Number(startRatio(started.onPath));
    row('start-up, cached `latest`', 'median ms', 'ratio to `node -e 0`', 'budget');
    row('---', '---', '---', '---');
    row('`node -e 0` (baseline)', started.baseline?.toFixed(1) ?? '', '1.00', '');
    row(
      '`pulsar-ami latest` on the PATH (`npm link`)',
      started.onPath?.toFixed(1) ?? '',
      startRatio(started.onPath),
      `≤ 2× ${onPathRatio <= 2 ? '✓' : '✗'}`,
    );
    row(
      '`node dist/cli/pulsar-ami.mjs latest`',
      started.binary?.toFixed(1) ?? '',
      startRatio(started.binary),
      '',
    );
    row(
      `\`npx pulsar-ami latest\` (${npxMs.length} runs)`,
      started.npx?.toFixed(1) ?? '',
      startRatio(started.npx),
      '',
    );
    console.log('');
    row('AWS calls', 'count', 'detail', 'budget');
    row('---', '---', '---', '---');
    row(
      '`latest --no-cache`, 1 image',
      String(latestCallsOne.length),
      latestCallsOne.map((c) => `${c.service}:${c.action}`).join(', '),
      'the same with 10,000',
    );
    row(
      '`latest --no-cache`, 10,001 images',
      String(latestCalls.length),
      latestCalls.map((c) => `${c.service}:${c.action}`).join(', '),
      latestCalls.length === latestCallsOne.length ? 'O(1): the same ✓' : 'O(1): NOT the same ✗',
    );
    row(
      '`list --no-cache`',
      String(listCalls.length),
      `${listMs.toFixed(0)} ms end to end; sandbox process (with the in-process Lambda) RSS growth ${((memoryAfter - memoryBefore) / 2 ** 20).toFixed(0)} MiB`,
      'pages of 1,000; seconds',
    );
    console.log('');
    row('validation (sandbox, time compressed)', 'median', 'ratio', 'budget');
    row('---', '---', '---', '---');
    row('uncached `latest` round trip (baseline)', `${median(roundTripMs).toFixed(0)} ms`, '1.00', '');
    row(
      `\`pulsar-ami validate\` × ${VALIDATIONS}, all passed`,
      `${median(validationMs).toFixed(0)} ms`,
      (median(validationMs) / median(roundTripMs)).toFixed(1),
      'seconds',
    );
    row('SendCommand per validation', (sends / VALIDATIONS).toFixed(1), '', '1 for all checks');
    row('SSM calls per validation', (validationCalls.length / VALIDATIONS).toFixed(1), '', '');
    row(
      'state transitions per validation',
      `${Math.min(...transitions)}–${Math.max(...transitions)}`,
      '',
      '',
    );
    console.log('');
    row('build (sandbox, time compressed)', 'median', 'ratio', 'budget');
    row('---', '---', '---', '---');
    row('uncached `latest` round trip (baseline)', `${median(buildRoundTripMs).toFixed(0)} ms`, '1.00', '');
    if (buildError)
      row('`pulsar-ami build --version 3.0.0 --force --quiet`', 'failed', buildError, 'seconds');
    else {
      row(
        `\`pulsar-ami build --version 3.0.0 --force --quiet\` × ${buildMs.length} (Packer, validate, publish)`,
        `${median(buildMs).toFixed(0)} ms`,
        (median(buildMs) / median(buildRoundTripMs)).toFixed(1),
        'seconds',
      );
    }
  } finally {
    await bench.close();
  }
  await reportCleanupBench(Math.max(1, Math.round(RUNS / 5)));
  await reportLambdaBundles(RUNS);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
