/**
 * `AmdSmiSource`: per-phase energy of AMD GPUs through AMD SMI.
 *
 * Each GPU's energy accumulator (`amdsmi_get_energy_count`: a count, its
 * resolution in µJ per count and the reading's timestamp) is read at every
 * boundary. AMD SMI reads the GPU metrics table the driver refreshes about
 * every millisecond, so a boundary read is current and cheap; the
 * counts are kept as running totals so that wraps are counted (see
 * {@linkcode countDelta}), and a timer reads the counters between
 * boundaries often enough that no wrap can pass unseen on a long phase.
 * GPUs without the accumulator (`AMDSMI_STATUS_NOT_SUPPORTED`, as on
 * virtual machine guests) are sampled for power on an absolute-deadline
 * schedule and at every boundary; their energy is the trapezoid integral of
 * the samples, labelled `details.via: "integrated_power"`.
 *
 * @module
 */

import { stampMonotonic } from "../../src/clock.ts";
import { SourceError, UsageError } from "../../src/errors.ts";
import { SampleBuffer, type SamplePoints } from "../../src/sampling/sample_buffer.ts";
import { RunningPowerIntegral } from "../../src/energy/running_power_integral.ts";
import { SnapshotStore } from "../../src/snapshot_store.ts";
import { wrappingDelta } from "../../src/counter_words.ts";
import type { Metric, SampleSeries, Sensor, Source } from "../../src/source.ts";
import {
  AMDSMI_FIX,
  AmdSmiError,
  type AmdSmiGpu,
  AmdSmiLibrary,
  AmdSmiLoadError,
  ENERGY_READING_WIDTH,
} from "./amdsmi_library.ts";
import { TEMPERATURE_TYPE } from "./ffi.ts";

/** The source name shown in every output. */
export const AMDSMI_SOURCE_NAME = "AMD SMI";

/**
 * Default period of power sampling for GPUs without an energy counter, ms.
 * The driver refreshes the power reading about every millisecond on
 * MI200/MI300; 20 ms keeps the cost negligible.
 */
export const DEFAULT_POWER_SAMPLE_PERIOD_MS = 20;

/**
 * The most power one GPU is assumed to draw (an MI300X draws 750 W): it
 * sets how often counters are read between boundaries, and a reading that
 * implies more is taken as a counter reset, not energy.
 */
export const GPU_POWER_CEILING_WATTS = 3000;

/** How a GPU's energy is obtained. */
export type AmdSmiEnergyReading = "energy_counter" | "integrated_power";

/** A GPU the source measures, as discovered when it was opened. */
export interface AmdGpu {
  /** Position among the AMD GPUs, as `amd-smi list` numbers them. */
  index: number;
  /** Product name (`market_name`), e.g. "AMD Instinct MI300X". */
  name: string;
  /** PCI address, e.g. "0000:c1:00.0". */
  pciBusId: string;
  /** Energy accumulator, or integrated power samples. */
  reading: AmdSmiEnergyReading;
  /** µJ per count of the accumulator (0 without one). */
  counterResolutionUj: number;
  /** Which timeline readings the GPU answers (checked when opened). */
  timeline: { gfxActivity: boolean; vram: boolean; temperature: number | undefined };
}

/** Options of {@linkcode AmdSmiSource.open}. */
export interface AmdSmiSourceOptions {
  /** Library to load (default: `$JOULE_PROFILER_AMDSMI_PATH`, else `libamd_smi.so`). */
  path?: string;
  /** Indices of the AMD GPUs to measure (default: all). */
  indices?: readonly number[];
  /** Power sampling period for GPUs without an energy counter, ms (default 20). */
  powerSamplePeriodMs?: number;
  /**
   * Period of the counter reads between boundaries that catch wraps, ms.
   * Default: a quarter of the time the fastest 32-bit counter takes to wrap
   * at {@linkcode GPU_POWER_CEILING_WATTS} (about 5 s), at most 5 s.
   */
  wrapCheckMs?: number;
  /** Debug diagnostics (reads, wraps, sampling statistics). */
  debug?: (message: string) => void;
}

/**
 * AMD GPU indices that do not exist on this machine.
 *
 * @example Usage
 * ```ts
 * import { AmdGpuSelectionError } from "./amdsmi_source.ts";
 * const error = new AmdGpuSelectionError([5], 2);
 * console.log(error.message); // "AMD GPU 5: no such GPU; this machine has AMD GPU 0, AMD GPU 1"
 * ```
 */
export class AmdGpuSelectionError extends UsageError {
  /** The indices asked for that do not exist. */
  readonly invalid: readonly number[];
  /** How many AMD GPUs AMD SMI sees. */
  readonly gpuCount: number;

  /**
   * Creates the error.
   *
   * @param invalid The indices that do not exist.
   * @param gpuCount How many AMD GPUs AMD SMI sees.
   */
  constructor(invalid: readonly number[], gpuCount: number) {
    super(`AMD GPU ${invalid.join(", ")}: ${AmdGpuSelectionError.describe(gpuCount)}`);
    this.name = "AmdGpuSelectionError";
    this.invalid = invalid;
    this.gpuCount = gpuCount;
  }

  /**
   * "no such GPU; this machine has AMD GPU 0, AMD GPU 1".
   *
   * @param gpuCount How many AMD GPUs AMD SMI sees.
   * @returns The explanation, without the indices asked for.
   */
  static describe(gpuCount: number): string {
    const names = Array.from({ length: gpuCount }, (_, index) => `AMD GPU ${index}`);
    return `no such GPU; this machine has ${names.join(", ")}`;
  }
}

/**
 * AMD SMI works but sees no AMD GPU: with `--gpu` (every GPU found) this
 * vendor is then simply absent.
 *
 * @example Usage
 * ```ts
 * import { NoAmdGpuError } from "./amdsmi_source.ts";
 * console.log(new NoAmdGpuError("/opt/rocm/lib/libamd_smi.so").message);
 * ```
 */
export class NoAmdGpuError extends SourceError {
  /**
   * Creates the error.
   *
   * @param libraryPath The library that answered.
   */
  constructor(libraryPath: string) {
    super(AMDSMI_SOURCE_NAME, `no AMD GPU found (library ${libraryPath}); ${AMDSMI_FIX}`);
    this.name = "NoAmdGpuError";
  }
}

const TWO_POW_32 = 2 ** 32;

/**
 * Counts between two readings of an energy accumulator, given as 32-bit
 * words, and whether the counter wrapped. The rule: when both readings fit
 * in 32 bits the counter is taken to be 32 bits wide (older GPU metrics
 * tables widened a 32-bit accumulator) and a decrease is one wrap at 2^32;
 * otherwise it is 64 bits wide and a decrease is a wrap at 2^64. A wrap
 * that implies an impossible power is a reset, which the caller detects.
 *
 * @param beforeLow Low word of the earlier reading.
 * @param beforeHigh High word of the earlier reading.
 * @param afterLow Low word of the later reading.
 * @param afterHigh High word of the later reading.
 * @returns Counts (exact below 2^53); negative zero never occurs.
 *
 * @example Usage
 * ```ts
 * import { countDelta } from "./amdsmi_source.ts";
 * console.log(countDelta(2 ** 32 - 10, 0, 5, 0)); // 15: one 32-bit wrap
 * console.log(countDelta(100, 1, 50, 1)); // 18446744073709552000: a 64-bit wrap (a reset)
 * ```
 */
export function countDelta(
  beforeLow: number,
  beforeHigh: number,
  afterLow: number,
  afterHigh: number,
): number {
  if (beforeHigh === 0 && afterHigh === 0) {
    const delta = afterLow - beforeLow;
    return delta < 0 ? delta + TWO_POW_32 : delta;
  }
  return wrappingDelta(beforeLow, beforeHigh, afterLow, afterHigh);
}

/** Default wrap-check period for the given resolutions, ms. */
function defaultWrapCheckMs(resolutionsUj: readonly number[]): number {
  const finest = Math.min(...resolutionsUj.filter((resolution) => resolution > 0));
  if (!Number.isFinite(finest)) return 5000;
  const wrapMs = TWO_POW_32 * finest / GPU_POWER_CEILING_WATTS / 1e3;
  return Math.max(10, Math.min(5000, wrapMs / 4));
}

/** Which timeline readings a GPU answers: each is tried once. */
function timelineOf(gpu: AmdSmiGpu): AmdGpu["timeline"] {
  const works = (read: () => number) => {
    try {
      read();
      return true;
    } catch (error) {
      if (error instanceof AmdSmiError) return false;
      throw error;
    }
  };
  const temperature = [TEMPERATURE_TYPE.EDGE, TEMPERATURE_TYPE.JUNCTION].find((sensor) =>
    works(() => gpu.temperatureCelsius(sensor))
  );
  return {
    gfxActivity: works(() => gpu.gfxActivity()),
    vram: works(() => gpu.vramUsedBytes()),
    temperature,
  };
}

/** Name, PCI address and energy reading of a GPU; checks a GPU without counter reports power. */
function describeGpu(gpu: AmdSmiGpu): AmdGpu {
  const name = gpu.marketName();
  const pciBusId = gpu.pciBusId();
  const timeline = timelineOf(gpu);
  if (gpu.hasEnergyCounter()) {
    const reading = new Float64Array(ENERGY_READING_WIDTH);
    gpu.readEnergy(reading, 0);
    return {
      index: gpu.index,
      name,
      pciBusId,
      reading: "energy_counter",
      counterResolutionUj: reading[2]!,
      timeline,
    };
  }
  try {
    gpu.powerWatts();
  } catch (error) {
    throw new SourceError(
      AMDSMI_SOURCE_NAME,
      `AMD GPU ${gpu.index} (${name}, ${pciBusId}) has no energy counter and its power cannot ` +
        `be read: ${(error as Error).message}; ${AMDSMI_FIX}`,
      { cause: error },
    );
  }
  return {
    index: gpu.index,
    name,
    pciBusId,
    reading: "integrated_power",
    counterResolutionUj: 0,
    timeline,
  };
}

/**
 * Power between consecutive samples from the energy counter, timed by the
 * counter's own timestamps (the counter moves about every millisecond, so
 * a short sampling interval timed by our clock would be off by up to one
 * update); by our clock where the timestamp did not move.
 */
function counterPower(samples: SampleBuffer, rowWidth: number, column: number): SamplePoints {
  // Rows move when thinned: final before they are indexed.
  const every = samples.settle();
  const count = Math.max(0, samples.rows - 1);
  const timesNs = new Float64Array(count);
  const values = new Float64Array(count);
  const at = (row: number, offset: number) => samples.values[row * rowWidth + 2 + column + offset]!;
  for (let row = 1; row <= count; row++) {
    const microjoules = (at(row, 0) - at(row - 1, 0)) * at(row, 1);
    let ns = at(row, 5) - at(row - 1, 5);
    if (!(ns > 0)) ns = samples.timeNs(row) - samples.timeNs(row - 1);
    timesNs[row - 1] = samples.timeNs(row);
    values[row - 1] = ns > 0 ? microjoules / ns * 1e3 : 0;
  }
  return every > 1 ? { timesNs, values, every } : { timesNs, values };
}

/** Sensor name of an AMD GPU: distinct from NVML's `GPU-<index>`. */
function sensorName(gpu: AmdGpu): string {
  return `AMD-GPU-${gpu.index}`;
}

/** Columns per GPU in the boundary store. */
const BOUNDARY_WIDTH = 4;
/** Columns per GPU in the sample buffer. */
const SAMPLE_WIDTH = 6;

/**
 * Energy of the selected AMD GPUs per phase: sensors `AMD-GPU-<index>` in
 * mJ. Whole-GPU energy (every process on the GPU), not per process.
 *
 * AMD SMI is initialised when the source is opened and shut down by
 * `join()` at the end of each run; `init()` initialises it again for a
 * later run and checks each GPU's PCI address is unchanged.
 *
 * @example Usage
 * ```ts
 * import { JouleProfiler } from "../../src/mod.ts";
 * import { AmdSmiSource } from "./amdsmi_source.ts";
 * const gpus = AmdSmiSource.open({ indices: [0] });
 * const result = await new JouleProfiler().addSource(gpus).profile({
 *   command: ["python3", "train.py"],
 * });
 * for (const phase of result.runs[0]!.phases) console.log(phase.name, phase.metrics);
 * ```
 */
export class AmdSmiSource implements Source<number> {
  /** `AMD SMI`. */
  readonly name: string = AMDSMI_SOURCE_NAME;
  /** Machine-wide counters: read by one task per node in a distributed job. */
  readonly scope = "machine" as const;
  /** The measured GPUs, in reading order. */
  readonly gpus: readonly AmdGpu[];
  /** Where the library was loaded from. */
  readonly libraryPath: string;
  /** Power sampling period for GPUs without an energy counter, ms. */
  readonly powerSamplePeriodMs: number;
  /** Period of the counter reads between boundaries, ms. */
  readonly wrapCheckMs: number;
  readonly #library: AmdSmiLibrary;
  #devices: AmdSmiGpu[];
  readonly #debug: ((message: string) => void) | undefined;
  /** The last reading of each GPU: `[low, high, µJ/count, timestamp ns]`. */
  readonly #reading: Float64Array;
  /** Running count total, wraps, and `CLOCK_MONOTONIC` ns of the last read, per GPU. */
  readonly #totals: Float64Array;
  readonly #wraps: Float64Array;
  readonly #readAtNs: Float64Array;
  readonly #clock = new Float64Array(2);
  /**
   * One row per boundary, `BOUNDARY_WIDTH` columns per GPU: counter GPUs
   * `[count total, µJ/count, timestamp ns, wraps]`; power GPUs the energy
   * integrated from the run's first power sample to the boundary's, µJ, in
   * column 0, and how many samples that took in column 1.
   */
  readonly #boundaries: SnapshotStore;
  /**
   * The energy of GPUs without a counter, integrated as their power
   * samples come (memory does not grow with the run): one column per GPU,
   * in W × ns.
   */
  readonly #power: RunningPowerIntegral | undefined;
  /** One power reading per GPU (W), the sample being taken. */
  readonly #powerReading: Float64Array;
  /**
   * Timeline samples (`--sample-interval`), `SAMPLE_WIDTH` columns per GPU:
   * `[count total or W, µJ/count, gfx %, VRAM bytes, °C, timestamp ns]`.
   */
  readonly #samples: SampleBuffer;
  readonly #counterGpus: number[] = [];
  readonly #powerGpus: number[] = [];
  #wrapTimer: ReturnType<typeof setTimeout> | undefined;
  #powerTimer: ReturnType<typeof setTimeout> | undefined;
  #nextPowerMs = 0;
  /** An error met between boundaries, thrown at the next boundary. */
  #backgroundError: unknown;
  /** A counter that went back by more than a wrap can explain. */
  #reset: string | undefined;
  #reads = 0;
  /** With `debug`: time the counter reads of each boundary took, total and longest, ns. */
  #boundaryReadNs = 0;
  #boundaryReadMaxNs = 0;
  #timedBoundaries = 0;
  readonly #startClock = new Float64Array(2);

  /**
   * Loads AMD SMI, initialises it for AMD GPUs and discovers the GPUs to
   * measure.
   *
   * @param options Library path, GPU selection, sampling periods.
   * @returns The source, with AMD SMI initialised.
   * @throws {SourceError} When AMD SMI cannot be loaded or initialised,
   * there is no AMD GPU, or a GPU reports neither energy nor power; the
   * message carries the library path, AMD SMI's status string and the fix.
   * @throws {AmdGpuSelectionError} When an index in `indices` does not exist.
   */
  static open(options: AmdSmiSourceOptions = {}): AmdSmiSource {
    let library: AmdSmiLibrary;
    try {
      library = AmdSmiLibrary.open({ path: options.path });
    } catch (error) {
      if (error instanceof AmdSmiLoadError) {
        throw new SourceError(AMDSMI_SOURCE_NAME, error.message, { cause: error });
      }
      if (error instanceof AmdSmiError) {
        throw new SourceError(
          AMDSMI_SOURCE_NAME,
          `${error.message} (library ${error.libraryPath}); ${AMDSMI_FIX}`,
          { cause: error },
        );
      }
      throw error;
    }
    try {
      const devices = library.gpus();
      if (devices.length === 0) {
        throw new NoAmdGpuError(library.path);
      }
      const indices = options.indices === undefined
        ? devices.map((device) => device.index)
        : [...new Set(options.indices)];
      const invalid = indices.filter((index) =>
        !Number.isInteger(index) || index < 0 || index >= devices.length
      );
      if (invalid.length > 0) throw new AmdGpuSelectionError(invalid, devices.length);
      return new AmdSmiSource(library, indices.map((index) => devices[index]!), options);
    } catch (error) {
      library.close();
      if (error instanceof SourceError || error instanceof UsageError) throw error;
      throw new SourceError(
        AMDSMI_SOURCE_NAME,
        `${(error as Error).message} (library ${library.path}); ${AMDSMI_FIX}`,
        { cause: error },
      );
    }
  }

  private constructor(
    library: AmdSmiLibrary,
    devices: AmdSmiGpu[],
    options: AmdSmiSourceOptions,
  ) {
    this.#library = library;
    this.libraryPath = library.path;
    this.#debug = options.debug;
    this.powerSamplePeriodMs = options.powerSamplePeriodMs ?? DEFAULT_POWER_SAMPLE_PERIOD_MS;
    this.#devices = devices;
    this.gpus = devices.map((device) => {
      try {
        return describeGpu(device);
      } catch (error) {
        if (error instanceof SourceError) throw error;
        throw new SourceError(
          AMDSMI_SOURCE_NAME,
          `AMD GPU ${device.index}: ${(error as Error).message} (library ${library.path}); ` +
            AMDSMI_FIX,
          { cause: error },
        );
      }
    });
    this.gpus.forEach((gpu, position) => {
      (gpu.reading === "energy_counter" ? this.#counterGpus : this.#powerGpus).push(position);
    });
    this.wrapCheckMs = options.wrapCheckMs ??
      defaultWrapCheckMs(this.gpus.map((gpu) => gpu.counterResolutionUj));
    const count = this.gpus.length;
    this.#reading = new Float64Array(count * ENERGY_READING_WIDTH);
    this.#totals = new Float64Array(count);
    this.#wraps = new Float64Array(count);
    this.#readAtNs = new Float64Array(count);
    this.#boundaries = new SnapshotStore(BOUNDARY_WIDTH * count);
    this.#power = this.#powerGpus.length > 0 ? new RunningPowerIntegral(count) : undefined;
    this.#powerReading = new Float64Array(count);
    this.#samples = new SampleBuffer(SAMPLE_WIDTH * count);
  }

  /**
   * Prepares a run: resets the stored readings, initialises AMD SMI again
   * when a previous run's `join()` shut it down, takes a first reading of
   * each energy counter and starts the wrap checks.
   *
   * @throws {SourceError} When AMD SMI cannot be initialised again, or the
   * GPUs changed between runs.
   */
  init(): void {
    this.#stopTimers();
    this.#boundaries.clear();
    this.#power?.clear();
    this.#samples.clear();
    this.#backgroundError = undefined;
    this.#reset = undefined;
    this.#reads = 0;
    this.#boundaryReadNs = 0;
    this.#boundaryReadMaxNs = 0;
    this.#timedBoundaries = 0;
    this.#totals.fill(0);
    this.#wraps.fill(0);
    try {
      if (!this.#library.initialized) {
        this.#library.init();
        const devices = this.#library.gpus();
        this.#devices = this.gpus.map((gpu) => {
          const device = devices[gpu.index];
          const pciBusId = device?.pciBusId();
          if (device === undefined || pciBusId !== gpu.pciBusId) {
            throw new SourceError(
              AMDSMI_SOURCE_NAME,
              `AMD GPU ${gpu.index} is now ${pciBusId ?? "gone"}, was ${gpu.pciBusId}: ` +
                "the GPUs changed between runs",
            );
          }
          return device;
        });
      }
      for (const position of this.#counterGpus) this.#firstReading(position);
    } catch (error) {
      if (error instanceof SourceError) throw error;
      throw new SourceError(AMDSMI_SOURCE_NAME, (error as Error).message, { cause: error });
    }
    if (this.#counterGpus.length > 0) this.#scheduleWrapCheck();
  }

  /**
   * Marks a boundary: reads each energy counter (into the running totals)
   * and takes one power sample of the GPUs without a counter. The first
   * call of a run (the baseline) starts the power sampler.
   *
   * @throws {SourceError} When a read fails, or one between boundaries did.
   */
  measure(): void {
    const boundaries = this.#boundaries;
    const baseline = boundaries.rows === 0;
    // Append first: even a failed read keeps one row per boundary.
    const row = boundaries.append();
    if (this.#backgroundError !== undefined) throw this.#backgroundError;
    const values = boundaries.values;
    const counters = this.#counterGpus;
    const timed = this.#debug !== undefined && counters.length > 0;
    if (timed) stampMonotonic(this.#startClock, 0);
    for (let i = 0; i < counters.length; i++) {
      const position = counters[i]!;
      this.#readCounter(position);
      const column = row + BOUNDARY_WIDTH * position;
      values[column] = this.#totals[position]!;
      values[column + 1] = this.#reading[position * ENERGY_READING_WIDTH + 2]!;
      values[column + 2] = this.#reading[position * ENERGY_READING_WIDTH + 3]!;
      values[column + 3] = this.#wraps[position]!;
    }
    if (timed) {
      // #readCounter stamped the time after each read: the last one ends the boundary's reads.
      const elapsed = this.#readAtNs[counters[counters.length - 1]!]! -
        (this.#startClock[0]! * 1e9 + this.#startClock[1]!);
      this.#boundaryReadNs += elapsed;
      this.#boundaryReadMaxNs = Math.max(this.#boundaryReadMaxNs, elapsed);
      this.#timedBoundaries++;
    }
    const integral = this.#power;
    if (integral !== undefined) {
      this.#samplePower();
      const power = this.#powerGpus;
      for (let i = 0; i < power.length; i++) {
        const column = row + BOUNDARY_WIDTH * power[i]!;
        values[column] = integral.total(power[i]!) / 1e3;
        values[column + 1] = integral.count;
      }
      if (baseline) this.#startPowerSampler();
    }
  }

  /** A boundary at the instant of the previous one: its readings again, nothing read. */
  repeat(): void {
    this.#boundaries.appendCopy();
  }

  /**
   * Closes the phase ended by the last `measure()`.
   *
   * @returns The boundary row that ends the phase.
   */
  retrieve(): number {
    return this.#boundaries.rows - 1;
  }

  /**
   * Reads every GPU for the timeline: energy counter (or power), graphics
   * activity, VRAM in use and temperature. The counters' running totals
   * are brought up to date, so boundary energies are unchanged.
   *
   * @throws {SourceError} When a read fails.
   */
  sample(): void {
    const offset = this.#samples.append();
    const values = this.#samples.values;
    try {
      for (let position = 0; position < this.gpus.length; position++) {
        const gpu = this.gpus[position]!;
        const device = this.#devices[position]!;
        const column = offset + SAMPLE_WIDTH * position;
        if (gpu.reading === "energy_counter") {
          this.#readCounter(position);
          values[column] = this.#totals[position]!;
          values[column + 1] = this.#reading[position * ENERGY_READING_WIDTH + 2]!;
          values[column + 5] = this.#reading[position * ENERGY_READING_WIDTH + 3]!;
        } else {
          values[column] = device.powerWatts();
        }
        if (gpu.timeline.gfxActivity) values[column + 2] = device.gfxActivity();
        if (gpu.timeline.vram) values[column + 3] = device.vramUsedBytes();
        if (gpu.timeline.temperature !== undefined) {
          values[column + 4] = device.temperatureCelsius(gpu.timeline.temperature);
        }
      }
    } catch (error) {
      if (error instanceof SourceError) throw error;
      throw new SourceError(AMDSMI_SOURCE_NAME, (error as Error).message, { cause: error });
    }
  }

  /**
   * The timeline of each GPU: power in W (from the counter between samples,
   * or the power reading), graphics activity in %, VRAM in use in MiB and
   * temperature in °C, as far as the GPU reports them.
   *
   * @returns The series.
   */
  samples(): SampleSeries[] {
    const samples = this.#samples;
    const series: SampleSeries[] = [];
    if (samples.rows === 0) return series;
    this.gpus.forEach((gpu, position) => {
      const name = sensorName(gpu);
      const column = SAMPLE_WIDTH * position;
      const source = this.name;
      if (gpu.reading === "energy_counter") {
        series.push({
          name,
          unit: "W",
          source,
          ...counterPower(samples, 2 + SAMPLE_WIDTH * this.gpus.length, column),
        });
      } else {
        series.push({ name, unit: "W", source, ...samples.levels(column) });
      }
      if (gpu.timeline.gfxActivity) {
        series.push({ name: `${name}-GFX`, unit: "%", source, ...samples.levels(column + 2) });
      }
      if (gpu.timeline.vram) {
        series.push({
          name: `${name}-VRAM`,
          unit: "MiB",
          source,
          ...samples.levels(column + 3, 1 / 2 ** 20),
        });
      }
      if (gpu.timeline.temperature !== undefined) {
        series.push({ name: `${name}-TEMP`, unit: "°C", source, ...samples.levels(column + 4) });
      }
    });
    return series;
  }

  /**
   * Stops the timers, reports debug statistics and shuts AMD SMI down.
   */
  join(): void {
    this.#stopTimers();
    if (this.#debug !== undefined) this.#reportStatistics(this.#debug);
    this.#library.shutdown();
  }

  /** Stops the timers, shuts AMD SMI down and unloads the library; for library users. */
  close(): void {
    this.#stopTimers();
    this.#library.close();
  }

  /**
   * One sensor per GPU, with its name, PCI address and reading in `note`.
   *
   * @returns The sensors.
   */
  sensors(): Sensor[] {
    return this.gpus.map((gpu) => ({
      name: sensorName(gpu),
      unit: "mJ",
      source: AMDSMI_SOURCE_NAME,
      note: `${gpu.name}, ${gpu.pciBusId}, ` +
        (gpu.reading === "energy_counter"
          ? `energy counter (${gpu.counterResolutionUj.toFixed(3)} µJ per count)`
          : `no energy counter: power integrated every ${this.powerSamplePeriodMs} ms`),
    }));
  }

  /**
   * Energy of each GPU over the phase that ended at boundary `row`.
   *
   * @param row The row `retrieve()` returned.
   * @returns One metric per GPU, in mJ, labelled `measured`; `details`
   * says how it was read.
   * @throws {SourceError} When a counter was reset during the run.
   */
  toMetrics(row: number): Metric[] {
    if (this.#reset !== undefined) throw new SourceError(AMDSMI_SOURCE_NAME, this.#reset);
    const store = this.#boundaries;
    return this.gpus.map((gpu, position) => {
      const column = BOUNDARY_WIDTH * position;
      const metric: Metric = {
        name: sensorName(gpu),
        value: 0,
        unit: "mJ",
        source: AMDSMI_SOURCE_NAME,
      };
      if (gpu.reading === "energy_counter") {
        const resolution = store.at(row, column + 1);
        const microjoules = store.delta(row - 1, row, column) * resolution;
        metric.value = Math.round(microjoules) / 1e3;
        metric.details = {
          method: "measured",
          via: "energy_counter",
          device_name: gpu.name,
          pci_bus_id: gpu.pciBusId,
          counter_resolution_uj: Math.round(resolution * 1e6) / 1e6,
          counter_interval_ms: Math.round(store.delta(row - 1, row, column + 2) / 1e3) / 1e3,
          counter_wraps: store.delta(row - 1, row, column + 3),
        };
      } else {
        metric.value = Math.round(store.delta(row - 1, row, column)) / 1e3;
        metric.details = {
          method: "measured",
          via: "integrated_power",
          device_name: gpu.name,
          pci_bus_id: gpu.pciBusId,
          samples: store.delta(row - 1, row, column + 1) + 1,
          sample_period_ms: this.powerSamplePeriodMs,
        };
      }
      return metric;
    });
  }

  /** Reads a counter without adding to its total (the start of a run). */
  #firstReading(position: number): void {
    this.#devices[position]!.readEnergy(this.#reading, position * ENERGY_READING_WIDTH);
    stampMonotonic(this.#clock, 0);
    this.#readAtNs[position] = this.#clock[0]! * 1e9 + this.#clock[1]!;
  }

  /** Reads a counter and adds the counts since its last reading to its running total. */
  #readCounter(position: number): void {
    const reading = this.#reading;
    const offset = position * ENERGY_READING_WIDTH;
    const beforeLow = reading[offset]!;
    const beforeHigh = reading[offset + 1]!;
    this.#devices[position]!.readEnergy(reading, offset);
    this.#reads++;
    stampMonotonic(this.#clock, 0);
    const now = this.#clock[0]! * 1e9 + this.#clock[1]!;
    const afterLow = reading[offset]!;
    const afterHigh = reading[offset + 1]!;
    const delta = countDelta(beforeLow, beforeHigh, afterLow, afterHigh);
    const wrapped = afterHigh < beforeHigh || (afterHigh === beforeHigh && afterLow < beforeLow);
    if (wrapped) {
      this.#wraps[position] = this.#wraps[position]! + 1;
      // A wrap is the counter passing its width at a plausible power; a bigger jump is a reset.
      const seconds = Math.max(1e-3, (now - this.#readAtNs[position]!) / 1e9);
      const watts = delta * reading[offset + 2]! / 1e6 / seconds;
      if (watts > GPU_POWER_CEILING_WATTS && this.#reset === undefined) {
        const gpu = this.gpus[position]!;
        this.#reset = `AMD GPU ${gpu.index} (${gpu.pciBusId}): its energy counter went back ` +
          `from ${beforeHigh * TWO_POW_32 + beforeLow} to ${afterHigh * TWO_POW_32 + afterLow} ` +
          `counts, more than a wrap explains (a driver reset?): its energy cannot be trusted`;
      }
    }
    this.#totals[position] = this.#totals[position]! + delta;
    this.#readAtNs[position] = now;
  }

  #scheduleWrapCheck(): void {
    const timer = setTimeout(this.#checkWraps, this.wrapCheckMs);
    // A check left behind by a failed run must not keep the process alive.
    Deno.unrefTimer(timer);
    this.#wrapTimer = timer;
  }

  /** Reads every counter between boundaries, so no wrap passes unseen. */
  readonly #checkWraps = (): void => {
    this.#wrapTimer = undefined;
    try {
      for (const position of this.#counterGpus) this.#readCounter(position);
    } catch (error) {
      this.#backgroundError = new SourceError(AMDSMI_SOURCE_NAME, (error as Error).message, {
        cause: error,
      });
      return;
    }
    this.#scheduleWrapCheck();
  };

  /** Reads every power GPU once, into the running integral. */
  #samplePower(): void {
    const reading = this.#powerReading;
    // Stamped before the reads, as each sample's time always was.
    stampMonotonic(this.#clock, 0);
    const timeNs = this.#clock[0]! * 1e9 + this.#clock[1]!;
    const positions = this.#powerGpus;
    try {
      for (let i = 0; i < positions.length; i++) {
        const position = positions[i]!;
        reading[position] = this.#devices[position]!.powerWatts();
      }
    } catch (error) {
      throw new SourceError(AMDSMI_SOURCE_NAME, (error as Error).message, { cause: error });
    }
    this.#power!.add(timeNs, reading);
  }

  #startPowerSampler(): void {
    const now = performance.now();
    this.#nextPowerMs = now + this.powerSamplePeriodMs;
    this.#schedulePower(now);
  }

  #schedulePower(nowMs: number): void {
    const timer = setTimeout(this.#tickPower, Math.max(0, this.#nextPowerMs - nowMs));
    Deno.unrefTimer(timer);
    this.#powerTimer = timer;
  }

  /** Takes a power sample and plans the next on the absolute schedule, skipping missed deadlines. */
  readonly #tickPower = (): void => {
    this.#powerTimer = undefined;
    try {
      this.#samplePower();
    } catch (error) {
      this.#backgroundError = error;
      return;
    }
    const now = performance.now();
    do this.#nextPowerMs += this.powerSamplePeriodMs; while (this.#nextPowerMs <= now);
    this.#schedulePower(now);
  };

  #stopTimers(): void {
    if (this.#wrapTimer !== undefined) clearTimeout(this.#wrapTimer);
    if (this.#powerTimer !== undefined) clearTimeout(this.#powerTimer);
    this.#wrapTimer = undefined;
    this.#powerTimer = undefined;
  }

  #reportStatistics(debug: (message: string) => void): void {
    for (const position of this.#counterGpus) {
      const gpu = this.gpus[position]!;
      debug(
        `AMD SMI: AMD GPU ${gpu.index}: ${this.#wraps[position]} counter wrap(s) this run; ` +
          `counters read between boundaries every ${this.wrapCheckMs.toFixed(0)} ms`,
      );
    }
    if (this.#counterGpus.length > 0) {
      debug(`AMD SMI: ${this.#reads} energy counter reads this run`);
    }
    if (this.#timedBoundaries > 0) {
      debug(
        `AMD SMI: reading ${this.#counterGpus.length} energy counter(s) at a boundary took ` +
          `mean ${(this.#boundaryReadNs / this.#timedBoundaries / 1e3).toFixed(1)} µs, ` +
          `max ${
            (this.#boundaryReadMaxNs / 1e3).toFixed(1)
          } µs (${this.#timedBoundaries} boundaries)`,
      );
    }
    const power = this.#power;
    if (power !== undefined && power.count > 1) {
      debug(
        `AMD SMI: ${power.count} power samples (period ${this.powerSamplePeriodMs} ms, longest ` +
          `gap ${power.longestGapMs.toFixed(1)} ms) for GPUs without an energy counter`,
      );
    }
  }
}

/**
 * Trapezoid integral, in µJ, of a power column in W over sample rows
 * `from..to` (rows of `[sec, nsec, W…]`).
 *
 * @param samples The sample rows.
 * @param from First row (the phase's start boundary sample).
 * @param to Last row (the phase's end boundary sample).
 * @param column The power column.
 * @returns Energy in µJ.
 *
 * @example Usage
 * ```ts
 * import { SnapshotStore } from "../../src/snapshot_store.ts";
 * import { integratePowerWatts } from "./amdsmi_source.ts";
 * const samples = new SnapshotStore(3);
 * for (const [sec, watts] of [[10, 100], [11, 300]] as const) {
 *   const row = samples.append();
 *   samples.values.set([sec, 0, watts], row);
 * }
 * console.log(integratePowerWatts(samples, 0, 1, 2)); // 200000000 (µJ: 200 W for 1 s)
 * ```
 */
export function integratePowerWatts(
  samples: SnapshotStore,
  from: number,
  to: number,
  column: number,
): number {
  let energy = 0;
  for (let row = from; row < to; row++) {
    const ns = (samples.at(row + 1, 0) - samples.at(row, 0)) * 1e9 +
      samples.at(row + 1, 1) - samples.at(row, 1);
    energy += (samples.at(row, column) + samples.at(row + 1, column)) / 2 * ns;
  }
  return energy / 1e3;
}
