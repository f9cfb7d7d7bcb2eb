/**
 * Following a GPU's NVML energy counter in the background, so the energy at
 * any instant of a run can be computed afterwards.
 *
 * Measured on an H100 (driver 580): one `nvmlDeviceGetTotalEnergyConsumption`
 * call takes about 3 ms (p90 6 ms, rare outliers near 100 ms) and the
 * counter itself moves only every 100 ms, in steps. Reading it at each
 * boundary would stall the boundary and still be up to 100 ms stale; so a
 * reader polls it off the JS thread every few milliseconds, notes when its
 * value changes, and the energy at a boundary is interpolated linearly
 * between the changes around it. Each read is timed by when it was issued
 * (the event loop may see its result late). A counter that moves in steps
 * (most reads see no change) is taken to have updated halfway between the
 * two reads around the change; one that moves at almost every read is
 * taken at face value, at the read's time.
 *
 * The read is not free: NVML spends its few milliseconds on the CPU (an
 * H100 polled back to back cost half a core). So once a stepwise counter's
 * rhythm is known, the reader reads once just after each expected step (a
 * step it sees there is placed where the rhythm predicts), and every 8th
 * step it reads just before and just after to re-measure the rhythm: a
 * little over one read per step.
 *
 * Memory stays bounded however long the run: past twice the sample limit
 * (`--max-samples`) the older changes are thinned to 1 in 2, 4, 8 …, except
 * the two around each boundary time given to `pin()`, so the energy at
 * every boundary is interpolated between the same changes as without thinning.
 *
 * @module
 */

import { stampMonotonic } from "../../src/clock.ts";
import { SnapshotStore } from "../../src/snapshot_store.ts";
import {
  FINE_TAIL_ROWS,
  maxSamplesPerSeries,
  type SamplePoints,
} from "../../src/sampling/sample_buffer.ts";
import { finalStride, keepStrideRows, strideFitting } from "../../src/sampling/row_thinning.ts";
import { wrappingDelta } from "../../src/counter_words.ts";
import type { NvmlDevice } from "./nvml_library.ts";

/** Pause between reads while the counter's rhythm is being learnt, ms. */
export const DEFAULT_COUNTER_POLL_MS = 5;
/** Changes seen (densely) before the counter's rhythm is trusted. */
const CHANGES_TO_LEARN = 5;
/** Every this many steps, the reader brackets one closely to re-measure the rhythm. */
const REANCHOR_EVERY = 8;
/** A change caught between reads closer than this is an anchor: its time is measured. */
const ANCHOR_BRACKET_NS = 12e6;
/** How long after the expected step the single read is made. */
const AFTER_STEP_NS = 3e6;

export { wrappingDelta };

const clock = new Float64Array(2);

/**
 * When a recorded change happened: halfway between the reads around it for
 * a counter that moves in steps, else at the read that saw it.
 */
function changeTime(updates: SnapshotStore, row: number, stepwise: boolean): number {
  return stepwise ? (updates.at(row, 0) + updates.at(row, 1)) / 2 : updates.at(row, 1);
}

function nowNs(): number {
  stampMonotonic(clock, 0);
  return clock[0]! * 1e9 + clock[1]!;
}

/**
 * Polls one GPU's energy counter and keeps its update points.
 *
 * @example Usage
 * ```ts
 * import { NvmlLibrary } from "./nvml_library.ts";
 * import { EnergyCounterReader } from "./energy_counter_reader.ts";
 * const nvml = NvmlLibrary.open();
 * const reader = new EnergyCounterReader(nvml.device(0));
 * reader.start();
 * await reader.waitForUpdate(0, 2000);
 * // ... later, with t0 < t1 both followed by an update:
 * // const joules = (reader.energyAt(t1) - reader.energyAt(t0)) / 1000;
 * await reader.stop();
 * nvml.close();
 * ```
 */
export class EnergyCounterReader {
  readonly #device: NvmlDevice;
  readonly #pollMs: number;
  /** Changes: `[previous read's time ns, this read's time ns, mJ since the first reading]`. */
  readonly #updates = new SnapshotStore(3, 256);
  /** Each row's change number since `start()` (0 for the first change). */
  #changeNumbers = new Float64Array(256);
  #changes = 0;
  /** Rows older than the fine tail keep only change numbers that are multiples of this. */
  #every = 1;
  /** Boundary times whose two surrounding changes are never thinned, increasing. */
  #pins = new Float64Array(64);
  #pinCount = 0;
  readonly #words = new Uint32Array(2);
  #firstLow = 0;
  #firstHigh = 0;
  #previousValue = -1;
  #previousIssuedNs = 0;
  #reads = 0;
  #readNs = 0;
  #running = false;
  #loop: Promise<void> | undefined;
  #error: Error | undefined;
  #waiters: (() => void)[] = [];
  /** Whether the counter moves in steps; decided while learning its rhythm. */
  #stepwiseCounter: boolean | undefined;
  /** First and last closely bracketed steps, ns; the period is measured between them. */
  #firstAnchorNs = 0;
  #anchorNs = 0;
  #periodNs = 0;
  /** Time of the last step (measured or predicted), ns, and steps since the last anchor. */
  #lastStepNs = 0;
  #stepsSinceAnchor = 0;

  /**
   * Creates a reader; `start()` begins polling.
   *
   * @param device The GPU.
   * @param pollMs Pause between reads, ms (default 5).
   */
  constructor(device: NvmlDevice, pollMs = DEFAULT_COUNTER_POLL_MS) {
    this.#device = device;
    this.#pollMs = pollMs;
  }

  /** The error that stopped polling, if any. */
  get error(): Error | undefined {
    return this.#error;
  }

  /** Forgets earlier readings and starts polling. */
  start(): void {
    this.#updates.clear();
    this.#changes = 0;
    this.#every = 1;
    this.#pinCount = 0;
    this.#previousValue = -1;
    this.#reads = 0;
    this.#readNs = 0;
    this.#error = undefined;
    this.#stepwiseCounter = undefined;
    this.#firstAnchorNs = 0;
    this.#anchorNs = 0;
    this.#periodNs = 0;
    this.#lastStepNs = 0;
    this.#stepsSinceAnchor = 0;
    this.#running = true;
    this.#loop = this.#poll();
  }

  /** Stops polling once the read in flight has landed. */
  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
    this.#wake();
  }

  /**
   * Waits until the counter has been seen to move after `afterNs`.
   *
   * @param afterNs A `CLOCK_MONOTONIC` time in ns (as a number).
   * @param timeoutMs Longest wait.
   * @returns `true` when such an update exists.
   */
  async waitForUpdate(afterNs: number, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (!this.#hasUpdateAfter(afterNs)) {
      if (this.#error !== undefined || !this.#running || performance.now() >= deadline) {
        return this.#hasUpdateAfter(afterNs);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - performance.now()));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return true;
  }

  /**
   * Keeps the changes around a time (a boundary's) through every thinning,
   * so `energyAt(timeNs)` is interpolated between the same two changes as
   * with every change kept.
   *
   * @param timeNs A `CLOCK_MONOTONIC` time in ns, not before the last one pinned.
   */
  pin(timeNs: number): void {
    if (this.#pinCount > 0 && this.#pins[this.#pinCount - 1] === timeNs) return;
    if (this.#pinCount === this.#pins.length) {
      const grown = new Float64Array(this.#pins.length * 2);
      grown.set(this.#pins);
      this.#pins = grown;
    }
    this.#pins[this.#pinCount++] = timeNs;
  }

  /**
   * The counter's energy at a time, in mJ relative to the first reading:
   * linear between the update points around `timeNs`.
   *
   * @param timeNs A `CLOCK_MONOTONIC` time in ns, between two update points.
   * @returns Energy in mJ.
   * @throws {Error} When `timeNs` is not between two update points.
   */
  energyAt(timeNs: number): number {
    const updates = this.#updates;
    const stepwise = this.#stepwise();
    const timeOf = (row: number) => changeTime(updates, row, stepwise);
    let low = 0;
    let high = updates.rows - 1;
    if (high < 1 || timeNs < timeOf(0) || timeNs > timeOf(high)) {
      throw new Error("the GPU's energy counter was not seen to update around this boundary");
    }
    while (high - low > 1) {
      const middle = (low + high) >> 1;
      if (timeOf(middle) <= timeNs) low = middle;
      else high = middle;
    }
    const t0 = timeOf(low);
    const t1 = timeOf(high);
    const e0 = updates.at(low, 2);
    const e1 = updates.at(high, 2);
    return t1 === t0 ? e1 : e0 + (e1 - e0) * (timeNs - t0) / (t1 - t0);
  }

  /**
   * The GPU's power between consecutive counter updates, in W, stamped at
   * the later update (at the middle of its bracketing reads for a counter
   * that moves in steps).
   *
   * @returns Times (`CLOCK_MONOTONIC` ns) and watts, and `every` when the
   * changes were thinned (one change in that many, and the last).
   */
  powerSeries(): SamplePoints {
    const updates = this.#updates;
    const stepwise = this.#stepwise();
    const timeOf = (row: number) => changeTime(updates, row, stepwise);
    // Thinned: the changes numbered by multiples of the smallest stride that fits the limit
    // (all still kept), and the last; not the ones kept only around boundaries.
    const limit = maxSamplesPerSeries();
    const every = this.#changes > limit
      ? finalStride(this.#changes, this.#every, limit)
      : this.#every;
    const numbers = this.#changeNumbers;
    const rows: number[] = [];
    for (let row = 0; row < updates.rows; row++) {
      if (every === 1 || numbers[row]! % every === 0 || row === updates.rows - 1) rows.push(row);
    }
    const count = Math.max(0, rows.length - 1);
    const timesNs = new Float64Array(count);
    const values = new Float64Array(count);
    for (let point = 1; point <= count; point++) {
      const from = rows[point - 1]!;
      const to = rows[point]!;
      const seconds = (timeOf(to) - timeOf(from)) / 1e9;
      timesNs[point - 1] = timeOf(to);
      values[point - 1] = seconds > 0 ? updates.delta(from, to, 2) / 1e3 / seconds : 0;
    }
    return every > 1 ? { timesNs, values, every } : { timesNs, values };
  }

  /** `true` when the counter moves in steps (most dense reads saw no change). */
  #stepwise(): boolean {
    return this.#stepwiseCounter ?? this.#updates.rows * 2 < this.#reads;
  }

  /**
   * Median time between counter updates, ms (0 before two updates): over
   * consecutive changes only, where older ones were thinned.
   */
  get updatePeriodMs(): number {
    const updates = this.#updates;
    const numbers = this.#changeNumbers;
    const gaps: number[] = [];
    for (let row = 1; row < updates.rows; row++) {
      if (numbers[row]! !== numbers[row - 1]! + 1) continue;
      gaps.push(updates.at(row, 1) - updates.at(row - 1, 1));
    }
    if (gaps.length === 0) return 0;
    gaps.sort((a, b) => a - b);
    return gaps[gaps.length >> 1]! / 1e6;
  }

  /** Mean duration of one NVML read, ms. */
  get meanReadMs(): number {
    return this.#reads === 0 ? 0 : this.#readNs / this.#reads / 1e6;
  }

  /** How many reads were made. */
  get reads(): number {
    return this.#reads;
  }

  #hasUpdateAfter(afterNs: number): boolean {
    const rows = this.#updates.rows;
    // The read that saw the change was issued after `afterNs`, and so was the one before it
    // for a stepwise counter: the change is placed after `afterNs` either way.
    return rows > 0 && this.#updates.at(rows - 1, 0) > afterNs;
  }

  async #poll(): Promise<void> {
    while (this.#running) {
      const issued = nowNs();
      try {
        await this.#device.readTotalEnergyOffThread(this.#words);
      } catch (error) {
        this.#error = error as Error;
        this.#running = false;
        break;
      }
      const done = nowNs();
      this.#reads++;
      this.#readNs += done - issued;
      this.#record(issued);
      this.#wake();
      if (!this.#running) break;
      // A referenced timer: a run's end waits on these reads, so they must keep the process alive.
      const delay = this.#nextDelayMs(nowNs(), done - issued);
      await new Promise<void>((resolve) => setTimeout(resolve, delay));
    }
  }

  /**
   * How long to wait before the next read: the dense pause while learning
   * (or for a counter that moves at every read); else until just after the
   * next expected step, or, every `REANCHOR_EVERY` steps, until just before
   * it; and 1 ms while an expected step has not been seen.
   */
  #nextDelayMs(now: number, readNs: number): number {
    if (this.#stepwiseCounter === undefined && this.#updates.rows >= CHANGES_TO_LEARN) {
      this.#stepwiseCounter = this.#updates.rows * 2 < this.#reads;
    }
    if (this.#stepwiseCounter !== true || this.#periodNs === 0) return this.#pollMs;
    const expected = this.#lastStepNs + this.#periodNs;
    const reanchor = this.#stepsSinceAnchor + 1 >= REANCHOR_EVERY;
    const target = reanchor ? expected - Math.max(2 * readNs, 8e6) : expected + AFTER_STEP_NS;
    return target > now ? (target - now) / 1e6 : 1;
  }

  /** Notes a reading issued at `issuedNs`; a changed value is recorded with both read times. */
  #record(issuedNs: number): void {
    const low = this.#words[0]!;
    const high = this.#words[1]!;
    if (this.#previousValue < 0) {
      this.#firstLow = low;
      this.#firstHigh = high;
      this.#previousValue = 0;
      this.#previousIssuedNs = issuedNs;
      return;
    }
    const value = wrappingDelta(this.#firstLow, this.#firstHigh, low, high);
    if (value !== this.#previousValue) {
      const updates = this.#updates;
      let before = this.#previousIssuedNs;
      let after = issuedNs;
      if (after - before <= ANCHOR_BRACKET_NS) {
        // Closely bracketed: the step's time is measured; it anchors the rhythm.
        // The period is measured over the longest span of anchors: its error shrinks as the
        // run goes on, so predictions between anchors drift less and less.
        const step = (before + after) / 2;
        if (this.#firstAnchorNs === 0) {
          this.#firstAnchorNs = step;
        } else {
          const span = step - this.#firstAnchorNs;
          const guess = this.#periodNs || step - this.#anchorNs;
          this.#periodNs = span / Math.max(1, Math.round(span / guess));
        }
        this.#anchorNs = step;
        this.#lastStepNs = step;
        this.#stepsSinceAnchor = 0;
      } else {
        // Caught between distant reads: a counter that moves in steps steps regularly, so the
        // change is placed where the rhythm predicts, kept between the reads. One that moves
        // at every read (or not yet known to step) keeps the read's own time: its "rhythm" is
        // only the polling's, and a late poll (a busy main thread) would misplace its reading.
        if (this.#stepwiseCounter === true && this.#periodNs !== 0) {
          const predicted = Math.min(Math.max(this.#lastStepNs + this.#periodNs, before), after);
          before = predicted - 1e6;
          after = predicted + 1e6;
        }
        this.#lastStepNs = (before + after) / 2;
        this.#stepsSinceAnchor++;
      }
      if (updates.rows >= 2 * maxSamplesPerSeries() + FINE_TAIL_ROWS) this.#thin();
      const index = updates.rows;
      const row = updates.append();
      const values = updates.values;
      values[row] = before;
      values[row + 1] = after;
      values[row + 2] = value;
      if (index === this.#changeNumbers.length) {
        const grown = new Float64Array(this.#changeNumbers.length * 2);
        grown.set(this.#changeNumbers);
        this.#changeNumbers = grown;
      }
      this.#changeNumbers[index] = this.#changes++;
      this.#previousValue = value;
    }
    this.#previousIssuedNs = issuedNs;
  }

  /**
   * Drops older changes: those before the fine tail keep the multiples of
   * `every` (doubled until at most the limit of them are left) and the two
   * changes around each pinned time.
   */
  #thin(): void {
    const updates = this.#updates;
    const stepwise = this.#stepwiseCounter ??= this.#stepwise();
    const timeOf = (row: number) => changeTime(updates, row, stepwise);
    const rows = updates.rows;
    const keep = new Uint8Array(rows);
    // Each pinned time's changes: the last at or before it and the next (pins and rows increase).
    let row = 0;
    for (let pin = 0; pin < this.#pinCount; pin++) {
      const time = this.#pins[pin]!;
      while (row + 1 < rows && timeOf(row + 1) <= time) row++;
      keep[row] = 1;
      // The next one, unless it has not come yet (it will be in the fine tail when it does).
      if (row + 1 < rows) keep[row + 1] = 1;
    }
    const older = rows - FINE_TAIL_ROWS;
    this.#every = strideFitting(this.#changeNumbers, older, this.#every, maxSamplesPerSeries());
    keepStrideRows(updates, this.#changeNumbers, older, this.#every, (row) => keep[row] === 1);
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
