/**
 * What a BuildAmi step's end means, in words: why the build failed (the CodeBuild phase and
 * its reason, read from the .sync task's Cause), why validation failed (the failed checks,
 * from the child execution's Cause), and where a build was published (the home region and each
 * copy) or which copies failed. Pure: no AWS call.
 */
import { errorReason as plainReason, type StepError } from './execution-progress';
import { field, parseJsonObject, text } from './json';

export type { StepError };

export interface Failure {
  error: 'BuildFailed' | 'ValidationFailed' | 'CopyFailed';
  cause: string;
}

/** Fail states keep at most 32,768 characters of cause; a reason this long is cut well before. */
const MAX_DETAIL = 1_000;

const clip = (text: string, max = MAX_DETAIL) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

const records = (value: unknown): Record<string, unknown>[] =>
  Array.isArray(value)
    ? value.filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null)
    : [];

/**
 * CodeBuild's "Error while executing command: <the whole command, many lines>. Reason: exit
 * status 1" as one line: the command's last line (what ran last, e.g. `packer build .`) and the
 * reason. Any other message is kept as it is.
 */
export function commandReason(message: string | undefined): string | undefined {
  const match =
    message === undefined ? null : /^Error while executing command: ([\s\S]*)\. Reason: (.*)$/.exec(message);
  if (!match) return message;
  const lines = (match[1] ?? '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  return `command \`${lines.at(-1) ?? ''}\` failed (${match[2]})`;
}

/** Why the CodeBuild build (or the step reading its result) failed, naming the phase and reason. */
export function explainBuildFailure(buildId: string, error: StepError): Failure {
  const parsed = parseJsonObject(error.Cause ?? undefined);
  // The build itself, or the task's output shape around it ({"Build": {...}}).
  const wrapped = field(parsed, 'Build');
  const build =
    typeof wrapped === 'object' && wrapped !== null ? (wrapped as Record<string, unknown>) : parsed;
  const codeBuildId = text(field(build, 'Id'));
  const status = text(field(build, 'BuildStatus'));
  if (build && (codeBuildId || status)) {
    const phases = records(field(build, 'Phases'));
    const failed =
      phases.find((p) => {
        const phaseStatus = text(field(p, 'PhaseStatus'));
        return phaseStatus !== undefined && phaseStatus !== 'SUCCEEDED';
      }) ?? phases.find((p) => text(field(p, 'PhaseType')) === text(field(build, 'CurrentPhase')));
    const phase =
      text(field(failed, 'PhaseType')) ?? text(field(build, 'CurrentPhase')) ?? 'an unknown phase';
    const reasons = records(field(failed, 'Contexts'))
      .map((c) =>
        [text(field(c, 'StatusCode')), commandReason(text(field(c, 'Message')))].filter(Boolean).join(': '),
      )
      .filter((r) => r !== '');
    const reason = reasons.length > 0 ? reasons.join('; ') : `the build ended ${status ?? 'unsuccessfully'}`;
    return {
      error: 'BuildFailed',
      cause: clip(
        `Build ${buildId}: CodeBuild build ${codeBuildId ?? '(unknown id)'} ${status ?? 'FAILED'} in phase ${phase}: ${reason}`,
      ),
    };
  }
  if (text(error.Error) === 'States.Timeout') {
    return {
      error: 'BuildFailed',
      cause: `Build ${buildId}: the CodeBuild build did not finish in time (stopped)`,
    };
  }
  return { error: 'BuildFailed', cause: clip(`Build ${buildId}: ${plainReason(error)}`) };
}

/** The checks ValidateAmi reports in its Cause, `Validation checks failed: ["a","b"]`. */
function failedChecks(cause: string | undefined): string[] | null {
  const match = cause ? /^Validation checks failed: (\[.*\])$/s.exec(cause) : null;
  if (!match?.[1]) return null;
  try {
    const names = JSON.parse(match[1]) as unknown;
    return Array.isArray(names) ? names.map(String) : null;
  } catch {
    return null;
  }
}

/** Why validation failed: the failed checks, or what kept the checks from running. */
export function explainValidationFailure(buildId: string, imageId: string, error: StepError): Failure {
  const child = parseJsonObject(error.Cause ?? undefined);
  const childError = text(field(child, 'Error'));
  const childCause = text(field(child, 'Cause'));
  const validationId = text(field(child, 'Name'));
  const where = validationId ? ` (validation ${validationId})` : '';
  const checks = childError === 'ValidationChecksFailed' ? failedChecks(childCause) : null;
  if (checks) {
    return {
      error: 'ValidationFailed',
      cause: clip(
        `Build ${buildId}: AMI ${imageId} failed validation${where}: checks failed: ${checks.join(', ')}`,
      ),
    };
  }
  const reason = childError
    ? `${childError}${childCause ? `: ${childCause}` : ''}`
    : text(error.Error) === 'States.Timeout'
      ? 'the validation did not finish in time'
      : plainReason(error);
  return {
    error: 'ValidationFailed',
    cause: clip(`Build ${buildId}: AMI ${imageId} could not be validated${where}: ${reason}`),
  };
}

/** One region's end in Copy To Regions. */
export interface CopyOutcome {
  region: string;
  amiId: string | null;
  published: boolean;
  error?: string | null;
  cause?: string | null;
}

export interface CopySummary {
  /** Where the build is published: the home region first, then each copy published. */
  regions: { region: string; amiId: string }[];
  failed: boolean;
  error: 'CopyFailed' | null;
  cause: string | null;
}

export function summarizeCopies(
  buildId: string,
  home: { region: string; imageId: string },
  copies: readonly CopyOutcome[],
): CopySummary {
  const regions = [{ region: home.region, amiId: home.imageId }];
  const failures: string[] = [];
  for (const copy of copies) {
    if (copy.published && copy.amiId) {
      if (!regions.some((r) => r.region === copy.region))
        regions.push({ region: copy.region, amiId: copy.amiId });
      continue;
    }
    const reason = plainReason({ Error: copy.error ?? 'CopyFailed', Cause: copy.cause ?? null });
    failures.push(`${copy.region}${copy.amiId ? ` (${copy.amiId})` : ''}: ${clip(reason, 300)}`);
  }
  if (failures.length === 0) return { regions, failed: false, error: null, cause: null };
  return {
    regions,
    failed: true,
    error: 'CopyFailed',
    cause: clip(
      `Build ${buildId}: AMI ${home.imageId} is validated and published in ${home.region}, but the copy to ${failures.length === 1 ? 'a region' : `${failures.length} regions`} failed: ${failures.join('; ')}`,
      4_000,
    ),
  };
}
