/**
 * Reads what the check script printed through SSM into a verdict. Pure: the Evaluate Check
 * Results Lambda is a thin wrapper, and the CLI/API can reuse the types.
 */
import { CHECK_NAMES } from './checks';

export interface CheckResult {
  name: string;
  passed: boolean;
  detail: string;
}

export interface CheckEvaluation {
  passed: boolean;
  checks: CheckResult[];
  /** Names of the checks that failed or never reported, in report order. */
  failedChecks: string[];
  /** True when SSM cut the output at its limit, so some results may be missing. */
  truncated: boolean;
  /** One line for people: `All 7 checks passed` / `2 of 7 checks failed: A, B`. */
  summary: string;
}

/** The parts of an SSM GetCommandInvocation response the verdict depends on. */
export interface CommandInvocation {
  Status?: string | null;
  StatusDetails?: string | null;
  ResponseCode?: number | null;
  StandardOutputContent?: string | null;
  StandardErrorContent?: string | null;
}

/**
 * GetCommandInvocation returns at most this many characters of standard output; longer
 * output is cut (the full text only goes to S3/CloudWatch when configured).
 */
export const SSM_OUTPUT_LIMIT = 24_000;

/** Reported when the script itself did not finish cleanly although no check failed. */
export const SCRIPT_CHECK_NAME = 'Check script completed';

function parseLine(line: string): CheckResult | null {
  const text = line.trim();
  if (!text.startsWith('{')) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const { name, passed, detail } = value as Record<string, unknown>;
  if (typeof name !== 'string' || name.trim() === '' || typeof passed !== 'boolean') return null;
  return { name: name.trim(), passed, detail: typeof detail === 'string' ? detail : '' };
}

/** Every well-formed check line in the output; anything else (banners, garbage, a cut last line) is skipped. */
export function parseCheckLines(output: string): CheckResult[] {
  return output.split(/\r?\n/).flatMap((line) => parseLine(line) ?? []);
}

function firstLine(text: string | null | undefined): string {
  return (text ?? '').trim().split(/\r?\n/)[0]?.slice(0, 200) ?? '';
}

export function evaluateCheckOutput(
  invocation: CommandInvocation,
  expectedChecks: readonly string[] = CHECK_NAMES,
): CheckEvaluation {
  const output = invocation.StandardOutputContent ?? '';
  const truncated = output.length >= SSM_OUTPUT_LIMIT;
  const reported = new Map<string, CheckResult>();
  for (const result of parseCheckLines(output)) {
    const seen = reported.get(result.name);
    // A check reported twice with different outcomes counts as failed.
    if (!seen || (seen.passed && !result.passed)) reported.set(result.name, result);
  }

  const missingDetail = truncated
    ? `no result: the output was cut at SSM's ${SSM_OUTPUT_LIMIT.toLocaleString('en-US')}-character limit`
    : 'no result: the check script did not report this check';
  const checks: CheckResult[] = expectedChecks.map(
    (name) => reported.get(name) ?? { name, passed: false, detail: missingDetail },
  );
  const expected = new Set(expectedChecks);
  for (const result of reported.values()) if (!expected.has(result.name)) checks.push(result);

  const status = invocation.Status ?? 'Unknown';
  if (status !== 'Success' && checks.every((c) => c.passed)) {
    const stderr = firstLine(invocation.StandardErrorContent);
    checks.push({
      name: SCRIPT_CHECK_NAME,
      passed: false,
      detail: `command ended ${status}${invocation.ResponseCode != null ? ` with exit code ${invocation.ResponseCode}` : ''}${stderr ? `: ${stderr}` : ''}`,
    });
  }

  const failedChecks = checks.filter((c) => !c.passed).map((c) => c.name);
  const passed = failedChecks.length === 0 && status === 'Success';
  const summary = passed
    ? `All ${checks.length} checks passed`
    : `${failedChecks.length} of ${checks.length} checks failed: ${failedChecks.join(', ')}`;
  return { passed, checks, failedChecks, truncated, summary };
}
