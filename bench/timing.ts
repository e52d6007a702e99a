/** Timing whole processes, for budgets reported as ratios to a baseline of the same run. */
import { spawn } from 'node:child_process';

/** Wall time, in ms, of `node ARGS…` (Node 22, the running one); fails when it exits non-zero. */
export function time(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return timeCommand(process.execPath, args, env);
}

/**
 * Wall time, in ms, of `command ARGS…` found on `env.PATH` as a shell would (a script's
 * shebang picks its interpreter there); fails when it exits non-zero.
 */
export function timeCommand(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd?: string,
): Promise<number> {
  const started = process.hrtime.bigint();
  return new Promise((done, fail) => {
    const child = spawn(command, args, {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
      ...(cwd ? { cwd } : {}),
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', fail);
    child.on('close', (code) => {
      if (code !== 0) fail(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr}`));
      else done(Number(process.hrtime.bigint() - started) / 1e6);
    });
  });
}

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};
