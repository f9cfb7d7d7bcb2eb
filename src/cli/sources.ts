/**
 * Which sources a CLI invocation uses, built from its flags. Each built-in
 * source adds its flags to {@linkcode SourceFlags} and its construction to
 * {@linkcode buildSources}.
 *
 * @module
 */

import { GpuSelectionError, NvmlSource } from "../../sources/nvml/mod.ts";
import { UsageError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { Source } from "../source.ts";

/** The source-related global flags, as parsed by commander. */
export interface SourceFlags {
  /** Verbosity, for sources that report details. */
  verbose: number;
  /** `--gpu`: measure every NVIDIA GPU through NVML. */
  gpu?: boolean;
  /** `--gpus 0,2`: measure these NVML indices only (implies `--gpu`). */
  gpus?: number[];
}

/** What the sources are for: a profile, or only listing sensors. */
export type SourcePurpose = "profile" | "list-sensors";

/**
 * Creates the sources the flags ask for. A source that was asked for
 * explicitly and cannot work is an error; a default source that cannot work
 * is left out with a warning saying why.
 *
 * @param flags The parsed global flags.
 * @param logger Diagnostics.
 * @param purpose Profile or list.
 * @returns The sources, in reading order.
 *
 * @example Usage
 * ```ts
 * import { buildSources } from "./sources.ts";
 * import { Logger } from "../logger.ts";
 * const sources = await buildSources({ verbose: 0 }, new Logger(), "list-sensors");
 * ```
 */
export function buildSources(
  flags: SourceFlags,
  logger: Logger,
  purpose: SourcePurpose,
): Promise<Source[]> {
  const sources: Source[] = [];
  if (flags.gpu || flags.gpus !== undefined) sources.push(openNvml(flags, logger, purpose));
  return Promise.resolve(sources);
}

/** `--gpu`/`--gpus` were asked for: any failure ends the command before the program runs. */
function openNvml(flags: SourceFlags, logger: Logger, purpose: SourcePurpose): NvmlSource {
  let source: NvmlSource;
  try {
    source = NvmlSource.open({
      indices: flags.gpus,
      debug: logger.verbosity >= 2 ? (message) => logger.debug(message) : undefined,
    });
  } catch (error) {
    if (error instanceof GpuSelectionError) {
      throw new UsageError(
        `--gpus ${error.invalid.join(",")}: ${GpuSelectionError.describe(error.deviceCount)}`,
      );
    }
    throw error;
  }
  for (const gpu of source.gpus) {
    logger.info(
      `NVML: GPU ${gpu.index} (${gpu.name}, ${gpu.uuid}): ` +
        (gpu.method === "energy_counter"
          ? "energy counter"
          : `no energy counter, integrating power sampled every ${source.powerSamplePeriodMs} ms`),
    );
  }
  // Listing needs nothing more from NVML: the sensors were discovered on opening.
  if (purpose === "list-sensors") source.close();
  return source;
}

/**
 * Parses `--gpus`: comma-separated NVML indices.
 *
 * @param value The flag's value, e.g. `0,2`.
 * @returns The indices, in order, without duplicates.
 * @throws {UsageError} When an entry is not a non-negative integer.
 *
 * @example Usage
 * ```ts
 * import { parseGpuList } from "./sources.ts";
 * console.log(parseGpuList("0,2")); // [0, 2]
 * ```
 */
export function parseGpuList(value: string): number[] {
  const entries = value.split(",").map((entry) => entry.trim());
  if (entries.some((entry) => !/^\d+$/.test(entry) || !Number.isSafeInteger(Number(entry)))) {
    throw new UsageError(
      `--gpus must be comma-separated GPU indices such as 0,2, got '${value}'`,
    );
  }
  return [...new Set(entries.map(Number))];
}
