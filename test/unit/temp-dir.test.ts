/**
 * The run's temporary folder: every test and every process a test starts writes its temporary
 * files under it, and the global setup fails the run if anything is left there at the end.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { isRunTmp, leftoverMessage, leftovers, RUN_TMP_PREFIX } from '../support/temp-dir';

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('the test run’s temporary folder', () => {
  it('is what os.tmpdir() answers in a test, a fresh pulsar-ami-test-run-* folder', () => {
    const runTmp = inject('runTmp');
    expect(tmpdir()).toBe(runTmp);
    expect(isRunTmp(runTmp)).toBe(true);
    expect(isRunTmp(dirname(runTmp))).toBe(false);
  });

  it('is inherited by the processes a test starts', () => {
    const theirs = execFileSync(process.execPath, ['-p', "require('node:os').tmpdir()"], {
      encoding: 'utf8',
    }).trim();
    expect(theirs).toBe(inject('runTmp'));
  });

  it('reports what is left in it, tool caches aside', () => {
    const dir = mkdtempSync(join(tmpdir(), 'leftovers-'));
    made.push(dir);
    expect(leftovers(dir)).toEqual([]);
    mkdirSync(join(dir, 'tsx-0'));
    mkdirSync(join(dir, 'node-compile-cache'));
    expect(leftovers(dir)).toEqual([]);
    mkdirSync(join(dir, 'listAmis-123-456-abcd'));
    writeFileSync(join(dir, 'pulsar-ami-cli-x'), '');
    expect(leftovers(dir)).toEqual(['listAmis-123-456-abcd', 'pulsar-ami-cli-x']);
    expect(leftoverMessage(dir, leftovers(dir))).toBe(
      `The tests left 2 entries in the temporary folder ${dir}: listAmis-123-456-abcd, pulsar-ami-cli-x. Each test removes what it creates.`,
    );
    expect(RUN_TMP_PREFIX).toBe('pulsar-ami-test-run-');
  });
});
