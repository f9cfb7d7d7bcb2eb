/**
 * The energy of devices read as power (GPUs without an energy counter),
 * integrated as the samples come: a source keeps each column's running
 * trapezoid integral and records it at every boundary, so a phase's energy
 * is the difference of two boundaries' figures and memory does not grow
 * with the run, however long it samples.
 *
 * @module
 */

/**
 * A running trapezoid integral of power samples, one column per device.
 *
 * @example Usage
 * ```ts
 * import { RunningPowerIntegral } from "./running_power_integral.ts";
 * const integral = new RunningPowerIntegral(1);
 * integral.add(10e9, [100]); // 100 W at 10 s
 * integral.add(11e9, [300]); // 300 W at 11 s
 * console.log(integral.total(0) / 1e9); // 200 (J: W × ns / 1e9)
 * console.log(integral.count); // 2
 * ```
 */
export class RunningPowerIntegral {
  readonly #totals: Float64Array;
  readonly #last: Float64Array;
  #lastNs = 0;
  #count = 0;
  #longestGapNs = 0;

  /**
   * Creates an empty integral.
   *
   * @param columns Devices (power columns) integrated side by side.
   */
  constructor(columns: number) {
    this.#totals = new Float64Array(columns);
    this.#last = new Float64Array(columns);
  }

  /** Samples added since the last `clear()`. */
  get count(): number {
    return this.#count;
  }

  /** Time of the last sample, `CLOCK_MONOTONIC` ns (0 before the first). */
  get lastNs(): number {
    return this.#lastNs;
  }

  /** Longest time between two consecutive samples, ms. */
  get longestGapMs(): number {
    return this.#longestGapNs / 1e6;
  }

  /** Forgets every sample: the integral starts again at 0. */
  clear(): void {
    this.#totals.fill(0);
    this.#last.fill(0);
    this.#lastNs = 0;
    this.#count = 0;
    this.#longestGapNs = 0;
  }

  /**
   * Adds one sample of every column: the trapezoid from the previous
   * sample to this one joins each column's integral.
   *
   * @param timeNs `CLOCK_MONOTONIC` time of the sample, ns (not before the previous one).
   * @param power Each column's power, in the unit the integral is wanted in per ns.
   * @param offset Where the first column's power is in `power` (default 0): a
   * sample row is read in place, nothing allocated.
   */
  add(timeNs: number, power: ArrayLike<number>, offset = 0): void {
    const totals = this.#totals;
    const last = this.#last;
    if (this.#count > 0) {
      const ns = timeNs - this.#lastNs;
      for (let column = 0; column < totals.length; column++) {
        totals[column]! += (last[column]! + power[offset + column]!) / 2 * ns;
      }
      if (ns > this.#longestGapNs) this.#longestGapNs = ns;
    }
    for (let column = 0; column < last.length; column++) last[column] = power[offset + column]!;
    this.#lastNs = timeNs;
    this.#count++;
  }

  /**
   * The integral of one column from the first sample to the last.
   *
   * @param column The column.
   * @returns Power unit × ns (mW × ns / 1e9 = mJ; W × ns / 1e3 = µJ).
   */
  total(column: number): number {
    return this.#totals[column]!;
  }
}
