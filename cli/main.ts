/** The `pulsar-ami` executable: the CLI core wired to the real process. */
import { homedir } from 'node:os';
import { runCli } from './run';

const interrupt = new AbortController();
process.once('SIGINT', () => {
  interrupt.abort();
  // A second Ctrl-C, or one while nothing is in flight, ends the process now.
  process.once('SIGINT', () => process.exit(130));
  setTimeout(() => process.exit(130), 2000).unref();
});

const code = await runCli(process.argv.slice(2), {
  fetch: (input, init) => fetch(input, init),
  env: process.env,
  now: Date.now,
  stdout: process.stdout,
  stderr: process.stderr,
  homeDir: homedir(),
  signal: interrupt.signal,
});
process.exitCode = code;
