/**
 * The `--version` flag. It lives apart from the option table (which lists
 * it like any other flag) so that `joule-profiler --version` is answered
 * before the table and its value parsers load: about 15 modules, measured
 * at 1–2 ms of a 15 ms start (docs/PERFORMANCE.md).
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

/**
 * Whether the command line is only the version flag, which needs no parsing.
 * Anything else (`-v --version`, `profile --version`) goes through the
 * parser, which answers it the same way.
 *
 * @param args Command-line arguments (without the executable).
 * @returns `true` for exactly `--version` or `-V`.
 *
 * @example Usage
 * ```ts
 * import { asksOnlyVersion } from "./version_option.ts";
 * console.log(asksOnlyVersion(["-V"])); // true
 * console.log(asksOnlyVersion(["profile", "--version"])); // false
 * ```
 */
export function asksOnlyVersion(args: readonly string[]): boolean {
  return args.length === 1 &&
    (args[0] === `--${VERSION_OPTION.long}` || args[0] === `-${VERSION_OPTION.short}`);
}
