/**
 * Reads the counters of a process tree from `/proc`, cheaply enough for
 * every phase boundary.
 *
 * The tree is the program's cgroup (`cgroup.procs`: orphans and processes
 * started by any thread included) when there is one, else a walk of
 * `/proc/<pid>/task/<pid>/children` from the program's pid. Each process's
 * files stay open and are re-read with `pread`. A process is re-read only
 * when its `schedstat` shows it ran since the last read (a process that did
 * not run cannot have changed its counters): a tree of sleeping processes
 * costs one small read each. With the cgroup's CPU time exact to the ns
 * (v1 `cpuacct`), a read whose cgroup ran no code since the last one, with
 * the same processes listed, reads no process at all: nothing in it ran.
 *
 * CPU time, faults and I/O of a process include those of the children it
 * reaped (`cutime`, `cminflt`…, and `/proc/<pid>/io`), so a child that
 * starts and exits between two reads still counts, in its parent. A process
 * that left the tree keeps its last-read values only when no process of the
 * tree is its parent (which takes them in when it reaps it: counting both
 * would double them); context switches (`status` has no children's counts)
 * are always kept.
 *
 * @module
 */

import { libc } from "../../src/ffi/libc.ts";
import {
  appendNumberList,
  openKeptFile,
  readKeptFile,
  readWholeKeptFile,
} from "../../src/ffi/kept_file.ts";

/** Positions of the values of one snapshot. */
export const FIELD = {
  /** User CPU time, ns. */
  USER_NS: 0,
  /** System CPU time, ns. */
  SYSTEM_NS: 1,
  /** Voluntary context switches. */
  VOLUNTARY: 2,
  /** Involuntary context switches. */
  INVOLUNTARY: 3,
  /** Minor page faults. */
  MINOR_FAULTS: 4,
  /** Major page faults. */
  MAJOR_FAULTS: 5,
  /** Bytes read from storage. */
  READ_BYTES: 6,
  /** Bytes sent to storage. */
  WRITE_BYTES: 7,
  /** Bytes passed to read-like system calls. */
  READ_CHARS: 8,
  /** Bytes passed to write-like system calls. */
  WRITE_CHARS: 9,
  /** CPU time, user + system, ns (where known more exactly than the sum of the two). */
  CPU_NS: 10,
  /** Resident memory now, bytes. */
  RSS: 11,
  /** Virtual memory now, bytes. */
  VMS: 12,
  /** Swapped-out memory now, bytes. */
  SWAP: 13,
} as const;

/** Values per snapshot. */
export const FIELD_COUNT = 14;
/** Fields `< COUNTER_COUNT` only grow; the others are levels. */
export const COUNTER_COUNT = 11;

const SC_CLK_TCK = 2;
const CLOSE_PAREN = 41;

/** One read buffer for every process's files (`status` is about 1.5 KiB). */
const buffer = new Uint8Array(8192);
/**
 * The buffer of the lists of pids (cgroup.procs, a task's `children`), which have no bound: it
 * grows to hold a whole list, which the kernel gives a page at a time (a read cut short would
 * leave pids out, and its last pid could be cut into another process's).
 */
let listBuffer = new Uint8Array(8192);
/** Scratch of `digitRuns`. */
const runs = new Float64Array(16);

const openFile = openKeptFile;
const readFile = (fd: number): number => readKeptFile(fd, buffer);
/** A list of pids, read whole into `listBuffer` (it may take more than one read). */
const readList = (fd: number): number =>
  readWholeKeptFile(fd, listBuffer, (bytes) => listBuffer = new Uint8Array(bytes));

/**
 * Fills `runs` with the first decimal numbers of `buffer[start, end)`
 * (runs of digits); returns how many were found.
 */
function digitRuns(start: number, end: number, max: number): number {
  let count = 0;
  let value = 0;
  let inDigits = false;
  for (let i = start; i < end && count < max; i++) {
    const digit = buffer[i]! - 48;
    if (digit >= 0 && digit <= 9) {
      value = value * 10 + digit;
      inDigits = true;
    } else if (inDigits) {
      runs[count++] = value;
      value = 0;
      inDigits = false;
    }
  }
  if (inDigits && count < max) runs[count++] = value;
  return count;
}

/** Position just after `key` in `buffer[from, end)`, or -1. */
function after(key: Uint8Array, from: number, end: number): number {
  // Candidates are found by the runtime's own search, not a loop over every byte: that loop
  // (1.4 KiB of `status` per process per boundary) made this function hot at the baseline
  // read, V8 optimized it on a worker thread, and installing the code during the run cost
  // `profile -- true` about 0.9 ms of START→END on a 2-vCPU VM.
  const first = key[0]!;
  const last = end - key.length;
  for (let i = buffer.indexOf(first, from); i >= 0 && i <= last; i = buffer.indexOf(first, i + 1)) {
    let k = 1;
    while (k < key.length && buffer[i + k] === key[k]) k++;
    if (k === key.length) return i + key.length;
  }
  return -1;
}

/** The decimal number after position `at` (skipping blanks), or NaN. */
function numberAfter(at: number, end: number): number {
  if (at < 0) return NaN;
  return digitRuns(at, Math.min(end, at + 32), 1) === 1 ? runs[0]! : NaN;
}

const encoder = new TextEncoder();
const KEY_PPID = encoder.encode("\nPPid:");
/**
 * The keys read from `status` at each full read, in the order the kernel writes them. VmSize and
 * VmRSS come from here rather than from `statm`, a fifth file per process (a system call costs
 * 2.4 µs or more through the FFI on the 2-vCPU VM of docs/PERFORMANCE.md), or from `stat`, whose
 * rss the kernel may sum only approximately (per-CPU counters: 26 pages off `statm` and `status`
 * on Linux 6.18).
 */
const STATUS_KEYS = [
  "VmSize",
  "VmRSS",
  "VmSwap",
  "Threads",
  "voluntary_ctxt_switches",
  "nonvoluntary_ctxt_switches",
].map((key) => encoder.encode(`\n${key}:`));
/** Positions in {@linkcode statusValues}. */
const STATUS = { SIZE_KB: 0, RSS_KB: 1, SWAP_KB: 2, THREADS: 3, VOLUNTARY: 4, INVOLUNTARY: 5 };
/** The numbers after {@linkcode STATUS_KEYS} in the last `status` read (NaN: no such line). */
const statusValues = new Float64Array(STATUS_KEYS.length);

/** A `kB` value of {@linkcode statusValues} in bytes (0 when its line is missing). */
function statusBytes(k: number): number {
  const kb = statusValues[k]!;
  return Number.isNaN(kb) ? 0 : kb * 1024;
}

/**
 * Fills {@linkcode statusValues} from `buffer[0, end)`. Each key is looked for after the one
 * before (from the same place when one is missing, e.g. VmSwap of a kernel thread), so the
 * 1.4 KiB are scanned once rather than once per key.
 */
function readStatusValues(end: number): void {
  let from = 0;
  for (let k = 0; k < STATUS_KEYS.length; k++) {
    const at = after(STATUS_KEYS[k]!, from, end);
    statusValues[k] = numberAfter(at, end);
    if (at >= 0) from = at;
  }
}

/** Open files and last values of one process. */
interface Tracked {
  pid: number;
  schedstat: number;
  stat: number;
  status: number;
  io: number;
  children: number;
  /** Its own values (fields as in a snapshot); I/O includes reaped children. */
  values: Float64Array;
  ppid: number;
  /** `schedstat`'s run time and timeslice count at the last full read. */
  runNs: number;
  slices: number;
  /** Threads at the last full read: `schedstat` shows the main thread's only. */
  threads: number;
  /** Read completely at least once. */
  read: boolean;
  /** Last read that saw it. */
  seen: number;
}

/** Where the tree's processes are listed. */
export interface ProcessTreeOptions {
  /** The cgroup's `cgroup.procs`, when the tree is a cgroup. */
  cgroupProcs?: string;
}

/**
 * The process tree of one program.
 *
 * @example Usage
 * ```ts
 * import { FIELD, FIELD_COUNT, ProcessTree } from "./process_tree.ts";
 * const tree = new ProcessTree(Deno.pid);
 * const snapshot = new Float64Array(FIELD_COUNT);
 * tree.read(snapshot, 0);
 * console.log(snapshot[FIELD.RSS]! > 0); // true
 * tree.close();
 * ```
 */
export class ProcessTree {
  /** The program's pid. */
  readonly pid: number;
  readonly #tracked = new Map<number, Tracked>();
  /** Values of processes that left the tree (counters only). */
  readonly #departed = new Float64Array(COUNTER_COUNT);
  readonly #nsPerTick: number;
  readonly #cgroupProcs: number;
  /** Pids of the current read (reused). */
  #queue: number[] = [];
  /** How many of `#queue` cgroup.procs listed (the program is added when it has exited). */
  #listedPids = -1;
  #walk = 0;
  /** Reads that re-read a process completely, over all reads (for the bench). */
  fullReads = 0;
  /** Reads answered from the last one: the cgroup ran nothing since (for the bench). */
  unchangedReads = 0;
  /** The cgroup's CPU time (ns) given to the last read that read the processes. */
  #lastCgroupCpuNs = NaN;
  /** The pids that read listed, and the snapshot it made. */
  #lastPids: number[] = [];
  readonly #lastSnapshot = new Float64Array(FIELD_COUNT);

  /**
   * Starts following a tree.
   *
   * @param pid The program's pid.
   * @param options How the tree is listed.
   */
  constructor(pid: number, options: ProcessTreeOptions = {}) {
    this.pid = pid;
    const ticks = Number(libc().sysconf(SC_CLK_TCK));
    this.#nsPerTick = 1e9 / (ticks > 0 ? ticks : 100);
    this.#cgroupProcs = options.cgroupProcs === undefined ? -1 : openFile(options.cgroupProcs);
    if (options.cgroupProcs !== undefined && this.#cgroupProcs < 0) {
      throw new Error(`cannot open ${options.cgroupProcs}`);
    }
  }

  /** Number of processes currently followed. */
  get size(): number {
    return this.#tracked.size;
  }

  /**
   * Reads the whole tree into `into[offset, offset + FIELD_COUNT)`:
   * counters are totals since the program started (departed processes
   * included), levels are sums over the live processes.
   *
   * @param into Destination.
   * @param offset Where the snapshot starts.
   * @param cgroupCpuNs The tree's cgroup's CPU time, exact to the ns, read
   * just before (v1 `cpuacct.usage`); NaN where there is none. When it is
   * the same as at the last read, and so are the processes listed, no
   * process ran since: the last snapshot is given again, nothing read.
   */
  read(into: Float64Array, offset: number, cgroupCpuNs = NaN): void {
    const queue = this.#listPids();
    // Nothing in the cgroup ran, and it lists the same processes, the program among them (its
    // exit is read in full: it leaves cgroup.procs, then its files go).
    if (
      cgroupCpuNs === this.#lastCgroupCpuNs && this.#listedPids === queue.length &&
      samePids(queue, this.#lastPids)
    ) {
      into.set(this.#lastSnapshot, offset);
      this.unchangedReads++;
      return;
    }
    const walk = ++this.#walk;
    for (let f = 0; f < FIELD_COUNT; f++) into[offset + f] = 0;
    for (let i = 0; i < queue.length; i++) {
      const pid = queue[i]!;
      let tracked = this.#tracked.get(pid) ?? this.#track(pid);
      if (tracked === undefined) continue;
      let fresh = this.#refresh(tracked);
      if (fresh === "reused") {
        // The pid now belongs to another process: the old one departed.
        this.#depart(tracked, false);
        tracked = this.#track(pid);
        if (tracked === undefined) continue;
        fresh = this.#refresh(tracked);
      }
      if (fresh === "gone") continue;
      tracked.seen = walk;
      const values = tracked.values;
      for (let f = 0; f < FIELD_COUNT; f++) into[offset + f] = into[offset + f]! + values[f]!;
      if (this.#cgroupProcs < 0) this.#queueChildren(tracked, queue);
    }
    for (const tracked of this.#tracked.values()) {
      if (tracked.seen === walk) continue;
      const parent = this.#tracked.get(tracked.ppid);
      this.#depart(tracked, parent !== undefined && parent.seen === walk);
    }
    const departed = this.#departed;
    for (let f = 0; f < COUNTER_COUNT; f++) into[offset + f] = into[offset + f]! + departed[f]!;
    this.#lastCgroupCpuNs = cgroupCpuNs;
    this.#lastPids.length = 0;
    for (let i = 0; i < this.#listedPids; i++) this.#lastPids.push(queue[i]!);
    this.#lastSnapshot.set(into.subarray(offset, offset + FIELD_COUNT));
  }

  /** Closes every open file. */
  close(): void {
    for (const tracked of this.#tracked.values()) this.#untrack(tracked);
    if (this.#cgroupProcs >= 0) libc().close(this.#cgroupProcs);
  }

  #listPids(): number[] {
    const queue = this.#queue;
    queue.length = 0;
    if (this.#cgroupProcs < 0) {
      queue.push(this.pid);
      return queue;
    }
    // Read first: the read may replace the buffer.
    const length = readList(this.#cgroupProcs);
    appendNumberList(listBuffer, length, queue);
    this.#listedPids = queue.length;
    // A process that exited leaves cgroup.procs at once, but its /proc files stay readable
    // until it is reaped: the program itself is read until then (its end counters).
    if (!queue.includes(this.pid)) queue.push(this.pid);
    return queue;
  }

  /**
   * Re-reads a process if it ran since the last read. `gone`: it no longer
   * exists; `reused`: its pid belongs to a newer process.
   */
  #refresh(tracked: Tracked): "ok" | "gone" | "reused" {
    const length = readFile(tracked.schedstat);
    let runNs = -1;
    let slices = -1;
    if (length > 0 && digitRuns(0, length, 3) === 3) {
      runNs = runs[0]!;
      slices = runs[2]!;
    } else if (tracked.schedstat >= 0) {
      return "gone";
    }
    // Only a single-threaded process shows all its running in `schedstat`.
    if (tracked.read && runNs >= 0 && tracked.threads === 1) {
      if (runNs < tracked.runNs) return "reused";
      if (runNs === tracked.runNs && slices === tracked.slices) return "ok";
    }
    this.fullReads++;
    if (!this.#readAll(tracked)) return tracked.read ? "ok" : "gone";
    tracked.runNs = runNs;
    tracked.slices = slices;
    tracked.read = true;
    return "ok";
  }

  /** Reads every file of a process into its values; `false` when it is gone. */
  #readAll(tracked: Tracked): boolean {
    const values = tracked.values;
    const length = readFile(tracked.stat);
    if (length <= 0) return false;
    let paren = length - 1;
    while (paren > 0 && buffer[paren] !== CLOSE_PAREN) paren--;
    // After ") ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
    // utime stime cutime cstime: own values plus those of the children it reaped.
    if (digitRuns(paren + 2, length, 14) === 14) {
      tracked.ppid = runs[0]!;
      values[FIELD.MINOR_FAULTS] = runs[6]! + runs[7]!;
      values[FIELD.MAJOR_FAULTS] = runs[8]! + runs[9]!;
      const user = runs[10]! + runs[12]!;
      const system = runs[11]! + runs[13]!;
      values[FIELD.USER_NS] = user * this.#nsPerTick;
      values[FIELD.SYSTEM_NS] = system * this.#nsPerTick;
      values[FIELD.CPU_NS] = (user + system) * this.#nsPerTick;
    }
    const io = readFile(tracked.io);
    // rchar wchar syscr syscw read_bytes write_bytes cancelled_write_bytes
    if (io > 0 && digitRuns(0, io, 6) === 6) {
      values[FIELD.READ_CHARS] = runs[0]!;
      values[FIELD.WRITE_CHARS] = runs[1]!;
      values[FIELD.READ_BYTES] = runs[4]!;
      values[FIELD.WRITE_BYTES] = runs[5]!;
    }
    const status = readFile(tracked.status);
    if (status > 0) {
      readStatusValues(status);
      const voluntary = statusValues[STATUS.VOLUNTARY]!;
      const involuntary = statusValues[STATUS.INVOLUNTARY]!;
      const threads = statusValues[STATUS.THREADS]!;
      if (!Number.isNaN(voluntary)) values[FIELD.VOLUNTARY] = voluntary;
      if (!Number.isNaN(involuntary)) values[FIELD.INVOLUNTARY] = involuntary;
      // A kernel thread or a zombie has no Vm lines: no memory of its own.
      values[FIELD.SWAP] = statusBytes(STATUS.SWAP_KB);
      values[FIELD.VMS] = statusBytes(STATUS.SIZE_KB);
      values[FIELD.RSS] = statusBytes(STATUS.RSS_KB);
      tracked.threads = Number.isNaN(threads) ? 2 : threads;
      if (tracked.ppid === 0) tracked.ppid = numberAfter(after(KEY_PPID, 0, status), status) || 0;
    }
    return true;
  }

  #queueChildren(tracked: Tracked, queue: number[]): void {
    const length = readList(tracked.children);
    appendNumberList(listBuffer, length, queue);
  }

  #track(pid: number): Tracked | undefined {
    const stat = openFile(`/proc/${pid}/stat`);
    if (stat < 0) return undefined;
    const tracked: Tracked = {
      pid,
      schedstat: openFile(`/proc/${pid}/schedstat`),
      stat,
      status: openFile(`/proc/${pid}/status`),
      io: openFile(`/proc/${pid}/io`),
      children: this.#cgroupProcs < 0 ? openFile(`/proc/${pid}/task/${pid}/children`) : -1,
      values: new Float64Array(FIELD_COUNT),
      ppid: 0,
      runNs: -1,
      slices: -1,
      threads: 1,
      read: false,
      seen: this.#walk,
    };
    this.#tracked.set(pid, tracked);
    return tracked;
  }

  /** Keeps a departed process's counters (all but context switches only when no parent in the tree reaps it). */
  #depart(tracked: Tracked, parentInTree: boolean): void {
    const departed = this.#departed;
    const values = tracked.values;
    for (let f = 0; f < COUNTER_COUNT; f++) {
      const own = f === FIELD.VOLUNTARY || f === FIELD.INVOLUNTARY;
      if (own || !parentInTree) departed[f] = departed[f]! + values[f]!;
    }
    this.#untrack(tracked);
  }

  #untrack(tracked: Tracked): void {
    for (
      const fd of [
        tracked.schedstat,
        tracked.stat,
        tracked.status,
        tracked.io,
        tracked.children,
      ]
    ) {
      if (fd >= 0) libc().close(fd);
    }
    this.#tracked.delete(tracked.pid);
  }
}

/** Whether two pid lists hold the same pids in the same order (cgroup.procs keeps an order). */
function samePids(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
