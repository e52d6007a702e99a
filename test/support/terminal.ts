/** Reading what a terminal shows: the escape sequences the CLI writes on one. */

export const ESC = '\u001b';
/** The live line's start: back to the line's start, erase it. */
export const ERASE_LINE = `\r${ESC}[2K`;
/** Any colour (SGR) sequence. */
export const SGR = new RegExp(`${ESC}\\[\\d+m`, 'g');
/** The live line's spinner frames. */
export const SPINNER = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/;

/** `text` in the CLI's green, red or yellow. */
export const green = (text: string) => `${ESC}[32m${text}${ESC}[0m`;
export const red = (text: string) => `${ESC}[31m${text}${ESC}[0m`;
export const yellow = (text: string) => `${ESC}[33m${text}${ESC}[0m`;

/** A live line drawn for a step `step` (a regex source) with its elapsed seconds, dim or not. */
export function liveLine(step: string): RegExp {
  return new RegExp(`\\r${ESC}\\[2K${SPINNER.source} ${step}[^\\r\\n]*\\.\\.\\. (?:${ESC}\\[2m)?\\d+s`);
}

/** The screen's lines once the output is drawn: what follows each line's last erase, colours removed. */
export function screen(out: string): string[] {
  return out
    .replaceAll('\r\n', '\n')
    .split('\n')
    .map((line) => line.split(ERASE_LINE).at(-1) ?? '')
    .map((line) => line.replaceAll(SGR, ''));
}
