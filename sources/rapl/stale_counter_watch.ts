/**
 * Noticing RAPL counters that exist but never move: some virtual machines
 * expose the `power` PMU or powercap zones without feeding them, and a
 * reading of 0 µJ must not pass for a measurement.
 *
 * @module
 */

import { stampMonotonic } from "../../src/clock.ts";
import type { SnapshotStore } from "../../src/snapshot_store.ts";

/** A run this long without any change is impossible for a live RAPL counter (it updates every ~1 ms). */
const MIN_SPAN_NS = 50e6;

/**
 * Times the first and last reading of a run, then tells which counters
 * never changed although the run lasted long enough for a live one to.
 *
 * @example Usage
 * ```ts
 * import { StaleCounterWatch } from "./stale_counter_watch.ts";
 * import { SnapshotStore } from "../../src/snapshot_store.ts";
 * const watch = new StaleCounterWatch();
 * const store = new SnapshotStore(1);
 * watch.stamp(); store.values[store.append()] = 5;
 * watch.stamp(); store.values[store.append()] = 5;
 * console.log(watch.staleColumns(store)); // [] (the run was too short to tell)
 * ```
 */
export class StaleCounterWatch {
  readonly #first = new Float64Array(2);
  readonly #last = new Float64Array(2);
  #stamped = false;

  /** Forgets the previous run. */
  reset(): void {
    this.#stamped = false;
  }

  /** Notes the time of a reading (call at every `measure()`; one clock read). */
  stamp(): void {
    if (!this.#stamped) {
      stampMonotonic(this.#first, 0);
      this.#stamped = true;
    }
    stampMonotonic(this.#last, 0);
  }

  /**
   * The columns whose first and last rows are equal, when the run was long
   * enough to expect a change.
   *
   * @param store The run's readings, one row per `measure()`.
   * @returns Column indices of the counters that never moved.
   */
  staleColumns(store: SnapshotStore): number[] {
    const span = (this.#last[0]! - this.#first[0]!) * 1e9 + this.#last[1]! - this.#first[1]!;
    if (!this.#stamped || store.rows < 2 || span < MIN_SPAN_NS) return [];
    const stale: number[] = [];
    for (let column = 0; column < store.width; column++) {
      if (store.at(0, column) === store.at(store.rows - 1, column)) stale.push(column);
    }
    return stale;
  }
}

/**
 * The warning for counters that never moved.
 *
 * @param source The source's name.
 * @param sensors The sensors concerned.
 * @returns One line.
 *
 * @example Usage
 * ```ts
 * import { staleWarning } from "./stale_counter_watch.ts";
 * console.log(staleWarning("RAPL (perf_event)", ["PSYS"]));
 * ```
 */
export function staleWarning(source: string, sensors: readonly string[]): string {
  return `${source}: ${sensors.join(", ")} did not change during the run: the counter is ` +
    `exposed but not updated on this machine (a virtual machine?); its 0 µJ is not a ` +
    `measurement (marked not_updating in the results)`;
}
