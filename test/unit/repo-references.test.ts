/**
 * The repository stands on its own: no tracked file points a reader at a document outside it
 * (a design file, a spec or a folder beside the checkout). What the product's design says is in
 * docs/architecture.md, which the README links to.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..', '..');

/** This file, which names what it looks for. */
const SELF = 'test/unit/repo-references.test.ts';

const OUTSIDE = /\bDESIGN(?:\.md|\s+section\b)|\.\.\/shared\b|ami-build-guide|\bspec\/ami-/;

function trackedTextFiles(): string[] {
  const listed = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' });
  return listed
    .split('\0')
    .filter((file) => file !== '' && file !== SELF && existsSync(join(root, file)))
    .filter((file) => !readFileSync(join(root, file)).includes(0));
}

describe('references to files outside the repository', () => {
  it('no tracked text file cites a design or spec file outside the repository', () => {
    const files = trackedTextFiles();
    expect(files.length).toBeGreaterThan(100);
    const hits: string[] = [];
    for (const file of files) {
      readFileSync(join(root, file), 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (OUTSIDE.test(line)) hits.push(`${file}:${i + 1}: ${line.trim().slice(0, 120)}`);
        });
    }
    expect(hits).toEqual([]);
  });

  it('the pattern catches each kind of outside reference', () => {
    for (const line of [
      'Budgets from DESIGN.md section 7',
      'as DESIGN section 3 says',
      'see ../shared/notes',
      'the ami-build-guide.md rows',
    ]) {
      expect(OUTSIDE.test(line), line).toBe(true);
    }
    expect(OUTSIDE.test('docs/architecture.md section 9')).toBe(false);
  });

  it('the README links to docs/architecture.md, which exists', () => {
    expect(readFileSync(join(root, 'README.md'), 'utf8')).toContain('(docs/architecture.md)');
    expect(existsSync(join(root, 'docs', 'architecture.md'))).toBe(true);
  });
});
