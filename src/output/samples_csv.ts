/**
 * The samples of a profile as `;`-separated CSV: one row per point.
 *
 * @module
 */

import type { ProfileResult } from "../result.ts";
import { type CsvOptions, neutralizeFormula } from "./csv.ts";
import { type CsvCell, csvRecords } from "./csv_records.ts";

/** The columns of the samples CSV, in order. */
export const SAMPLES_CSV_COLUMNS = ["run", "time_ms", "series", "value", "unit", "source"] as const;

/**
 * The samples CSV in pieces (one per series), header first: `run` (0-based
 * iteration), `time_ms` (since that run's START, to the µs), `series`,
 * `value`, `unit`, `source`. Rows are grouped by run, then series.
 *
 * @param result A profile result with samples.
 * @param options `rawCells` keeps formula-like text cells as they are.
 * @returns Pieces of CSV text; joined, they end with a newline.
 *
 * @example Usage
 * ```ts
 * import { samplesCsvChunks } from "./samples_csv.ts";
 * const text = [...samplesCsvChunks({
 *   command: ["true"], tokenPattern: "__X__", exitCode: 0, durationMs: 1,
 *   interrupted: false, runs: [],
 * })].join("");
 * console.log(text); // "run;time_ms;series;value;unit;source\n"
 * ```
 */
export function* samplesCsvChunks(
  result: ProfileResult,
  options: CsvOptions = {},
): Generator<string> {
  const clean = options.rawCells ? undefined : neutralizeFormula;
  const write = (rows: CsvCell[][]) => csvRecords(rows, { clean });
  yield write([[...SAMPLES_CSV_COLUMNS]]);
  for (const run of result.runs) {
    const origin = Number(run.startNs);
    for (const series of run.samples ?? []) {
      const rows: CsvCell[][] = [];
      for (let i = 0; i < series.timesNs.length; i++) {
        rows.push([
          run.index,
          Math.round((series.timesNs[i]! - origin) / 1e3) / 1e3,
          series.name,
          Math.round(series.values[i]! * 1e4) / 1e4,
          series.unit,
          series.source,
        ]);
      }
      if (rows.length > 0) yield write(rows);
    }
  }
}
