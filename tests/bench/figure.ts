/**
 * What the performance report is made of: figures, and the order
 * statistics they are computed with.
 *
 * @module
 */

/** One row of the report. */
export interface Figure {
  name: string;
  measured: string;
  target: string;
  met: boolean;
  how: string;
  note?: string;
}

/** The median of a non-empty sample. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The p-th percentile (nearest rank) of a non-empty sample. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p / 100 * sorted.length))]!;
}
