/**
 * RAPL energy through the powercap framework (`energy_uj` files), with
 * wrap-safe accumulation and polling between boundaries.
 *
 * @module
 */

import { SourceError } from "../../src/errors.ts";
import { NumericFile } from "../../src/ffi/numeric_file.ts";
import { SnapshotStore } from "../../src/snapshot_store.ts";
import { StaleCounterWatch, staleWarning } from "./stale_counter_watch.ts";
import type { Metric, SampleSeries, Sensor, Source } from "../../src/source.ts";
import { SampleBuffer } from "../../src/sampling/sample_buffer.ts";
import type { PowercapZone } from "./powercap_zones.ts";
import { markTotals, POWERCAP_SOURCE_NAME, RAPL_UNIT } from "./rapl_domain.ts";

/**
 * The most power one zone is assumed to draw, for the default polling
 * period: far above any current CPU package (~500 W), so no wrap is missed.
 */
export const POWER_CEILING_WATTS = 1000;
/** Polls per shortest wrap time at the power ceiling. */
const POLLS_PER_WRAP = 4;
/** Bounds of the default polling period, in seconds. */
const MIN_DEFAULT_PERIOD_S = 0.001;
const MAX_DEFAULT_PERIOD_S = 60;

/**
 * The default polling period for a set of zones: a quarter of the time the
 * fastest-wrapping counter needs to wrap at {@linkcode POWER_CEILING_WATTS},
 * between 1 ms and 60 s. A typical `max_energy_range_uj` of 262 J·10⁶
 * gives 60 s (one cheap read of each zone per minute).
 *
 * @param zones The zones to poll.
 * @returns Seconds between polls.
 *
 * @example Usage
 * ```ts
 * import { defaultPollingPeriod } from "./powercap_source.ts";
 * console.log(defaultPollingPeriod([{ maxEnergyRangeUj: 20_000_000 }])); // 0.005
 * ```
 */
export function defaultPollingPeriod(zones: readonly { maxEnergyRangeUj: number }[]): number {
  const wrapSeconds = Math.min(
    ...zones.map((zone) => zone.maxEnergyRangeUj / (POWER_CEILING_WATTS * 1e6)),
  );
  const period = wrapSeconds / POLLS_PER_WRAP;
  return Math.min(MAX_DEFAULT_PERIOD_S, Math.max(MIN_DEFAULT_PERIOD_S, period));
}

/** Options of {@linkcode PowercapSource}. */
export interface PowercapSourceOptions {
  /** The zones to read. */
  zones: PowercapZone[];
  /**
   * Seconds between polls while the program runs; `0` disables polling.
   * Default: {@linkcode defaultPollingPeriod}.
   */
  pollingSeconds?: number;
  /** Called once per run when a counter moved more than half its range between reads. */
  warn?: (message: string) => void;
}

/**
 * RAPL energy per phase from powercap zones.
 *
 * Every read (boundary or poll) adds `(now - previous) mod (max + 1)` to a
 * running total per zone, so wraps are handled exactly as long as a zone is
 * read at least once per wrap; polling (on by default) guarantees that.
 * Files stay open and are re-read with `pread`; a read allocates nothing.
 * Metrics are µJ per domain, with the whole-CPU and whole-platform totals
 * marked in `details.total`.
 *
 * @example Usage
 * ```ts
 * import { discoverPowercapZones } from "./powercap_zones.ts";
 * import { PowercapSource } from "./powercap_source.ts";
 * const { zones } = discoverPowercapZones("/sys/devices/virtual/powercap/intel-rapl");
 * const source = new PowercapSource({ zones });
 * ```
 */
export class PowercapSource implements Source<number> {
  /** `RAPL (Powercap)`. */
  readonly name: string = POWERCAP_SOURCE_NAME;
  /** Machine-wide counters: read by one task per node in a distributed job. */
  readonly scope = "machine" as const;
  /** The zones read, in column order. */
  readonly zones: readonly PowercapZone[];
  /** Seconds between polls (0: no polling). */
  readonly pollingSeconds: number;
  readonly #files: (NumericFile | undefined)[];
  /** Last reading per zone: a bigint once a counter passes 2^53, so deltas stay exact. */
  readonly #previous: (number | bigint)[];
  readonly #totals: Float64Array;
  readonly #ranges: Float64Array;
  /** The same ranges exactly, for counters past 2^53. */
  readonly #exactRanges: bigint[];
  readonly #store: SnapshotStore;
  readonly #warn: (message: string) => void;
  #warned = false;
  #polls = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #watch = new StaleCounterWatch();
  /** Zones of the last run that never moved. */
  #stale = new Set<number>();
  #nextPoll = 0;
  /** Running totals at each sample (µJ per zone), when sampling is on. */
  readonly #samples: SampleBuffer;

  /**
   * Creates the source; files are opened by `init()`.
   *
   * @param options Zones and polling.
   */
  constructor(options: PowercapSourceOptions) {
    this.zones = [...options.zones];
    const count = this.zones.length;
    this.pollingSeconds = options.pollingSeconds ?? defaultPollingPeriod(this.zones);
    this.#files = new Array(count).fill(undefined);
    this.#previous = new Array(count).fill(0);
    this.#totals = new Float64Array(count);
    this.#ranges = Float64Array.from(this.zones, (zone) => zone.maxEnergyRangeUj + 1);
    this.#exactRanges = this.zones.map((zone) =>
      (zone.maxEnergyRange ?? BigInt(Math.round(zone.maxEnergyRangeUj))) + 1n
    );
    this.#store = new SnapshotStore(count);
    this.#samples = new SampleBuffer(count);
    this.#warn = options.warn ?? (() => {});
  }

  /** Number of polls during the last run (for diagnostics and tests). */
  get polls(): number {
    return this.#polls;
  }

  /** Opens every zone's `energy_uj`, takes a first reading, starts polling. */
  init(): void {
    this.#closeFiles();
    try {
      this.zones.forEach((zone, i) => {
        const file = NumericFile.open(`${zone.path}/energy_uj`);
        this.#files[i] = file;
        this.#previous[i] = file.readExact();
      });
    } catch (error) {
      this.#closeFiles();
      throw new SourceError(this.name, (error as Error).message, { cause: error });
    }
    this.#totals.fill(0);
    this.#store.clear();
    this.#samples.clear();
    this.#watch.reset();
    this.#stale.clear();
    this.#warned = false;
    this.#polls = 0;
    if (this.pollingSeconds > 0) {
      this.#nextPoll = performance.now();
      this.#schedulePoll();
    }
  }

  /** Reads every zone and records the running totals. */
  measure(): void {
    this.#watch.stamp();
    this.#update();
    const row = this.#store.append();
    this.#store.values.set(this.#totals, row);
  }

  /**
   * Reads every zone like a poll does (the running totals the boundaries
   * use are only brought up to date, so phase energies stay exact) and
   * records the totals.
   */
  sample(): void {
    this.#update();
    // append() may grow the buffer: take the array after it.
    const offset = this.#samples.append();
    this.#samples.values.set(this.#totals, offset);
  }

  /**
   * Power per domain between consecutive samples.
   *
   * @returns One `W` series per zone.
   */
  samples(): SampleSeries[] {
    return this.zones.map((zone, i) => ({
      name: zone.sensor,
      unit: "W",
      source: this.name,
      ...this.#samples.rates(i, 1e-6),
    }));
  }

  /** A boundary at the instant of the previous one: its readings again, nothing read. */
  repeat(): void {
    this.#store.appendCopy();
  }

  /**
   * Closes the phase that ended at the last `measure()`.
   *
   * @returns The row of the boundary that closed the phase.
   */
  retrieve(): number {
    return this.#store.rows - 1;
  }

  /** Stops polling and closes the files; warns about zones that never moved. */
  join(): void {
    this.#stale = new Set(this.#watch.staleColumns(this.#store));
    this.#watch.reset();
    if (this.#stale.size > 0) {
      this.#warn(staleWarning(this.name, [...this.#stale].map((i) => this.zones[i]!.sensor)));
    }
    this.#closeFiles();
  }

  #closeFiles(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (let i = 0; i < this.#files.length; i++) {
      this.#files[i]?.close();
      this.#files[i] = undefined;
    }
  }

  /** One µJ sensor per zone. */
  sensors(): Sensor[] {
    return this.zones.map((zone) => ({ name: zone.sensor, unit: RAPL_UNIT, source: this.name }));
  }

  /**
   * The energy of each domain over one phase.
   *
   * @param row The row `retrieve()` returned for the phase's end.
   * @returns µJ per domain, totals marked.
   */
  toMetrics(row: number): Metric[] {
    const energies = this.zones.map((zone, i) => ({
      name: zone.sensor,
      domain: zone.domain,
      microjoules: this.#store.delta(row - 1, row, i),
    }));
    const stale = new Set([...this.#stale].map((i) => this.zones[i]!.sensor));
    return markTotals(energies).map(({ name, microjoules, details }) => ({
      name,
      value: microjoules,
      unit: RAPL_UNIT,
      source: this.name,
      details: stale.has(name) ? { ...details, not_updating: true } : details,
    }));
  }

  #update(): void {
    for (let i = 0; i < this.#files.length; i++) {
      const file = this.#files[i];
      if (file === undefined) throw new SourceError(this.name, "read before init()");
      const now = file.readExact();
      const previous = this.#previous[i]!;
      const range = this.#ranges[i]!;
      let delta: number;
      if (typeof now === "number" && typeof previous === "number" && range <= 2 ** 53) {
        delta = now - previous;
        if (delta < 0) delta += range;
      } else {
        // Past 2^53 a number cannot hold every value: subtract exactly, then
        // the delta (a few joules' worth of µJ) is a plain number again.
        let exact = BigInt(now) - BigInt(previous);
        if (exact < 0n) exact += this.#exactRanges[i]!;
        delta = Number(exact);
      }
      if (delta > range / 2 && !this.#warned) {
        this.#warned = true;
        this.#warn(
          `${this.name}: ${this.zones[i]!.sensor} advanced by more than half its counter range ` +
            `between two reads; a wrap may have been missed (use a shorter --rapl-polling)`,
        );
      }
      this.#totals[i] = this.#totals[i]! + delta;
      this.#previous[i] = now;
    }
  }

  /** Plans the next poll on an absolute schedule; a late loop skips missed polls. */
  #schedulePoll(): void {
    const now = performance.now();
    this.#nextPoll += this.pollingSeconds * 1000;
    if (this.#nextPoll < now) this.#nextPoll = now;
    const delay = this.#nextPoll - now;
    const timer = setTimeout(this.#poll, delay);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  readonly #poll = (): void => {
    if (this.#timer === undefined) return;
    try {
      this.#update();
      this.#polls++;
    } catch {
      // A failed poll is retried at the next one; a boundary read reports errors.
    }
    this.#schedulePoll();
  };
}
