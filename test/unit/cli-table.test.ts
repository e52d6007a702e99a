import { describe, expect, it } from 'vitest';
import { AMI_COLUMNS, amiRow, formatCreated, renderTable } from '../../cli/table';
import { AMIS, API, ami, Harness, listRoute } from './cli-harness';

describe('formatCreated', () => {
  it.each([
    ['2025-10-06T14:23:45.000Z', '2025-10-06 14:23'],
    ['2025-10-06T16:23:59+02:00', '2025-10-06 14:23'],
    ['2025-12-31T23:59:59Z', '2025-12-31 23:59'],
    [null, '-'],
    ['not a date', '-'],
  ])('%s → %s (UTC)', (input, expected) => {
    expect(formatCreated(input)).toBe(expected);
  });
});

describe('renderTable', () => {
  const rows = AMIS.map(amiRow);

  it('draws the guide’s box table with widths from the content', () => {
    expect(renderTable(AMI_COLUMNS, rows, 'box')).toEqual([
      '┌───────────────────────┬─────────────────────────────┬─────────┬───────────┬──────────────────┐',
      '│ AMI ID                │ Name                        │ Version │ State     │ Created          │',
      '├───────────────────────┼─────────────────────────────┼─────────┼───────────┼──────────────────┤',
      '│ ami-0a1b2c3d4e5f67890 │ pulsar-base-3.0.0-20251006  │ 3.0.0   │ available │ 2025-10-06 14:23 │',
      '│ ami-09876543210fedcba │ pulsar-base-2.11.0-20250920 │ 2.11.0  │ available │ 2025-09-20 10:15 │',
      '│ ami-0abcdef1          │ pulsar-base-2.10.0-20250815 │ 2.10.0  │ available │ 2025-08-15 09:30 │',
      '└───────────────────────┴─────────────────────────────┴─────────┴───────────┴──────────────────┘',
    ]);
  });

  it('never truncates a long name; every line has the same width', () => {
    const long = ami('ami-0123456789abcdef0', '3.10.12', '2026-01-01T00:00:00Z', {
      name: 'pulsar-base-3.10.12-20260101000000-with-a-very-long-suffix',
      version: null,
      state: 'pending',
    });
    const lines = renderTable(AMI_COLUMNS, [long].map(amiRow), 'box');
    expect(lines[3]).toBe(
      '│ ami-0123456789abcdef0 │ pulsar-base-3.10.12-20260101000000-with-a-very-long-suffix │ -       │ pending │ 2026-01-01 00:00 │',
    );
    expect(new Set(lines.map((l) => [...l].length)).size).toBe(1);
  });

  it('plain form: no borders, header first, `awk {print $1}` of the ami- lines yields the ids', () => {
    const lines = renderTable(AMI_COLUMNS, rows, 'plain');
    expect(lines[0]).toBe('AMI ID                 Name                         Version  State      Created');
    expect(lines.join('\n')).not.toMatch(/[│┌├└─]/);
    const ids = lines.filter((l) => l.includes('ami-')).map((l) => l.split(/\s+/)[0]);
    expect(ids).toEqual(['ami-0a1b2c3d4e5f67890', 'ami-09876543210fedcba', 'ami-0abcdef1']);
    expect(lines.every((l) => l === l.trimEnd())).toBe(true);
  });
});

describe('list output', () => {
  it('on a terminal: the guide’s lines, the mark in green, and the box table', async () => {
    const h = new Harness({ tty: true, routes: listRoute(AMIS) });
    const r = await h.run('list');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines.slice(0, 3)).toEqual([
      'Fetching AMI list from AWS...',
      '\u001b[32m✓\u001b[0m Found 3 AMI(s)',
      '',
    ]);
    expect(lines[3]?.startsWith('┌')).toBe(true);
    expect(lines[6]).toBe(
      '│ ami-0a1b2c3d4e5f67890 │ pulsar-base-3.0.0-20251006  │ 3.0.0   │ available │ 2025-10-06 14:23 │',
    );
    expect(r.stderr).toBe('');
  });

  it('piped: the guide’s cleanup script (grep "ami-" | awk) gets exactly the ids, newest first', async () => {
    const h = new Harness({ tty: false, routes: listRoute(AMIS) });
    const r = await h.run('list', '--no-cache');
    expect(r.code).toBe(0);
    const ids = r.stdout
      .split('\n')
      .filter((l) => l.includes('ami-'))
      .map((l) => l.trim().split(/\s+/)[0]);
    expect(ids).toEqual(AMIS.map((a) => a.imageId));
    expect(r.stdout).toContain('✓ Found 3 AMI(s)');
  });

  it('zero AMIs: Found 0, no table, exit 0 (NO_COLOR: no colour on the terminal)', async () => {
    const h = new Harness({
      tty: true,
      routes: listRoute([]),
      env: { PULSAR_AMI_API_URL: API, NO_COLOR: '1' },
    });
    const r = await h.run('--region', 'us-west-2', 'list');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'Fetching AMI list from AWS...\n✓ Found 0 AMI(s)\n\nNo Pulsar AMIs found in us-west-2\n',
    );
  });
});
