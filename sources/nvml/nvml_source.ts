/**
 * `NvmlSource`: per-phase energy of NVIDIA GPUs through NVML.
 *
 * GPUs with the total-energy counter (Volta and later) are read at every
 * boundary and the phase's energy is the counter's difference, computed
 * modulo 2^64 after the run. GPUs without it are sampled for power on an
 * absolute-deadline schedule and at every boundary; the phase's energy is
 * the trapezoid integral of those samples, labelled `integrated_power`.
 *
 * @module
 */

import { stampMonotonic } from "../../src/clock.ts";
import { SourceError, UsageError } from "../../src/errors.ts";
import { SnapshotStore } from "../../src/snapshot_store.ts";
import type { Metric, Sensor, Source } from "../../src/source.ts";
import { type NvmlDevice, NvmlLibrary } from "./nvml_library.ts";

/** The source name shown in every output. */
export const NVML_SOURCE_NAME = "NVML";

/**
 * Default period of power sampling for GPUs without an energy counter.
 * NVML refreshes its power reading at roughly 10–100 Hz depending on the
 * GPU, so sampling faster than 20 ms mostly repeats values.
 */
export const DEFAULT_POWER_SAMPLE_PERIOD_MS = 20;

/** How a GPU's energy is obtained. */
export type NvmlEnergyMethod = "energy_counter" | "integrated_power";

/** A GPU the source measures, as discovered when it was opened. */
export interface NvmlGpu {
  /** NVML index (PCI bus order; not necessarily CUDA's device order). */
  index: number;
  /** Product name, e.g. "NVIDIA H100 80GB HBM3". */
  name: string;
  /** Globally unique id, e.g. "GPU-5ab2…". */
  uuid: string;
  /** Energy counter, or integrated power samples (pre-Volta). */
  method: NvmlEnergyMethod;
}

/** Options of {@linkcode NvmlSource.open}. */
export interface NvmlSourceOptions {
  /** Library to load (default: `$JOULE_PROFILER_NVML_PATH`, else `libnvidia-ml.so.1`). */
  path?: string;
  /** NVML indices of the GPUs to measure (default: all). */
  indices?: readonly number[];
  /** Power sampling period for GPUs without an energy counter, ms (default 20). */
  powerSamplePeriodMs?: number;
  /** Debug diagnostics (read spread across GPUs, sampling statistics). */
  debug?: (message: string) => void;
}

/**
 * GPU indices that do not exist on this machine.
 *
 * @example Usage
 * ```ts
 * import { GpuSelectionError } from "./nvml_source.ts";
 * const error = new GpuSelectionError([5], 2);
 * console.log(error.message); // "GPU 5: no such GPU; this machine has GPU 0, GPU 1"
 * ```
 */
export class GpuSelectionError extends UsageError {
  /** The indices asked for that do not exist. */
  readonly invalid: readonly number[];
  /** How many GPUs NVML sees. */
  readonly deviceCount: number;

  /**
   * Creates the error.
   *
   * @param invalid The indices that do not exist.
   * @param deviceCount How many GPUs NVML sees.
   */
  constructor(invalid: readonly number[], deviceCount: number) {
    super(`GPU ${invalid.join(", ")}: ${GpuSelectionError.describe(deviceCount)}`);
    this.name = "GpuSelectionError";
    this.invalid = invalid;
    this.deviceCount = deviceCount;
  }

  /**
   * "no such GPU; this machine has GPU 0, GPU 1".
   *
   * @param deviceCount How many GPUs NVML sees.
   * @returns The explanation, without the indices asked for.
   */
  static describe(deviceCount: number): string {
    const names = Array.from({ length: deviceCount }, (_, index) => `GPU ${index}`);
    return `no such GPU; this machine has ${names.join(", ")}`;
  }
}

/** Name, UUID and energy method of a GPU; checks a GPU without counter can report power. */
function describeGpu(device: NvmlDevice): NvmlGpu {
  const name = device.name();
  const uuid = device.uuid();
  if (device.hasEnergyCounter()) {
    return { index: device.index, name, uuid, method: "energy_counter" };
  }
  try {
    device.powerMilliwatts();
  } catch (error) {
    throw new SourceError(
      NVML_SOURCE_NAME,
      `GPU ${device.index} (${name}) has no energy counter and its power cannot be read: ` +
        (error as Error).message,
      { cause: error },
    );
  }
  return { index: device.index, name, uuid, method: "integrated_power" };
}

/** Milliseconds of a `[sec, nsec]` pair. */
function milliseconds(stamp: Float64Array, offset: number): number {
  return stamp[offset]! * 1e3 + stamp[offset + 1]! / 1e6;
}

/** Median and maximum of spreads in ns, as "median X µs, max Y µs". */
function summarizeMicros(values: Float64Array): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[sorted.length >> 1]!;
  return `median ${(median / 1000).toFixed(1)} µs, max ${(sorted.at(-1)! / 1000).toFixed(1)} µs`;
}

/**
 * Energy of the selected NVIDIA GPUs per phase: sensors `GPU-<index>` in
 * mJ. Whole-GPU energy (every process on the GPU), not per process.
 *
 * NVML is initialised when the source is opened and shut down by `join()`
 * at the end of each run; `init()` initialises it again for a later run and
 * checks each GPU's UUID is unchanged. Every NVML call is synchronous:
 * they cost microseconds, less than an `await`.
 *
 * @example Usage
 * ```ts
 * import { JouleProfiler } from "../../src/mod.ts";
 * import { NvmlSource } from "./nvml_source.ts";
 * const gpus = NvmlSource.open({ indices: [0] });
 * const result = await new JouleProfiler().addSource(gpus).profile({
 *   command: ["python3", "train.py"],
 * });
 * for (const phase of result.runs[0]!.phases) console.log(phase.name, phase.metrics);
 * ```
 */
export class NvmlSource implements Source<number> {
  /** `NVML`. */
  readonly name: string = NVML_SOURCE_NAME;
  /** The measured GPUs, in reading order. */
  readonly gpus: readonly NvmlGpu[];
  /** Power sampling period for GPUs without an energy counter, ms. */
  readonly powerSamplePeriodMs: number;
  readonly #nvml: NvmlLibrary;
  #devices: NvmlDevice[];
  /** Positions in `gpus` of the GPUs read through their counter, and sampled for power. */
  readonly #counterGpus: number[];
  readonly #powerGpus: number[];
  /**
   * One row per boundary, two columns per GPU: the counter's low and high
   * 32-bit words, or (power GPUs) the row of the boundary's power sample.
   */
  readonly #boundaries: SnapshotStore;
  /** Power samples: `[sec, nsec, mW of each power GPU]` per row. */
  readonly #samples: SnapshotStore | undefined;
  readonly #debug: ((message: string) => void) | undefined;
  readonly #clock = new Float64Array(4);
  #spreads: Float64Array | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #nextSampleMs = 0;
  #samplerError: unknown;
  /** Energy reads still in flight (they run on worker threads). */
  #reads: Promise<void>[] = [];
  /** Boundary rows whose energy read failed, with NVML's message. */
  readonly #failedRows = new Map<number, string>();
  /** Per boundary: monotonic ns when the reads were issued and when the last one landed. */
  #readTimes: Float64Array | undefined;

  /**
   * Loads NVML, initialises it and discovers the GPUs to measure.
   *
   * @param options Library path, GPU selection, sampling period.
   * @returns The source, with NVML initialised.
   * @throws {SourceError} When NVML cannot be loaded or initialised, there
   * is no GPU, or a GPU reports neither energy nor power; the message
   * carries NVML's own error string.
   * @throws {GpuSelectionError} When an index in `indices` does not exist.
   */
  static open(options: NvmlSourceOptions = {}): NvmlSource {
    let nvml: NvmlLibrary;
    try {
      nvml = NvmlLibrary.open({ path: options.path });
    } catch (error) {
      if (error instanceof Deno.errors.NotCapable) throw error;
      throw new SourceError(NVML_SOURCE_NAME, (error as Error).message, { cause: error });
    }
    try {
      const count = nvml.deviceCount();
      if (count === 0) {
        throw new SourceError(
          NVML_SOURCE_NAME,
          "no NVIDIA GPU found (nvmlDeviceGetCount_v2 reports 0 devices)",
        );
      }
      const indices = options.indices === undefined
        ? Array.from({ length: count }, (_, index) => index)
        : [...new Set(options.indices)];
      const invalid = indices.filter((index) => !Number.isInteger(index) || index >= count);
      if (invalid.length > 0) throw new GpuSelectionError(invalid, count);
      return new NvmlSource(nvml, indices, options);
    } catch (error) {
      nvml.close();
      if (error instanceof SourceError || error instanceof UsageError) throw error;
      throw new SourceError(NVML_SOURCE_NAME, (error as Error).message, { cause: error });
    }
  }

  private constructor(nvml: NvmlLibrary, indices: number[], options: NvmlSourceOptions) {
    this.#nvml = nvml;
    this.#debug = options.debug;
    this.powerSamplePeriodMs = options.powerSamplePeriodMs ?? DEFAULT_POWER_SAMPLE_PERIOD_MS;
    this.#devices = [];
    const gpus: NvmlGpu[] = [];
    for (const index of indices) {
      try {
        const device = nvml.device(index);
        this.#devices.push(device);
        gpus.push(describeGpu(device));
      } catch (error) {
        if (error instanceof SourceError) throw error;
        throw new SourceError(NVML_SOURCE_NAME, `GPU ${index}: ${(error as Error).message}`, {
          cause: error,
        });
      }
    }
    this.gpus = gpus;
    this.#counterGpus = [];
    this.#powerGpus = [];
    this.gpus.forEach((gpu, position) => {
      (gpu.method === "energy_counter" ? this.#counterGpus : this.#powerGpus).push(position);
    });
    this.#boundaries = new SnapshotStore(2 * this.gpus.length);
    this.#samples = this.#powerGpus.length > 0
      ? new SnapshotStore(2 + this.#powerGpus.length, 1024)
      : undefined;
    if (this.#debug !== undefined && this.gpus.length > 1) this.#spreads = new Float64Array(64);
    if (this.#debug !== undefined && this.#counterGpus.length > 0) {
      this.#readTimes = new Float64Array(128);
    }
  }

  /**
   * Prepares a run: resets the stored readings and, when a previous run's
   * `join()` shut NVML down, initialises it again.
   *
   * @throws {NvmlError} When NVML cannot be initialised again.
   * @throws {SourceError} When a GPU's UUID changed since the source was opened.
   */
  init(): void {
    this.#stopSampler();
    this.#boundaries.clear();
    this.#samples?.clear();
    this.#samplerError = undefined;
    this.#reads = [];
    this.#failedRows.clear();
    if (this.#nvml.initialized) return;
    this.#nvml.init();
    this.#devices = this.gpus.map((gpu) => {
      const device = this.#nvml.device(gpu.index);
      const uuid = device.uuid();
      if (uuid !== gpu.uuid) {
        throw new SourceError(
          NVML_SOURCE_NAME,
          `GPU ${gpu.index} is now ${uuid}, was ${gpu.uuid}: the GPUs changed between runs`,
        );
      }
      return device;
    });
  }

  /**
   * Reads every GPU: starts the energy-counter reads (they complete on
   * worker threads: a real NVML takes milliseconds per call, which must not
   * hold up the boundary or the other sources), then takes one power
   * sample of the GPUs without a counter. The first call of a run (the
   * baseline) starts the power sampler.
   *
   * @throws {NvmlError} When a power read fails, or the power sampler failed.
   */
  measure(): void {
    const boundaries = this.#boundaries;
    const baseline = boundaries.rows === 0;
    // Append first: even a failed read keeps one row per boundary.
    const row = boundaries.append();
    if (this.#samplerError !== undefined) throw this.#samplerError;
    const values = boundaries.values;
    const spreads = this.#spreads;
    if (spreads !== undefined) stampMonotonic(this.#clock, 0);
    const counters = this.#counterGpus;
    if (counters.length > 0) this.#startEnergyReads(boundaries.rows - 1, row);
    if (this.#samples !== undefined) {
      const sample = this.#samplePower();
      const power = this.#powerGpus;
      for (let i = 0; i < power.length; i++) values[row + 2 * power[i]!] = sample;
    }
    if (spreads !== undefined) this.#recordSpread(boundaries.rows - 1);
    if (baseline && this.#samples !== undefined) this.#startSampler();
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
   * Waits for the energy reads still in flight, stops the power sampler,
   * reports debug statistics and shuts NVML down.
   */
  async join(): Promise<void> {
    this.#stopSampler();
    await Promise.all(this.#reads);
    this.#reads = [];
    if (this.#debug !== undefined) this.#reportStatistics(this.#debug);
    this.#nvml.shutdown();
  }

  /**
   * Issues one off-thread energy read per counter GPU for boundary `index`
   * (whose first column is at `offset`); each lands in its row when NVML
   * answers, or marks the row failed.
   */
  #startEnergyReads(index: number, offset: number): void {
    const counters = this.#counterGpus;
    const times = this.#readTimes;
    if (times !== undefined) {
      this.#readTimes = ensureLength(times, 2 * index + 2);
      stampNs(this.#readTimes!, 2 * index);
    }
    for (let i = 0; i < counters.length; i++) {
      const position = counters[i]!;
      const words = new Uint32Array(2);
      this.#reads.push(
        this.#devices[position]!.readTotalEnergyOffThread(words).then(() => {
          // The store may have grown meanwhile: write through its current array.
          const values = this.#boundaries.values;
          values[offset + 2 * position] = words[0]!;
          values[offset + 2 * position + 1] = words[1]!;
          if (this.#readTimes !== undefined) stampNs(this.#readTimes, 2 * index + 1);
        }, (error) => {
          if (!this.#failedRows.has(index)) this.#failedRows.set(index, (error as Error).message);
        }),
      );
    }
  }

  /** Stops sampling, shuts NVML down and unloads the library; for library users. */
  close(): void {
    this.#stopSampler();
    this.#nvml.close();
  }

  /**
   * One sensor per GPU, with its name, UUID and method in `note`.
   *
   * @returns The sensors.
   */
  sensors(): Sensor[] {
    return this.gpus.map((gpu) => ({
      name: `GPU-${gpu.index}`,
      unit: "mJ",
      source: NVML_SOURCE_NAME,
      note: `${gpu.name}, ${gpu.uuid}, ` +
        (gpu.method === "energy_counter"
          ? "energy counter"
          : `no energy counter: power integrated every ${this.powerSamplePeriodMs} ms`),
    }));
  }

  /**
   * Energy of each GPU over the phase that ended at boundary `row`.
   *
   * @param row The row `retrieve()` returned.
   * @returns One metric per GPU, in mJ.
   */
  toMetrics(row: number): Metric[] {
    const failed = this.#failedRows.get(row - 1) ?? this.#failedRows.get(row);
    if (failed !== undefined) throw new SourceError(NVML_SOURCE_NAME, failed);
    return this.gpus.map((gpu, position) => {
      const column = 2 * position;
      const metric: Metric = {
        name: `GPU-${gpu.index}`,
        value: 0,
        unit: "mJ",
        source: NVML_SOURCE_NAME,
        details: { device_name: gpu.name, uuid: gpu.uuid, method: gpu.method },
      };
      if (gpu.method === "energy_counter") {
        const store = this.#boundaries;
        metric.value = wrappingDelta(
          store.at(row - 1, column),
          store.at(row - 1, column + 1),
          store.at(row, column),
          store.at(row, column + 1),
        );
      } else {
        const from = this.#boundaries.at(row - 1, column);
        const to = this.#boundaries.at(row, column);
        const powerColumn = 2 + this.#powerGpus.indexOf(position);
        metric.value = Math.round(integratePower(this.#samples!, from, to, powerColumn) * 1e3) /
          1e3;
        metric.details!.samples = to - from + 1;
        metric.details!.sample_period_ms = this.powerSamplePeriodMs;
      }
      return metric;
    });
  }

  /** Appends one power sample of every power GPU; returns its row. */
  #samplePower(): number {
    const samples = this.#samples!;
    const offset = samples.append();
    const values = samples.values;
    stampMonotonic(values, offset);
    const power = this.#powerGpus;
    for (let i = 0; i < power.length; i++) {
      values[offset + 2 + i] = this.#devices[power[i]!]!.powerMilliwatts();
    }
    return samples.rows - 1;
  }

  #startSampler(): void {
    stampMonotonic(this.#clock, 2);
    const now = milliseconds(this.#clock, 2);
    this.#nextSampleMs = now + this.powerSamplePeriodMs;
    this.#schedule(now);
  }

  #schedule(nowMs: number): void {
    const timer = setTimeout(this.#tick, Math.max(0, this.#nextSampleMs - nowMs));
    // A sampler left behind by a failed run must not keep the process alive.
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  /** Takes a sample and plans the next on the absolute schedule, skipping missed deadlines. */
  readonly #tick = (): void => {
    this.#timer = undefined;
    let row: number;
    try {
      row = this.#samplePower();
    } catch (error) {
      this.#samplerError = error;
      return;
    }
    const now = milliseconds(this.#samples!.values, row * this.#samples!.width);
    do this.#nextSampleMs += this.powerSamplePeriodMs; while (this.#nextSampleMs <= now);
    this.#schedule(now);
  };

  #stopSampler(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #recordSpread(boundary: number): void {
    stampMonotonic(this.#clock, 2);
    let spreads = this.#spreads!;
    if (boundary >= spreads.length) {
      spreads = new Float64Array(spreads.length * 2);
      spreads.set(this.#spreads!);
      this.#spreads = spreads;
    }
    const clock = this.#clock;
    spreads[boundary] = (clock[2]! - clock[0]!) * 1e9 + clock[3]! - clock[1]!;
  }

  #reportStatistics(debug: (message: string) => void): void {
    const boundaries = this.#boundaries.rows;
    const times = this.#readTimes;
    if (times !== undefined && boundaries > 0) {
      const durations = new Float64Array(boundaries);
      for (let i = 0; i < boundaries; i++) durations[i] = times[2 * i + 1]! - times[2 * i]!;
      debug(
        `NVML: energy-counter reads, issued at each boundary without waiting, took ` +
          `${summarizeMicros(durations)} (${boundaries} boundaries)`,
      );
    }
    if (this.#spreads !== undefined && boundaries > 0) {
      debug(
        `NVML: reading all ${this.gpus.length} GPUs at a boundary took ` +
          `${summarizeMicros(this.#spreads.subarray(0, boundaries))} ` +
          `(first to last read, ${boundaries} boundaries)`,
      );
    }
    const samples = this.#samples;
    if (samples !== undefined && samples.rows > 1) {
      let maxGapMs = 0;
      for (let row = 1; row < samples.rows; row++) {
        const gap = milliseconds(samples.values, row * samples.width) -
          milliseconds(samples.values, (row - 1) * samples.width);
        maxGapMs = Math.max(maxGapMs, gap);
      }
      debug(
        `NVML: ${samples.rows} power samples (period ${this.powerSamplePeriodMs} ms, ` +
          `longest gap ${maxGapMs.toFixed(1)} ms) for GPUs without an energy counter`,
      );
    }
  }
}

/** Grows a Float64Array to at least `length` elements (doubling). */
function ensureLength(array: Float64Array, length: number): Float64Array {
  if (array.length >= length) return array;
  const grown = new Float64Array(Math.max(length, array.length * 2));
  grown.set(array);
  return grown;
}

const stampScratch = new Float64Array(2);

/** Writes the current CLOCK_MONOTONIC time in ns (as a double) at `target[index]`. */
function stampNs(target: Float64Array, index: number): void {
  stampMonotonic(stampScratch, 0);
  target[index] = stampScratch[0]! * 1e9 + stampScratch[1]!;
}

const TWO_POW_32 = 2 ** 32;

/**
 * `(after - before) mod 2^64` of two unsigned 64-bit counter readings given
 * as 32-bit words, exact while the difference stays below 2^53.
 *
 * @param beforeLow Low word of the earlier reading.
 * @param beforeHigh High word of the earlier reading.
 * @param afterLow Low word of the later reading.
 * @param afterHigh High word of the later reading.
 * @returns The increase, with a wrap past 2^64 - 1 counted as an increase.
 *
 * @example Usage
 * ```ts
 * import { wrappingDelta } from "./nvml_source.ts";
 * // From 2^64 - 10 to 5: the counter wrapped and grew by 15.
 * console.log(wrappingDelta(2 ** 32 - 10, 2 ** 32 - 1, 5, 0)); // 15
 * ```
 */
export function wrappingDelta(
  beforeLow: number,
  beforeHigh: number,
  afterLow: number,
  afterHigh: number,
): number {
  let low = afterLow - beforeLow;
  let borrow = 0;
  if (low < 0) {
    low += TWO_POW_32;
    borrow = 1;
  }
  let high = afterHigh - beforeHigh - borrow;
  if (high < 0) high += TWO_POW_32;
  return high * TWO_POW_32 + low;
}

/**
 * Trapezoid integral, in mJ, of the power column of samples `from..to`
 * (rows of `[sec, nsec, mW…]`).
 *
 * @param samples The sample rows.
 * @param from First row (the phase's start boundary sample).
 * @param to Last row (the phase's end boundary sample).
 * @param column The power column.
 * @returns Energy in mJ.
 *
 * @example Usage
 * ```ts
 * import { SnapshotStore } from "../../src/snapshot_store.ts";
 * import { integratePower } from "./nvml_source.ts";
 * const samples = new SnapshotStore(3);
 * for (const [sec, mW] of [[10, 1000], [11, 3000]]) {
 *   const row = samples.append();
 *   samples.values.set([sec, 0, mW], row);
 * }
 * console.log(integratePower(samples, 0, 1, 2)); // 2000 (mJ: 2 W for 1 s)
 * ```
 */
export function integratePower(
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
  return energy / 1e9;
}
