/**
 * A user-defined source, registered through the public API.
 *
 * `SystemCpuSource` reports, per phase, how much CPU time the whole machine
 * spent busy and idle, read from `/proc/stat`. Run it on any command:
 *
 *   deno run -A examples/custom_source.ts -- python3 examples/programs/phases.py
 *
 * @module
 */

import {
  formatTerminal,
  JouleProfiler,
  type Metric,
  type Sensor,
  type Source,
} from "../src/mod.ts";

/** Busy and total CPU time of one phase, in clock ticks (USER_HZ). */
export interface CpuTicks {
  /** Ticks spent in user, nice, system, irq, softirq and steal. */
  busy: number;
  /** All ticks, idle and iowait included. */
  total: number;
}

/** Linux reports `/proc/stat` times in USER_HZ, which is 100 on every common build. */
const TICKS_PER_SECOND = 100;

/**
 * Whole-machine CPU time per phase, from the first line of `/proc/stat`.
 *
 * `measure()` re-reads the already open file into a preallocated buffer and
 * keeps two numbers; everything else happens in `toMetrics()` after the run.
 *
 * @example Usage
 * ```ts
 * import { JouleProfiler } from "../src/mod.ts";
 * import { SystemCpuSource } from "./custom_source.ts";
 * const profiler = new JouleProfiler().addSource(new SystemCpuSource());
 * const result = await profiler.profile({ command: ["sleep", "0.1"] });
 * console.log(result.runs[0]!.phases[0]!.metrics);
 * ```
 */
export class SystemCpuSource implements Source<CpuTicks> {
  /** Source name shown in the outputs. */
  readonly name = "system CPU (/proc/stat)";
  readonly #buffer = new Uint8Array(256);
  /** The first line's counters: user nice system idle iowait irq softirq steal. */
  readonly #fields = new Float64Array(8);
  #file: Deno.FsFile | undefined;
  #busy = 0;
  #total = 0;
  #phaseBusy = 0;
  #phaseTotal = 0;
  #atBaseline = true;

  /** Opens `/proc/stat` once for the run; the next measure is the baseline. */
  init(): void {
    this.#file ??= Deno.openSync("/proc/stat");
    this.#atBaseline = true;
  }

  /** Reads the aggregate `cpu` line: no allocation, two numbers kept. */
  measure(): void {
    const file = this.#file ??= Deno.openSync("/proc/stat");
    file.seekSync(0, Deno.SeekMode.Start);
    const length = file.readSync(this.#buffer) ?? 0;
    this.#fields.fill(0);
    let field = -1;
    let inNumber = false;
    for (let i = 3; i < length && this.#buffer[i] !== 10 && field < 8; i++) {
      const digit = this.#buffer[i]! - 48;
      if (digit >= 0 && digit <= 9) {
        if (!inNumber) field++;
        inNumber = true;
        if (field < 8) this.#fields[field] = this.#fields[field]! * 10 + digit;
      } else {
        inNumber = false;
      }
    }
    const [user, nice, system, idle, iowait, irq, softirq, steal] = this.#fields;
    const busy = user! + nice! + system! + irq! + softirq! + steal!;
    const total = busy + idle! + iowait!;
    if (this.#atBaseline) {
      this.#atBaseline = false;
    } else {
      this.#phaseBusy = busy - this.#busy;
      this.#phaseTotal = total - this.#total;
    }
    this.#busy = busy;
    this.#total = total;
  }

  /** The ticks of the phase that just ended. */
  retrieve(): CpuTicks {
    return { busy: this.#phaseBusy, total: this.#phaseTotal };
  }

  /** Closes the file. */
  join(): void {
    this.#file?.close();
    this.#file = undefined;
  }

  /** The two sensors. */
  sensors(): Sensor[] {
    return [
      { name: "CPU_BUSY", unit: "ms", source: this.name },
      { name: "CPU_IDLE", unit: "ms", source: this.name },
    ];
  }

  /** Converts ticks to milliseconds. */
  toMetrics(raw: CpuTicks): Metric[] {
    const ms = (ticks: number) => ticks * 1000 / TICKS_PER_SECOND;
    return [
      { name: "CPU_BUSY", value: ms(raw.busy), unit: "ms", source: this.name },
      { name: "CPU_IDLE", value: ms(raw.total - raw.busy), unit: "ms", source: this.name },
    ];
  }
}

if (import.meta.main) {
  const separator = Deno.args.indexOf("--");
  const command = separator === -1 ? Deno.args : Deno.args.slice(separator + 1);
  if (command.length === 0) {
    console.error("usage: deno run -A examples/custom_source.ts -- <command> [args...]");
    Deno.exit(2);
  }
  const profiler = new JouleProfiler().addSource(new SystemCpuSource());
  const result = await profiler.profile({ command });
  console.log(formatTerminal(result));
  Deno.exit(result.exitCode);
}
