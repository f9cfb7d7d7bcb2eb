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
 * - `CPU<n>_UTILIZATION` (%): the same for each logical CPU, `n` being the
 *   kernel's number for it (online CPUs can have gaps in their numbers);
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
import {
  MAX_WHOLE_READ_BYTES,
  openKeptFile,
  readKeptFile,
  readWholeKeptFile,
} from "../../src/ffi/kept_file.ts";
import { SampleBuffer } from "../../src/sampling/sample_buffer.ts";
import { SnapshotStore } from "../../src/snapshot_store.ts";
import type { Metric, SampleSeries, Sensor, Source } from "../../src/source.ts";

/** Name of the source in every output. */
export const SYSTEM_SOURCE = "system";

const SC_CLK_TCK = 2;
/**
 * First size of the read buffers. `/proc/stat` with many interrupts is long: only its first
 * lines (the `cpu` ones) are parsed, so a read needs to reach the end of those (the kernel writes
 * the whole file at once, so one read of a large enough buffer does); when they do not fit, the
 * buffer doubles, up to {@linkcode MAX_WHOLE_READ_BYTES} (the `cpu` lines of about 200,000
 * CPUs). `/proc/net/dev` is read whole (`readWholeKeptFile`).
 */
const READ_BYTES = 65536;
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
  /** Logical CPUs in `/proc/stat` (the online ones when the source was made). */
  readonly cpus: number;
  /** Their kernel numbers, in the file's order: `CPU<n>_UTILIZATION` is named after these. */
  readonly #cpuIds: number[];
  /** Slot of each CPU number in a snapshot's per-CPU part (-1: not one of {@linkcode cpus}). */
  readonly #slotOf: Int32Array;
  #statBuffer = new Uint8Array(READ_BYTES);
  #netBuffer = new Uint8Array(READ_BYTES);
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
    this.#cpuIds = this.#probeCpus();
    this.#close();
    this.cpus = this.#cpuIds.length;
    this.#slotOf = new Int32Array(this.#cpuIds.reduce((max, id) => Math.max(max, id), -1) + 1)
      .fill(-1);
    this.#cpuIds.forEach((id, slot) => this.#slotOf[id] = slot);
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
      ...this.#cpuIds.map((id) => ({
        name: `CPU${id}_UTILIZATION`,
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
    for (let slot = 0; slot < this.cpus; slot++) {
      const at = 2 + 2 * slot;
      // A CPU offline at either boundary has no counters there (NaN): it shows 0 %.
      metrics.push(
        metric(
          `CPU${this.#cpuIds[slot]}_UTILIZATION`,
          percent(delta(at), delta(at + 1)),
          "%",
          cpuDetails,
        ),
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
      return busyRate.every === undefined
        ? { timesNs: busyRate.timesNs, values }
        : { timesNs: busyRate.timesNs, values, every: busyRate.every };
    };
    series.push({
      name: "SYSTEM_CPU_UTILIZATION",
      unit: "%",
      source: SYSTEM_SOURCE,
      ...utilisation(0, 1),
    });
    for (let slot = 0; slot < this.cpus; slot++) {
      series.push({
        name: `CPU${this.#cpuIds[slot]}_UTILIZATION`,
        unit: "%",
        source: SYSTEM_SOURCE,
        ...utilisation(2 + 2 * slot, 3 + 2 * slot),
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
    this.#readCpus(into, offset);
    const net = offset + 2 + 2 * this.cpus;
    into[net] =
      into[net + 1] =
      into[net + 2] =
      into[net + 3] =
        0;
    if (this.#net < 0) return;
    // Whole: the kernel gives a page of it per read, 30 to 35 interfaces (a host of containers
    // has more), and many more than 64 KiB hold.
    const length = readWholeKeptFile(
      this.#net,
      this.#netBuffer,
      (bytes) => this.#netBuffer = new Uint8Array(bytes),
    );
    const buffer = this.#netBuffer;
    // Two header lines, then "  name: rx_bytes rx_packets 6×… tx_bytes tx_packets …".
    let line = 0;
    for (let i = 0; i < length; line++) {
      const end = lineEnd(buffer, i, length);
      if (line >= 2) {
        let colon = i;
        while (colon < end && buffer[colon] !== COLON) colon++;
        let nameStart = i;
        while (nameStart < colon && buffer[nameStart] === SPACE) nameStart++;
        const loopback = colon - nameStart === 2 && buffer[nameStart] === 108 &&
          buffer[nameStart + 1] === 111; // "lo"
        if (!loopback && colon < end) {
          const count = numbers(buffer, colon + 1, end, fields, 10);
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

  /**
   * The machine's busy and total ticks, then each tracked CPU's, into `into` from `offset`. A
   * tracked CPU missing from the file (gone offline) is NaN there.
   */
  #readCpus(into: Float64Array, offset: number): void {
    let length = this.#readStat();
    into.fill(NaN, offset + 2, offset + 2 + 2 * this.cpus);
    while (!readCpuTimes(this.#statBuffer, length, into, offset, this.#slotOf)) {
      // The `cpu` lines did not fit (CPUs came online since the probe, or their counts grew).
      if (!this.#growStatBuffer(length)) break;
      length = this.#readStat();
    }
  }

  #readStat(): number {
    const length = readKeptFile(this.#stat, this.#statBuffer);
    if (length <= 0) throw new SyscallError("pread", errno(), this.#statPath);
    return length;
  }

  /** A larger buffer after a read of `length` bytes filled it; `false` at the bound. */
  #growStatBuffer(length: number): boolean {
    if (length < this.#statBuffer.length || length >= MAX_WHOLE_READ_BYTES) return false;
    this.#statBuffer = new Uint8Array(Math.min(MAX_WHOLE_READ_BYTES, length * 2));
    return true;
  }

  /**
   * The kernel numbers of the CPUs in `/proc/stat`, in order. Online CPUs are listed, so the
   * numbers can have gaps. The buffer is grown until the `cpu` lines fit in it twice over, so
   * that later reads still hold them whole as their counts get longer.
   */
  #probeCpus(): number[] {
    for (;;) {
      const length = this.#readStat();
      const buffer = this.#statBuffer;
      const ids: number[] = [];
      let i = 0;
      while (startsCpuLine(buffer, i, length)) {
        const end = lineEnd(buffer, i, length);
        if (end === length) break;
        if (buffer[i + 3] !== SPACE) {
          ids.push(numbers(buffer, i + 3, end, fields, 1) > 0 ? fields[0]! : -1);
        }
        i = end + 1;
      }
      // Whole: the read got the whole file, or the `cpu` lines ended inside it.
      const whole = length < buffer.length || (i < length && !startsCpuLine(buffer, i, length));
      // Past the bound, the CPUs that fit are tracked.
      if ((whole && 2 * i <= buffer.length) || buffer.length >= MAX_WHOLE_READ_BYTES) {
        return ids.filter((id) => id >= 0);
      }
      this.#statBuffer = new Uint8Array(Math.min(MAX_WHOLE_READ_BYTES, buffer.length * 2));
    }
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

/** Whether a `cpu` line (the machine's `cpu ` or a CPU's `cpuN `) starts at `at`. */
function startsCpuLine(bytes: Uint8Array, at: number, length: number): boolean {
  return at + 3 < length && bytes[at] === 99 && bytes[at + 1] === 112 && bytes[at + 2] === 117;
}

/**
 * Where the line starting at `from` ends (its newline, or `length`). Found by the runtime's own
 * search: a loop over every byte makes the read hot enough for V8 to optimize it on a worker
 * thread, and the optimized code then lands during the run (see process_tree.ts `after`).
 */
function lineEnd(bytes: Uint8Array, from: number, length: number): number {
  const end = bytes.indexOf(NEWLINE, from);
  return end < 0 || end > length ? length : end;
}

/**
 * Parses the `cpu` lines at the start of `/proc/stat` in one pass: the machine's busy and total
 * ticks into `into[offset]` and `into[offset + 1]`, each CPU's into the pair of its slot after
 * them (CPUs without a slot are skipped). Busy is user, nice, system, irq and softirq (guest time
 * is part of user); total adds idle, iowait and steal.
 *
 * One loop finds both the numbers and the ends of lines: with a search call per line as well,
 * the `cpu` lines of 128 CPUs took twice as long (34 against 20 µs, by hand).
 *
 * @returns `false` when the bytes end inside the `cpu` lines (the read was too short).
 */
function readCpuTimes(
  bytes: Uint8Array,
  length: number,
  into: Float64Array,
  offset: number,
  slotOf: Int32Array,
): boolean {
  let i = 0;
  while (startsCpuLine(bytes, i, length)) {
    i += 3;
    let id = -1;
    let c = 0;
    if (bytes[i] !== SPACE) {
      id = 0;
      while (i < length && ((c = bytes[i]! - 48) >>> 0) <= 9) {
        id = id * 10 + c;
        i++;
      }
    }
    // user nice system idle iowait irq softirq steal (then guest, guest_nice: skipped)
    let count = 0;
    while (count < 8) {
      while (i < length && bytes[i] === SPACE) i++;
      if (i >= length || bytes[i] === NEWLINE) break;
      let value = 0;
      while (i < length && ((c = bytes[i]! - 48) >>> 0) <= 9) {
        value = value * 10 + c;
        i++;
      }
      fields[count++] = value;
    }
    for (let k = count; k < 8; k++) fields[k] = 0;
    // The rest of the line is short ("0 0"): stepped over rather than searched.
    while (i < length && bytes[i] !== NEWLINE) i++;
    if (i >= length) return false;
    i++;
    const busy = fields[0]! + fields[1]! + fields[2]! + fields[5]! + fields[6]!;
    const total = busy + fields[3]! + fields[4]! + fields[7]!;
    if (id < 0) {
      into[offset] = busy;
      into[offset + 1] = total;
    } else if (id < slotOf.length && slotOf[id]! >= 0) {
      const at = offset + 2 + 2 * slotOf[id]!;
      into[at] = busy;
      into[at + 1] = total;
    }
  }
  // The block ends at a line that is not a `cpu` line; bytes that end first may be cut short.
  return i < length;
}

/** Parses up to `max` space-separated numbers of `bytes[start, end)` into `into`. */
function numbers(
  bytes: Uint8Array,
  start: number,
  end: number,
  into: Float64Array,
  max: number,
): number {
  let count = 0;
  let value = 0;
  let digits = 0;
  into.fill(0);
  for (let i = start; i < end && count < max; i++) {
    const digit = bytes[i]! - 48;
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
