/**
 * The raw record of a run's phase boundaries, kept compact while the
 * program runs.
 *
 * @module
 */

import { stampMonotonic } from "../clock.ts";

/** Name of the boundary taken just before the program starts. */
export const START_TOKEN = "START";
/** Name of the boundary taken when the program has exited. */
export const END_TOKEN = "END";

/**
 * Boundaries of one run in order: START, every token, END. Each has a
 * `CLOCK_MONOTONIC` stamp, a name and the 0-based stdout line that held it
 * (-1 for START/END). Storage grows by doubling; recording allocates
 * nothing in between.
 *
 * @example Usage
 * ```ts
 * import { BoundaryLog } from "./boundary_log.ts";
 * const log = new BoundaryLog();
 * log.record("START", -1);
 * log.record("__WORK__", 0);
 * console.log(log.count, log.tokenAt(1), log.nsAt(1) >= log.nsAt(0)); // 2 "__WORK__" true
 * ```
 */
export class BoundaryLog {
  #times = new Float64Array(64);
  #lines = new Int32Array(32);
  readonly #tokens: string[] = [];
  #count = 0;

  /** Number of boundaries recorded. */
  get count(): number {
    return this.#count;
  }

  /**
   * Stamps the monotonic clock and records a boundary.
   *
   * @param token The boundary's name.
   * @param line 0-based stdout line, or -1.
   */
  record(token: string, line: number): void {
    const index = this.#count;
    if (index === this.#lines.length) this.#grow();
    stampMonotonic(this.#times, index * 2);
    this.#lines[index] = line;
    this.#tokens[index] = token;
    this.#count = index + 1;
  }

  /**
   * Records a boundary at the same instant as the last one (its token came
   * in the same read): the last time is copied, the clock not read.
   *
   * @param token The boundary's name.
   * @param line 0-based stdout line, or -1.
   */
  recordRepeat(token: string, line: number): void {
    const index = this.#count;
    if (index === 0) return this.record(token, line);
    if (index === this.#lines.length) this.#grow();
    this.#times[index * 2] = this.#times[index * 2 - 2]!;
    this.#times[index * 2 + 1] = this.#times[index * 2 - 1]!;
    this.#lines[index] = line;
    this.#tokens[index] = token;
    this.#count = index + 1;
  }

  /**
   * The name of a boundary.
   *
   * @param index Boundary index.
   * @returns Its name.
   */
  tokenAt(index: number): string {
    return this.#tokens[index]!;
  }

  /**
   * The stdout line of a boundary's token.
   *
   * @param index Boundary index.
   * @returns Its 0-based line, or `undefined` for START/END.
   */
  lineAt(index: number): number | undefined {
    const line = this.#lines[index]!;
    return line < 0 ? undefined : line;
  }

  /**
   * The time of a boundary.
   *
   * @param index Boundary index.
   * @returns Its `CLOCK_MONOTONIC` time in nanoseconds.
   */
  nsAt(index: number): bigint {
    return BigInt(this.#times[index * 2]!) * 1_000_000_000n + BigInt(this.#times[index * 2 + 1]!);
  }

  #grow(): void {
    const times = new Float64Array(this.#times.length * 2);
    times.set(this.#times);
    this.#times = times;
    const lines = new Int32Array(this.#lines.length * 2);
    lines.set(this.#lines);
    this.#lines = lines;
  }
}
