/**
 * Raw sample storage for sources: rows of `[sec, nsec, value…]` stamped
 * with `CLOCK_MONOTONIC`, in one growing `Float64Array` (no allocation
 * per sample once it has grown to the run's length).
 *
 * Memory is bounded however long a run samples: past the limit
 * ({@linkcode setMaxSamplesPerSeries}, `--max-samples`) every other kept
 * sample is dropped, again each time the limit is reached, so a series
 * ends with every `every`-th sample (a power of two) and the last. The
 * samples kept are real readings; a rate between two kept samples is the
 * exact average over the longer interval (the counters are cumulative), so
 * no energy is lost, only detail.
 *
 * @module
 */

import { DEFAULT_MAX_SAMPLES } from "../setting_defaults.ts";
import { stampMonotonic } from "../clock.ts";
import { SnapshotStore } from "../snapshot_store.ts";
import { finalStride, keepStrideRows, strideFitting } from "./row_thinning.ts";

/** Rows reserved up front: 20 s at 10 ms before the first doubling. */
const INITIAL_ROWS = 2048;

/** While {@linkcode convertTail} runs: how many of the newest rows conversions read. */
let tailRows = Infinity;

/**
 * The newest samples never thinned while a run samples: live intervals
 * (`-I`) read at most 16 of them, each interval from the sample before it.
 */
export const FINE_TAIL_ROWS = 32;

/**
 * Values per row (the time's two included) up to which a buffer keeps the
 * whole limit: a wider one (per-CPU utilization on more than 12 CPUs) keeps
 * proportionally fewer samples, so that no buffer takes more memory than
 * this width would (about 512 bytes per sample of the limit, 51 MB at the
 * default), never fewer than {@linkcode MIN_SAMPLES}.
 */
export const WIDTH_AT_FULL_LIMIT = 32;

/** The fewest samples a series may be thinned to: START's and the last. */
export const MIN_SAMPLES = 2;

/** Samples a series keeps at most (`--max-samples`); process-wide. */
let maxSamples = DEFAULT_MAX_SAMPLES;

/**
 * Sets how many samples each series keeps at most, for the buffers of
 * every source in this process (`--max-samples`). A buffer whose rows are
 * wider than {@linkcode WIDTH_AT_FULL_LIMIT} keeps proportionally fewer.
 *
 * @param count The most samples per series (an integer ≥ 2).
 * @throws {RangeError} When `count` is not an integer ≥ 2.
 *
 * @example Usage
 * ```ts
 * import { SampleBuffer, setMaxSamplesPerSeries } from "./sample_buffer.ts";
 * setMaxSamplesPerSeries(100);
 * const buffer = new SampleBuffer(1);
 * for (let i = 0; i < 1000; i++) buffer.values[buffer.append()] = i;
 * const { values, every } = buffer.levels(0);
 * console.log(values.length <= 100, every); // true 16
 * setMaxSamplesPerSeries(100_000);
 * ```
 */
export function setMaxSamplesPerSeries(count: number): void {
  if (!Number.isSafeInteger(count) || count < MIN_SAMPLES) {
    throw new RangeError(`the most samples per series must be an integer ≥ 2, got ${count}`);
  }
  maxSamples = count;
}

/**
 * How many samples each series keeps at most, as last set.
 *
 * @returns The limit (`--max-samples`; default {@linkcode DEFAULT_MAX_SAMPLES}).
 *
 * @example Usage
 * ```ts
 * import { maxSamplesPerSeries } from "./sample_buffer.ts";
 * console.log(maxSamplesPerSeries()); // 100000
 * ```
 */
export function maxSamplesPerSeries(): number {
  return maxSamples;
}

/**
 * A conversion's points: times (ns) and values, and `every` when the
 * samples were thinned (each point after the first stands for that many
 * samples taken; absent when none was dropped).
 */
export interface SamplePoints {
  /** `CLOCK_MONOTONIC` time of each point, ns. */
  timesNs: Float64Array;
  /** The value at each time. */
  values: Float64Array;
  /** Present when thinned: every how many samples one was kept. */
  every?: number;
}

/**
 * Runs a conversion (a source's `samples()`) that reads only the newest
 * `rows` samples of every buffer, so the cost of asking for the latest
 * points does not grow with the run (live intervals, `-I`). The series it
 * returns cover only those rows; rates over a minimum window still need
 * the window to fit in them.
 *
 * @param rows How many of the newest rows to read (≥ 2).
 * @param convert The conversion.
 * @returns What it returned.
 *
 * @example Usage
 * ```ts
 * import { convertTail, SampleBuffer } from "./sample_buffer.ts";
 * const buffer = new SampleBuffer(1);
 * for (let i = 0; i < 100; i++) buffer.values[buffer.append()] = i;
 * console.log(convertTail(8, () => buffer.levels(0)).values.length); // 8
 * ```
 */
export function convertTail<T>(rows: number, convert: () => T): T {
  const before = tailRows;
  tailRows = Math.max(2, rows);
  try {
    return convert();
  } finally {
    tailRows = before;
  }
}

/**
 * A source's sample buffer.
 *
 * @example Usage
 * ```ts
 * import { SampleBuffer } from "./sample_buffer.ts";
 * const buffer = new SampleBuffer(1);
 * buffer.values[buffer.append()] = 1_000_000; // cumulative µJ
 * buffer.values[buffer.append()] = 1_500_000;
 * const { values } = buffer.rates(0, 1e-6); // W between the two rows
 * ```
 */
export class SampleBuffer {
  readonly #store: SnapshotStore;
  /** Each row's sample number since `clear()` (0 for the first). */
  #sampleNumbers: Float64Array;
  /** Samples taken since `clear()`. */
  #taken = 0;
  /** Rows older than the fine tail keep only sample numbers that are multiples of this. */
  #every = 1;

  /**
   * Creates an empty buffer.
   *
   * @param columns Values per sample (besides the time).
   * @param initialRows Rows to allocate up front (default 2048).
   */
  constructor(columns: number, initialRows = INITIAL_ROWS) {
    this.#store = new SnapshotStore(2 + columns, initialRows);
    this.#sampleNumbers = new Float64Array(Math.max(1, initialRows));
  }

  /** The backing array; index it with the offset `append()` returns. */
  get values(): Float64Array {
    return this.#store.values;
  }

  /** Number of samples. */
  get rows(): number {
    return this.#store.rows;
  }

  /**
   * Every how many samples one is kept: 1 until the buffer first reached
   * its limit, then a power of two. The conversions (`levels`, `rates`)
   * make it final and uniform over all rows.
   */
  get every(): number {
    return this.#every;
  }

  /**
   * The most rows a conversion gives: the limit, or fewer for wide rows.
   * While sampling the buffer holds up to twice as many (and the fine
   * tail), so that it thins once per `limit` samples, not at each one.
   */
  get limit(): number {
    const width = this.#store.width;
    if (width <= WIDTH_AT_FULL_LIMIT) return maxSamples;
    return Math.max(MIN_SAMPLES, Math.floor(maxSamples * WIDTH_AT_FULL_LIMIT / width));
  }

  /** Forgets every sample (keeps the storage). */
  clear(): void {
    this.#store.clear();
    this.#taken = 0;
    this.#every = 1;
  }

  /**
   * Adds a sample stamped now. Past the limit, older samples are thinned
   * first (rows move: index `values` only with the offset returned).
   *
   * @returns Offset in `values` of the sample's first value.
   */
  append(): number {
    const store = this.#store;
    if (store.rows >= 2 * this.limit + FINE_TAIL_ROWS) this.#thinOlderRows();
    const row = store.rows;
    const offset = store.append();
    if (row >= this.#sampleNumbers.length) {
      const grown = new Float64Array(this.#sampleNumbers.length * 2);
      grown.set(this.#sampleNumbers);
      this.#sampleNumbers = grown;
    }
    this.#sampleNumbers[row] = this.#taken++;
    stampMonotonic(store.values, offset);
    return offset + 2;
  }

  /**
   * Makes the thinning final for a conversion of the whole run: every row
   * whose sample number is a multiple of the smallest `every` that leaves
   * at most `limit` rows, and the last row. Does nothing while a
   * conversion reads only the newest rows (`convertTail`): those are
   * consecutive samples.
   *
   * @returns Every how many samples one is kept in the rows a conversion
   * reads (1 for the newest rows alone).
   */
  settle(): number {
    if (tailRows !== Infinity) return 1;
    if (this.#taken <= this.limit) return this.#every;
    const limit = this.limit;
    const every = finalStride(this.#taken, this.#every, limit);
    const rows = this.#store.rows;
    keepStrideRows(this.#store, this.#sampleNumbers, rows, every, (row) => row === rows - 1);
    this.#every = every;
    return every;
  }

  /**
   * The rows before the fine tail keep the multiples of `every`, doubled
   * until at most `limit` of them are left (from twice that: `every` at
   * least doubles). It never exceeds what the samples so far need, so the
   * conversion's final `every` is the smallest that fits the whole run.
   */
  #thinOlderRows(): void {
    const older = this.#store.rows - FINE_TAIL_ROWS;
    this.#every = strideFitting(this.#sampleNumbers, older, this.#every, this.limit);
    keepStrideRows(this.#store, this.#sampleNumbers, older, this.#every);
  }

  /**
   * Time of a sample.
   *
   * @param row Sample index.
   * @returns `CLOCK_MONOTONIC` ns.
   */
  timeNs(row: number): number {
    return this.#store.at(row, 0) * 1e9 + this.#store.at(row, 1);
  }

  /**
   * The values of one column, with their times.
   *
   * @param column Value column.
   * @param scale Factor applied to each value (default 1).
   * @returns Times (ns) and values (and `every` when thinned).
   */
  levels(column: number, scale = 1): SamplePoints {
    const every = this.settle();
    const rows = this.rows;
    const first = Math.max(0, rows - tailRows);
    const timesNs = new Float64Array(rows - first);
    const values = new Float64Array(rows - first);
    for (let row = first; row < rows; row++) {
      timesNs[row - first] = this.timeNs(row);
      values[row - first] = this.#store.at(row, 2 + column) * scale;
    }
    return pointsOf(timesNs, values, every);
  }

  /**
   * Rates of a cumulative column (e.g. µJ → W): for each sample after the
   * first, the change since an earlier sample divided by the time between
   * them. That earlier sample is the previous one, or, with `minWindowNs`,
   * the latest one at least that long before, so a counter that moves in
   * coarse steps (CPU time in 10 ms ticks) is averaged over enough steps.
   *
   * @param column The column.
   * @param scale Factor from the column's unit to the rate's unit times seconds.
   * @param minWindowNs Shortest window a rate is taken over (default 0: each interval).
   * @returns One point fewer than there are samples (and `every` when thinned).
   */
  rates(column: number, scale = 1, minWindowNs = 0): SamplePoints {
    const every = this.settle();
    const count = Math.max(0, this.rows - 1);
    // Row 0 of the tail only serves as the start of the first rate.
    const first = Math.max(1, this.rows - tailRows + 1);
    const skipped = first - 1;
    const timesNs = new Float64Array(Math.max(0, count - skipped));
    const values = new Float64Array(Math.max(0, count - skipped));
    let from = skipped;
    for (let row = first; row <= count; row++) {
      const now = this.timeNs(row);
      while (from + 1 < row && now - this.timeNs(from + 1) >= minWindowNs) from++;
      if (minWindowNs === 0) from = row - 1;
      const seconds = (now - this.timeNs(from)) / 1e9;
      timesNs[row - first] = now;
      values[row - first] = seconds > 0
        ? this.#store.delta(from, row, 2 + column) * scale / seconds
        : 0;
    }
    return pointsOf(timesNs, values, every);
  }
}

/** `every` is said only where samples were dropped. */
function pointsOf(timesNs: Float64Array, values: Float64Array, every: number): SamplePoints {
  return every > 1 ? { timesNs, values, every } : { timesNs, values };
}
