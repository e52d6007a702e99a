/**
 * The budget in docs/architecture.md, "the cleanup plan over 10,000 images costs at most 5× a
 * `list --no-cache` of them": the dry run (`pulsar-ami cleanup --json`, the whole plan, no
 * change) against `pulsar-ami list --no-cache`, over 1,000 and 10,000 sandbox images, cases
 * interleaved in the same run. Per case: the median wall time of the CLI process end to end, the
 * DescribeImages and DescribeImageReferences calls the sandbox recorded, and the peak RSS growth
 * of the sandbox process while the command ran — the sandbox serves the API's Lambdas in
 * process, so that is the handler's memory plus the sandbox's answering it (the CLI's own
 * process is not counted).
 *
 * `npm run bench` prints this table after its own; `npm run bench:cleanup` prints it alone.
 * `--runs N` sets the repetitions (default 3); `--sizes 1000,10000` the image counts.
 */
import { resolve } from 'node:path';
import { startBenchSandbox } from './sandbox';
import { median, time } from './timing';

const CLI = resolve(import.meta.dirname, '../dist/cli/pulsar-ami.mjs');

/** The budget: the plan over the largest catalogue at most this many times a `list --no-cache` of it. */
export const PLAN_TO_LIST_BUDGET = 5;

export interface CaseResult {
  medianMs: number;
  describeImages: number;
  describeImageReferences: number;
  /** AWS calls of any kind the command caused. */
  awsCalls: number;
  /** Peak RSS growth of the sandbox process (with the in-process Lambda) while it ran, MiB. */
  peakRssMiB: number;
}

export interface SizeResult {
  images: number;
  plan: CaseResult;
  list: CaseResult;
  /** plan / list --no-cache, median wall times. */
  ratio: number;
}

interface Call {
  service: string;
  action: string;
}

/** Runs `run` while sampling this process's RSS; the peak growth over the start, in MiB. */
async function peakRss<T>(run: () => Promise<T>): Promise<{ value: T; peakMiB: number }> {
  const start = process.memoryUsage().rss;
  let peak = start;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 10);
  try {
    const value = await run();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { value, peakMiB: (peak - start) / 2 ** 20 };
  } finally {
    clearInterval(timer);
  }
}

export async function benchCleanup(options: { runs: number; sizes: number[] }): Promise<SizeResult[]> {
  const bench = await startBenchSandbox('bench-cleanup');
  const { env } = bench;
  const control = (method: string, path: string, body?: unknown) =>
    bench.control<{ calls: Call[] }>(method, path, body);
  const measureCase = async (args: string[]): Promise<{ ms: number; calls: Call[]; peakMiB: number }> => {
    global.gc?.();
    await control('DELETE', 'calls');
    const { value: ms, peakMiB } = await peakRss(() => time([CLI, ...args], env));
    const calls = (await control('GET', 'calls')).calls.filter((c) => c.service !== 'execute-api');
    return { ms, calls, peakMiB };
  };
  const summary = (samples: { ms: number; calls: Call[]; peakMiB: number }[]): CaseResult => {
    const last = samples.at(-1)?.calls ?? [];
    return {
      medianMs: median(samples.map((s) => s.ms)),
      describeImages: last.filter((c) => c.action === 'DescribeImages').length,
      describeImageReferences: last.filter((c) => c.action === 'DescribeImageReferences').length,
      awsCalls: last.length,
      peakRssMiB: Math.max(...samples.map((s) => s.peakMiB)),
    };
  };
  const results: SizeResult[] = [];
  const monthAgo = new Date(Date.now() - 30 * 86_400_000).toISOString();
  try {
    // Warm-up, unmeasured: the sandbox loads each handler on its first request.
    await time([CLI, 'list', '--no-cache', '--json'], env);
    await time([CLI, 'cleanup', '--json'], env);
    for (const images of options.sizes) {
      // This tool's images only, so both commands see the same catalogue (plus the seed's own).
      await control('POST', 'reset', { seed: true });
      // A minute apart back from a month ago: all past the minimum age, so every image beyond
      // the newest N is a candidate the plan asks about (the costly case).
      await control('POST', 'images', {
        count: images,
        images: [{ name: 'pulsar-base-3.1.0-20251101000000', createdAt: monthAgo }],
      });
      const plan: { ms: number; calls: Call[]; peakMiB: number }[] = [];
      const list: { ms: number; calls: Call[]; peakMiB: number }[] = [];
      for (let i = 0; i < options.runs; i++) {
        list.push(await measureCase(['list', '--no-cache', '--json']));
        plan.push(await measureCase(['cleanup', '--json']));
      }
      const p = summary(plan);
      const l = summary(list);
      results.push({ images, plan: p, list: l, ratio: p.medianMs / l.medianMs });
    }
  } finally {
    await bench.close();
  }
  return results;
}

/** The Markdown table `npm run bench` prints. */
export function cleanupTable(results: SizeResult[], runs: number): string[] {
  const lines = [
    '',
    `Cleanup plan against \`list --no-cache\` (sandbox, median of ${runs} runs each, interleaved; node ${process.version}).`,
    'Peak memory: RSS growth of the sandbox process, which runs the API Lambda in process.',
    '',
    '| images | command | median ms | DescribeImages | DescribeImageReferences | AWS calls | peak RSS MiB | plan / list | budget |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  const largest = Math.max(...results.map((r) => r.images));
  for (const r of results) {
    const row = (name: string, c: CaseResult, ratio: string, budget: string) =>
      lines.push(
        `| ${r.images.toLocaleString('en-US')} | ${name} | ${c.medianMs.toFixed(0)} | ${c.describeImages} | ${c.describeImageReferences} | ${c.awsCalls} | ${c.peakRssMiB.toFixed(0)} | ${ratio} | ${budget} |`,
      );
    row('`list --no-cache` (baseline)', r.list, '1.00', '');
    const within = r.ratio <= PLAN_TO_LIST_BUDGET;
    row(
      '`cleanup --json` (the plan, dry run)',
      r.plan,
      r.ratio.toFixed(2),
      r.images === largest ? `≤ ${PLAN_TO_LIST_BUDGET}× ${within ? '✓' : '✗'}` : '',
    );
  }
  return lines;
}

function argument(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

export async function reportCleanupBench(runs: number, sizes = [1_000, 10_000]): Promise<SizeResult[]> {
  const results = await benchCleanup({ runs, sizes });
  for (const line of cleanupTable(results, runs)) console.log(line);
  return results;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
  const runs = Number(argument('--runs') ?? 3);
  const sizes = (argument('--sizes') ?? '1000,10000').split(',').map(Number);
  reportCleanupBench(runs, sizes).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
