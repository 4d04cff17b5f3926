// What a command of the rtnl CLI is: its words, its help, its options and what it runs.
// Commands live one group per file in commands/; main.ts dispatches and prints help.
import type { ParseArgsConfig } from 'node:util';

/** A usage mistake: exit status 2 and the command's usage line. */
export class UsageError extends Error {
  readonly code = 'ERR_USAGE';
}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>[string] & { description: string; valueName?: string };

export interface CommandContext {
  /** Positional arguments after the command's words. */
  args: string[];
  /** Everything after `--`. */
  rest: string[];
  /** Parsed options, the global ones (netns, json, quiet) included. */
  options: Record<string, string | boolean | undefined>;
  /** The output of a list: JSON with --json, else the brief text. */
  print(value: unknown, brief: () => string): void;
  /** A line on stdout unless --quiet. */
  say(line: string): void;
}

export interface Command {
  /** The words that run it: ['up'], ['link', 'list']. */
  words: string[];
  /** Other spellings of the last word: ['show'] for 'list'. */
  aliases?: string[];
  /** Arguments after the words, for the usage line: 'FILE', 'NS -- CMD [ARG...]'. */
  synopsis?: string;
  /** One line for the command list. */
  summary: string;
  /** More lines for `rtnl help CMD`. */
  details?: string;
  /** Options of this command (the global ones are always there). */
  options?: Record<string, OptionSpec>;
  /** Takes -n NS. */
  netns?: boolean;
  /** Takes --json. */
  json?: boolean;
  run(ctx: CommandContext): Promise<number>;
}
