/**
 * The `system` source: what the whole machine did during each phase, next
 * to what the program did (the `process` source). Everything here is
 * machine-wide, labelled `details.scope: "machine"`:
 *
 * - `SYSTEM_CPU_BUSY_TIME` (ns): CPU time every core spent on anything but
 *   idle and I/O wait (user, nice, system, irq, softirq; guest time is part
 *   of user), from `/proc/stat`;
 * - `SYSTEM_CPU_TIME` (ns): busy plus idle, I/O wait and steal: the cores'
 *   whole capacity over the phase;
 * - `SYSTEM_CPU_UTILIZATION` (%): busy ÷ capacity;
 * - `CPU<n>_UTILIZATION` (%): the same for each logical CPU;
 * - `NET_RX_BYTES`, `NET_TX_BYTES`, `NET_RX_PACKETS`, `NET_TX_PACKETS`:
 *   traffic of every interface but loopback, from `/proc/net/dev` (the
 *   profiler's network namespace).
 *
 * `/proc/stat` counts in clock ticks (usually 10 ms): a phase shorter than
 * a few ticks has coarse utilisation.
 *
 * @module
 */

import { errno, libc, SyscallError } from "../../src/ffi/libc.ts";
import { openKeptFile, readKeptFile } from "../../src/ffi/kept_file.ts";
import { SampleBuffer } from "../../src/sampling/sample_buffer.ts";
import { SnapshotStore } from "../../src/snapshot_store.ts";
import type { Metric, SampleSeries, Sensor, Source } from "../../src/source.ts";

/** Name of the source in every output. */
export const SYSTEM_SOURCE = "system";

const SC_CLK_TCK = 2;
/** `/proc/stat` with many interrupts is long; only its first lines are parsed. */
const buffer = new Uint8Array(65536);
const NEWLINE = 10;
const SPACE = 32;
const COLON = 58;

/** Options of {@linkcode SystemSource}. */
export interface SystemSourceOptions {
  /** Folder standing for `/proc` (tests); default `/proc`. */
  procPath?: string;
}

/**
 * Machine-wide CPU and network activity.
 *
 * @example Usage
 * ```ts
 * import { SystemSource } from "./system_source.ts";
 * import { JouleProfiler } from "../../src/profiler.ts";
 * const profiler = new JouleProfiler().addSource(new SystemSource());
 * const result = await profiler.profile({ command: ["sleep", "0.05"] });
 * const busy = result.runs[0]!.phases[0]!.metrics.find((m) => m.name === "SYSTEM_CPU_BUSY_TIME");
 * console.log(busy?.details?.scope); // "machine"
 * ```
 */
export class SystemSource implements Source<number> {
  /** Source name. */
  readonly name: string = SYSTEM_SOURCE;
  /** Machine-wide: on a distributed job only each node's leader reads it. */
  readonly scope = "machine" as const;
  /** Logical CPUs in `/proc/stat`. */
  readonly cpus: number;
  readonly #statPath: string;
  readonly #netPath: string;
  #stat = -1;
  #net = -1;
  readonly #nsPerTick: number;
  /** Per snapshot: machine busy, machine total, then busy/total per CPU, then 4 network counters. */
  readonly #width: number;
  readonly #snapshots: SnapshotStore;
  readonly #samples: SampleBuffer;
  readonly #scratch: Float64Array;

  /**
   * Opens `/proc/stat` and `/proc/net/dev` to learn the CPUs.
   *
   * @param options Where `/proc` is.
   * @throws {SyscallError} When `/proc/stat` cannot be read.
   */
  constructor(options: SystemSourceOptions = {}) {
    const proc = options.procPath ?? "/proc";
    this.#statPath = `${proc}/stat`;
    this.#netPath = `${proc}/net/dev`;
    const ticks = Number(libc().sysconf(SC_CLK_TCK));
    this.#nsPerTick = 1e9 / (ticks > 0 ? ticks : 100);
    this.#open();
    const probe = new Float64Array(2 + 2 * 4096);
    this.cpus = this.#readCpus(probe, 0, 4096);
    this.#close();
    this.#width = 2 + 2 * this.cpus + 4;
    this.#snapshots = new SnapshotStore(this.#width);
    this.#samples = new SampleBuffer(2 + 2 * this.cpus + 4);
    this.#scratch = new Float64Array(this.#width);
  }

  /** Opens the files for a run. */
  init(): void {
    this.#close();
    this.#open();
    this.#snapshots.clear();
    this.#samples.clear();
  }

  /** Reads the machine's counters. */
  measure(): void {
    const offset = this.#snapshots.append();
    this.#read(this.#snapshots.values, offset);
  }

  /** A boundary at the instant of the previous one: its readings again, nothing read. */
  repeat(): void {
    this.#snapshots.appendCopy();
  }

  /**
   * Closes the phase that ended at the last `measure()`.
   *
   * @returns The phase's index.
   */
  retrieve(): number {
    return this.#snapshots.rows - 2;
  }

  /** Reads the machine's counters for the timeline. */
  sample(): void {
    const scratch = this.#scratch;
    this.#read(scratch, 0);
    const offset = this.#samples.append();
    this.#samples.values.set(scratch, offset);
  }

  /** Closes the files. */
  join(): void {
    this.#close();
  }

  /**
   * The sensors.
   *
   * @returns Machine CPU, per-CPU utilisation and network counters.
   */
  sensors(): Sensor[] {
    const note = "machine-wide";
    return [
      { name: "SYSTEM_CPU_BUSY_TIME", unit: "ns", source: SYSTEM_SOURCE, note },
      { name: "SYSTEM_CPU_TIME", unit: "ns", source: SYSTEM_SOURCE, note },
      { name: "SYSTEM_CPU_UTILIZATION", unit: "%", source: SYSTEM_SOURCE, note },
      ...Array.from({ length: this.cpus }, (_, cpu) => ({
        name: `CPU${cpu}_UTILIZATION`,
        unit: "%",
        source: SYSTEM_SOURCE,
        note,
      })),
      ...NET_NAMES.map((name, i) => ({
        name,
        unit: NET_UNITS[i]!,
        source: SYSTEM_SOURCE,
        note: `${note}, every interface but loopback`,
      })),
    ];
  }

  /**
   * Converts one phase.
   *
   * @param phase The index `retrieve()` returned.
   * @returns The machine's metrics for the phase.
   */
  toMetrics(phase: number): Metric[] {
    const width = this.#width;
    const values = this.#snapshots.values;
    const start = phase * width;
    const end = start + width;
    const delta = (i: number) => Math.max(0, values[end + i]! - values[start + i]!);
    const cpuDetails = CPU_DETAILS;
    const percent = (busy: number, total: number) =>
      total > 0 ? Math.round(busy / total * 1e4) / 100 : 0;
    const busy = delta(0);
    const total = delta(1);
    const metrics: Metric[] = [
      metric("SYSTEM_CPU_BUSY_TIME", busy * this.#nsPerTick, "ns", cpuDetails),
      metric("SYSTEM_CPU_TIME", total * this.#nsPerTick, "ns", cpuDetails),
      metric("SYSTEM_CPU_UTILIZATION", percent(busy, total), "%", cpuDetails),
    ];
    for (let cpu = 0; cpu < this.cpus; cpu++) {
      const at = 2 + 2 * cpu;
      metrics.push(
        metric(`CPU${cpu}_UTILIZATION`, percent(delta(at), delta(at + 1)), "%", cpuDetails),
      );
    }
    const netDetails = NET_DETAILS;
    const net = 2 + 2 * this.cpus;
    NET_NAMES.forEach((name, i) => {
      metrics.push(metric(name, delta(net + i), NET_UNITS[i]!, netDetails));
    });
    return metrics;
  }

  /**
   * The timeline: `SYSTEM_CPU_UTILIZATION` and `CPU<n>_UTILIZATION` (%),
   * `NET_RX`/`NET_TX` (MB/s).
   *
   * @returns The series.
   */
  samples(): SampleSeries[] {
    const samples = this.#samples;
    const series: SampleSeries[] = [];
    const utilisation = (busy: number, total: number) => {
      const busyRate = samples.rates(busy, 1, 50e6);
      const totalRate = samples.rates(total, 1, 50e6);
      const values = busyRate.values.map((value, i) => {
        const capacity = totalRate.values[i]!;
        return capacity > 0 ? value / capacity * 100 : 0;
      });
      return { timesNs: busyRate.timesNs, values };
    };
    series.push({
      name: "SYSTEM_CPU_UTILIZATION",
      unit: "%",
      source: SYSTEM_SOURCE,
      ...utilisation(0, 1),
    });
    for (let cpu = 0; cpu < this.cpus; cpu++) {
      series.push({
        name: `CPU${cpu}_UTILIZATION`,
        unit: "%",
        source: SYSTEM_SOURCE,
        ...utilisation(2 + 2 * cpu, 3 + 2 * cpu),
      });
    }
    const net = 2 + 2 * this.cpus;
    series.push(
      { name: "NET_RX", unit: "MB/s", source: SYSTEM_SOURCE, ...samples.rates(net, 1e-6) },
      { name: "NET_TX", unit: "MB/s", source: SYSTEM_SOURCE, ...samples.rates(net + 1, 1e-6) },
    );
    return series;
  }

  #open(): void {
    this.#stat = openKeptFile(this.#statPath);
    if (this.#stat < 0) throw new SyscallError("open", errno(), this.#statPath);
    // No network counters (e.g. no /proc/net in a restricted namespace): they read 0.
    this.#net = openKeptFile(this.#netPath);
  }

  #close(): void {
    if (this.#stat >= 0) libc().close(this.#stat);
    if (this.#net >= 0) libc().close(this.#net);
    this.#stat = this.#net = -1;
  }

  #read(into: Float64Array, offset: number): void {
    this.#readCpus(into, offset, this.cpus);
    const net = offset + 2 + 2 * this.cpus;
    into[net] =
      into[net + 1] =
      into[net + 2] =
      into[net + 3] =
        0;
    if (this.#net < 0) return;
    const length = readKeptFile(this.#net, buffer);
    // Two header lines, then "  name: rx_bytes rx_packets 6×… tx_bytes tx_packets …".
    let line = 0;
    for (let i = 0; i < length; line++) {
      const end = lineEnd(i, length);
      if (line >= 2) {
        let colon = i;
        while (colon < end && buffer[colon] !== COLON) colon++;
        let nameStart = i;
        while (nameStart < colon && buffer[nameStart] === SPACE) nameStart++;
        const loopback = colon - nameStart === 2 && buffer[nameStart] === 108 &&
          buffer[nameStart + 1] === 111; // "lo"
        if (!loopback && colon < end) {
          const count = numbers(colon + 1, end, fields, 10);
          if (count >= 10) {
            into[net] = into[net]! + fields[0]!;
            into[net + 1] = into[net + 1]! + fields[8]!;
            into[net + 2] = into[net + 2]! + fields[1]!;
            into[net + 3] = into[net + 3]! + fields[9]!;
          }
        }
      }
      i = end + 1;
    }
  }

  /** Reads the `cpu` lines; returns how many per-CPU lines were found. */
  #readCpus(into: Float64Array, offset: number, maxCpus: number): number {
    const length = readKeptFile(this.#stat, buffer);
    if (length <= 0) throw new SyscallError("pread", errno(), this.#statPath);
    let cpus = 0;
    for (let i = 0; i < length;) {
      const end = lineEnd(i, length);
      // "cpu " (machine) or "cpuN ": the cpu lines come first.
      if (buffer[i] !== 99 || buffer[i + 1] !== 112 || buffer[i + 2] !== 117) break;
      let at = i + 3;
      let index = -1;
      if (buffer[at] !== SPACE) {
        index = 0;
        while (at < end && buffer[at] !== SPACE) index = index * 10 + buffer[at++]! - 48;
      }
      // user nice system idle iowait irq softirq steal guest guest_nice
      const count = numbers(at, end, fields, 8);
      const busy = fields[0]! + fields[1]! + fields[2]! + fields[5]! + fields[6]!;
      const total = busy + fields[3]! + fields[4]! + (count >= 8 ? fields[7]! : 0);
      if (index < 0) {
        into[offset] = busy;
        into[offset + 1] = total;
      } else if (cpus < maxCpus) {
        // Offline CPUs are missing from /proc/stat: CPUs are numbered by position.
        into[offset + 2 + 2 * cpus] = busy;
        into[offset + 3 + 2 * cpus] = total;
        cpus++;
      }
      i = end + 1;
    }
    return cpus;
  }
}

/** Shared by every phase's metrics (never changed after the run). */
const CPU_DETAILS = Object.freeze({ via: "/proc/stat", scope: "machine" });
const NET_DETAILS = Object.freeze({
  via: "/proc/net/dev (every interface but loopback)",
  scope: "machine",
});
const NET_NAMES = ["NET_RX_BYTES", "NET_TX_BYTES", "NET_RX_PACKETS", "NET_TX_PACKETS"];
const NET_UNITS = ["bytes", "bytes", "count", "count"];
const fields = new Float64Array(16);

/**
 * Where the line starting at `from` ends (its newline, or `length`). Found by the runtime's own
 * search: a loop over every byte makes the read hot enough for V8 to optimize it on a worker
 * thread, and the optimized code then lands during the run (see process_tree.ts `after`).
 */
function lineEnd(from: number, length: number): number {
  const end = buffer.indexOf(NEWLINE, from);
  return end < 0 || end > length ? length : end;
}

/** Parses up to `max` space-separated numbers of `buffer[start, end)` into `into`. */
function numbers(start: number, end: number, into: Float64Array, max: number): number {
  let count = 0;
  let value = 0;
  let digits = 0;
  into.fill(0);
  for (let i = start; i < end && count < max; i++) {
    const digit = buffer[i]! - 48;
    if (digit >= 0 && digit <= 9) {
      value = value * 10 + digit;
      digits++;
    } else if (digits > 0) {
      into[count++] = value;
      value = 0;
      digits = 0;
    }
  }
  if (digits > 0 && count < max) into[count++] = value;
  return count;
}

function metric(
  name: string,
  value: number,
  unit: string,
  details: Readonly<Record<string, string>>,
): Metric {
  return {
    name,
    value: unit === "%" ? value : Math.round(value),
    unit,
    source: SYSTEM_SOURCE,
    details,
  };
}
