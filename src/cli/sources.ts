/**
 * Which sources a CLI invocation uses, built from its flags. Each built-in
 * source adds its flags to {@linkcode SourceFlags} and its construction to
 * {@linkcode buildSources}.
 *
 * @module
 */

import type { AmdSmiSource } from "../../sources/amdsmi/mod.ts";
import type { NvmlSource } from "../../sources/nvml/mod.ts";
import type { PerfEventSource } from "../../sources/perf_event/mod.ts";
import { SourceError, UsageError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { Source } from "../source.ts";
import type { SourceStatus } from "../result.ts";
import { DEFAULT_POWERCAP_PATH } from "../../sources/rapl/powercap_zones.ts";
import { DEFAULT_EVENT_SOURCE_PATH } from "../../sources/rapl/power_pmu.ts";
import { type RaplBackend, setupRapl } from "../../sources/rapl/rapl_setup.ts";
import { ProcessSource } from "../../sources/process/mod.ts";
import { SystemSource } from "../../sources/system/mod.ts";
import { loadLazily } from "../lazy_module.ts";

/** The source-related flags, as parsed from the option table (`option_table.ts`). */
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
  /**
   * `--gpu`: measure every GPU found, NVIDIA (NVML) and AMD (AMD SMI); a
   * vendor whose library or driver is absent is left out (said with `-v`).
   */
  gpu?: boolean;
  /** `--gpus 0,2`: measure these NVML indices only. */
  gpus?: number[];
  /** `--amd-gpus 0,1`: measure these AMD GPUs only (AMD SMI's order). */
  amdGpus?: number[];
  /** `--perf`: per-process perf_event counters. */
  perf?: boolean;
  /** `--perf-events`: comma-separated events (implies `--perf`). */
  perfEvents?: string;
  /** `--no-process` sets `false`: no process-tree metrics (on by default). */
  process?: boolean;
  /** `--no-system` sets `false`: no machine-wide CPU and network metrics (on by default). */
  system?: boolean;
  /**
   * `--sources rapl,perf,…`: exactly these sources (plus those the
   * shorthand flags add); see {@linkcode selectSources}.
   */
  sources?: string[];
  /**
   * `false` on a task of a distributed job that leaves the machine-wide
   * sources (RAPL, GPUs) to its node leader: they are not even opened.
   */
  machineWide?: boolean;
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
 * @param statuses When given, receives one entry per source asked for or on
 * by default: its origin, and for one left out, why (for results' `sources`).
 * @returns The sources, in reading order.
 *
 * @example Usage
 * ```ts
 * import { buildSources } from "./sources.ts";
 * import { Logger } from "../logger.ts";
 * const sources = await buildSources({ verbose: 0 }, new Logger(), "list-sensors");
 * ```
 */
export async function buildSources(
  flags: SourceFlags,
  logger: Logger,
  purpose: SourcePurpose,
  statuses?: SourceStatus[],
): Promise<Source[]> {
  const selection = selectSources(flags);
  // Explicitly requested sources first: if one cannot work, nothing else is said.
  // Their modules load only when asked for: start-up is part of every run's cost.
  const perf = selection.perf
    ? await buildPerfEventSource(flags.perfEvents, logger, purpose)
    : undefined;
  const machineWide = flags.machineWide ?? true;
  const gpus = machineWide ? await openGpuSources(flags, selection, logger, purpose, statuses) : [];
  const sources: Source[] = [];
  const rapl = machineWide && selection.rapl !== false
    ? setupRaplSource(flags, logger, purpose, selection.rapl === "explicit", statuses)
    : undefined;
  if (!machineWide) {
    // Another task of this node (its leader) reads the machine-wide sources once for all.
    const reason = "machine-wide: read once per node, by the node's leader task";
    if (selection.rapl !== false) {
      statuses?.push({ name: "RAPL", origin: "default", active: false, reason });
    }
    if (selection.nvml !== false) {
      statuses?.push({ name: "NVML", origin: "requested", active: false, reason });
    }
    if (selection.amdsmi !== false) {
      statuses?.push({ name: "AMD SMI", origin: "requested", active: false, reason });
    }
  }
  if (rapl !== undefined) sources.push(rapl);
  sources.push(...gpus);
  if (perf !== undefined) sources.push(perf);
  for (const source of [...gpus, perf]) {
    if (source !== undefined) {
      statuses?.push({ name: source.name, origin: "requested", active: true });
    }
  }
  const listed = flags.sources !== undefined;
  if (selection.process) {
    const process = new ProcessSource({
      debug: logger.verbosity >= 2 ? (message) => logger.debug(message) : undefined,
    });
    sources.push(process);
    statuses?.push({ name: process.name, origin: listed ? "requested" : "default", active: true });
  }
  // Machine-wide like RAPL: a task that is not its node's leader leaves it to the leader.
  if (selection.system && !machineWide) {
    statuses?.push({
      name: "system",
      origin: listed ? "requested" : "default",
      active: false,
      reason: "machine-wide: read once per node, by the node's leader task",
    });
  }
  if (selection.system && machineWide) {
    try {
      const system = new SystemSource();
      sources.push(system);
      statuses?.push({ name: system.name, origin: "default", active: true });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (flags.sources !== undefined) {
        throw new SourceError("system", reason, { cause: error });
      }
      statuses?.push({ name: "system", origin: "default", active: false, reason });
      logger.warn(
        `no machine-wide CPU and network metrics, continuing without them (${reason})`,
      );
    }
  }
  return sources;
}

/**
 * The machine-wide sources the flags ask for, by kind (`RAPL`, `NVML`, `AMD SMI`): what
 * a task that is not its node's leader leaves to the leader instead of
 * opening (see `machineWide`).
 *
 * @param flags The parsed flags.
 * @returns The kinds, in reading order.
 *
 * @example Usage
 * ```ts
 * import { machineWideSourceKinds } from "./sources.ts";
 * console.log(machineWideSourceKinds({ verbose: 0, gpu: true })); // [ "RAPL", "NVML", "AMD SMI", "system" ]
 * ```
 */
export function machineWideSourceKinds(flags: SourceFlags): string[] {
  const selection = selectSources(flags);
  return [
    ...(selection.rapl !== false ? ["RAPL"] : []),
    ...(selection.nvml ? ["NVML"] : []),
    ...(selection.amdsmi ? ["AMD SMI"] : []),
    ...(selection.system ? ["system"] : []),
  ];
}

/**
 * The powercap folder: `--rapl-path`, else `$JOULE_PROFILER_RAPL_PATH`,
 * else the kernel's default.
 *
 * @param flags The parsed flags.
 * @returns The folder.
 *
 * @example Usage
 * ```ts
 * import { raplPath } from "./sources.ts";
 * console.log(raplPath({})); // "/sys/devices/virtual/powercap/intel-rapl" unless set otherwise
 * ```
 */
export function raplPath(flags: Pick<SourceFlags, "raplPath">): string {
  return flags.raplPath ?? Deno.env.get("JOULE_PROFILER_RAPL_PATH") ?? DEFAULT_POWERCAP_PATH;
}

/**
 * The folder of perf PMUs: `$JOULE_PROFILER_EVENT_SOURCE_PATH`, else the
 * kernel's.
 *
 * @returns The folder.
 *
 * @example Usage
 * ```ts
 * import { eventSourcePath } from "./sources.ts";
 * console.log(eventSourcePath()); // "/sys/bus/event_source/devices"
 * ```
 */
export function eventSourcePath(): string {
  return Deno.env.get("JOULE_PROFILER_EVENT_SOURCE_PATH") ?? DEFAULT_EVENT_SOURCE_PATH;
}

/** Which sources a command uses (see {@linkcode selectSources}). */
export interface SourceSelection {
  /** RAPL: `"explicit"` (listed: an error when unusable), `"default"` (a warning), or off. */
  rapl: "explicit" | "default" | false;
  /** NVIDIA GPUs through NVML: `"explicit"` (an error when unusable), `"any-gpu"` (`--gpu`: left out when absent), or off. */
  nvml: "explicit" | "any-gpu" | false;
  /** AMD GPUs through AMD SMI, as `nvml`. */
  amdsmi: "explicit" | "any-gpu" | false;
  /** perf_event counters of the program. */
  perf: boolean;
  /** The program's process-tree metrics. */
  process: boolean;
  /** Machine-wide CPU and network metrics. */
  system: boolean;
}

/**
 * The sources the flags select. Without `--sources`: RAPL, process and
 * system (each can be turned off: `--no-process`, `--no-system`), plus perf
 * with `--perf`/`--perf-events`, NVML with `--gpus`, AMD SMI with
 * `--amd-gpus`, and the GPUs of either vendor found with `--gpu`. With
 * `--sources`: exactly the listed ones, plus those `--perf`,
 * `--perf-events`, `--gpu`, `--gpus` and `--amd-gpus` add; a listed source that cannot
 * work is then an error, and listing one that `--no-process` or
 * `--no-system` turns off is a usage error.
 *
 * @param flags The parsed flags.
 * @returns The selection.
 * @throws {UsageError} When `--sources` and a `--no-…` flag contradict each other.
 *
 * @example Usage
 * ```ts
 * import { selectSources } from "./sources.ts";
 * console.log(selectSources({ verbose: 0, sources: ["perf"] }).rapl); // false
 * ```
 */
export function selectSources(flags: SourceFlags): SourceSelection {
  const perf = flags.perf === true || flags.perfEvents !== undefined;
  const list = flags.sources ?? [];
  // --gpu takes the GPUs of either vendor that are there; --gpus, --amd-gpus or a listed name require them.
  const gpu = (name: string, indices: number[] | undefined) =>
    indices !== undefined || list.includes(name)
      ? "explicit"
      : flags.gpu === true
      ? "any-gpu"
      : false;
  const nvml = gpu("nvml", flags.gpus);
  const amdsmi = gpu("amdsmi", flags.amdGpus);
  if (flags.sources === undefined) {
    return {
      rapl: "default",
      nvml,
      amdsmi,
      perf,
      process: flags.process !== false,
      system: flags.system !== false,
    };
  }
  for (const name of ["process", "system"] as const) {
    if (list.includes(name) && flags[name] === false) {
      throw new UsageError(`--sources lists ${name} but --no-${name} turns it off: drop one`);
    }
  }
  return {
    rapl: list.includes("rapl") ? "explicit" : false,
    nvml,
    amdsmi,
    perf: perf || list.includes("perf"),
    process: list.includes("process"),
    system: list.includes("system"),
  };
}

function setupRaplSource(
  flags: SourceFlags,
  logger: Logger,
  purpose: SourcePurpose,
  explicit = false,
  statuses?: SourceStatus[],
): Source | undefined {
  const origin = flags.raplBackend === undefined && !explicit ? "default" : "requested";
  let setup;
  try {
    setup = setupRapl({
      backend: flags.raplBackend,
      powercapPath: raplPath(flags),
      eventSourcePath: eventSourcePath(),
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
    statuses?.push({ name: setup.source.name, origin, active: true });
    return setup.source;
  }
  const why = setup.reasons.map(({ backend, reason }) => `${backend}: ${reason}`).join("; ");
  if (explicit) {
    throw new SourceError(
      "RAPL",
      `not available on this machine (${why}); 'joule-profiler doctor' says how to fix it`,
    );
  }
  statuses?.push({ name: "RAPL", origin, active: false, reason: why });
  logger.warn(
    `no RAPL energy on this machine, continuing without it (${why}); ` +
      `'joule-profiler doctor' says how to fix it; without measured energy, ` +
      `--energy-model MODEL.json or --tdp WATTS give estimated energy`,
  );
  return undefined;
}

/** The `perf_event` source; when profiling, checked before any program starts. */
async function buildPerfEventSource(
  list: string | undefined,
  logger: Logger,
  purpose: SourcePurpose,
): Promise<PerfEventSource> {
  const { DEFAULT_PERF_EVENTS, parsePerfEventList, PerfEventSource } = await loadLazily<
    typeof import("../../sources/perf_event/mod.ts")
  >("../../sources/perf_event/mod.ts", import.meta.url);
  let events;
  try {
    events = parsePerfEventList(list ?? DEFAULT_PERF_EVENTS.join(","));
  } catch (error) {
    if (error instanceof UsageError) throw new UsageError(`--perf-events: ${error.message}`);
    throw error;
  }
  const source = new PerfEventSource({ events, warn: (message) => logger.warn(message) });
  if (purpose === "profile") source.preflight();
  return source;
}

/**
 * The GPU sources the flags ask for. `--gpus` and `--amd-gpus` name a
 * vendor explicitly: any failure of it ends the command before the program
 * runs. `--gpu` alone takes every vendor found: one whose library cannot be
 * loaded, whose driver is not loaded or which has no GPU is left out (said
 * with `-v`), any other failure is an error, and finding no GPU at all is
 * one too.
 */
async function openGpuSources(
  flags: SourceFlags,
  selection: SourceSelection,
  logger: Logger,
  purpose: SourcePurpose,
  statuses?: SourceStatus[],
): Promise<Source[]> {
  const wantNvidia = selection.nvml !== false;
  const wantAmd = selection.amdsmi !== false;
  if (!wantNvidia && !wantAmd) return [];
  const sources: Source[] = [];
  const absent: string[] = [];
  const attempt = async (
    name: string,
    required: boolean,
    open: () => Promise<Source>,
    isAbsence: (error: unknown) => boolean,
  ) => {
    try {
      sources.push(await open());
    } catch (error) {
      if (required || !isAbsence(error)) {
        for (const source of sources) await closeGpuSource(source);
        throw error;
      }
      absent.push((error as Error).message);
      // --gpu takes the vendors found: one left out is recorded, with why.
      statuses?.push({
        name,
        origin: "requested",
        active: false,
        reason: (error as Error).message,
      });
    }
  };
  if (wantNvidia) {
    await attempt(
      "NVML",
      selection.nvml === "explicit",
      () => openNvml(flags, logger, purpose),
      nvmlAbsent,
    );
  }
  if (wantAmd) {
    await attempt(
      "AMD SMI",
      selection.amdsmi === "explicit",
      () => buildAmdSmiSource({ indices: flags.amdGpus }, logger, purpose),
      amdSmiAbsent,
    );
  }
  if (flags.gpu && sources.length > 0) {
    logger.info(`--gpu: GPUs found through ${sources.map((source) => source.name).join(" and ")}`);
  }
  for (const reason of absent) logger.info(`--gpu: left out: ${reason}`);
  if (sources.length === 0) {
    throw new SourceError("--gpu", `no GPU found (${absent.join("; ")})`);
  }
  return sources;
}

/** Closes a GPU source opened before a later one failed. */
async function closeGpuSource(source: Source): Promise<void> {
  const closable = source as Source & { close?: () => void };
  await Promise.resolve(closable.close?.());
}

/** Whether NVML failed only because there is no NVIDIA driver or GPU here. */
function nvmlAbsent(error: unknown): boolean {
  if (!(error instanceof SourceError)) return false;
  const cause = error.cause as { name?: string; code?: number } | undefined;
  return cause?.name === "NvmlLoadError" ||
    (cause?.name === "NvmlError" && cause.code === NVML_DRIVER_NOT_LOADED) ||
    // NvmlSource.open() says so without a cause when the driver sees no GPU.
    error.message.startsWith("NVML: no NVIDIA GPU found");
}

/** `NVML_ERROR_DRIVER_NOT_LOADED`. */
const NVML_DRIVER_NOT_LOADED = 9;

/** Whether AMD SMI failed only because there is no ROCm, amdgpu driver or AMD GPU here. */
function amdSmiAbsent(error: unknown): boolean {
  if (!(error instanceof SourceError)) return false;
  const cause = error.cause as { name?: string; code?: number } | undefined;
  return cause?.name === "AmdSmiLoadError" ||
    (cause?.name === "AmdSmiError" && cause.code === AMDSMI_DRIVER_NOT_LOADED) ||
    error.name === "NoAmdGpuError";
}

/** `AMDSMI_STATUS_DRIVER_NOT_LOADED`. */
const AMDSMI_DRIVER_NOT_LOADED = 34;

/** `--gpu`/`--gpus` were asked for: opens NVML and names its GPUs with `-v`. */
async function openNvml(
  flags: SourceFlags,
  logger: Logger,
  purpose: SourcePurpose,
): Promise<NvmlSource> {
  const { GpuSelectionError, NvmlSource } = await loadLazily<
    typeof import("../../sources/nvml/mod.ts")
  >("../../sources/nvml/mod.ts", import.meta.url);
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

/** What {@linkcode buildAmdSmiSource} needs. */
export interface AmdSmiSourceRequest {
  /** AMD GPU indices (AMD SMI's order); default: every AMD GPU. */
  indices?: number[];
}

/**
 * Opens the AMD SMI source (`--amd-gpus`, `--gpu`, or the `amdsmi` source
 * by name): loads `libamd_smi.so` (`$JOULE_PROFILER_AMDSMI_PATH`, else the
 * linker's path, else `/opt/rocm/lib`), names each GPU with `-v`. Any
 * failure is thrown before a program starts: a `SourceError` with the
 * library path, AMD SMI's status string and the fix, or a `UsageError` for
 * an index that does not exist.
 *
 * @param request Which GPUs.
 * @param logger Diagnostics (`-v` names the GPUs, `-vv` adds statistics).
 * @param purpose Profile, or only listing sensors (the library is then closed at once).
 * @returns The source.
 *
 * @example Usage
 * ```ts ignore
 * import { buildAmdSmiSource } from "./sources.ts";
 * import { Logger } from "../logger.ts";
 * const source = await buildAmdSmiSource({ indices: [0, 1] }, new Logger(), "profile");
 * ```
 */
export async function buildAmdSmiSource(
  request: AmdSmiSourceRequest,
  logger: Logger,
  purpose: SourcePurpose,
): Promise<AmdSmiSource> {
  const { AmdGpuSelectionError, AmdSmiSource } = await loadLazily<
    typeof import("../../sources/amdsmi/mod.ts")
  >("../../sources/amdsmi/mod.ts", import.meta.url);
  let source: AmdSmiSource;
  try {
    source = AmdSmiSource.open({
      indices: request.indices,
      debug: logger.verbosity >= 2 ? (message) => logger.debug(message) : undefined,
    });
  } catch (error) {
    if (error instanceof AmdGpuSelectionError) {
      throw new UsageError(
        `--amd-gpus ${error.invalid.join(",")}: ${AmdGpuSelectionError.describe(error.gpuCount)}`,
      );
    }
    throw error;
  }
  logger.info(`AMD SMI: loaded ${source.libraryPath}`);
  for (const gpu of source.gpus) {
    logger.info(
      `AMD SMI: AMD GPU ${gpu.index} (${gpu.name}, ${gpu.pciBusId}): ` +
        (gpu.reading === "energy_counter"
          ? `energy counter (${gpu.counterResolutionUj.toFixed(3)} µJ per count)`
          : `no energy counter, integrating power sampled every ${source.powerSamplePeriodMs} ms`),
    );
  }
  if (purpose === "list-sensors") source.close();
  return source;
}

export { parseAmdGpuList, parseGpuList, parseSourceList, SOURCE_NAMES } from "./option_values.ts";
