/**
 * Small dense least squares: Householder QR and non-negative least squares
 * (Lawson–Hanson), on matrices given as columns (a few features, many rows).
 *
 * @module
 */

/** A matrix as its columns, each of the same length (the rows). */
export type Columns = readonly Float64Array[];

/** The R factor and the transformed right-hand side of a Householder QR. */
export interface QrSolution {
  /** Least-squares coefficients, one per column. */
  coefficients: Float64Array;
  /**
   * `|R[j][j]|` ÷ the column's norm: how far column `j` is from the span of
   * the columns before it, relative to its own length (0 = a combination
   * of them).
   */
  independence: Float64Array;
}

/**
 * Solves min ‖A x − b‖₂ by Householder QR (no normal equations, so a
 * badly conditioned A loses half as many digits). Columns that are
 * combinations of earlier ones (independence below `1e-12`) get
 * coefficient 0.
 *
 * @param columns A, by columns.
 * @param b The right-hand side.
 * @returns The coefficients and each column's independence.
 *
 * @example Usage
 * ```ts
 * import { leastSquares } from "./least_squares.ts";
 * const { coefficients } = leastSquares(
 *   [Float64Array.of(1, 1, 1), Float64Array.of(0, 1, 2)],
 *   Float64Array.of(1, 3, 5),
 * );
 * console.log(Array.from(coefficients, (c) => Math.round(c))); // [ 1, 2 ]
 * ```
 */
export function leastSquares(columns: Columns, b: Float64Array): QrSolution {
  const n = columns.length;
  const m = b.length;
  const r = columns.map((column) => Float64Array.from(column));
  const rhs = Float64Array.from(b);
  const norms = columns.map(norm);
  const independence = new Float64Array(n);
  const usable = new Array<boolean>(n).fill(false);
  for (let j = 0; j < n && j < m; j++) {
    const column = r[j]!;
    let sigma = 0;
    for (let i = j; i < m; i++) sigma += column[i]! * column[i]!;
    const alpha = Math.sqrt(sigma);
    independence[j] = norms[j]! > 0 ? alpha / norms[j]! : 0;
    if (independence[j]! < 1e-12) continue;
    usable[j] = true;
    // v = x − (−sign(x₀)·α) e₀, reflecting column j onto e_j.
    const diagonal = column[j]! >= 0 ? -alpha : alpha;
    const v = new Float64Array(m - j);
    for (let i = j; i < m; i++) v[i - j] = column[i]!;
    v[0]! -= diagonal;
    let vv = 0;
    for (let i = 0; i < v.length; i++) vv += v[i]! * v[i]!;
    if (vv === 0) continue;
    const reflect = (target: Float64Array) => {
      let dot = 0;
      for (let i = j; i < m; i++) dot += v[i - j]! * target[i]!;
      const factor = (2 * dot) / vv;
      for (let i = j; i < m; i++) target[i]! -= factor * v[i - j]!;
    };
    for (let k = j; k < n; k++) reflect(r[k]!);
    reflect(rhs);
  }
  const coefficients = new Float64Array(n);
  for (let j = Math.min(n, m) - 1; j >= 0; j--) {
    if (!usable[j]) continue;
    let sum = rhs[j]!;
    for (let k = j + 1; k < n; k++) sum -= r[k]![j]! * coefficients[k]!;
    coefficients[j] = sum / r[j]![j]!;
  }
  return { coefficients, independence };
}

/** Euclidean norm of a vector. */
export function norm(vector: Float64Array): number {
  let sum = 0;
  for (const value of vector) sum += value * value;
  return Math.sqrt(sum);
}

/**
 * Solves min ‖A x − b‖₂ subject to x ≥ 0 (Lawson and Hanson, *Solving
 * Least Squares Problems*, 1974, chapter 23), after scaling every column to
 * unit length so that features in ns and in bytes weigh alike in the
 * stopping test. A column of zeros gets weight 0.
 *
 * @param columns A, by columns.
 * @param b The right-hand side.
 * @returns x ≥ 0, one per column, in the columns' own units.
 *
 * @example Usage
 * ```ts
 * import { nonNegativeLeastSquares } from "./least_squares.ts";
 * // b = 2·a₀ − 1·a₁ is best fitted with x₁ held at 0.
 * const x = nonNegativeLeastSquares(
 *   [Float64Array.of(1, 0, 1), Float64Array.of(0, 1, 1)],
 *   Float64Array.of(2, -1, 1),
 * );
 * console.log(x[1]); // 0
 * ```
 */
export function nonNegativeLeastSquares(columns: Columns, b: Float64Array): Float64Array {
  const n = columns.length;
  const m = b.length;
  const scales = columns.map(norm);
  const scaled = columns.map((column, j) =>
    scales[j]! > 0 ? column.map((value) => value / scales[j]!) : new Float64Array(m)
  );
  const x = new Float64Array(n);
  const passive = new Array<boolean>(n).fill(false);
  const tolerance = 1e-12 * Math.max(1, norm(b)) * Math.max(1, n);
  const gradient = () => {
    const residual = Float64Array.from(b);
    for (let j = 0; j < n; j++) {
      if (x[j] === 0) continue;
      const column = scaled[j]!;
      for (let i = 0; i < m; i++) residual[i]! -= x[j]! * column[i]!;
    }
    return scaled.map((column) => {
      let dot = 0;
      for (let i = 0; i < m; i++) dot += column[i]! * residual[i]!;
      return dot;
    });
  };
  const solvePassive = () => {
    const indices = [...passive.keys()].filter((j) => passive[j]);
    const { coefficients } = leastSquares(indices.map((j) => scaled[j]!), b);
    const z = new Float64Array(n);
    indices.forEach((j, k) => z[j] = coefficients[k]!);
    return z;
  };
  for (let outer = 0; outer < 3 * n + 3; outer++) {
    const w = gradient();
    let best = -1;
    for (let j = 0; j < n; j++) {
      if (!passive[j] && scales[j]! > 0 && w[j]! > tolerance && (best < 0 || w[j]! > w[best]!)) {
        best = j;
      }
    }
    if (best < 0) break;
    passive[best] = true;
    for (let inner = 0; inner < 3 * n + 3; inner++) {
      const z = solvePassive();
      const negative = [...passive.keys()].filter((j) => passive[j] && z[j]! <= 0);
      if (negative.length === 0) {
        x.set(z);
        break;
      }
      // Step from x towards z until the first passive weight reaches 0.
      let alpha = 1;
      for (const j of negative) alpha = Math.min(alpha, x[j]! / (x[j]! - z[j]!));
      for (let j = 0; j < n; j++) {
        if (!passive[j]) continue;
        x[j] = x[j]! + alpha * (z[j]! - x[j]!);
        if (x[j]! <= 1e-15) {
          x[j] = 0;
          passive[j] = false;
        }
      }
    }
  }
  return x.map((value, j) => scales[j]! > 0 ? value / scales[j]! : 0);
}
