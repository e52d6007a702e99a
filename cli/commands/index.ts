/** The commands, in `--help` order. Adding a command = one file here and one line below. */
import type { CommandModule } from '../command';
import { build } from './build';
import { cleanup } from './cleanup';
import { remove } from './delete';
import { latest } from './latest';
import { list } from './list';
import { restore } from './restore';
import { validate } from './validate';

export const COMMANDS: readonly CommandModule[] = [build, list, validate, remove, latest, cleanup, restore];
