import { describe, expect, it } from 'vitest';
import { handler } from '../../functions/evaluate-check-results';
import {
  evaluateCheckOutput,
  parseCheckLines,
  SCRIPT_CHECK_NAME,
  SSM_OUTPUT_LIMIT,
} from '../../functions/lib/check-results';
import { CHECK_NAMES, checkCommands, SCRIPT_DELIMITER, shellQuote } from '../../functions/lib/checks';

const line = (name: string, passed: boolean, detail = 'ok') => JSON.stringify({ name, passed, detail });
const allPassing = CHECK_NAMES.map((n) => line(n, true)).join('\n');

describe('parseCheckLines', () => {
  it('keeps well-formed check lines and skips everything else', () => {
    const output = [
      'Starting checks…',
      line('Java 17', true, 'Java 17.0.10'),
      '{"name":"half a line',
      '{"name":"","passed":true}',
      '{"name":"No verdict","passed":"yes"}',
      '[1,2,3]',
      '   {"name":"Pulsar directory exists","passed":false}\r',
      'null',
    ].join('\n');
    expect(parseCheckLines(output)).toEqual([
      { name: 'Java 17', passed: true, detail: 'Java 17.0.10' },
      { name: 'Pulsar directory exists', passed: false, detail: '' },
    ]);
  });
});

describe('evaluateCheckOutput', () => {
  it('passes when every expected check passed and the command succeeded', () => {
    const result = evaluateCheckOutput({
      Status: 'Success',
      ResponseCode: 0,
      StandardOutputContent: allPassing,
    });
    expect(result).toMatchObject({
      passed: true,
      failedChecks: [],
      truncated: false,
      summary: 'All 7 checks passed',
    });
    expect(result.checks.map((c) => c.name)).toEqual([...CHECK_NAMES]);
  });

  it('names the failed checks in the expected order', () => {
    const output = CHECK_NAMES.map((n) => line(n, !['Java 17', 'Pulsar binaries present'].includes(n))).join(
      '\n',
    );
    const result = evaluateCheckOutput({ Status: 'Failed', ResponseCode: 1, StandardOutputContent: output });
    expect(result.passed).toBe(false);
    expect(result.failedChecks).toEqual(['Pulsar binaries present', 'Java 17']);
    expect(result.summary).toBe('2 of 7 checks failed: Pulsar binaries present, Java 17');
  });

  it('counts a missing expected check as failed', () => {
    const output = CHECK_NAMES.filter((n) => n !== 'Java installed')
      .map((n) => line(n, true))
      .join('\n');
    const result = evaluateCheckOutput({ Status: 'Success', StandardOutputContent: output });
    expect(result.passed).toBe(false);
    expect(result.failedChecks).toEqual(['Java installed']);
    expect(result.checks.find((c) => c.name === 'Java installed')?.detail).toContain('did not report');
  });

  it('says when SSM cut the output at its 24,000-character limit', () => {
    const padding = 'x'.repeat(SSM_OUTPUT_LIMIT);
    const output = `${line('Pulsar directory exists', true)}\n${padding}`.slice(0, SSM_OUTPUT_LIMIT);
    const result = evaluateCheckOutput({ Status: 'Success', StandardOutputContent: output });
    expect(result.truncated).toBe(true);
    expect(result.failedChecks).toHaveLength(CHECK_NAMES.length - 1);
    expect(result.checks[1]?.detail).toContain('24,000');
  });

  it('does not pass a run whose command failed even if every reported check passed', () => {
    const result = evaluateCheckOutput({
      Status: 'Failed',
      ResponseCode: 127,
      StandardOutputContent: allPassing,
      StandardErrorContent: 'bash: line 3: oops: command not found\nmore',
    });
    expect(result.passed).toBe(false);
    expect(result.failedChecks).toEqual([SCRIPT_CHECK_NAME]);
    expect(result.checks.at(-1)?.detail).toBe(
      'command ended Failed with exit code 127: bash: line 3: oops: command not found',
    );
  });

  it('fails every check when nothing was printed', () => {
    const result = evaluateCheckOutput({ Status: 'Failed', ResponseCode: 2 });
    expect(result.failedChecks).toEqual([...CHECK_NAMES]);
  });

  it('lets a failing duplicate win over a passing one, and keeps unexpected checks', () => {
    const output = [allPassing, line('Java 17', false, 'Java 11'), line('Extra check', false, 'x')].join(
      '\n',
    );
    const result = evaluateCheckOutput({ Status: 'Failed', StandardOutputContent: output });
    expect(result.failedChecks).toEqual(['Java 17', 'Extra check']);
  });
});

describe('evaluate-check-results handler', () => {
  it('evaluates the invocation the state machine passes', async () => {
    const result = await handler({
      invocation: { Status: 'Success', ResponseCode: 0, StandardOutputContent: allPassing, Extra: 1 },
      expectedChecks: [...CHECK_NAMES],
    });
    expect(result.passed).toBe(true);
  });

  it('defaults the expected checks', async () => {
    const result = await handler({ invocation: { Status: 'Success', StandardOutputContent: '' } });
    expect(result.failedChecks).toEqual([...CHECK_NAMES]);
  });

  it('refuses an input without an invocation, with a named error', async () => {
    await expect(handler({ expectedChecks: ['x'] })).rejects.toMatchObject({ name: 'InvalidInputError' });
  });
});

describe('checkCommands', () => {
  it('carries the script unchanged between the here-document markers', () => {
    const script = '#!/usr/bin/env bash\necho "$HOME" `date` \\\nexit 0\n';
    const commands = checkCommands(script, '3.0.0');
    const start = commands.indexOf(`cat > "$checks_file" <<'${SCRIPT_DELIMITER}'`);
    const end = commands.indexOf(SCRIPT_DELIMITER);
    expect(`${commands.slice(start + 1, end).join('\n')}\n`).toBe(script);
    expect(commands).toContain(`PULSAR_EXPECTED_VERSION='3.0.0' bash "$checks_file" </dev/null`);
  });

  it('passes an unknown version as empty and quotes whatever it is given', () => {
    expect(checkCommands('true', null)).toContain(
      `PULSAR_EXPECTED_VERSION='' bash "$checks_file" </dev/null`,
    );
    expect(shellQuote("it's $(bad)")).toBe(`'it'\\''s $(bad)'`);
  });

  it('refuses a script that contains the delimiter line', () => {
    expect(() => checkCommands(`echo\n${SCRIPT_DELIMITER}\necho`, '3.0.0')).toThrow(/must not contain/);
  });
});
