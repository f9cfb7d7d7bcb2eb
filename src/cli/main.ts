/**
 * The `joule-profiler` command line: parses the arguments against the option
 * table (`option_table.ts`) and dispatches to one module per command under
 * `commands/`, each loaded only when run (start-up is part of every run's
 * cost).
 *
 * @module
 */

import denoConfig from "../../deno.json" with { type: "json" };
import { EXIT_PROFILER_FAILURE, ProfilerError } from "../errors.ts";
import { parseCommandLine } from "./arg_parser.ts";
import { defaultHelpWidth, helpText } from "./help_text.ts";
import type { GlobalFlags } from "./command_context.ts";
import type { CompareFlags } from "./commands/compare.ts";
import type { MergeFlags } from "./commands/merge.ts";
import type { ProfileFlags } from "./commands/profile.ts";

/** The version printed by `--version`, from `deno.json`. */
export const VERSION: string = denoConfig.version;

const encoder = new TextEncoder();

/**
 * Runs the CLI and returns the exit status: the profiled program's status
 * (128 + N when it was killed by signal N), 2 for usage errors, 126/127
 * when the command cannot be run, 125 for other profiler failures.
 *
 * @param args Command-line arguments (without the executable).
 * @returns The exit status.
 *
 * @example Usage
 * ```ts
 * import { main } from "./main.ts";
 * Deno.exit(await main(["--version"]));
 * ```
 */
export async function main(args: string[]): Promise<number> {
  try {
    const parsed = parseCommandLine(args);
    switch (parsed.action) {
      case "version":
        Deno.stdout.writeSync(encoder.encode(`${VERSION}\n`));
        return 0;
      case "help":
        writeAll(helpText(parsed.command, defaultHelpWidth()));
        return 0;
    }
    const global = parsed.global as unknown as GlobalFlags;
    switch (parsed.command) {
      case "profile": {
        const { profileCommand } = await import("./commands/profile.ts");
        const flags = parsed.options as unknown as ProfileFlags;
        return await profileCommand(global, flags, parsed.operands);
      }
      case "compare": {
        const { compareCommand } = await import("./commands/compare.ts");
        const flags = parsed.options as unknown as CompareFlags;
        return await compareCommand(global, flags, parsed.operands);
      }
      case "merge": {
        const { mergeCommand } = await import("./commands/merge.ts");
        const flags = parsed.options as unknown as MergeFlags;
        return await mergeCommand(global, flags, parsed.operands);
      }
      case "doctor":
        return await (await import("./commands/doctor.ts")).doctorCommand(global);
      case "list-sensors":
        return await (await import("./commands/list_sensors.ts")).listSensorsCommand(global);
    }
  } catch (error) {
    return await report(error, verbosityFromArgs(args));
  }
}

function writeAll(text: string): void {
  const bytes = encoder.encode(text);
  for (let written = 0; written < bytes.length;) {
    written += Deno.stdout.writeSync(bytes.subarray(written));
  }
}

/** Verbosity for error reports, also when parsing failed half-way. */
function verbosityFromArgs(args: string[]): number {
  let count = 0;
  for (const arg of args) {
    if (arg === "--") break;
    if (arg === "--verbose") count++;
    else if (/^-v+$/.test(arg)) count += arg.length - 1;
  }
  return count;
}

async function report(error: unknown, verbosity: number): Promise<number> {
  // The logger (and its colours) loads only when there is something to say.
  const { Logger } = await import("../logger.ts");
  const logger = new Logger();
  if (error instanceof ProfilerError) {
    logger.error(error.message);
    if (verbosity >= 3 && error.stack) Deno.stderr.writeSync(encoder.encode(`${error.stack}\n`));
    return error.exitCode;
  }
  if (error instanceof Deno.errors.NotCapable) {
    logger.error(`${error.message} (run with -A, or use the installed binary)`);
    return EXIT_PROFILER_FAILURE;
  }
  const message = error instanceof Error ? error.message : String(error);
  logger.error(`internal error: ${message}`);
  if (verbosity >= 3 && error instanceof Error && error.stack) {
    Deno.stderr.writeSync(encoder.encode(`${error.stack}\n`));
  } else {
    Deno.stderr.writeSync(encoder.encode("(run with -vvv for the stack trace)\n"));
  }
  return EXIT_PROFILER_FAILURE;
}
