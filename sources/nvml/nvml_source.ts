/**
 * `NvmlSource`: per-phase energy of NVIDIA GPUs through NVML.
 *
 * GPUs with the total-energy counter (Volta and later) are followed by a
 * background reader (`EnergyCounterReader`): the counter moves in steps
 * (every 100 ms on an H100) and a read takes milliseconds, so boundaries
 * only stamp their time and the energy at each boundary is interpolated
 * between the counter's updates after the run. GPUs without the counter
 * are sampled for power on an absolute-deadline schedule and at every
 * boundary; the phase's energy is the trapezoid integral of those samples,
 * labelled `details.via: "integrated_power"`.
 *
 * @module
 */

import { stampMonotonic } from "../../src/clock.ts";
import { SourceError, UsageError } from "../../src/errors.ts";
import { SnapshotStore } from "../../src/snapshot_store.ts";
import { RunningPowerIntegral } from "../../src/energy/running_power_integral.ts";
import { SampleBuffer } from "../../src/sampling/sample_buffer.ts";
import type { Metric, SampleSeries, Sensor, Source } from "../../src/source.ts";
import { EnergyCounterReader } from "./energy_counter_reader.ts";
export { wrappingDelta } from "./energy_counter_reader.ts";
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
  /** Machine-wide counters: read by one task per node in a distributed job. */
  readonly scope = "machine" as const;
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
   * One row per boundary, two columns per GPU: for counter GPUs the
   * boundary's `CLOCK_MONOTONIC` time in ns (column 0); for power GPUs the
   * energy integrated from the run's first sample to the boundary's, mJ
   * (column 0), and how many samples that took (column 1).
   */
  readonly #boundaries: SnapshotStore;
  /** One background reader per counter GPU, aligned with `#counterGpus`. */
  #readers: EnergyCounterReader[] = [];
  /**
   * The power GPUs' energy, integrated as the samples come (memory does not
   * grow with the run), one column per power GPU in mW × ns.
   */
  readonly #integral: RunningPowerIntegral | undefined;
  /** The power GPUs' samples for the timeline (mW), thinned past `--max-samples`. */
  readonly #samples: SampleBuffer | undefined;
  readonly #debug: ((message: string) => void) | undefined;
  readonly #clock = new Float64Array(4);
  #spreads: Float64Array | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #nextSampleMs = 0;
  #samplerError: unknown;
  /** Why the counter readers could not cover the run, if they could not. */
  #counterProblem: string | undefined;

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
    const powerGpus = this.#powerGpus.length;
    this.#integral = powerGpus > 0 ? new RunningPowerIntegral(powerGpus) : undefined;
    this.#samples = powerGpus > 0 ? new SampleBuffer(powerGpus, 1024) : undefined;
    if (this.#debug !== undefined && this.gpus.length > 1) this.#spreads = new Float64Array(64);
  }

  /**
   * Prepares a run: resets the stored readings, initialises NVML again when
   * a previous run's `join()` shut it down, and starts following each
   * energy counter until it has moved once (up to ~100 ms, while the
   * program is still held).
   *
   * @throws {NvmlError} When NVML cannot be initialised again.
   * @throws {SourceError} When a GPU's UUID changed since the source was
   * opened, or its counter does not move.
   */
  async init(): Promise<void> {
    this.#stopSampler();
    this.#boundaries.clear();
    this.#samples?.clear();
    this.#integral?.clear();
    this.#samplerError = undefined;
    this.#counterProblem = undefined;
    if (!this.#nvml.initialized) {
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
    // Follow each energy counter until it has moved once: the program starts
    // after an update, so its START lies between two known updates.
    this.#readers = this.#counterGpus.map((position) =>
      new EnergyCounterReader(this.#devices[position]!)
    );
    for (const reader of this.#readers) reader.start();
    const started = nowNs();
    const moved = await Promise.all(
      this.#readers.map((reader) => reader.waitForUpdate(started - 1, COUNTER_WAIT_MS)),
    );
    const stuck = moved.findIndex((ok) => !ok);
    if (stuck !== -1) {
      await this.#stopReaders();
      const gpu = this.gpus[this.#counterGpus[stuck]!]!;
      throw new SourceError(
        NVML_SOURCE_NAME,
        this.#readers[stuck]!.error?.message ??
          `GPU ${gpu.index}'s energy counter did not move within ${COUNTER_WAIT_MS} ms`,
      );
    }
  }

  /**
   * Marks a boundary: stamps its time for the counter GPUs (their energy is
   * interpolated after the run; no NVML call here), and takes one power
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
    if (counters.length > 0) {
      const time = nowNs();
      for (let i = 0; i < counters.length; i++) {
        values[row + 2 * counters[i]!] = time;
        // Its two surrounding changes outlive the reader's thinning.
        this.#readers[i]!.pin(time);
      }
    }
    const integral = this.#integral;
    if (integral !== undefined) {
      this.#samplePower();
      const power = this.#powerGpus;
      for (let i = 0; i < power.length; i++) {
        values[row + 2 * power[i]!] = integral.total(i) / 1e9;
        values[row + 2 * power[i]! + 1] = integral.count;
      }
    }
    if (spreads !== undefined) this.#recordSpread(boundaries.rows - 1);
    if (baseline && this.#samples !== undefined) this.#startSampler();
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
   * Follows the counters until they have moved after the last boundary (up
   * to ~100 ms after the program ended), stops the readers and the power
   * sampler, reports debug statistics and shuts NVML down.
   */
  async join(): Promise<void> {
    this.#stopSampler();
    const rows = this.#boundaries.rows;
    if (this.#readers.length > 0 && rows > 0) {
      const last = this.#boundaries.at(rows - 1, 2 * this.#counterGpus[0]!);
      const moved = await Promise.all(
        this.#readers.map((reader) => reader.waitForUpdate(last, COUNTER_WAIT_MS)),
      );
      const failed = this.#readers.find((reader) => reader.error !== undefined);
      if (failed !== undefined) this.#counterProblem = failed.error!.message;
      else if (moved.includes(false)) {
        this.#counterProblem = `an energy counter did not move within ${COUNTER_WAIT_MS} ms`;
      }
    }
    await this.#stopReaders();
    if (this.#debug !== undefined) this.#reportStatistics(this.#debug);
    this.#nvml.shutdown();
  }

  async #stopReaders(): Promise<void> {
    await Promise.all(this.#readers.map((reader) => reader.stop()));
  }

  /** Stops sampling, shuts NVML down and unloads the library; for library users. */
  close(): void {
    this.#stopSampler();
    for (const reader of this.#readers) void reader.stop();
    this.#nvml.close();
  }

  /**
   * Power of each GPU over the run, in W, from what the source already
   * reads: between consecutive updates of the energy counter (about every
   * 100 ms), or the power samples of a GPU without a counter (every
   * `powerSamplePeriodMs`). NVML has no `sample()`: its reads take
   * milliseconds, and its own readers already follow the GPU as closely
   * as it updates.
   *
   * @returns One `W` series per GPU.
   */
  samples(): SampleSeries[] {
    return this.gpus.map((gpu, position) => {
      const name = `GPU-${gpu.index}`;
      if (gpu.method === "energy_counter") {
        const reader = this.#readers[this.#counterGpus.indexOf(position)]!;
        return { name, unit: "W", source: this.name, ...reader.powerSeries() };
      }
      const column = this.#powerGpus.indexOf(position);
      return { name, unit: "W", source: this.name, ...this.#samples!.levels(column, 1e-3) };
    });
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
    return this.gpus.map((gpu, position) => {
      const column = 2 * position;
      const metric: Metric = {
        name: `GPU-${gpu.index}`,
        value: 0,
        unit: "mJ",
        source: NVML_SOURCE_NAME,
        details: { device_name: gpu.name, uuid: gpu.uuid, via: gpu.method },
      };
      if (gpu.method === "energy_counter") {
        const reader = this.#readers[this.#counterGpus.indexOf(position)]!;
        const store = this.#boundaries;
        try {
          const energy = reader.energyAt(store.at(row, column)) -
            reader.energyAt(store.at(row - 1, column));
          metric.value = Math.round(energy * 1e3) / 1e3;
        } catch (error) {
          throw new SourceError(
            NVML_SOURCE_NAME,
            this.#counterProblem ?? (error as Error).message,
            { cause: error },
          );
        }
        metric.details!.counter_update_ms = Math.round(reader.updatePeriodMs * 10) / 10;
        metric.details!.interpolated = true;
      } else {
        const store = this.#boundaries;
        metric.value = Math.round(store.delta(row - 1, row, column) * 1e3) / 1e3;
        metric.details!.samples = store.delta(row - 1, row, column + 1) + 1;
        metric.details!.sample_period_ms = this.powerSamplePeriodMs;
      }
      return metric;
    });
  }

  /** Reads every power GPU once: into the integral, and the timeline's samples. */
  #samplePower(): void {
    const samples = this.#samples!;
    const offset = samples.append();
    const values = samples.values;
    const power = this.#powerGpus;
    for (let i = 0; i < power.length; i++) {
      values[offset + i] = this.#devices[power[i]!]!.powerMilliwatts();
    }
    // The sample's own stamp (taken before its reads), as the stored rows had it.
    const timeNs = values[offset - 2]! * 1e9 + values[offset - 1]!;
    this.#integral!.add(timeNs, values, offset);
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
    try {
      this.#samplePower();
    } catch (error) {
      this.#samplerError = error;
      return;
    }
    const now = this.#integral!.lastNs / 1e6;
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
    this.#readers.forEach((reader, i) => {
      debug(
        `NVML: GPU ${this.gpus[this.#counterGpus[i]!]!.index}: ${reader.reads} counter reads ` +
          `(mean ${reader.meanReadMs.toFixed(2)} ms each, off the JS thread); the counter ` +
          `moved every ${reader.updatePeriodMs.toFixed(1)} ms`,
      );
    });
    if (this.#spreads !== undefined && boundaries > 0) {
      debug(
        `NVML: reading all ${this.gpus.length} GPUs at a boundary took ` +
          `${summarizeMicros(this.#spreads.subarray(0, boundaries))} ` +
          `(first to last read, ${boundaries} boundaries)`,
      );
    }
    const integral = this.#integral;
    if (integral !== undefined && integral.count > 1) {
      debug(
        `NVML: ${integral.count} power samples (period ${this.powerSamplePeriodMs} ms, ` +
          `longest gap ${integral.longestGapMs.toFixed(1)} ms) for GPUs without an energy counter`,
      );
    }
  }
}

/** How long to wait for an energy counter to move (it moves every ~100 ms). */
const COUNTER_WAIT_MS = 2000;

const stampScratch = new Float64Array(2);

/** The current CLOCK_MONOTONIC time in ns, as a number. */
function nowNs(): number {
  stampMonotonic(stampScratch, 0);
  return stampScratch[0]! * 1e9 + stampScratch[1]!;
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
 * for (const [sec, mW] of [[10, 1000], [11, 3000]] as const) {
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
