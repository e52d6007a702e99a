/** The CLI core wired to the real process: streams, Ctrl-C, the exit code (loaded by `main.ts`). */
import { homedir } from 'node:os';
import { runCli } from './run';

// A reader that stops reading (`pulsar-ami list | head -3`) closes the pipe: the next write
// fails with EPIPE. That is the reader's choice, not a failure: end quietly, exit 0, as
// Unix tools do, instead of Node's "Unhandled 'error' event" stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') process.exit(0);
    // Any other output failure: nothing can be printed any more; fail without a trace.
    process.exit(1);
  });
}

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
