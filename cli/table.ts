/** The `list` table: box-drawn on a terminal, plain aligned columns when piped (so `awk '{print $1}'` works). */
import type { Ami } from '../functions/lib/api-types';

export const AMI_COLUMNS = ['AMI ID', 'Name', 'Version', 'State', 'Created'] as const;

/** `YYYY-MM-DD HH:MM` in UTC; `-` when unknown or unparseable. */
export function formatCreated(createdAt: string | null): string {
  if (createdAt === null) return '-';
  const t = Date.parse(createdAt);
  if (Number.isNaN(t)) return '-';
  return new Date(t).toISOString().slice(0, 16).replace('T', ' ');
}

export function amiRow(ami: Ami): string[] {
  return [ami.imageId, ami.name || '-', ami.version ?? '-', ami.state, formatCreated(ami.createdAt)];
}

/** Display width of a cell: code points, so a stray non-ASCII character does not break alignment. */
function width(text: string): number {
  return [...text].length;
}

function pad(text: string, to: number): string {
  return text + ' '.repeat(Math.max(0, to - width(text)));
}

/** Lines of a table whose column widths come from the content; nothing is ever truncated. */
export function renderTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  style: 'box' | 'plain',
): string[] {
  const widths = headers.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const cells = (row: readonly string[]) => widths.map((w, i) => pad(row[i] ?? '', w));
  if (style === 'plain') {
    return [headers, ...rows].map((row) => cells(row).join('  ').trimEnd());
  }
  const rule = (left: string, mid: string, right: string) =>
    `${left}${widths.map((w) => '─'.repeat(w + 2)).join(mid)}${right}`;
  const line = (row: readonly string[]) => `│ ${cells(row).join(' │ ')} │`;
  return [rule('┌', '┬', '┐'), line(headers), rule('├', '┼', '┤'), ...rows.map(line), rule('└', '┴', '┘')];
}
