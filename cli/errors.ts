/** Errors the CLI turns into an exit code and one line on stderr. */

export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

/** Bad command line: exit 2, nothing sent anywhere. */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly exitCode = EXIT.usage;
}

/**
 * Something went wrong while running a well-formed command: exit 1. `problem` carries the
 * API's problem document (or a CLI-made one) for `--json` output.
 */
export class CliError extends Error {
  override name = 'CliError';
  readonly exitCode = EXIT.failure;
  /** Printed as is, without the `Error: ` prefix (for the guide's own lines). */
  readonly bare: boolean;
  constructor(
    message: string,
    readonly problem: Record<string, unknown> = {},
    options: { cause?: unknown; bare?: boolean } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.bare = options.bare === true;
  }
}
