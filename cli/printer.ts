/** All output goes through here, so commands never touch process streams and tests capture everything. */
import type { OutputStream } from './deps';

/** C0 controls but tab and newline, DEL and C1 controls: what can move a cursor or start an escape sequence. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/**
 * Text from outside (a build's log, an image's tags) made safe to print on a terminal: control
 * characters are shown as `\x1b`-style escapes, so nothing it contains can recolour the
 * screen, move the cursor or overwrite a line already printed.
 */
export function printable(text: string): string {
  return text.replace(CONTROL_CHARACTERS, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

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
