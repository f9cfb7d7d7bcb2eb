/**
 * The built-in flags `--version` and `--help`, recognised and answered
 * here. They live apart from the option table (which lists them like any
 * other flag) so that a command line made of one of them alone is answered
 * by the entry point (main.ts) with this module alone loaded, before the
 * CLI, the parser and the value parsers: for `--version` about 15 modules,
 * measured at 1–2 ms of a 15 ms start, and for `--help` the CLI's own
 * module, 1.4 ms (docs/PERFORMANCE.md).
 *
 * @module
 */

import denoConfig from "../../deno.json" with { type: "json" };
import { loadLazily } from "../lazy_module.ts";
import type { CommandName, OptionSpec } from "./option_table.ts";
import type * as CliModule from "./main.ts";
import type * as HelpTextModule from "./help_text.ts";

/** The version printed by `--version`, from `deno.json`. */
export const VERSION: string = denoConfig.version;

const encoder = new TextEncoder();

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

/**
 * Prints what `--version` or `--help` (alone on the command line) asks for;
 * the entry point (main.ts) calls it directly, with `beforeWrite` deciding
 * whether the debugger hook must be closed once the text is ready (nothing
 * after it returns to the event loop before the write).
 *
 * @param action The built-in option given (from {@linkcode builtinAction}).
 * @param beforeWrite Awaited after the text is made, just before it is written.
 * @returns The exit status: 0, or that of the failure reported.
 *
 * @example Usage
 * ```ts
 * import { printBuiltin } from "./builtin_options.ts";
 * console.log(await printBuiltin("version")); // prints the version, then 0
 * ```
 */
export async function printBuiltin(
  action: "version" | "help",
  beforeWrite?: () => Promise<void>,
): Promise<number> {
  try {
    const text = action === "version" ? `${VERSION}\n` : await helpOutput();
    await beforeWrite?.();
    writeToStdout(text);
    return 0;
  } catch (error) {
    // The CLI's report (the logger, the exit status of each error) loads only for this.
    const { reportFailure } = await loadLazily<typeof CliModule>("./main.ts", import.meta.url);
    return await reportFailure(error, 0);
  }
}

/**
 * The help text of the program, or of one command, at the terminal's width.
 *
 * @param command The command, or `undefined` for the program's help.
 * @returns The text, ending with a newline.
 *
 * @example Usage
 * ```ts
 * import { helpOutput } from "./builtin_options.ts";
 * console.log((await helpOutput("doctor")).split("\n")[0]); // "Usage: joule-profiler doctor [options]"
 * ```
 */
export async function helpOutput(command?: CommandName): Promise<string> {
  const { defaultHelpWidth, helpText } = await loadLazily<typeof HelpTextModule>(
    "./help_text.ts",
    import.meta.url,
  );
  return helpText(command, defaultHelpWidth());
}

/**
 * Writes all of `text` to stdout, synchronously. (Not `writeStdout` of
 * command_context.ts: that one streams pieces through the results file
 * writer, a module `--version` and `--help` do not load.)
 *
 * @param text What to write.
 *
 * @example Usage
 * ```ts
 * import { writeToStdout } from "./builtin_options.ts";
 * writeToStdout("done\n");
 * ```
 */
export function writeToStdout(text: string): void {
  const bytes = encoder.encode(text);
  for (let written = 0; written < bytes.length;) {
    written += Deno.stdout.writeSync(bytes.subarray(written));
  }
}
