/**
 * Live intervals (`profile -I MS`), as `perf stat -I` prints them: while
 * the program runs, each interval's energy per domain, average power and
 * the other sampled series (CPU, counters with `--perf`), with the time
 * since the start in the first column.
 *
 * Intervals ride on the sampling machinery: the sampler ticks every `MS`
 * milliseconds, every source that can sample records its counters, and
 * this module turns the newest point of each series into one interval.
 * A power series (`W`, the average over the interval) gives the energy as
 * power × the interval's length; a rate (`/s`, e.g. perf counters) gives
 * the count the same way; any other series (`%`, `MiB`) is shown as it is.
 *
 * @module
 */

import { monotonicNs } from "./clock.ts";
import type { SampleSeries } from "./source.ts";
import { convertTail } from "./sampling/sample_buffer.ts";
import { groupDigits } from "./text/digit_grouping.ts";

/**
 * Newest samples converted per interval: the last point needs one or two,
 * a rate over a 50 ms window (the process source's /proc CPU) up to 6 at
 * the 10 ms minimum; 16 leaves room for late ticks. Keeps each interval's
 * cost independent of the run's length.
 */
const TAIL_ROWS = 16;

export { MIN_LIVE_INTERVAL_MS } from "./setting_defaults.ts";

/** How the lines are written: `perf stat -I` columns, JSON lines or CSV rows. */
export type LiveIntervalFormat = "terminal" | "json" | "csv";

/** One value of one interval. */
export interface IntervalValue {
  /** Series name, e.g. `PACKAGE-0`, `task-clock`, `CPU`. */
  name: string;
  /** Source that recorded it. */
  source: string;
  /** Energy over the interval, J (power series only). */
  energyJ?: number;
  /** Average power over the interval, W (power series only). */
  powerW?: number;
  /** Amount over the interval (a rate series such as a perf counter's `count/s`), in `unit`. */
  count?: number;
  /** The series' own value (other series), in `unit`. */
  value?: number;
  /** Unit of `count` or `value`. */
  unit?: string;
}

/** One interval: its end since the start, its length and its values. */
export interface Interval {
  /** 1-based interval number. */
  index: number;
  /** Seconds from the start to the interval's end. */
  timeS: number;
  /** The interval's length, s. */
  durationS: number;
  /** One entry per series that has a point in this interval. */
  values: IntervalValue[];
}

/**
 * Told about every sampling tick of a run: how live intervals follow the
 * sampler without a timer of their own.
 */
export interface SampleObserver {
  /** The run's first sample was taken (its START). */
  started(): void;
  /** A tick sampled every source; `series` converts what they recorded so far. */
  sampled(series: () => SampleSeries[]): void;
}

/** Options of {@linkcode LiveIntervals}. */
export interface LiveIntervalsOptions {
  /** Line format. */
  format: LiveIntervalFormat;
  /** Writes one chunk of text (lines ending in `\n`), synchronously. */
  write: (text: string) => void;
}

/**
 * Turns the sampled series into interval lines as the run goes.
 *
 * @example Usage
 * ```ts
 * import { LiveIntervals } from "./live_intervals.ts";
 * import { monotonicNs } from "./clock.ts";
 * let text = "";
 * const intervals = new LiveIntervals({ format: "json", write: (chunk) => void (text += chunk) });
 * intervals.started();
 * await new Promise((resolve) => setTimeout(resolve, 100));
 * intervals.sampled(() => [{
 *   name: "PACKAGE-0", unit: "W", source: "RAPL (Powercap)",
 *   timesNs: Float64Array.of(Number(monotonicNs())), values: Float64Array.of(5),
 * }]);
 * console.log(text); // {"interval":1,"time_s":0.1…,"values":[{"name":"PACKAGE-0",…,"energy_j":0.5…,"power_w":5}]}
 * ```
 */
export class LiveIntervals implements SampleObserver {
  readonly #format: LiveIntervalFormat;
  readonly #write: (text: string) => void;
  #startNs = 0;
  #index = 0;
  /** Per series (`source\0name`): time of the last point reported. */
  readonly #last = new Map<string, number>();
  #headerWritten = false;

  /**
   * Creates the printer.
   *
   * @param options Format and destination.
   */
  constructor(options: LiveIntervalsOptions) {
    this.#format = options.format;
    this.#write = options.write;
  }

  /** Intervals written so far (all runs). */
  get count(): number {
    return this.#index;
  }

  /** Marks the start of a run (the first sample): times count from here. */
  started(): void {
    this.#startNs = Number(monotonicNs());
    this.#last.clear();
  }

  /**
   * Reports the interval that the tick just closed.
   *
   * @param series Converts the sampled series (called once).
   */
  sampled(series: () => SampleSeries[]): void {
    const interval = this.#collect(convertTail(TAIL_ROWS, series));
    if (interval === undefined) return;
    this.#write(this.#render(interval));
  }

  #collect(all: SampleSeries[]): Interval | undefined {
    const values: IntervalValue[] = [];
    let endNs = 0;
    let durationNs = 0;
    for (const entry of all) {
      const points = entry.timesNs.length;
      if (points === 0) continue;
      const timeNs = entry.timesNs[points - 1]!;
      const key = `${entry.source}\0${entry.name}`;
      const previous = this.#last.get(key) ?? this.#startNs;
      if (timeNs <= previous) continue;
      this.#last.set(key, timeNs);
      const seconds = (timeNs - previous) / 1e9;
      endNs = Math.max(endNs, timeNs);
      durationNs = Math.max(durationNs, timeNs - previous);
      const value = entry.values[points - 1]!;
      const base = { name: entry.name, source: entry.source };
      if (entry.unit === "W") values.push({ ...base, energyJ: value * seconds, powerW: value });
      else if (entry.unit.endsWith("/s")) {
        const unit = entry.unit.slice(0, -2);
        // Counters count whole events (and ns): the rate × time only loses the rounding.
        const amount = unit === "count" || unit === "ns"
          ? Math.round(value * seconds)
          : value * seconds;
        values.push({ ...base, count: amount, unit });
      } else values.push({ ...base, value, unit: entry.unit });
    }
    if (values.length === 0) return undefined;
    return {
      index: ++this.#index,
      timeS: (endNs - this.#startNs) / 1e9,
      durationS: durationNs / 1e9,
      values,
    };
  }

  #render(interval: Interval): string {
    switch (this.#format) {
      case "json":
        return `${JSON.stringify(intervalJson(interval))}\n`;
      case "csv":
        return this.#csv(interval);
      case "terminal":
        return this.#terminal(interval);
    }
  }

  #terminal(interval: Interval): string {
    let text = "";
    if (!this.#headerWritten) {
      this.#headerWritten = true;
      text += "#           time             counts unit events\n";
    }
    const time = interval.timeS.toFixed(6).padStart(15);
    for (const value of interval.values) {
      let counts: string;
      let unit: string;
      let note = "";
      if (value.energyJ !== undefined) {
        counts = value.energyJ.toFixed(3);
        unit = "J";
        note = `  #  ${value.powerW!.toFixed(2)} W`;
      } else if (value.count !== undefined) {
        counts = Number.isInteger(value.count)
          ? groupDigits(value.count)
          : Number(value.count.toPrecision(4)).toString();
        unit = value.unit === "count" ? "" : value.unit!;
      } else {
        counts = Number(value.value!.toFixed(2)).toString();
        unit = value.unit!;
      }
      text += `${time} ${counts.padStart(18)} ${unit.padEnd(4)} ${value.name}${note}\n`;
    }
    return text;
  }

  #csv(interval: Interval): string {
    let text = "";
    if (!this.#headerWritten) {
      this.#headerWritten = true;
      text += "interval;time_s;duration_s;name;value;unit;source\n";
    }
    const head = `${interval.index};${interval.timeS.toFixed(6)};${interval.durationS.toFixed(6)}`;
    const row = (value: IntervalValue, amount: number, unit: string) =>
      `${head};${csvCell(value.name)};${amount};${unit};${csvCell(value.source)}\n`;
    for (const value of interval.values) {
      if (value.energyJ !== undefined) {
        text += row(value, value.energyJ, "J") + row(value, value.powerW!, "W");
      } else if (value.count !== undefined) {
        text += row(value, value.count, value.unit!);
      } else {
        text += row(value, value.value!, value.unit!);
      }
    }
    return text;
  }
}

/**
 * The JSON object of one interval (one line of `-I` with `--json`).
 *
 * @param interval The interval.
 * @returns Plain data, snake_case keys like the result files.
 *
 * @example Usage
 * ```ts
 * import { intervalJson } from "./live_intervals.ts";
 * console.log(intervalJson({ index: 1, timeS: 0.1, durationS: 0.1, values: [] }).interval); // 1
 * ```
 */
export function intervalJson(interval: Interval): Record<string, unknown> {
  return {
    interval: interval.index,
    time_s: interval.timeS,
    duration_s: interval.durationS,
    values: interval.values.map((value) => {
      const entry: Record<string, unknown> = { name: value.name, source: value.source };
      if (value.energyJ !== undefined) {
        entry.energy_j = value.energyJ;
        entry.power_w = value.powerW;
      } else if (value.count !== undefined) {
        entry.count = value.count;
        entry.unit = value.unit;
      } else {
        entry.value = value.value;
        entry.unit = value.unit;
      }
      return entry;
    }),
  };
}

/** A CSV cell: `;`, quotes and line breaks quoted; a leading formula character neutralised. */
function csvCell(text: string): string {
  const safe = /^[=+\-@]/.test(text) ? `'${text}` : text;
  return /[;"\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}
