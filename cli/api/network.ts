/** What went wrong on the way to an endpoint, in a few words: the same for fetch and for the SDK. */

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found (DNS)',
  EAI_AGAIN: 'host name lookup failed (DNS)',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENETDOWN: 'network down',
  ECONNABORTED: 'connection aborted',
};

interface NetworkishError {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  cause?: { code?: unknown; message?: unknown };
}

/** The system error code of a failed connection (`ECONNREFUSED`, …), on the error or its cause. */
export function networkCode(error: unknown): string | undefined {
  const e = error as NetworkishError | undefined;
  for (const code of [e?.code, e?.cause?.code]) {
    if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) return code;
  }
  return undefined;
}

/** `connection refused (ECONNREFUSED)`, or undefined when `error` is not a failure to connect. */
export function networkFailure(error: unknown): string | undefined {
  const e = error as NetworkishError | undefined;
  if (e?.name === 'TimeoutError') return 'no answer (timed out)';
  const code = networkCode(error);
  if (code === undefined || !(code in REASONS)) return undefined;
  return `${REASONS[code]} (${code})`;
}

/** `connection refused (ECONNREFUSED)`, or the code with the system's own words for another one. */
export function reasonForCode(code: string, message: string | undefined): string {
  return `${REASONS[code] ?? message ?? 'network error'} (${code})`;
}
