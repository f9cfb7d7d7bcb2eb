/**
 * Which sources a CLI invocation uses, built from its flags. Each built-in
 * source adds its flags to {@linkcode SourceFlags} and its construction to
 * {@linkcode buildSources}.
 *
 * @module
 */

import { SourceError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { Source } from "../source.ts";
import { DEFAULT_POWERCAP_PATH } from "../../sources/rapl/powercap_zones.ts";
import { DEFAULT_EVENT_SOURCE_PATH } from "../../sources/rapl/power_pmu.ts";
import { type RaplBackend, setupRapl } from "../../sources/rapl/rapl_setup.ts";

/** The source-related flags, as parsed by commander. */
export interface SourceFlags {
  /** Verbosity, for sources that report details. */
  verbose: number;
  /** `--rapl-path`: powercap folder. */
  raplPath?: string;
  /** `-s/--sockets`: packages to measure. */
  sockets?: number[];
  /** `--rapl-backend`. */
  raplBackend?: RaplBackend;
  /** `--rapl-polling` (profile only): seconds between powercap polls, 0 = off. */
  raplPolling?: number;
}

/** What the sources are for: a profile, or only listing sensors. */
export type SourcePurpose = "profile" | "list-sensors";

/**
 * Creates the sources the flags ask for. A source that was asked for
 * explicitly and cannot work is an error; a default source that cannot work
 * is left out with a warning saying why.
 *
 * Paths: `--rapl-path`, else `$JOULE_PROFILER_RAPL_PATH`, else
 * `/sys/devices/virtual/powercap/intel-rapl`; the perf PMU folder is
 * `$JOULE_PROFILER_EVENT_SOURCE_PATH` or `/sys/bus/event_source/devices`;
 * CPU topology `$JOULE_PROFILER_CPU_SYSFS_PATH` or `/sys/devices/system/cpu`.
 *
 * @param flags The parsed flags.
 * @param logger Diagnostics.
 * @param purpose Profile or list.
 * @returns The sources, in reading order.
 *
 * @example Usage
 * ```ts
 * import { buildSources } from "./sources.ts";
 * import { Logger } from "../logger.ts";
 * const sources = buildSources({ verbose: 0 }, new Logger(), "list-sensors");
 * ```
 */
export function buildSources(
  flags: SourceFlags,
  logger: Logger,
  purpose: SourcePurpose,
): Source[] {
  const sources: Source[] = [];
  const rapl = setupRaplSource(flags, logger, purpose);
  if (rapl !== undefined) sources.push(rapl);
  return sources;
}

function setupRaplSource(
  flags: SourceFlags,
  logger: Logger,
  purpose: SourcePurpose,
): Source | undefined {
  let setup;
  try {
    setup = setupRapl({
      backend: flags.raplBackend,
      powercapPath: flags.raplPath ?? Deno.env.get("JOULE_PROFILER_RAPL_PATH") ??
        DEFAULT_POWERCAP_PATH,
      eventSourcePath: Deno.env.get("JOULE_PROFILER_EVENT_SOURCE_PATH") ??
        DEFAULT_EVENT_SOURCE_PATH,
      cpuSysfsPath: Deno.env.get("JOULE_PROFILER_CPU_SYSFS_PATH"),
      sockets: flags.sockets,
      pollingSeconds: purpose === "profile" ? flags.raplPolling : 0,
      binaryPath: Deno.build.standalone ? Deno.execPath() : undefined,
      log: { warn: (m) => logger.warn(m), debug: (m) => logger.debug(m) },
    });
  } catch (error) {
    if (flags.raplBackend === undefined || !(error instanceof Error) || error.name !== "Error") {
      throw error;
    }
    const name = flags.raplBackend === "perf" ? "RAPL (perf_event)" : "RAPL (Powercap)";
    throw new SourceError(name, error.message, { cause: error });
  }
  if (setup.source !== undefined) {
    logger.info(`RAPL energy through ${setup.backend === "perf" ? "perf_event" : "powercap"}`);
    return setup.source;
  }
  const why = setup.reasons.map(({ backend, reason }) => `${backend}: ${reason}`).join("; ");
  logger.warn(`no RAPL energy on this machine, continuing without it (${why})`);
  return undefined;
}
