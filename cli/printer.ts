/**
 * All output goes through here, so commands never touch process streams and tests capture
 * everything. It is also the one place that makes text safe to show: every line written is
 * made printable (no control character from outside reaches the terminal), and every message
 * on stderr is clipped (no value echoed in it, however long, floods the screen). On a
 * terminal it adds colour to the marks and the live line while the CLI waits.
 */
import type { OutputStream } from './deps';
import { LiveLine } from './live';
import { colourFor, paint } from './style';

/** C0 controls but tab and newline, DEL and C1 controls: what can move a cursor or start an escape sequence. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** The longest run of non-blank characters (one echoed value) a message keeps. */
export const MAX_VALUE_CHARS = 200;
/** The longest line of a message. */
export const MAX_LINE_CHARS = 1_000;
/** The most lines one message keeps. */
export const MAX_MESSAGE_LINES = 200;

/**
 * Text from outside (a build's log, an image's tags) made safe to print on a terminal: control
 * characters are shown as `\x1b`-style escapes, so nothing it contains can recolour the
 * screen, move the cursor or overwrite a line already printed.
 */
export function printable(text: string): string {
  return text.replace(CONTROL_CHARACTERS, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

const LONG_VALUE = new RegExp(`\\S{${MAX_VALUE_CHARS + 1},}`, 'g');

const cut = (text: string, max: number) =>
  text.length > max ? `${text.slice(0, max)}… (${text.length - max} more characters)` : text;

/**
 * A message cut to a readable size: each value (a run of non-blank characters) to
 * MAX_VALUE_CHARS, each line to MAX_LINE_CHARS, at most MAX_MESSAGE_LINES lines.
 */
export function clip(text: string): string {
  const lines = text.split('\n');
  const kept = lines.slice(0, MAX_MESSAGE_LINES).map((line) =>
    cut(
      line.replace(LONG_VALUE, (value) => cut(value, MAX_VALUE_CHARS)),
      MAX_LINE_CHARS,
    ),
  );
  if (lines.length > MAX_MESSAGE_LINES) kept.push(`… (${lines.length - MAX_MESSAGE_LINES} more lines)`);
  return kept.join('\n');
}

export interface PrinterOptions {
  json: boolean;
  debug: boolean;
}

export interface PrinterEnvironment {
  env?: Readonly<Record<string, string | undefined>>;
  /** The clock of the live line's elapsed time. */
  now?: () => number;
}

export class Printer {
  private readonly colourOut: boolean;
  private readonly colourErr: boolean;
  private readonly live: LiveLine | undefined;

  constructor(
    private readonly stdout: OutputStream,
    private readonly stderr: OutputStream,
    readonly options: PrinterOptions,
    environment: PrinterEnvironment = {},
  ) {
    const env = environment.env ?? {};
    this.colourOut = !options.json && colourFor(stdout, env);
    this.colourErr = !options.json && colourFor(stderr, env);
    // A terminal that can erase a line: not `TERM=dumb` (Emacs' shell, some CI consoles).
    this.live =
      stdout.isTTY === true && !options.json && env.TERM !== 'dumb'
        ? new LiveLine(stdout, environment.now ?? Date.now, this.colourOut)
        : undefined;
  }

  /** True when stdout is a terminal: tables get box borders. */
  get isTTY(): boolean {
    return this.stdout.isTTY === true;
  }

  /** A human line on stdout; silent under `--json`. */
  line(text = ''): void {
    if (this.options.json) return;
    this.live?.erase();
    const safe = printable(text);
    this.stdout.write(`${this.colourOut ? paint(safe) : safe}\n`);
    this.live?.printed(safe);
    this.live?.restore();
  }

  /** The machine-readable result of a command under `--json`. */
  json(value: unknown): void {
    this.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** A message on stderr, shown in every mode (warnings, errors): printable and clipped. */
  error(text: string): void {
    this.live?.erase();
    const safe = clip(printable(text));
    this.stderr.write(`${this.colourErr ? safe.split('\n').map(paint).join('\n') : safe}\n`);
    this.live?.restore();
  }

  /**
   * A JSON problem document on stderr (`--json` errors), on one line. JSON escapes control
   * characters itself; the caller clips what it echoes (`clip`), as cutting the JSON would
   * break it.
   */
  problem(value: Record<string, unknown>): void {
    this.stderr.write(`${JSON.stringify(value)}\n`);
  }

  /** A line on stderr under `--debug` only, printable and clipped. */
  debug(text: string): void {
    if (!this.options.debug) return;
    this.live?.erase();
    this.stderr.write(`[debug] ${clip(printable(text))}\n`);
    this.live?.restore();
  }

  /**
   * Resolves as `work` does; meanwhile, on a terminal, the live line shows the current step
   * (the last `…...` line printed, else `label`) and the time spent on it.
   */
  async waitFor<T>(work: Promise<T>, label = 'Waiting...'): Promise<T> {
    if (!this.live) return work;
    this.live.begin(label);
    try {
      return await work;
    } finally {
      this.live.end();
    }
  }
}
