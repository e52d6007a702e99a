/**
 * Colour on a terminal: the marks of the guide's lines (`✓`, `✗`, `!`, `Error:`, `Warning:`)
 * in green, red and yellow. Off when the stream is not a terminal, and as the common
 * conventions say: `NO_COLOR` (any non-empty value) turns it off, `FORCE_COLOR` turns it on
 * even when piped (`FORCE_COLOR=0` or `false` off), and it wins over `NO_COLOR`, as in Node.
 */
import type { OutputStream } from './deps';

type Env = Readonly<Record<string, string | undefined>>;

/** Whether text written to `stream` may carry colour. */
export function colourFor(stream: OutputStream, env: Env): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force.toLowerCase() !== 'false';
  if (env.NO_COLOR) return false;
  return stream.isTTY === true && env.TERM !== 'dumb';
}

const sgr = (code: number) => (text: string) => `\u001b[${code}m${text}\u001b[0m`;
export const green = sgr(32);
export const red = sgr(31);
export const yellow = sgr(33);
export const dim = sgr(2);

/**
 * The line with its marks coloured. Runs after the line was made printable, so the only
 * escape sequences in it are these.
 */
export function paint(line: string): string {
  return line
    .replaceAll('✓', green('✓'))
    .replaceAll('✗', red('✗'))
    .replace(/^(\s*)! /, (_, indent: string) => `${indent}${yellow('!')} `)
    .replace(/^Error:/, red('Error:'))
    .replace(/^Warning:/, yellow('Warning:'));
}
