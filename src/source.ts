/**
 * The interface every metric source implements, built-in or user-defined.
 *
 * A source is a reader of counters. The orchestrator drives it; it never
 * talks to another source. During a run it only stores raw values;
 * conversion to {@linkcode Metric}s happens after the program has exited.
 *
 * Lifecycle of one run (one iteration):
 *
 * 0. `prepare()` (optional): the program is about to be spawned; start
 *    slow set-up that `init` would otherwise wait for. Not awaited.
 * 1. `init(pid)`: the program is spawned and held before its first
 *    instruction; attach per-process instrumentation here (e.g. perf_event
 *    counters with `enable_on_exec`). Awaited before the program starts.
 * 2. `measure()`: the baseline, then once at every phase boundary. Keep it
 *    cheap: read counters into preallocated storage, allocate nothing.
 * 3. `retrieve()`: right after each boundary's `measure()` (not after the
 *    baseline): close the phase that just ended and return its raw data.
 *    Tokens that arrive in one read of the program's output are seen at one
 *    instant: the first is a boundary with `measure()`, each further one
 *    calls `repeat()` instead (when the source has it), then `retrieve()`.
 * 4. `join()`: after the program's last boundary; release per-run resources.
 *
 * After every run, `toMetrics(raw)` turns each phase's raw data into metrics.
 *
 * With sampling on (`--sample-interval`), a source that implements
 * `sample()` is also read on a fixed schedule between boundaries; it stores
 * raw values in its own preallocated buffer (reset by `init`), and
 * `samples()` converts them after the run. Sampling must leave the values
 * `measure()` records unchanged: per-phase totals still come from the
 * boundary reads.
 * Any method may be synchronous or return a promise; synchronous ones cost
 * no `await` on the hot path.
 *
 * @module
 */

/**
 * A measured value of one sensor for one phase.
 */
export interface Metric {
  /** Sensor name, e.g. `PACKAGE-0`. */
  name: string;
  /** The value, in `unit`. */
  value: number;
  /** Unit, e.g. `µJ`, `mJ`, `count`. */
  unit: string;
  /** Name of the source that produced it, e.g. `RAPL (perf_event)`. */
  source: string;
  /** Extra facts about this value (e.g. a multiplexing ratio), kept in JSON. */
  details?: Record<string, number | string | boolean>;
}

/**
 * Something a source can measure.
 */
export interface Sensor {
  /** Sensor name, e.g. `PACKAGE-0`. */
  name: string;
  /** Unit of its values. */
  unit: string;
  /** Name of the source providing it. */
  source: string;
  /** `false` when the source knows this sensor cannot be read on this machine. */
  available?: boolean;
  /** Why it is unavailable (or a remark about it), for `list-sensors`. */
  note?: string;
}

/**
 * A time series a source recorded while sampling, converted after the run.
 *
 * @example A series of two power readings
 * ```ts
 * import type { SampleSeries } from "./source.ts";
 * const series: SampleSeries = {
 *   name: "PACKAGE-0",
 *   unit: "W",
 *   source: "RAPL (Powercap)",
 *   timesNs: Float64Array.of(1e9, 1.01e9),
 *   values: Float64Array.of(12.5, 13.1),
 * };
 * ```
 */
export interface SampleSeries {
  /** Series name, e.g. `PACKAGE-0`, `CPU`, `RSS`. */
  name: string;
  /** Unit of the values, e.g. `W`, `%`, `MiB`. */
  unit: string;
  /** Name of the source that recorded it. */
  source: string;
  /**
   * `CLOCK_MONOTONIC` time of each point, ns (as numbers: exact to the ns
   * for about 104 days of uptime, then to a few ns), the clock of
   * `PhaseResult.startNs`. A rate (power, CPU) is the average over the
   * interval that ends at its time.
   */
  timesNs: Float64Array;
  /** The value at each time. */
  values: Float64Array;
  /**
   * Present when the series was thinned to stay within `--max-samples`
   * (`maxSamples`): every how many samples one was kept (a power of two;
   * the last sample is kept too). A rate is then the average over the
   * longer interval that ends at its time.
   */
  every?: number;
  /**
   * `"machine"` when a machine-wide source (`Source.scope`) recorded it: in
   * a Slurm or MPI job only the node leader has such series. Absent for
   * per-process series.
   */
  scope?: SourceScope;
  /** In a merged job result (`merge`): the node the series was recorded on. */
  node?: string;
  /** In a merged job result: the rank that recorded it (absent for a node's machine-wide series). */
  rank?: number;
}

/**
 * What a source measures: the whole machine (`"machine"`: RAPL, GPUs,
 * machine-wide system metrics) or the profiled processes (`"process"`).
 */
export type SourceScope = "machine" | "process";

/** A value that may be returned directly or through a promise. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * A metric source. `Raw` is whatever `retrieve()` returns for one phase.
 *
 * @example A source counting boundaries
 * ```ts
 * import type { Metric, Sensor, Source } from "./source.ts";
 *
 * class BoundaryCounter implements Source<number> {
 *   readonly name = "boundaries";
 *   #count = 0;
 *   measure(): void {
 *     this.#count++;
 *   }
 *   retrieve(): number {
 *     const count = this.#count;
 *     this.#count = 0;
 *     return count;
 *   }
 *   sensors(): Sensor[] {
 *     return [{ name: "MEASURES", unit: "count", source: this.name }];
 *   }
 *   toMetrics(raw: number): Metric[] {
 *     return [{ name: "MEASURES", value: raw, unit: "count", source: this.name }];
 *   }
 * }
 * ```
 */
export interface Source<Raw = unknown> {
  /** Source name shown in every output (e.g. `RAPL (Powercap)`). */
  readonly name: string;
  /**
   * `"machine"` when the source reads counters of the whole machine: in a
   * job launched by Slurm or MPI only one task per node (the node leader)
   * reads it, so no node's energy is counted once per rank. Default
   * `"process"`: every task reads it.
   */
  readonly scope?: SourceScope;
  /**
   * Called just before the program is spawned, once per run: start slow
   * set-up that `init` would otherwise wait for (e.g. the process source
   * starts the kernel's wait for moving a process between cgroups). Not
   * awaited; an error is ignored (`init` reports what matters).
   */
  prepare?(): void;
  /** Attach to the held program; awaited before it runs. */
  init?(pid: number): MaybePromise<void>;
  /** Read counters into raw storage. Called at the baseline and every boundary. */
  measure(): MaybePromise<void>;
  /** Close the phase that just ended and return its raw data. */
  retrieve(): MaybePromise<Raw>;
  /**
   * A boundary at the same instant as the previous one (its token arrived in
   * the same read): record the previous boundary's readings again, reading
   * nothing, so the phase between them is empty (zero counts, zero energy).
   * Optional: without it, `measure()` is called.
   */
  repeat?(): void;
  /** Release per-run resources after the last boundary. */
  join?(): MaybePromise<void>;
  /** The sensors this source provides on this machine. */
  sensors(): MaybePromise<Sensor[]>;
  /** Convert one phase's raw data to metrics; runs after the program exited. */
  toMetrics(raw: Raw): Metric[];
  /**
   * Take one sample (only when sampling is on): read counters into the
   * source's own sample buffer, stamped with `CLOCK_MONOTONIC`. Called
   * between boundaries, never during one; must not change what
   * `measure()` records.
   */
  sample?(): MaybePromise<void>;
  /** The series of this run's samples, converted after the program exited. */
  samples?(): SampleSeries[];
}
