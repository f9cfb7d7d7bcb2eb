/**
 * Raw sample storage for sources: rows of `[sec, nsec, value…]` stamped
 * with `CLOCK_MONOTONIC`, in one growing `Float64Array` (no allocation
 * per sample once it has grown to the run's length).
 *
 * @module
 */

import { stampMonotonic } from "../clock.ts";
import { SnapshotStore } from "../snapshot_store.ts";

/** Rows reserved up front: 20 s at 10 ms before the first doubling. */
const INITIAL_ROWS = 2048;

/** While {@linkcode convertTail} runs: how many of the newest rows conversions read. */
let tailRows = Infinity;

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

  /**
   * Creates an empty buffer.
   *
   * @param columns Values per sample (besides the time).
   * @param initialRows Rows to allocate up front (default 2048).
   */
  constructor(columns: number, initialRows = INITIAL_ROWS) {
    this.#store = new SnapshotStore(2 + columns, initialRows);
  }

  /** The backing array; index it with the offset `append()` returns. */
  get values(): Float64Array {
    return this.#store.values;
  }

  /** Number of samples. */
  get rows(): number {
    return this.#store.rows;
  }

  /** Forgets every sample (keeps the storage). */
  clear(): void {
    this.#store.clear();
  }

  /**
   * Adds a sample stamped now.
   *
   * @returns Offset in `values` of the sample's first value.
   */
  append(): number {
    const offset = this.#store.append();
    stampMonotonic(this.#store.values, offset);
    return offset + 2;
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
   * @returns Times (ns) and values.
   */
  levels(column: number, scale = 1): { timesNs: Float64Array; values: Float64Array } {
    const rows = this.rows;
    const first = Math.max(0, rows - tailRows);
    const timesNs = new Float64Array(rows - first);
    const values = new Float64Array(rows - first);
    for (let row = first; row < rows; row++) {
      timesNs[row - first] = this.timeNs(row);
      values[row - first] = this.#store.at(row, 2 + column) * scale;
    }
    return { timesNs, values };
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
   * @returns One point fewer than there are samples.
   */
  rates(
    column: number,
    scale = 1,
    minWindowNs = 0,
  ): { timesNs: Float64Array; values: Float64Array } {
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
    return { timesNs, values };
  }
}
