/**
 * What every command gets without code of its own: --version, help, a flag given twice, the
 * echo of values from outside (printable, short), colour and the live line on a terminal.
 * Each case runs over every command of cli/commands/index.ts, so a new command is covered
 * the day it is listed.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../cli/commands/index';
import { LIVE_DELAY_MS } from '../../cli/live';
import { ENGINES_NODE, unsupportedNode } from '../../cli/node-version';
import { clip, MAX_LINE_CHARS, MAX_VALUE_CHARS, printable } from '../../cli/printer';
import { buildProgram } from '../../cli/program';
import { colourFor } from '../../cli/style';
import { ERASE_LINE, ESC, green, liveLine, red, SGR, screen, yellow } from '../support/terminal';
import { AMIS, API, Harness, json, listRoute, problem } from './cli-harness';

const root = resolve(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  version: string;
  engines: { node: string };
};
const NAMES = COMMANDS.map((c) => c.name);

/** Every option of every command that takes one value, as `[command, flag]`. */
function valueOptions(): [string, string][] {
  const program = buildProgram(COMMANDS, { write: () => undefined }, () => undefined);
  const rows: [string, string][] = [];
  const takesOne = (o: Option) => (o.required || o.optional) && !o.variadic && o.long !== undefined;
  for (const o of program.options.filter(takesOne)) rows.push(['(global)', o.long ?? '']);
  for (const command of program.commands) {
    for (const o of command.options.filter(takesOne)) rows.push([command.name(), o.long ?? '']);
  }
  return rows;
}

describe('--version and -V', () => {
  it.each([[['--version']], [['-V']], [['--region', 'eu-west-1', '--version']], [['--json', '-V', 'list']]])(
    '%j: the package version on stdout, exit 0, no request',
    async (argv) => {
      const h = new Harness({ routes: listRoute(AMIS) });
      const r = await h.run(...argv);
      expect(r).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
      expect(h.calls).toHaveLength(0);
    },
  );

  it('after the command, --version is the command’s own flag (build --version V)', async () => {
    const h = new Harness();
    const r = await h.run('build', '--version');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("option '--version <VERSION>' argument missing");
    expect(r.stdout).toBe('');
  });

  it('--help lists -V, --version', async () => {
    const r = await new Harness().run('--help');
    expect(r.stdout).toMatch(/-V, --version +Print the version of pulsar-ami and exit/);
  });
});

describe('help', () => {
  it('`help` and `--help`: the program’s help, exit 0, listing help [COMMAND]', async () => {
    const h = new Harness();
    const help = await h.run('help');
    const flag = await h.run('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toBe(flag.stdout);
    expect(help.stdout).toMatch(/^Usage: pulsar-ami /);
    expect(help.stdout).toContain('help [COMMAND]');
    for (const name of NAMES) expect(help.stdout).toContain(`  ${name} `);
    expect(h.calls).toHaveLength(0);
  });

  it.each(NAMES)('`help %s`, `%s --help` and `%s -h`: that command’s own help, exit 0', async (name) => {
    const h = new Harness();
    const results = [await h.run('help', name), await h.run(name, '--help'), await h.run(name, '-h')];
    for (const r of results) {
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout.split('\n')[0]).toMatch(new RegExp(`^Usage: pulsar-ami ${name} \\[options\\]`));
      expect(r.stdout).toContain(COMMANDS.find((c) => c.name === name)?.summary);
      expect(r.stdout).toContain('Global Options:');
      expect(r.stdout).toBe(results[0]?.stdout);
    }
    expect(h.calls).toHaveLength(0);
  });

  it('`help nosuch`: an unknown command, exit 2', async () => {
    const r = await new Harness().run('help', 'nosuch');
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(`pulsar-ami: unknown command 'nosuch' (${NAMES.join(', ')})`);
    expect(r.stdout).toBe('');
  });
});

describe('a flag that takes one value, given twice', () => {
  it.each(valueOptions())('%s %s twice: exit 2 naming both values, no request', async (command, flag) => {
    const h = new Harness({ routes: listRoute(AMIS) });
    const argv = command === '(global)' ? [flag, 'a', 'list', flag, 'b'] : [command, flag, 'a', flag, 'b'];
    const r = await h.run(...argv);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(
      `pulsar-ami: ${flag} was given more than once ('a', then 'b'); give it once`,
    );
    expect(r.stdout).toBe('');
    expect(h.calls).toHaveLength(0);
  });

  it('covers the flags the guide made people repeat by mistake', () => {
    const flags = valueOptions().map(([command, flag]) => `${command} ${flag}`);
    expect(flags).toEqual(
      expect.arrayContaining([
        '(global) --region',
        '(global) --api-url',
        'validate --ami-id',
        'delete --ami-id',
        'build --version',
      ]),
    );
  });

  it('a boolean flag twice is the same as once', async () => {
    const h = new Harness({ routes: listRoute(AMIS) });
    const r = await h.run('list', '--no-cache', '--no-cache');
    expect(r.code).toBe(0);
    expect(h.calls).toHaveLength(1);
  });
});

describe('values echoed in messages: printable and short', () => {
  const RED = `ami-0123456789abcdef0${ESC}[31mRED`;
  const HUGE = 'x'.repeat(100_000);

  /** stderr carries no raw escape character and stays a few lines of readable length. */
  function expectSafe(stderr: string) {
    expect(stderr).not.toContain(ESC);
    expect(stderr.length).toBeLessThan(1_500);
  }

  /** The command with its required arguments and options given, so what is judged is the flag under test. */
  function withRequired(name: string): string[] {
    const program = buildProgram(COMMANDS, { write: () => undefined }, () => undefined);
    const command = program.commands.find((c) => c.name() === name);
    const args = (command?.registeredArguments ?? []).filter((a) => a.required).map(() => 'x');
    const options = (command?.options ?? []).filter((o) => o.mandatory).flatMap((o) => [o.long ?? '', 'x']);
    return [name, ...args, ...options];
  }

  it.each(
    NAMES.flatMap((name) => [
      [name, 'an escape sequence', `--bogus${ESC}[31mRED`, "unknown option '--bogus\\x1b[31mRED'"],
      [name, '100,000 characters', `--${HUGE}`, `unknown option '--${'x'.repeat(MAX_VALUE_CHARS - 3)}… (`],
    ]),
  )(
    '%s, a flag with %s: commander’s own message, printable and short',
    async (name, _what, flag, message) => {
      const h = new Harness();
      const r = await h.run(...withRequired(name), flag);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(message);
      expectSafe(r.stderr);
      expect(h.calls).toHaveLength(0);
    },
  );

  it('a 100,000-character command name: one short line, exit 2', async () => {
    const h = new Harness();
    const r = await h.run(HUGE);
    expect(r.code).toBe(2);
    expectSafe(r.stderr);
    expect(r.stderr.split('\n')[0]).toBe(
      `pulsar-ami: unknown command '${'x'.repeat(MAX_VALUE_CHARS - "'".length)}… (${100_000 + 2 - MAX_VALUE_CHARS} more characters)`,
    );
  });

  it('a command name with an escape sequence is shown escaped', async () => {
    const r = await new Harness().run(`li${ESC}[2Jst`);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe("pulsar-ami: unknown command 'li\\x1b[2Jst'");
  });

  it.each([
    ['delete --ami-id, an escape sequence', ['delete', '--ami-id', RED]],
    ['validate --ami-id, an escape sequence', ['validate', '--ami-id', RED]],
    ['--region, an escape sequence', ['--region', `us-west-2${ESC}[31m`, 'list']],
    ['--api-url, a 100,000-character host', ['--api-url', `http://${HUGE}.example.com`, 'latest']],
    ['--api-url, 100,000 characters', ['--api-url', `not a url ${HUGE}`, 'latest']],
    ['--api-url, 50,000 short words', ['--api-url', 'a '.repeat(50_000), 'latest']],
    ['build --version, an escape sequence', ['build', '--version', RED]],
  ])('%s: exit 2, escaped, short, no request', async (_what, argv) => {
    const h = new Harness({ routes: listRoute(AMIS) });
    const r = await h.run(...argv);
    expect(r.code).toBe(2);
    expectSafe(r.stderr);
    expect(h.calls).toHaveLength(0);
  });

  it('the escaped value is still recognisable', async () => {
    const r = await new Harness().run('delete', '--ami-id', RED);
    expect(r.stderr).toContain("got 'ami-0123456789abcdef0\\x1b[31mRED'");
  });

  it('an API error message with escape sequences and 100,000 characters: exit 1, printable, short', async () => {
    const h = new Harness({
      routes: { 'GET /amis': () => problem(502, 'Bad gateway', `EC2 said ${ESC}[2J${ESC}[31m${HUGE}`) },
    });
    const r = await h.run('list', '--no-cache');
    expect(r.code).toBe(1);
    expectSafe(r.stderr);
    expect(r.stderr).toMatch(/^Error: EC2 said \\x1b\[2J\\x1b\[31mx+… \(\d+ more characters\)\n$/);
  });

  it('--json: the problem stays JSON, its detail clipped, no raw escape', async () => {
    const h = new Harness({
      routes: { 'GET /amis': () => problem(502, 'Bad gateway', `EC2 said ${ESC}[31m${HUGE}`) },
    });
    const r = await h.run('--json', 'list', '--no-cache');
    expect(r.code).toBe(1);
    expect(r.stderr).not.toContain(ESC);
    const parsed = JSON.parse(r.stderr) as { detail: string };
    expect(parsed.detail.length).toBeLessThan(MAX_VALUE_CHARS + 100);
    expect(parsed.detail.startsWith(`EC2 said ${ESC}[31mxxx`)).toBe(true);
  });

  it('clip: each value, each line and the number of lines are bounded', () => {
    expect(clip('short message')).toBe('short message');
    expect(clip(`a ${'b'.repeat(300)} c`)).toBe(`a ${'b'.repeat(MAX_VALUE_CHARS)}… (100 more characters) c`);
    const words = 'word '.repeat(1_000).trim();
    expect(clip(words)).toBe(
      `${words.slice(0, MAX_LINE_CHARS)}… (${words.length - MAX_LINE_CHARS} more characters)`,
    );
    const many = Array.from({ length: 250 }, (_, i) => `line ${i}`).join('\n');
    expect(clip(many).split('\n')).toHaveLength(201);
    expect(clip(many).split('\n').at(-1)).toBe('… (50 more lines)');
    expect(printable(`a${ESC}b\rc\u009bd\te\nf`)).toBe('a\\x1bb\\x0dc\\x9bd\te\nf');
  });
});

describe('colour', () => {
  const tty = { write: () => true, isTTY: true };
  const pipe = { write: () => true, isTTY: false };

  it.each([
    [tty, {}, true],
    [pipe, {}, false],
    [tty, { NO_COLOR: '1' }, false],
    [tty, { NO_COLOR: '' }, true],
    [pipe, { FORCE_COLOR: '1' }, true],
    [pipe, { FORCE_COLOR: '' }, true],
    [tty, { FORCE_COLOR: '0' }, false],
    [tty, { FORCE_COLOR: 'false' }, false],
    [pipe, { FORCE_COLOR: '1', NO_COLOR: '1' }, true],
    [tty, { TERM: 'dumb' }, false],
  ])('%#: %j → %s', (stream, env, expected) => {
    expect(colourFor(stream, env)).toBe(expected);
  });

  it('on a terminal: ✓ green, ✗ red, ! and Warning: yellow, Error: red', async () => {
    const h = new Harness({
      tty: true,
      routes: {
        'DELETE /amis/ami-0a1b2c3d4e5f67890': () =>
          json(200, {
            imageId: 'ami-0a1b2c3d4e5f67890',
            name: 'pulsar-base-3.0.0-20251006',
            state: 'available',
            dryRun: false,
            deregistered: true,
            snapshots: [{ snapshotId: 'snap-1', status: 'failed', error: 'in use' }],
          }),
      },
    });
    const r = await h.run('delete', '--ami-id', 'ami-0a1b2c3d4e5f67890');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`  Deregistering AMI... ${green('✓')}`);
    expect(r.stdout).toContain(`    Deleting snap-1... ${red('✗')} in use`);
    // stderr is not a terminal in this harness: its lines stay plain.
    expect(r.stderr).toContain('✗ AMI deregistered, but 1 snapshot(s) could not be deleted: snap-1');
    expect(r.stderr.match(SGR)).toBeNull();
  });

  it('FORCE_COLOR colours stderr too, when piped', async () => {
    const h = new Harness({ env: { PULSAR_AMI_API_URL: API, FORCE_COLOR: '1' } });
    const r = await h.run('list', '--no-cache');
    expect(r.code).toBe(1);
    expect(r.stderr.startsWith(red('Error:'))).toBe(true);
    expect(yellow('!')).toBe(`${ESC}[33m!${ESC}[0m`);
  });

  it('--json: no colour even on a terminal', async () => {
    const h = new Harness({ tty: true, routes: listRoute(AMIS) });
    const r = await h.run('--json', 'list');
    expect(r.stdout).not.toContain(ESC);
    expect(JSON.parse(r.stdout)).toMatchObject({ count: 3 });
  });
});

describe('the live line (in process; the built binary on a real terminal: test/e2e/cli-terminal.test.ts)', () => {
  const slowList = (ms: number) => ({
    'GET /amis': async () => {
      await new Promise((done) => setTimeout(done, ms));
      return json(200, { items: AMIS });
    },
  });

  it('a slow request on a terminal: the step and its time, drawn then erased before the next line', async () => {
    const h = new Harness({ tty: true, routes: slowList(LIVE_DELAY_MS + 400) });
    const r = await h.run('list', '--no-cache');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(liveLine('Fetching AMI list from AWS'));
    // Erased before the next line: the line after it starts with the erase, then the real text.
    expect(r.stdout).toContain(`${ERASE_LINE}${green('✓')} Found 3 AMI(s)\n`);
    expect(screen(r.stdout).slice(0, 2)).toEqual(['Fetching AMI list from AWS...', '✓ Found 3 AMI(s)']);
  });

  it('a quick answer shows nothing', async () => {
    const h = new Harness({ tty: true, routes: listRoute(AMIS) });
    const r = await h.run('list', '--no-cache');
    expect(r.stdout).not.toContain(ERASE_LINE);
  });

  it('piped, or TERM=dumb: never', async () => {
    for (const options of [{ tty: false }, { tty: true, env: { PULSAR_AMI_API_URL: API, TERM: 'dumb' } }]) {
      const h = new Harness({ ...options, routes: slowList(LIVE_DELAY_MS + 300) });
      const r = await h.run('list', '--no-cache');
      expect(r.code).toBe(0);
      expect(r.stdout).not.toContain('\r');
      expect(r.stdout.split('\n').slice(0, 2)).toEqual(['Fetching AMI list from AWS...', '✓ Found 3 AMI(s)']);
    }
  });
});

describe('the Node versions the CLI runs on', () => {
  it('engines.node in package.json is the one the CLI checks', () => {
    expect(pkg.engines.node).toBe(ENGINES_NODE);
  });

  it.each([
    ['18.19.1', false],
    ['20.2.0', false],
    ['20.3.0', true],
    ['20.20.2', true],
    ['22.23.3', true],
    ['24.0.0', true],
  ])('Node %s runs it: %s', (version, runs) => {
    const why = unsupportedNode(version);
    expect(why === undefined).toBe(runs);
    if (!runs) {
      expect(why).toBe(
        `pulsar-ami needs Node.js 20.3.0 or later (engines >=20.3.0); this is Node.js ${version}. Install a current Node.js LTS and run it again.`,
      );
    }
  });
});
