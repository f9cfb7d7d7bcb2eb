/**
 * The `joule-profiler` command line: parses the arguments against the option
 * table (`option_table.ts`) and dispatches to one module per command under
 * `commands/`, each loaded only when run (start-up is part of every run's
 * cost).
 *
 * @module
 */

import { EXIT_PROFILER_FAILURE, ProfilerError } from "../errors.ts";
import type * as ArgParserModule from "./arg_parser.ts";
import type { GlobalFlags } from "./command_context.ts";
import type { CommandName } from "./option_table.ts";
import type * as CompareModule from "./commands/compare.ts";
import type * as CompletionsModule from "./commands/completions.ts";
import type * as DoctorModule from "./commands/doctor.ts";
import type * as ListSensorsModule from "./commands/list_sensors.ts";
import type * as MergeModule from "./commands/merge.ts";
import type * as ModelModule from "./commands/model.ts";
import type * as ProfileModule from "./commands/profile.ts";
import type * as ProgramCgroupModule from "../process/program_cgroup.ts";
import type { CompareFlags } from "./commands/compare.ts";
import type { ModelFlags } from "./commands/model.ts";
import type { MergeFlags } from "./commands/merge.ts";
import type { ProfileFlags } from "./commands/profile.ts";
import type { Shell } from "./commands/completions.ts";
import { loadLazily } from "../lazy_module.ts";
import {
  builtinAction,
  helpOutput,
  printBuiltin,
  VERSION,
  writeToStdout,
} from "./builtin_options.ts";

export { VERSION };

const encoder = new TextEncoder();

/**
 * Loads a command's module on use (`loadLazily`): `deno run` builds the
 * module graph of every literal `import("…")` reachable from the entry point
 * before it runs (measured: +2.4 ms on a 17 ms start for `profile`'s graph
 * alone), so `--version` and `--help` would pay for every command.
 */
function loadCommand<Module>(file: string): Promise<Module> {
  return loadLazily<Module>(`./commands/${file}.ts`, import.meta.url);
}

/**
 * Starts the kernel's slow part of moving the program into its cgroup
 * (`ProgramCgroup.warmUp`) while the `profile` module graph loads; the
 * process source makes another such write just before the spawn
 * (`prepare()`). Best effort: a failure only costs that wait.
 */
function warmUpCgroupMove(): void {
  loadLazily<typeof ProgramCgroupModule>("../process/program_cgroup.ts", import.meta.url)
    .then((module) => module.ProgramCgroup.warmUp())
    .catch(() => {});
}

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
 * const code = await main(["--version"]); // prints the version
 * console.log(code); // 0
 * ```
 */
export async function main(args: string[]): Promise<number> {
  try {
    // Answered before the parser loads (see builtin_options.ts).
    const builtin = builtinAction(args);
    if (builtin !== undefined) return await printBuiltin(builtin);
    const { parseCommandLine } = await loadLazily<typeof ArgParserModule>(
      "./arg_parser.ts",
      import.meta.url,
    );
    const parsed = parseCommandLine(args);
    switch (parsed.action) {
      case "version":
        return printVersion();
      case "help":
        return await printHelp(parsed.command);
    }
    if (parsed.warnings.length > 0) {
      const { Logger } = await loadLazily<typeof import("../logger.ts")>(
        "../logger.ts",
        import.meta.url,
      );
      for (const warning of parsed.warnings) new Logger().warn(warning);
    }
    if (
      parsed.global.config !== undefined || parsed.global.define !== undefined ||
      parsed.global.outputFormat !== undefined
    ) {
      // --config, -D and --output-format: loaded only when used (the TOML parser is not free).
      await (await loadLazily<typeof import("./config_file.ts")>(
        "./config_file.ts",
        import.meta.url,
      )).applySettings(parsed);
    }
    const global = parsed.global as unknown as GlobalFlags;
    switch (parsed.command) {
      case "profile": {
        if (global.process !== false) warmUpCgroupMove();
        const { profileCommand } = await loadCommand<typeof ProfileModule>("profile");
        const flags = parsed.options as unknown as ProfileFlags;
        return await profileCommand(global, flags, parsed.operands);
      }
      case "compare": {
        const { compareCommand } = await loadCommand<typeof CompareModule>("compare");
        const flags = parsed.options as unknown as CompareFlags;
        return await compareCommand(global, flags, parsed.operands);
      }
      case "merge": {
        const { mergeCommand } = await loadCommand<typeof MergeModule>("merge");
        const flags = parsed.options as unknown as MergeFlags;
        return await mergeCommand(global, flags, parsed.operands);
      }
      case "doctor":
        return await (await loadCommand<typeof DoctorModule>("doctor")).doctorCommand(global);
      case "list-sensors": {
        const { listSensorsCommand } = await loadCommand<typeof ListSensorsModule>("list_sensors");
        return await listSensorsCommand(global);
      }
      case "completions": {
        const { completionsCommand } = await loadCommand<typeof CompletionsModule>("completions");
        return completionsCommand(parsed.operands[0] as Shell);
      }
      case "model": {
        const { modelCommand } = await loadCommand<typeof ModelModule>("model");
        const flags = parsed.options as unknown as ModelFlags;
        return await modelCommand(global, flags, parsed.operands);
      }
    }
  } catch (error) {
    return await reportFailure(error, verbosityFromArgs(args));
  }
}

async function printHelp(command?: CommandName): Promise<number> {
  writeToStdout(await helpOutput(command));
  return 0;
}

function printVersion(): number {
  writeToStdout(`${VERSION}\n`);
  return 0;
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

/**
 * Reports a failure on stderr as one line (its stack trace too at `-vvv`)
 * and returns the exit status it stands for.
 *
 * @param error What was thrown.
 * @param verbosity The `-v` count given.
 * @returns The error's exit status (`ProfilerError.exitCode`), else 125.
 *
 * @example Usage
 * ```ts
 * import { UsageError } from "../errors.ts";
 * import { reportFailure } from "./main.ts";
 * console.log(await reportFailure(new UsageError("bad flag"), 0)); // 2, after "error: bad flag"
 * ```
 */
export async function reportFailure(error: unknown, verbosity: number): Promise<number> {
  // The logger (and its colours) loads only when there is something to say.
  const { Logger } = await loadLazily<typeof import("../logger.ts")>(
    "../logger.ts",
    import.meta.url,
  );
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
