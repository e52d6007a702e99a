/** The commands, in `--help` order. Adding a command = one file here and one line below. */
import type { CommandModule } from '../command';
import { remove } from './delete';
import { latest } from './latest';
import { list } from './list';
import { validate } from './validate';

export const COMMANDS: readonly CommandModule[] = [list, validate, remove, latest];
