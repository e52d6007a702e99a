/** All output goes through here, so commands never touch process streams and tests capture everything. */
import type { OutputStream } from './deps';

export class Printer {
  constructor(
    private readonly stdout: OutputStream,
    private readonly stderr: OutputStream,
    readonly options: { json: boolean; debug: boolean },
  ) {}

  /** True when stdout is a terminal: tables get box borders. */
  get isTTY(): boolean {
    return this.stdout.isTTY === true;
  }

  /** A human line on stdout; silent under `--json`. */
  line(text = ''): void {
    if (!this.options.json) this.stdout.write(`${text}\n`);
  }

  /** The machine-readable result of a command under `--json`. */
  json(value: unknown): void {
    this.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** A line on stderr, shown in every mode (warnings, errors). */
  error(text: string): void {
    this.stderr.write(`${text}\n`);
  }

  /** A line on stderr under `--debug` only. */
  debug(text: string): void {
    if (this.options.debug) this.stderr.write(`[debug] ${text}\n`);
  }
}
