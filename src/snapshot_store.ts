/**
 * Allocation-free storage of raw counter snapshots for sources.
 *
 * @module
 */

/**
 * Rows of `width` numbers, one row per `measure()`. A source writes each
 * reading straight into the row it is given and returns the row index from
 * `retrieve()`; the conversion to metrics reads the rows back after the run.
 * Storage grows by doubling, so recording allocates nothing between growths.
 *
 * @example Usage
 * ```ts
 * import { SnapshotStore } from "./snapshot_store.ts";
 * const store = new SnapshotStore(2);
 * let row = store.append();
 * store.values[row] = 10; store.values[row + 1] = 100;
 * row = store.append();
 * store.values[row] = 15; store.values[row + 1] = 130;
 * console.log(store.delta(0, 1, 0), store.delta(0, 1, 1)); // 5 30
 * ```
 */
export class SnapshotStore {
  /** Numbers per row. */
  readonly width: number;
  #values: Float64Array;
  #rows = 0;

  /**
   * Creates an empty store.
   *
   * @param width Numbers per row.
   * @param initialRows Rows to allocate up front (default 64).
   */
  constructor(width: number, initialRows = 64) {
    this.width = width;
    this.#values = new Float64Array(Math.max(1, width * initialRows));
  }

  /** The backing array; index it with the offset `append()` returns. */
  get values(): Float64Array {
    return this.#values;
  }

  /** Number of rows appended. */
  get rows(): number {
    return this.#rows;
  }

  /**
   * Adds a row and returns the offset of its first number in `values`.
   *
   * @returns Offset of the new row.
   */
  append(): number {
    const offset = this.#rows * this.width;
    if (offset + this.width > this.#values.length) {
      const grown = new Float64Array(this.#values.length * 2 + this.width);
      grown.set(this.#values);
      this.#values = grown;
    }
    this.#rows++;
    return offset;
  }

  /**
   * Adds a row equal to the last one (a boundary at the same instant as the
   * previous one: see `Source.repeat`); a plain `append()` when empty.
   *
   * @returns Offset of the new row.
   */
  appendCopy(): number {
    const offset = this.append();
    if (offset > 0) this.#values.copyWithin(offset, offset - this.width, offset);
    return offset;
  }

  /**
   * One number of a row.
   *
   * @param row Row index.
   * @param column Column index.
   * @returns The number.
   */
  at(row: number, column: number): number {
    return this.#values[row * this.width + column]!;
  }

  /**
   * `at(to, column) - at(from, column)`.
   *
   * @param from Earlier row.
   * @param to Later row.
   * @param column Column index.
   * @returns The difference.
   */
  delta(from: number, to: number, column: number): number {
    return this.at(to, column) - this.at(from, column);
  }

  /**
   * Keeps the first `rows` rows only (their storage stays allocated).
   *
   * @param rows How many rows to keep (at most the current count).
   * @throws {RangeError} When `rows` is negative or above the count.
   *
   * @example Usage
   * ```ts
   * import { SnapshotStore } from "./snapshot_store.ts";
   * const store = new SnapshotStore(1);
   * store.append();
   * store.append();
   * store.truncate(1);
   * console.log(store.rows); // 1
   * ```
   */
  truncate(rows: number): void {
    if (!(rows >= 0 && rows <= this.#rows)) {
      throw new RangeError(`cannot keep ${rows} of ${this.#rows} rows`);
    }
    this.#rows = rows;
  }

  /** Forgets all rows (keeps the storage). */
  clear(): void {
    this.#rows = 0;
  }
}
