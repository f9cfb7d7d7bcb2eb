/**
 * Where results go and in which format, from `--json`, `--csv` and `-o`.
 *
 * @module
 */

import { ResultFile } from "../output/result_file.ts";

/** Result formats. */
export type OutputFormat = "terminal" | "json" | "csv";

/** A decided output: its format and destination. */
export interface OutputTarget {
  /** Format of the results. */
  format: OutputFormat;
  /** `stdout`, or a file reserved before the run. */
  destination: "stdout" | ResultFile;
}

/** The global output flags as parsed. */
export interface OutputFlags {
  /** `--json` */
  json?: boolean;
  /** `--csv` */
  csv?: boolean;
  /** `-o/--output-file` */
  outputFile?: string;
}

/**
 * Picks the format: `--json`, `--csv`, else the `-o` file's extension
 * (`.json`, `.csv`), else the terminal layout.
 *
 * @param flags The global flags.
 * @returns The format.
 *
 * @example Usage
 * ```ts
 * import { chooseFormat } from "./output_target.ts";
 * console.log(chooseFormat({ outputFile: "results.csv" })); // "csv"
 * ```
 */
export function chooseFormat(flags: OutputFlags): OutputFormat {
  if (flags.json) return "json";
  if (flags.csv) return "csv";
  const file = flags.outputFile?.toLowerCase();
  if (file?.endsWith(".json")) return "json";
  if (file?.endsWith(".csv")) return "csv";
  return "terminal";
}

/**
 * Decides and reserves the output of `profile`. JSON and CSV go to
 * `-o FILE` or, by default, `data<µs since epoch>.<ext>` in the working
 * directory; `-o -` means stdout. The terminal layout goes to stdout
 * unless `-o FILE` is given. A file destination is reserved now, so an
 * unwritable path fails before the program runs.
 *
 * @param flags The global flags.
 * @param now Epoch time in µs for the default file name.
 * @param suffix Added to the default name (the rank, for a task of a multi-task job).
 * @returns The target.
 * @throws {UsageError} When the destination cannot be written.
 *
 * @example Usage
 * ```ts
 * import { prepareProfileOutput } from "./output_target.ts";
 * const target = prepareProfileOutput({ json: true, outputFile: "-" });
 * console.log(target.destination); // "stdout"
 * ```
 */
export function prepareProfileOutput(
  flags: OutputFlags,
  now = Date.now() * 1000,
  suffix = "",
): OutputTarget {
  const format = chooseFormat(flags);
  if (flags.outputFile === "-") return { format, destination: "stdout" };
  if (flags.outputFile !== undefined) {
    return { format, destination: ResultFile.prepare(flags.outputFile) };
  }
  if (format === "terminal") return { format, destination: "stdout" };
  // A default name is never followed if a link was planted there.
  return {
    format,
    destination: ResultFile.prepare(`data${now}${suffix}.${format}`, { followSymlinks: false }),
  };
}

/**
 * Decides the output of `list-sensors`: stdout unless `-o FILE` is given.
 *
 * @param flags The global flags.
 * @returns The target.
 *
 * @example Usage
 * ```ts
 * import { prepareListOutput } from "./output_target.ts";
 * console.log(prepareListOutput({ csv: true }).format); // "csv"
 * ```
 */
export function prepareListOutput(flags: OutputFlags): OutputTarget {
  const format = chooseFormat(flags);
  if (flags.outputFile === undefined || flags.outputFile === "-") {
    return { format, destination: "stdout" };
  }
  return { format, destination: ResultFile.prepare(flags.outputFile) };
}
