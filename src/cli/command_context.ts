/**
 * What every command shares: the global flags, where results go, and the
 * verbosity of diagnostics.
 *
 * @module
 */

import { ProfilerError } from "../errors.ts";
import type { Logger, Verbosity } from "../logger.ts";
import { writeText } from "../output/result_file.ts";
import type { OutputFlags, OutputTarget } from "./output_target.ts";
import type { SourceFlags } from "./sources.ts";

/** The global flags (before or after the command), as parsed from the option table. */
export interface GlobalFlags extends OutputFlags, SourceFlags {
  /** `-v` count. */
  verbose: number;
  /** `--csv-raw`. */
  csvRaw?: boolean;
}

/** Labels of the "… written to" notice, per format. */
export const LABELS = { json: "JSON", csv: "CSV", terminal: "Results" } as const;

/**
 * Writes text to stdout, whole.
 *
 * @param text The text, or its chunks.
 *
 * @example Usage
 * ```ts
 * import { writeStdout } from "./command_context.ts";
 * writeStdout("hello\n");
 * ```
 */
export function writeStdout(text: string | Iterable<string>): void {
  writeText(Deno.stdout, text);
}

/**
 * The logger's verbosity from `-v` (at most 3).
 *
 * @param flags The global flags.
 * @returns The verbosity.
 *
 * @example Usage
 * ```ts
 * import { verbosityOf } from "./command_context.ts";
 * console.log(verbosityOf({ verbose: 5 })); // 3
 * ```
 */
export function verbosityOf(flags: Pick<GlobalFlags, "verbose">): Verbosity {
  return Math.min(flags.verbose, 3) as Verbosity;
}

/** Where results went, and to whom the files belong. */
export interface EmitOptions {
  /** Where the "written to" notice goes. */
  logger: Logger;
  /** What was written (`JSON`, `Report`, …). */
  label: string;
  /** Owner of the written file (the user who invoked sudo). */
  owner?: { uid: number; gid: number };
}

/**
 * Writes results to their target: stdout, or the reserved file (then a
 * notice says where).
 *
 * @param target Format and destination.
 * @param text The results.
 * @param options Logger, label and owner.
 * @throws {ProfilerError} When stdout is closed or the file cannot be written.
 *
 * @example Usage
 * ```ts
 * import { emit } from "./command_context.ts";
 * import { Logger } from "../logger.ts";
 * emit({ format: "json", destination: "stdout" }, "{}\n", { logger: new Logger(), label: "JSON" });
 * ```
 */
export function emit(
  target: OutputTarget,
  text: string | Iterable<string>,
  options: EmitOptions,
): void {
  const { logger, label } = options;
  if (target.destination === "stdout") {
    try {
      writeStdout(text);
    } catch (error) {
      if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
      throw new ProfilerError("cannot write the results: stdout was closed (broken pipe)");
    }
    return;
  }
  try {
    target.destination.commit(text, options.owner);
  } catch (error) {
    throw new ProfilerError(
      `cannot write results to '${target.destination.path}': ${(error as Error).message} ` +
        `(any previous file of that name is unchanged)`,
      { cause: error },
    );
  }
  logger.notice(`${label} written to: ${target.destination.path}`);
}
