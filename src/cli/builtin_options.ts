/**
 * The built-in flags `--version` and `--help`. They live apart from the
 * option table (which lists them like any other flag) so that a command
 * line made of one of them alone is answered before the parser and most of
 * the table load: for `--version` about 15 modules, measured at 1–2 ms of
 * a 15 ms start (docs/PERFORMANCE.md).
 *
 * @module
 */

import type { OptionSpec } from "./option_table.ts";

/** `--version` / `-V`: print the version and exit. */
export const VERSION_OPTION: OptionSpec = {
  long: "version",
  short: "V",
  description: "print the version and exit",
  scope: "global",
  action: "version",
};

/** `--help` / `-h`: print help and exit. */
export const HELP_OPTION: OptionSpec = {
  long: "help",
  short: "h",
  description: "print help and exit",
  scope: "global",
  action: "help",
};

/**
 * What a command line asks when it is only a built-in flag (or empty: the
 * program's help), which needs no parsing. Anything else (`-v --version`,
 * `profile --help`) goes through the parser, which answers it the same way.
 *
 * @param args Command-line arguments (without the executable).
 * @returns `"version"`, `"help"` (the program's help), or `undefined`.
 *
 * @example Usage
 * ```ts
 * import { builtinAction } from "./builtin_options.ts";
 * console.log(builtinAction(["-V"])); // "version"
 * console.log(builtinAction([])); // "help"
 * console.log(builtinAction(["profile", "--help"])); // undefined
 * ```
 */
export function builtinAction(args: readonly string[]): "version" | "help" | undefined {
  if (args.length === 0) return "help";
  if (args.length > 1) return undefined;
  for (const option of [VERSION_OPTION, HELP_OPTION]) {
    if (args[0] === `--${option.long}` || args[0] === `-${option.short}`) return option.action;
  }
  return undefined;
}
