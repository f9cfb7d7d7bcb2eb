/**
 * What `profile` adds to its results for teams' own tools: carbon figures
 * (`--carbon-intensity`, `--pue`), an OpenMetrics text file
 * (`--openmetrics`) and a Pushgateway push (`--pushgateway`, `--job`).
 *
 * @module
 */

import { UsageError } from "../../errors.ts";
import type { Logger } from "../../logger.ts";
import { ResultFile } from "../../output/result_file.ts";
import type { ProfileResult } from "../../result.ts";
import type { CarbonSettings } from "../../energy/carbon.ts";
import { parseCarbonIntensity } from "../export_option_values.ts";
import { emit } from "../command_context.ts";
import { loadLazily } from "../../lazy_module.ts";

/** Environment variable standing in for `--carbon-intensity`. */
export const CARBON_INTENSITY_ENV = "JOULE_PROFILER_CARBON_INTENSITY";

/** The `profile` flags this module reads. */
export interface ExportFlags {
  /** `--carbon-intensity` (gCO₂e/kWh). */
  carbonIntensity?: number;
  /** `--pue`. */
  pue?: number;
  /** `--openmetrics FILE`. */
  openmetrics?: string;
  /** `--pushgateway URL` (checked). */
  pushgateway?: string;
  /** `--job NAME`. */
  job?: string;
}

/** Exports reserved before the run (files are created then, so bad paths fail early). */
export interface PreparedExports {
  /** The carbon conversion, when asked for. */
  carbon?: CarbonSettings;
  /** The OpenMetrics file. */
  openMetrics?: ResultFile;
  /** Where to push. */
  push?: { url: string; job: string };
}

/**
 * Checks the export flags and reserves the OpenMetrics file, before the run.
 *
 * @param flags The flags.
 * @param commandLine The first profiled command (the default job name is its program).
 * @returns What to do after the run.
 * @throws {UsageError} For bad values or flag combinations.
 *
 * @example Usage
 * ```ts ignore
 * import { prepareExports } from "./profile_exports.ts";
 * const exports = prepareExports({ carbonIntensity: 400 }, ["./bench"]);
 * ```
 */
export function prepareExports(
  flags: ExportFlags,
  commandLine: readonly string[],
): PreparedExports {
  const prepared: PreparedExports = {};
  let intensity = flags.carbonIntensity;
  if (intensity === undefined) {
    const fromEnv = Deno.env.get(CARBON_INTENSITY_ENV);
    if (fromEnv !== undefined && fromEnv !== "") {
      intensity = parseCarbonIntensity(fromEnv, CARBON_INTENSITY_ENV);
    }
  }
  if (intensity !== undefined) {
    prepared.carbon = { intensityGPerKwh: intensity, pue: flags.pue ?? 1 };
  } else if (flags.pue !== undefined) {
    throw new UsageError(
      `--pue goes with --carbon-intensity (or ${CARBON_INTENSITY_ENV}): it scales the carbon figure`,
    );
  }
  if (flags.job !== undefined && flags.pushgateway === undefined) {
    throw new UsageError("--job names the Pushgateway group: give --pushgateway URL too");
  }
  if (flags.pushgateway !== undefined) {
    const program = commandLine[0]?.split("/").pop() ?? "";
    const job = flags.job ?? (program === "" ? "joule-profiler" : program);
    if (job.trim() === "") throw new UsageError("--job must not be empty");
    prepared.push = { url: flags.pushgateway, job };
  }
  if (flags.openmetrics !== undefined) prepared.openMetrics = ResultFile.prepare(flags.openmetrics);
  return prepared;
}

/**
 * Adds the carbon metrics to every result (after the run, before the
 * results are formatted).
 *
 * @param prepared The prepared exports.
 * @param results The results.
 *
 * @example Usage
 * ```ts ignore
 * await applyCarbon(prepared, results);
 * ```
 */
export async function applyCarbon(
  prepared: PreparedExports,
  results: readonly ProfileResult[],
): Promise<void> {
  if (prepared.carbon === undefined) return;
  const { addCarbon } = await loadLazily<typeof import("../../energy/carbon.ts")>(
    "../../energy/carbon.ts",
    import.meta.url,
  );
  for (const result of results) addCarbon(result, prepared.carbon);
}

/**
 * Writes the OpenMetrics file (atomically) and pushes to the Pushgateway;
 * a failed push is a warning, never a lost result.
 *
 * @param prepared The prepared exports.
 * @param results The results.
 * @param options Logger and the owner of written files.
 *
 * @example Usage
 * ```ts ignore
 * await writeExports(prepared, results, { logger });
 * ```
 */
export async function writeExports(
  prepared: PreparedExports,
  results: readonly ProfileResult[],
  options: { logger: Logger; owner?: { uid: number; gid: number } },
): Promise<void> {
  if (prepared.openMetrics === undefined && prepared.push === undefined) return;
  const { openMetricsText } = await loadLazily<typeof import("../../output/openmetrics.ts")>(
    "../../output/openmetrics.ts",
    import.meta.url,
  );
  if (prepared.openMetrics !== undefined) {
    emit(
      { format: "json", destination: prepared.openMetrics },
      openMetricsText(results),
      { ...options, label: "OpenMetrics" },
    );
    prepared.openMetrics = undefined;
  }
  if (prepared.push !== undefined) {
    const { pushMetrics, pushUrl } = await loadLazily<typeof import("../../output/pushgateway.ts")>(
      "../../output/pushgateway.ts",
      import.meta.url,
    );
    const target = { ...prepared.push, grouping: { instance: Deno.hostname() } };
    try {
      await pushMetrics(target, openMetricsText(results, { openMetrics: false }));
      options.logger.notice(`Metrics pushed to: ${pushUrl(target)}`);
    } catch (error) {
      options.logger.warn(`${(error as Error).message}; the results were written all the same`);
    }
  }
}

/**
 * Drops the reserved OpenMetrics file after a failure (no half-written file).
 *
 * @param prepared The prepared exports.
 *
 * @example Usage
 * ```ts ignore
 * discardExports(prepared);
 * ```
 */
export function discardExports(prepared: PreparedExports | undefined): void {
  prepared?.openMetrics?.discard();
}
