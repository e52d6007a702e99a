/** The commands, in `--help` order. Adding a command = one file here and one line below. */
import type { CommandModule } from '../command';
import { remove } from './delete';
import { latest } from './latest';
import { list } from './list';

export const COMMANDS: readonly CommandModule[] = [list, remove, latest];
