/**
 * The README's install step, `npm link`, into a prefix of the caller's choosing instead of npm's
 * global one: `PREFIX/bin/pulsar-ami` then links to this checkout's dist/cli/pulsar-ami.mjs, as
 * the global link does. The bench times the CLI through it and a test runs it, so what they
 * measure and check is what the README tells people to do.
 */
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const root = resolve(import.meta.dirname, '..');

/** Links the package into `prefix` (scripts skipped: `npm ci` has built dist/); resolves to PREFIX/bin. */
export async function linkCli(prefix: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  await promisify(execFile)('npm', ['link', '--ignore-scripts', '--no-audit', '--no-fund'], {
    cwd: root,
    env: { ...env, npm_config_prefix: prefix },
  });
  return join(prefix, 'bin');
}
