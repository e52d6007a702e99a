/**
 * The live line on a terminal: while the CLI waits (a request in flight, the pause between
 * polls), one line at the bottom shows a spinner, the current step and the time spent on it,
 * redrawn in place. It is erased before every real line, so what stays on the screen is the
 * command's own output. The `Printer` owns it; it is only made when stdout is a terminal.
 */
import type { OutputStream } from './deps';
import { dim } from './style';

/** A wait shorter than this shows nothing (a quick request should not flash a spinner). */
export const LIVE_DELAY_MS = 150;
/** How often the line is redrawn (spinner frame, elapsed time). */
export const LIVE_REFRESH_MS = 200;

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
/** Back to the start of the line, erase it. */
const ERASE = '\r\u001b[2K';

/** `7s`, `2m 05s`, `1h 02m`. */
export function elapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
}

/** A line the command printed that names a step being worked on: it ends with `...`. */
export function stepOf(line: string): string | undefined {
  const text = line.trim();
  return /(\.\.\.|…)$/.test(text) ? text : undefined;
}

export class LiveLine {
  private waits = 0;
  private drawn = false;
  private frame = 0;
  private step: string | undefined;
  private stepSince: number;
  private fallback = 'Waiting...';
  private delay: ReturnType<typeof setTimeout> | undefined;
  private ticker: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly out: OutputStream,
    private readonly now: () => number,
    private readonly colour: boolean,
  ) {
    this.stepSince = now();
  }

  /** A line the command printed: a new step starts the clock again. */
  printed(line: string): void {
    const step = stepOf(line);
    if (step !== undefined && step !== this.step) {
      this.step = step;
      this.stepSince = this.now();
    }
  }

  /** A wait begins; `label` says what for, when no step was printed yet. */
  begin(label: string): void {
    this.fallback = label;
    if (this.waits++ > 0) return;
    if (this.step === undefined) this.stepSince = this.now();
    this.delay = setTimeout(() => {
      this.delay = undefined;
      this.draw();
      this.ticker = setInterval(() => this.draw(), LIVE_REFRESH_MS);
      this.ticker.unref?.();
    }, LIVE_DELAY_MS);
    this.delay.unref?.();
  }

  /** A wait ends; when it was the last one, the line goes. */
  end(): void {
    if (this.waits === 0 || --this.waits > 0) return;
    clearTimeout(this.delay);
    clearInterval(this.ticker);
    this.delay = undefined;
    this.ticker = undefined;
    this.erase();
  }

  /** Erases the line before a real line is written; `restore` draws it again after. */
  erase(): void {
    if (!this.drawn) return;
    this.out.write(ERASE);
    this.drawn = false;
  }

  /** Draws the line again if a wait is showing it (after a real line was written). */
  restore(): void {
    if (this.ticker !== undefined) this.draw();
  }

  private draw(): void {
    const spinner = FRAMES[this.frame++ % FRAMES.length] ?? '-';
    const label = this.step ?? this.fallback;
    const time = elapsed(this.now() - this.stepSince);
    // One screen row at most: a wrapped line could not be erased in place.
    const room = Math.max(10, (this.out.columns || 80) - time.length - 4);
    const text = label.length > room ? `${label.slice(0, room - 1)}…` : label;
    this.out.write(`${ERASE}${spinner} ${text} ${this.colour ? dim(time) : time}`);
    this.drawn = true;
  }
}
