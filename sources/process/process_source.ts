/**
 * The `process` source: what the program and all its descendants, those
 * that already exited included, used per phase: CPU time, context
 * switches, page faults, storage and system-call I/O, and memory peaks.
 *
 * Where the machine allows it, the program gets a cgroup of its own
 * ({@linkcode ProgramCgroup}) and CPU time, page faults, RSS and swap come
 * from the kernel's per-cgroup counters, which keep counting processes that
 * exited. Everything else (and everything, without a cgroup) comes from
 * `/proc/<pid>/{stat,status,io}` of each process of the tree
 * ({@linkcode ProcessTree}). At the end of a run, the counters are raised
 * to the totals of the profiler's reaped children where those are higher
 * (`getrusage(RUSAGE_CHILDREN)`; `/proc/self/io` less the profiler's own
 * threads): every descendant that was reaped is in them, however
 * short-lived, and the program itself once it was reaped. Each metric's
 * `details.via` says where it came from, and when the end total was raised
 * so.
 *
 * @module
 */

import { libc } from "../../src/ffi/libc.ts";
import { openKeptFile } from "../../src/ffi/kept_file.ts";
import { ProgramCgroup, type ProgramCgroupOptions } from "../../src/process/program_cgroup.ts";
import { SampleBuffer } from "../../src/sampling/sample_buffer.ts";
import { SnapshotStore } from "../../src/snapshot_store.ts";
import type { Metric, SampleSeries, Sensor, Source } from "../../src/source.ts";
import { CgroupCounters } from "./cgroup_counters.ts";
import { COUNTER_COUNT, FIELD, FIELD_COUNT, ProcessTree } from "./process_tree.ts";

/** Name of the source in every output. */
export const PROCESS_SOURCE = "process";

/** The metrics, in output order, with the field each comes from. */
const METRICS: readonly { name: string; unit: string }[] = [
  { name: "CPU_TIME", unit: "ns" },
  { name: "CPU_USER_TIME", unit: "ns" },
  { name: "CPU_SYSTEM_TIME", unit: "ns" },
  { name: "CONTEXT_SWITCHES_VOLUNTARY", unit: "count" },
  { name: "CONTEXT_SWITCHES_INVOLUNTARY", unit: "count" },
  { name: "PAGE_FAULTS_MINOR", unit: "count" },
  { name: "PAGE_FAULTS_MAJOR", unit: "count" },
  { name: "DISK_READ_BYTES", unit: "bytes" },
  { name: "DISK_WRITE_BYTES", unit: "bytes" },
  { name: "READ_CHARS", unit: "bytes" },
  { name: "WRITE_CHARS", unit: "bytes" },
  { name: "RSS_PEAK", unit: "bytes" },
  { name: "VMS_PEAK", unit: "bytes" },
  { name: "SWAP_PEAK", unit: "bytes" },
];

/** The names of the metrics this source reports. */
export const PROCESS_METRIC_NAMES: readonly string[] = METRICS.map((metric) => metric.name);

const PROC = "/proc";
const RUSAGE_CHILDREN = -1;
/** struct rusage: two timevals then 14 longs (x86_64 and aarch64). */
const RUSAGE_LONGS = 18;
/** Longs of interest: utime s/µs 0-1, stime 2-3, maxrss 4, minflt 8, majflt 9, inblock 11, oublock 12, nvcsw 16, nivcsw 17. */
const rusage = new BigInt64Array(RUSAGE_LONGS);

/** Options of {@linkcode ProcessSource}. */
export interface ProcessSourceOptions {
  /**
   * Give the program a cgroup of its own where the machine allows it
   * (default `true`); `false` reads `/proc` only.
   */
  cgroup?: boolean;
  /** Diagnostics (e.g. why no cgroup could be used). */
  debug?: (message: string) => void;
  /** Where the cgroup mounts are read from (tests; default the real `/proc/self`). */
  cgroupOptions?: ProgramCgroupOptions;
}

/** Peak columns of the per-phase peak store. */
const PEAKS = 3;

/**
 * Process-tree metrics of the profiled program.
 *
 * @example Usage
 * ```ts
 * import { ProcessSource } from "./process_source.ts";
 * import { JouleProfiler } from "../../src/profiler.ts";
 * const profiler = new JouleProfiler().addSource(new ProcessSource());
 * const result = await profiler.profile({ command: ["sh", "-c", "echo __A__"] });
 * const cpu = result.runs[0]!.phases[0]!.metrics.find((m) => m.name === "CPU_TIME");
 * console.log(cpu?.details?.via); // e.g. "cgroup v1 cpuacct"
 * ```
 */
export class ProcessSource implements Source<number> {
  /** Source name. */
  readonly name: string = PROCESS_SOURCE;
  readonly #useCgroup: boolean;
  readonly #debug: (message: string) => void;
  readonly #cgroupOptions: ProgramCgroupOptions;
  #cgroup: ProgramCgroup | undefined;
  #counters: CgroupCounters | undefined;
  #tree: ProcessTree | undefined;
  /** Why the last run had no cgroup, if it had none. */
  #noCgroupReason: string | undefined;
  /** One snapshot per boundary. */
  readonly #snapshots = new SnapshotStore(FIELD_COUNT);
  /** Peak RSS, VMS, swap per closed phase. */
  readonly #peaks = new SnapshotStore(PEAKS);
  /** Peaks of the open phase, and how many reads they come from. */
  readonly #openPeaks = new Float64Array(PEAKS);
  #openReads = 0;
  readonly #readsPerPhase: number[] = [];
  /** Scratch snapshot for samples. */
  readonly #scratch = new Float64Array(FIELD_COUNT);
  /** Samples: CPU ns, RSS bytes, read bytes, write bytes. */
  readonly #samples = new SampleBuffer(4);
  /** RUSAGE_CHILDREN of the profiler at `init`. */
  readonly #rusageStart = new Float64Array(FIELD_COUNT);
  /** How this run's values were read (kept after `join`, for `toMetrics`). */
  #via = { cpu: PROC };
  /** Distinct `details` objects handed out, by content. */
  readonly #detailsCache = new Map<string, Record<string, string | number | boolean>>();
  /** How the END snapshot was completed from rusage, for details. */
  #rusageRaised = new Set<number>();

  /**
   * Creates the source.
   *
   * @param options Cgroup use and diagnostics.
   */
  constructor(options: ProcessSourceOptions = {}) {
    this.#useCgroup = options.cgroup ?? true;
    this.#debug = options.debug ?? (() => {});
    this.#cgroupOptions = options.cgroupOptions ?? {};
  }

  /**
   * The program is about to be spawned: starts the kernel's slow part of
   * moving it into its cgroup ({@linkcode ProgramCgroup.warmUp}), so that
   * `init` does not wait for it.
   */
  prepare(): void {
    // Never on mounts given by a test: the write would go to a plain file.
    if (this.#useCgroup && this.#cgroupOptions.procSelf === undefined) {
      void ProgramCgroup.warmUp();
    }
  }

  /**
   * The program's cgroup during a run (between `init` and `join`), or
   * `undefined` when it has none.
   */
  get cgroup(): ProgramCgroup | undefined {
    return this.#cgroup;
  }

  /** Why the current or last run had no cgroup, when it had none. */
  get noCgroupReason(): string | undefined {
    return this.#noCgroupReason;
  }

  /**
   * Follows the held program: creates its cgroup and moves it in.
   *
   * @param pid The held program.
   */
  init(pid: number): void {
    this.#release();
    this.#snapshots.clear();
    this.#peaks.clear();
    this.#samples.clear();
    this.#readsPerPhase.length = 0;
    this.#openPeaks.fill(0);
    this.#openReads = 0;
    this.#rusageRaised = new Set();
    this.#noCgroupReason = undefined;
    if (this.#useCgroup) {
      try {
        const cgroup = ProgramCgroup.create(this.#cgroupOptions);
        this.#cgroup = cgroup;
        this.#counters = new CgroupCounters(cgroup);
        cgroup.adopt(pid);
      } catch (error) {
        this.#noCgroupReason = error instanceof Error ? error.message : String(error);
        this.#debug(`process source: no cgroup (${this.#noCgroupReason}); reading /proc`);
        this.#release();
      }
    } else {
      this.#noCgroupReason = "cgroup use turned off";
    }
    const counters = this.#counters;
    this.#via = { cpu: counters?.cpuVia ?? PROC };
    const procs = this.#cgroup?.folders[0]?.path;
    this.#tree = new ProcessTree(pid, {
      cgroupProcs: procs === undefined ? undefined : `${procs}/cgroup.procs`,
    });
    readRusage(this.#rusageStart);
    readChildrenIo(this.#rusageStart);
    activeSources.add(this);
  }

  /** Reads the tree at a boundary (or the baseline). */
  measure(): void {
    const store = this.#snapshots;
    const offset = store.append();
    this.#read(store.values, offset);
    if (store.rows > 1) {
      // Counters never go back (a process's last reading can be lost when it exits).
      const values = store.values;
      const previous = offset - FIELD_COUNT;
      for (let f = 0; f < COUNTER_COUNT; f++) {
        if (values[offset + f]! < values[previous + f]!) values[offset + f] = values[previous + f]!;
      }
    }
    this.#notePeaks(store.values, offset);
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
    const phase = this.#peaks.rows;
    const offset = this.#peaks.append();
    this.#peaks.values.set(this.#openPeaks, offset);
    this.#readsPerPhase.push(this.#openReads);
    // The boundary's read belongs to both phases.
    const values = this.#snapshots.values;
    const last = (this.#snapshots.rows - 1) * FIELD_COUNT;
    this.#openPeaks[0] = values[last + FIELD.RSS]!;
    this.#openPeaks[1] = values[last + FIELD.VMS]!;
    this.#openPeaks[2] = values[last + FIELD.SWAP]!;
    this.#openReads = 1;
    return phase;
  }

  /** Reads the tree for the timeline. */
  sample(): void {
    const scratch = this.#scratch;
    this.#read(scratch, 0);
    this.#notePeaks(scratch, 0);
    const offset = this.#samples.append();
    const values = this.#samples.values;
    values[offset] = scratch[FIELD.CPU_NS]!;
    values[offset + 1] = scratch[FIELD.RSS]!;
    values[offset + 2] = scratch[FIELD.READ_BYTES]!;
    values[offset + 3] = scratch[FIELD.WRITE_BYTES]!;
  }

  /**
   * After the program was reaped: raises the last snapshot's counters to
   * the totals of the profiler's reaped children where they are higher, then
   * removes the cgroup (kept while processes of the program still run).
   */
  join(): void {
    const store = this.#snapshots;
    if (store.rows > 1 && this.#tree !== undefined) {
      const end = new Float64Array(FIELD_COUNT);
      readRusage(end);
      readChildrenIo(end);
      const last = (store.rows - 1) * FIELD_COUNT;
      const values = store.values;
      const cgroupCpu = this.#counters !== undefined;
      for (const f of RUSAGE_FIELDS) {
        if (cgroupCpu && (f === FIELD.USER_NS || f === FIELD.SYSTEM_NS || f === FIELD.CPU_NS)) {
          continue;
        }
        const total = values[f]! + end[f]! - this.#rusageStart[f]!;
        if (total > values[last + f]!) {
          values[last + f] = total;
          this.#rusageRaised.add(f);
        }
      }
    }
    this.#release();
    activeSources.delete(this);
  }

  /**
   * The sensors: every metric, available everywhere `/proc` is.
   *
   * @returns The 14 metrics.
   */
  sensors(): Sensor[] {
    return METRICS.map((metric) => ({
      ...metric,
      source: PROCESS_SOURCE,
      note: "the program and all its descendants",
    }));
  }

  /**
   * Converts one phase.
   *
   * @param phase The phase index `retrieve()` returned.
   * @returns The 14 metrics.
   */
  toMetrics(phase: number): Metric[] {
    const values = this.#snapshots.values;
    const start = phase * FIELD_COUNT;
    const end = start + FIELD_COUNT;
    const delta = (f: number) => Math.max(0, values[end + f]! - values[start + f]!);
    const peaks = this.#peaks.values;
    const reads = this.#readsPerPhase[phase] ?? 0;
    const isLast = phase === this.#snapshots.rows - 2;
    const via = (f: number, base: string) =>
      isLast && this.#rusageRaised.has(f)
        ? `${base}; end total from the profiler's reaped children`
        : base;
    const cpuVia = this.#via.cpu;
    const memoryVia = PROC;
    // The kernel splits user and system time by sampling at ticks while the total is exact:
    // the split is scaled to the total so the parts add up.
    const cpu = delta(FIELD.CPU_NS);
    const split = delta(FIELD.USER_NS) + delta(FIELD.SYSTEM_NS);
    const user = split > 0 ? cpu * delta(FIELD.USER_NS) / split : 0;
    const system = split > 0 ? cpu - user : 0;
    const metric = (
      index: number,
      value: number,
      details: Record<string, string | number | boolean>,
    ): Metric => ({
      name: METRICS[index]!.name,
      value: Math.round(value),
      unit: METRICS[index]!.unit,
      source: PROCESS_SOURCE,
      details: this.#shared(details),
    });
    const peakDetails = (base: string) => ({ via: base, peak_of_reads: reads });
    return [
      metric(0, cpu, { via: via(FIELD.CPU_NS, cpuVia) }),
      metric(1, user, { via: via(FIELD.USER_NS, cpuVia), split: splitNote(split, cpu) }),
      metric(2, system, { via: via(FIELD.SYSTEM_NS, cpuVia), split: splitNote(split, cpu) }),
      metric(3, delta(FIELD.VOLUNTARY), { via: via(FIELD.VOLUNTARY, "/proc status") }),
      metric(4, delta(FIELD.INVOLUNTARY), { via: via(FIELD.INVOLUNTARY, "/proc status") }),
      metric(5, delta(FIELD.MINOR_FAULTS), { via: via(FIELD.MINOR_FAULTS, memoryVia) }),
      metric(6, delta(FIELD.MAJOR_FAULTS), { via: via(FIELD.MAJOR_FAULTS, memoryVia) }),
      metric(7, delta(FIELD.READ_BYTES), { via: via(FIELD.READ_BYTES, "/proc io") }),
      metric(8, delta(FIELD.WRITE_BYTES), { via: via(FIELD.WRITE_BYTES, "/proc io") }),
      metric(9, delta(FIELD.READ_CHARS), { via: via(FIELD.READ_CHARS, "/proc io") }),
      metric(10, delta(FIELD.WRITE_CHARS), { via: via(FIELD.WRITE_CHARS, "/proc io") }),
      metric(11, peaks[phase * PEAKS]!, peakDetails("/proc status")),
      metric(12, peaks[phase * PEAKS + 1]!, peakDetails("/proc status")),
      metric(
        13,
        peaks[phase * PEAKS + 2]!,
        peakDetails("/proc status"),
      ),
    ];
  }

  /**
   * The timeline: the tree's `CPU` (% of one core), `RSS` (MiB), and
   * storage `DISK_READ`/`DISK_WRITE` (MB/s).
   *
   * @returns The series.
   */
  samples(): SampleSeries[] {
    const buffer = this.#samples;
    // /proc CPU time moves in 10 ms ticks: average over 50 ms; cgroup time is exact to the ns.
    const window = this.#counters === undefined ? 50e6 : 0;
    const cpu = buffer.rates(0, 100 / 1e9, window);
    return [
      { name: "CPU", unit: "%", source: PROCESS_SOURCE, ...cpu },
      { name: "RSS", unit: "MiB", source: PROCESS_SOURCE, ...buffer.levels(1, 1 / 1048576) },
      { name: "DISK_READ", unit: "MB/s", source: PROCESS_SOURCE, ...buffer.rates(2, 1e-6) },
      { name: "DISK_WRITE", unit: "MB/s", source: PROCESS_SOURCE, ...buffer.rates(3, 1e-6) },
    ];
  }

  #read(into: Float64Array, offset: number): void {
    const counters = this.#counters;
    if (counters === undefined) {
      this.#tree!.read(into, offset);
      return;
    }
    // Read first: the tree's processes are not read again when the cgroup ran nothing since.
    const reading = counters.read();
    this.#tree!.read(into, offset, counters.exactNs ? reading.cpuNs : NaN);
    if (!Number.isNaN(reading.userNs)) into[offset + FIELD.USER_NS] = reading.userNs;
    if (!Number.isNaN(reading.systemNs)) into[offset + FIELD.SYSTEM_NS] = reading.systemNs;
    if (!Number.isNaN(reading.cpuNs)) into[offset + FIELD.CPU_NS] = reading.cpuNs;
  }

  /**
   * One frozen object per distinct `details`: phases mostly share them, and
   * 100,000 phases would otherwise hold 1.4 million copies.
   */
  #shared(
    details: Record<string, string | number | boolean>,
  ): Record<string, string | number | boolean> {
    // Keys and values joined by hand: `Object.entries` made an array per pair, for each of a
    // phase's 14 metrics, and was the largest part of converting a long run's phases.
    let key = "";
    for (const name in details) key += `${name}\u0001${details[name]}\u0000`;
    let shared = this.#detailsCache.get(key);
    if (shared === undefined) {
      shared = Object.freeze(details);
      this.#detailsCache.set(key, shared);
    }
    return shared;
  }

  #notePeaks(values: Float64Array, offset: number): void {
    const peaks = this.#openPeaks;
    peaks[0] = Math.max(peaks[0]!, values[offset + FIELD.RSS]!);
    peaks[1] = Math.max(peaks[1]!, values[offset + FIELD.VMS]!);
    peaks[2] = Math.max(peaks[2]!, values[offset + FIELD.SWAP]!);
    this.#openReads++;
  }

  /** Closes files and removes the cgroup when empty. */
  #release(): void {
    this.#tree?.close();
    this.#tree = undefined;
    this.#counters?.close();
    this.#counters = undefined;
    const cgroup = this.#cgroup;
    this.#cgroup = undefined;
    if (cgroup !== undefined && !cgroup.remove()) {
      this.#debug(
        `process source: the program's cgroup still holds processes (${
          cgroup.pids().join(", ")
        }); ` +
          `left in place, removed by a later run once empty`,
      );
    }
  }
}

/** How the user/system split of a phase was made. */
function splitNote(split: number, cpu: number): string {
  if (cpu === 0) return "no CPU time";
  return split > 0
    ? "tick-sampled user/system ratio applied to the exact total"
    : "unknown (no clock tick fell in this phase)";
}

/** Fields the profiler's reaped-children totals also give (`getrusage`, `/proc/self/io`). */
const RUSAGE_FIELDS = [
  FIELD.CPU_NS,
  FIELD.USER_NS,
  FIELD.SYSTEM_NS,
  FIELD.VOLUNTARY,
  FIELD.INVOLUNTARY,
  FIELD.MINOR_FAULTS,
  FIELD.MAJOR_FAULTS,
  FIELD.READ_BYTES,
  FIELD.WRITE_BYTES,
  FIELD.READ_CHARS,
  FIELD.WRITE_CHARS,
];

/**
 * I/O of the profiler's reaped children, as snapshot fields:
 * `/proc/self/io` counts the whole profiler and every child it reaped, each
 * `/proc/self/task/<tid>/io` one live thread of its own; the difference is
 * the children's (plus any profiler thread that ended meanwhile, which the
 * delta between two reads only counts if it ended between them).
 */
function readChildrenIo(into: Float64Array): void {
  const whole = new Float64Array(IO_FIELDS);
  if (!readIo("/proc/self/io", whole)) return;
  const own = new Float64Array(IO_FIELDS);
  const thread = new Float64Array(IO_FIELDS);
  for (const entry of Deno.readDirSync("/proc/self/task")) {
    // A thread that ended while listed reads nothing.
    if (!readIo(`/proc/self/task/${entry.name}/io`, thread)) continue;
    for (let f = 0; f < IO_FIELDS; f++) own[f] = own[f]! + thread[f]!;
  }
  // rchar wchar syscr syscw read_bytes write_bytes
  into[FIELD.READ_CHARS] = whole[0]! - own[0]!;
  into[FIELD.WRITE_CHARS] = whole[1]! - own[1]!;
  into[FIELD.READ_BYTES] = whole[4]! - own[4]!;
  into[FIELD.WRITE_BYTES] = whole[5]! - own[5]!;
}

/** Values of an `io` file kept: its first six, in the kernel's fixed order. */
const IO_FIELDS = 6;
const ioBuffer = new Uint8Array(512);

/**
 * Reads an `io` file's first six numbers (rchar, wchar, syscr, syscw,
 * read_bytes, write_bytes) into `into`; `false` when it cannot be read.
 * Through libc rather than the runtime's file ops: about 20 threads' files
 * are read at `init` and `join`, both on the way to or from the program.
 */
function readIo(path: string, into: Float64Array): boolean {
  const fd = openKeptFile(path);
  if (fd < 0) return false;
  const length = Number(libc().read(fd, ioBuffer, BigInt(ioBuffer.length)));
  libc().close(fd);
  let count = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i < length && count < IO_FIELDS; i++) {
    const digit = ioBuffer[i]! - 48;
    if (digit >= 0 && digit <= 9) {
      value = value * 10 + digit;
      digits++;
    } else if (digits > 0) {
      into[count++] = value;
      value = 0;
      digits = 0;
    }
  }
  return count === IO_FIELDS;
}

/** The profiler's RUSAGE_CHILDREN, as snapshot fields. */
function readRusage(into: Float64Array): void {
  libc().getrusage(RUSAGE_CHILDREN, rusage);
  const n = (i: number) => Number(rusage[i]!);
  into[FIELD.USER_NS] = n(0) * 1e9 + n(1) * 1e3;
  into[FIELD.SYSTEM_NS] = n(2) * 1e9 + n(3) * 1e3;
  into[FIELD.CPU_NS] = into[FIELD.USER_NS]! + into[FIELD.SYSTEM_NS]!;
  into[FIELD.MINOR_FAULTS] = n(8);
  into[FIELD.MAJOR_FAULTS] = n(9);
  // Blocks of 512 bytes (the kernel's read_bytes/write_bytes >> 9).
  into[FIELD.READ_BYTES] = n(11) * 512;
  into[FIELD.WRITE_BYTES] = n(12) * 512;
  into[FIELD.VOLUNTARY] = n(16);
  into[FIELD.INVOLUNTARY] = n(17);
}

/** Sources in a run: their cgroups are removed if the profiler exits mid-run. */
const activeSources = new Set<ProcessSource>();
globalThis.addEventListener("unload", () => {
  for (const source of activeSources) source.join();
});
