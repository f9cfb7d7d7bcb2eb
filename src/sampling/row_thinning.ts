/**
 * Thinning of rows numbered in the order they were taken (samples, counter
 * moves): the rows kept are those whose number is a multiple of a power of
 * two, the stride, so after any number of thinnings the rows left are
 * evenly spread, and a row marked as needed is kept besides.
 *
 * @module
 */

import type { SnapshotStore } from "../snapshot_store.ts";

/**
 * The smallest stride, from `every` up in powers of two, that leaves at
 * most `limit` of the first `rows` rows.
 *
 * @param numbers Each row's number, increasing.
 * @param rows How many rows, from the first, are thinned.
 * @param every The stride they were thinned with so far (a power of two).
 * @param limit The most rows to leave.
 * @returns The stride.
 *
 * @example Usage
 * ```ts
 * import { strideFitting } from "./row_thinning.ts";
 * const numbers = Float64Array.from({ length: 100 }, (_, i) => i);
 * console.log(strideFitting(numbers, 100, 1, 30)); // 4
 * ```
 */
export function strideFitting(
  numbers: Float64Array,
  rows: number,
  every: number,
  limit: number,
): number {
  for (;; every *= 2) {
    // A power of two: number / every is exact, and so is the test (faster than %).
    const inverse = 1 / every;
    let kept = 0;
    for (let row = 0; row < rows; row++) {
      const number = numbers[row]!;
      if (Math.floor(number * inverse) * every === number) kept++;
    }
    if (kept <= limit) return every;
  }
}

/**
 * The stride a whole run's rows are finally kept at: the smallest, from
 * `every` up in powers of two, whose multiples up to the last row's number,
 * and that last row, are at most `limit` rows. Every such row is still
 * stored when `every` is the stride the rows were thinned with.
 *
 * @param taken How many rows were taken (numbered 0 to `taken - 1`).
 * @param every The stride they were thinned with so far (a power of two).
 * @param limit The most rows to keep (≥ 2).
 * @returns The stride (`every` itself when they fit).
 *
 * @example Usage
 * ```ts
 * import { finalStride } from "./row_thinning.ts";
 * console.log(finalStride(1000, 1, 100)); // 16
 * ```
 */
export function finalStride(taken: number, every: number, limit: number): number {
  const last = taken - 1;
  while (Math.floor(last / every) + 1 + (last % every === 0 ? 0 : 1) > limit) every *= 2;
  return every;
}

/**
 * Keeps, of the first `rows` rows, those numbered by a multiple of `every`
 * and those `needed` says; every row from `rows` on stays. The rows kept
 * move down in order, with their numbers.
 *
 * @param store The rows.
 * @param numbers Each row's number (moved along).
 * @param rows How many rows, from the first, are thinned.
 * @param every The stride (a power of two).
 * @param needed Rows kept whatever their number.
 *
 * @example Usage
 * ```ts
 * import { SnapshotStore } from "../snapshot_store.ts";
 * import { keepStrideRows } from "./row_thinning.ts";
 * const store = new SnapshotStore(1);
 * const numbers = new Float64Array(8);
 * for (let i = 0; i < 8; i++) store.values[store.append()] = numbers[i] = i;
 * keepStrideRows(store, numbers, 6, 4, (row) => row === 5);
 * console.log(Array.from(store.values.subarray(0, store.rows))); // [ 0, 4, 5, 6, 7 ]
 * ```
 */
export function keepStrideRows(
  store: SnapshotStore,
  numbers: Float64Array,
  rows: number,
  every: number,
  needed?: (row: number) => boolean,
): void {
  const width = store.width;
  const values = store.values;
  const total = store.rows;
  const inverse = 1 / every;
  let kept = 0;
  for (let row = 0; row < total; row++) {
    const number = numbers[row]!;
    const keep = row >= rows || Math.floor(number * inverse) * every === number ||
      (needed !== undefined && needed(row));
    if (!keep) continue;
    if (kept !== row) {
      // Element by element: a copyWithin call per row costs more than a narrow row's copy.
      const to = kept * width;
      const from = row * width;
      for (let i = 0; i < width; i++) values[to + i] = values[from + i]!;
      numbers[kept] = number;
    }
    kept++;
  }
  store.truncate(kept);
}
