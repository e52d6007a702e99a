/**
 * The cleanup bench (bench/cleanup.ts) in a cheap mode: one run over 50 images. It measures what
 * it says — both commands answered, the sandbox's call record counted the image reads, a ratio
 * and a row per case — so `npm run bench` cannot rot unnoticed.
 */
import { describe, expect, it } from 'vitest';
import { benchCleanup, cleanupTable, PLAN_TO_LIST_BUDGET } from '../../bench/cleanup';

describe('bench/cleanup.ts', () => {
  it('measures the plan and list --no-cache over the same images, with their DescribeImages calls', async () => {
    const [result, ...rest] = await benchCleanup({ runs: 1, sizes: [50] });
    expect(rest).toEqual([]);
    expect(result?.images).toBe(50);
    for (const c of [result?.plan, result?.list]) {
      expect(c?.medianMs).toBeGreaterThan(0);
      // Both ownership queries at least once each.
      expect(c?.describeImages).toBeGreaterThanOrEqual(2);
      expect(c?.awsCalls).toBeGreaterThanOrEqual(c?.describeImages ?? 0);
      expect(c?.describeImageReferences).toBeGreaterThanOrEqual(0);
      expect(Number.isFinite(c?.peakRssMiB)).toBe(true);
    }
    expect(result?.ratio).toBeCloseTo((result?.plan.medianMs ?? 0) / (result?.list.medianMs ?? 1), 6);
    const table = cleanupTable(result ? [result] : [], 1).join('\n');
    expect(table).toContain('| 50 | `list --no-cache` (baseline) |');
    expect(table).toContain('| 50 | `cleanup --json` (the plan, dry run) |');
    expect(table).toContain(`≤ ${PLAN_TO_LIST_BUDGET}×`);
  }, 120_000);
});
