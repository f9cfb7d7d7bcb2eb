/**
 * CPU use and resident memory of the profiled program and its descendants,
 * sampled from `/proc`.
 *
 * Each sample walks the process tree from the program's pid through
 * `/proc/<pid>/task/<pid>/children` and adds up, over every live process,
 * `utime + stime + cutime + cstime` from `stat` (so a descendant that was
 * reaped is counted through its parent) and the resident pages of
 * `statm`. Files stay open between samples and are re-read with `pread`
 * into one reused buffer.
 *
 * Limits: `stat` counts CPU time in clock ticks (1/100 s), so CPU use is
 * averaged over at least 5 ticks (50 ms) and sharper changes are smoothed; children started by a thread other
 * than a process's main thread, and orphans re-parented away from the tree,
 * are not seen; RSS counts shared pages once per process.
 *
 * @module
 */

import { libc } from "../ffi/libc.ts";
import {
  appendNumberList,
  openKeptFile,
  readKeptFile,
  readWholeKeptFile,
} from "../ffi/kept_file.ts";
import type { SampleSeries } from "../source.ts";
import { SampleBuffer } from "./sample_buffer.ts";

/** Name of the series' source. */
export const PROCESS_SOURCE_NAME = "process";

const SC_CLK_TCK = 2;
const SC_PAGESIZE = 30;
const CLOSE_PAREN = 41;
const SPACE = 32;

/** One read buffer for every process's `/proc` files (a `stat` line is well under 1 KiB). */
const buffer = new Uint8Array(4096);
/**
 * The buffer of the tasks' `children` lists, which have no bound: it grows to hold a whole list,
 * which the kernel gives a page at a time.
 */
let listBuffer = new Uint8Array(4096);

/** Open files of one process of the tree. */
interface Tracked {
  stat: number;
  statm: number;
  children: number;
  /** Last walk that saw it. */
  seen: number;
}

const openProc = openKeptFile;

/** Reads a file from its start into `buffer`; returns the length, or -1. */
function readProc(fd: number): number {
  return readKeptFile(fd, buffer);
}

/** A list of pids, read whole into `listBuffer` (it may take more than one read). */
function readList(fd: number): number {
  return readWholeKeptFile(fd, listBuffer, (bytes) => listBuffer = new Uint8Array(bytes));
}

/** The `index`-th space-separated decimal number from `start`. */
function numberAt(length: number, start: number, index: number): number {
  let field = 0;
  let value = 0;
  for (let i = start; i < length; i++) {
    const byte = buffer[i]!;
    if (byte === SPACE) {
      if (field === index) return value;
      field++;
      value = 0;
    } else if (field === index) {
      value = value * 10 + byte - 48;
    }
  }
  return field === index ? value : NaN;
}

/** CPU use is averaged over at least this many clock ticks. */
const CPU_WINDOW_TICKS = 5;

/**
 * Samples the CPU and RSS of a process tree.
 *
 * @example Usage
 * ```ts
 * import { ProcessUsageSampler } from "./process_usage.ts";
 * const sampler = new ProcessUsageSampler(Deno.pid);
 * sampler.sample();
 * await new Promise((resolve) => setTimeout(resolve, 20));
 * sampler.sample();
 * sampler.close();
 * console.log(sampler.samples().map((series) => series.name)); // [ "CPU", "RSS" ]
 * ```
 */
export class ProcessUsageSampler {
  /** The root of the tree. */
  readonly pid: number;
  readonly #tracked = new Map<number, Tracked>();
  readonly #buffer = new SampleBuffer(2);
  /** Pids still to visit in the current walk (reused). */
  #queue: number[] = [];
  #walk = 0;
  readonly #ticksPerSecond: number;
  readonly #pageBytes: number;

  /**
   * Starts following a process (its `/proc` files are opened at once).
   *
   * @param pid The program's pid.
   */
  constructor(pid: number) {
    this.pid = pid;
    const ticks = Number(libc().sysconf(SC_CLK_TCK));
    const page = Number(libc().sysconf(SC_PAGESIZE));
    this.#ticksPerSecond = ticks > 0 ? ticks : 100;
    this.#pageBytes = page > 0 ? page : 4096;
    this.#track(pid);
  }

  /** Number of samples taken. */
  get rows(): number {
    return this.#buffer.rows;
  }

  /**
   * Takes one sample of the whole tree; does nothing once the program is
   * gone (its `stat` can no longer be read).
   *
   * @returns `true` when a sample was recorded.
   */
  sample(): boolean {
    const walk = ++this.#walk;
    const queue = this.#queue;
    queue.length = 0;
    queue.push(this.pid);
    let ticks = 0;
    let pages = 0;
    for (let i = 0; i < queue.length; i++) {
      const pid = queue[i]!;
      const tracked = this.#tracked.get(pid) ?? this.#track(pid);
      if (tracked === undefined) continue;
      const length = readProc(tracked.stat);
      if (length <= 0) {
        if (i === 0) return false;
        continue;
      }
      tracked.seen = walk;
      let paren = length - 1;
      while (paren > 0 && buffer[paren] !== CLOSE_PAREN) paren--;
      // After ") ": state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14).
      const start = paren + 2;
      const cpu = numberAt(length, start, 11) + numberAt(length, start, 12) +
        numberAt(length, start, 13) + numberAt(length, start, 14);
      if (Number.isFinite(cpu)) ticks += cpu;
      const statm = readProc(tracked.statm);
      if (statm > 0) {
        const resident = numberAt(statm, 0, 1);
        if (Number.isFinite(resident)) pages += resident;
      }
      // Read first: the read may replace the buffer.
      const listed = readList(tracked.children);
      appendNumberList(listBuffer, listed, queue);
    }
    const offset = this.#buffer.append();
    const values = this.#buffer.values;
    values[offset] = ticks;
    values[offset + 1] = pages;
    // Forget processes that left the tree.
    for (const [pid, tracked] of this.#tracked) {
      if (tracked.seen !== walk && pid !== this.pid) this.#untrack(pid, tracked);
    }
    return true;
  }

  /** Closes every open `/proc` file (the samples are kept). */
  close(): void {
    for (const [pid, tracked] of this.#tracked) this.#untrack(pid, tracked);
  }

  /**
   * The samples as `CPU` (%, of one core: 200 means two cores busy; the
   * average over the last 5 clock ticks (50 ms) or the sampling interval if
   * longer, ending at each time) and `RSS` (MiB).
   *
   * @returns The two series.
   */
  samples(): SampleSeries[] {
    // CPU time moves in whole ticks: a rate over one 10 ms interval is 0 or 200 %.
    const window = CPU_WINDOW_TICKS * 1e9 / this.#ticksPerSecond;
    const cpu = this.#buffer.rates(0, 100 / this.#ticksPerSecond, window);
    // A process re-parented away from the tree takes its time with it: no negative CPU.
    for (let i = 0; i < cpu.values.length; i++) cpu.values[i] = Math.max(0, cpu.values[i]!);
    const rss = this.#buffer.levels(1, this.#pageBytes / 1048576);
    return [
      { name: "CPU", unit: "%", source: PROCESS_SOURCE_NAME, ...cpu },
      { name: "RSS", unit: "MiB", source: PROCESS_SOURCE_NAME, ...rss },
    ];
  }

  #track(pid: number): Tracked | undefined {
    const stat = openProc(`/proc/${pid}/stat`);
    if (stat < 0) return undefined;
    const tracked: Tracked = {
      stat,
      statm: openProc(`/proc/${pid}/statm`),
      children: openProc(`/proc/${pid}/task/${pid}/children`),
      seen: this.#walk,
    };
    this.#tracked.set(pid, tracked);
    return tracked;
  }

  #untrack(pid: number, tracked: Tracked): void {
    for (const fd of [tracked.stat, tracked.statm, tracked.children]) {
      if (fd >= 0) libc().close(fd);
    }
    this.#tracked.delete(pid);
  }
}
