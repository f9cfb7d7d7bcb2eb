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
    const timesNs = new Float64Array(rows);
    const values = new Float64Array(rows);
    for (let row = 0; row < rows; row++) {
      timesNs[row] = this.timeNs(row);
      values[row] = this.#store.at(row, 2 + column) * scale;
    }
    return { timesNs, values };
  }

  /**
   * The rate of change per second of a cumulative column between
   * consecutive samples, stamped at the later one (e.g. µJ → W with
   * `scale` 1e-6).
   *
   * @param column Value column holding a cumulative counter.
   * @param scale Factor from the column's unit to the rate's unit times seconds.
   * @returns One point fewer than there are samples.
   */
  rates(column: number, scale = 1): { timesNs: Float64Array; values: Float64Array } {
    const count = Math.max(0, this.rows - 1);
    const timesNs = new Float64Array(count);
    const values = new Float64Array(count);
    for (let row = 1; row <= count; row++) {
      const seconds = (this.timeNs(row) - this.timeNs(row - 1)) / 1e9;
      timesNs[row - 1] = this.timeNs(row);
      values[row - 1] = seconds > 0
        ? this.#store.delta(row - 1, row, 2 + column) * scale / seconds
        : 0;
    }
    return { timesNs, values };
  }
}
