/**
 * The CLI on a terminal: the built binary runs under a pseudo-terminal (util-linux `script`)
 * against the sandbox, as someone typing `pulsar-ami validate` sees it: a live line with the
 * current step and the time spent while it waits, replaced by the guide's lines, and the marks
 * in colour; with NO_COLOR no colour at all; piped, the guide's lines and nothing else.
 */
import { execFile, execFileSync } from 'node:child_process';
import { DescribeImagesCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CLI, type E2e, startE2e } from '../support/e2e';
import { green, liveLine, red, SGR, SPINNER, screen } from '../support/terminal';

/** util-linux `script`: runs a command under a new pseudo-terminal. */
const hasScript = (() => {
  try {
    return execFileSync('script', ['--version'], { encoding: 'utf8' }).includes('util-linux');
  } catch {
    return false;
  }
})();

const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

let e2e: E2e;
let imageId: string;

/** What a terminal shows for `pulsar-ami ARGS…` and its exit code; `script -e` passes it on. */
function onTerminal(args: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
  const command = [process.execPath, CLI, ...args].map(quote).join(' ');
  return new Promise((done) => {
    execFile(
      'script',
      ['-qfec', command, '/dev/null'],
      { env: { PATH: process.env.PATH ?? '', TERM: 'xterm-256color', ...e2e.env, ...env }, timeout: 60_000 },
      (error, stdout) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        done({ code, out: stdout });
      },
    );
  });
}

const LIVE_LINE = liveLine('Step \\d/6: ');
const SLOW = { PULSAR_AMI_POLL_INTERVAL_MS: '400' };

beforeAll(async () => {
  e2e = await startE2e();
});
afterAll(async () => {
  await e2e?.close();
});
beforeEach(async () => {
  await e2e.reset();
  const page = await e2e.ec2.send(new DescribeImagesCommand({ Owners: ['self'] }));
  imageId = page.Images?.find((i) => i.Name?.startsWith('pulsar-base-3.0.0'))?.ImageId ?? '';
  expect(imageId).toMatch(/^ami-/);
});

describe.skipIf(!hasScript)('pulsar-ami on a terminal', () => {
  it('validate: a live line with the step and the time while it waits, colours, then the guide’s lines', async () => {
    const r = await onTerminal(['validate', '--ami-id', imageId], SLOW);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(LIVE_LINE);
    expect(r.out).toContain(`${green('✓')} AMI VALIDATION PASSED`);
    expect(r.out).toContain(`  Checking: Java installed... ${green('✓')}`);
    const lines = screen(r.out);
    // The live line never stays on the screen: every line left is one of the guide's.
    expect(lines.filter((l) => SPINNER.test(l))).toEqual([]);
    for (const line of [
      'Validating AMI',
      `AMI ID: ${imageId}`,
      'Step 1/6: Launching test instance...',
      'Step 4/6: Running validation checks...',
      '  ✓ All validation checks passed',
      'Step 6/6: Validation complete',
      '✓ AMI VALIDATION PASSED',
    ]) {
      expect(lines).toContain(line);
    }
  });

  it('NO_COLOR: the live line still shows the step, but nothing is coloured', async () => {
    const r = await onTerminal(['validate', '--ami-id', imageId], { ...SLOW, NO_COLOR: '1' });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(LIVE_LINE);
    expect(r.out.match(SGR)).toBeNull();
    expect(screen(r.out)).toContain('✓ AMI VALIDATION PASSED');
  });

  it('an error on a terminal: `Error:` in red on stderr', async () => {
    const r = await onTerminal(['validate', '--ami-id', 'ami-0123456789abcdef0'], SLOW);
    expect(r.code).toBe(1);
    expect(r.out).toContain(red('Error:'));
  });
});

describe('pulsar-ami piped', () => {
  it('validate: the guide’s lines only, no live line, no colour, no escape sequence at all', async () => {
    const r = await e2e.cli(['validate', '--ami-id', imageId], SLOW);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('\u001b');
    expect(r.stdout).not.toContain('\r');
    expect(r.stdout.split('\n')).toContain('✓ AMI VALIDATION PASSED');
  });

  it('FORCE_COLOR: colour even when piped, still no live line', async () => {
    const r = await e2e.cli(['validate', '--ami-id', imageId], { ...SLOW, FORCE_COLOR: '1' });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${green('✓')} AMI VALIDATION PASSED`);
    expect(r.stdout).not.toContain('\r');
  });
});
