/** A CLI command: one file in `cli/commands/`, listed in `cli/commands/index.ts`. */
import type { Command } from 'commander';
import type { CommandContext } from './context';

export interface CommandModule {
  name: string;
  /** One line for `--help`, in the guide's words. */
  summary: string;
  /** Adds the command's own options (and arguments) to its commander `Command`. */
  configure(command: Command): void;
  /** Runs with the command's own parsed options; resolves to the exit code. */
  run(ctx: CommandContext, options: Record<string, unknown>): Promise<number>;
}
