/**
 * The files made from sampled series, for `profile` and `merge`: the
 * `--timeline` page or picture and the `--samples-csv` table.
 *
 * @module
 */

import type { Logger } from "../logger.ts";
import type { ResultFile } from "../output/result_file.ts";
import type { ProfileResult } from "../result.ts";
import { emit } from "./command_context.ts";
import { loadLazily } from "../lazy_module.ts";

/** The files sampling writes besides the results, reserved before the work. */
export interface SampleOutputs {
  /** `--timeline`: `.html` (every run) or `.svg` (run 1). */
  timeline?: ResultFile;
  /** `--samples-csv`: every point as `;`-separated CSV. */
  samplesCsv?: ResultFile;
}

/**
 * Writes `--timeline` (HTML with every run, or SVG of run 1) and
 * `--samples-csv` from a result's sampled series.
 *
 * @param files The reserved files (either may be absent).
 * @param result The result whose runs' `samples` are written.
 * @param options The logger for "written to", the files' owner, `--csv-raw`.
 *
 * @example Usage
 * ```ts ignore
 * import { writeSampleOutputs } from "./sample_outputs.ts";
 * import { ResultFile } from "../output/result_file.ts";
 * import { Logger } from "../logger.ts";
 * await writeSampleOutputs({ samplesCsv: ResultFile.prepare("samples.csv") }, result, {
 *   logger: new Logger(0),
 * });
 * ```
 */
export async function writeSampleOutputs(
  files: SampleOutputs,
  result: ProfileResult,
  options: { logger: Logger; owner?: { uid: number; gid: number }; csvRaw?: boolean },
): Promise<void> {
  const { timeline, samplesCsv } = files;
  if (timeline !== undefined) {
    const text = /\.svg$/i.test(timeline.path)
      ? `${
        (await loadLazily<typeof import("../output/timeline_svg.ts")>(
          "../output/timeline_svg.ts",
          import.meta.url,
        )).timelineSvg(result.runs[0]!)
      }\n`
      : (await loadLazily<typeof import("../output/timeline_html.ts")>(
        "../output/timeline_html.ts",
        import.meta.url,
      )).timelineHtml(result);
    emit({ format: "json", destination: timeline }, text, { ...options, label: "Timeline" });
  }
  if (samplesCsv !== undefined) {
    const { samplesCsvChunks } = await loadLazily<typeof import("../output/samples_csv.ts")>(
      "../output/samples_csv.ts",
      import.meta.url,
    );
    emit(
      { format: "csv", destination: samplesCsv },
      samplesCsvChunks(result, { rawCells: options.csvRaw }),
      { ...options, label: "Samples CSV" },
    );
  }
}
