/**
 * How the kernel schedules the profiler's own threads: short slices for its
 * main thread, so that a token's wake-up is not queued behind a busy
 * program's time slice, and the idle policy for the runtime's helper
 * threads, so that their work does not take CPU time from the program.
 *
 * When every core is busy (the profiled program spinning on one, anything
 * else on the other), the woken profiler can wait until the task running
 * where it lands has used up its slice: about 1 ms at the 99th percentile
 * of token latency on these 2-vCPU VMs, whose default slice is 1.4 ms (the
 * `se.slice` line of `/proc/<pid>/sched`). Since Linux 6.12 a
 * `SCHED_OTHER` or `SCHED_BATCH` thread may ask for a shorter slice through
 * `sched_setattr(2)`'s `sched_runtime` (0.1 to 100 ms), without privilege:
 * its weight, and so its share of the CPU, is unchanged, but its earlier
 * virtual deadline lets it preempt the running task when it wakes.
 *
 * The request carries `SCHED_FLAG_RESET_ON_FORK`, so the processes the
 * profiler starts (the program, hooks, the watchdog) keep the default
 * slice. That flag also resets a negative nice in those children, so a
 * profiler started with a negative nice (which preempts already) is left
 * as it is; so is one under a real-time, deadline or idle policy.
 *
 * V8 compiles hot functions (Maglev, TurboFan) and does part of its garbage
 * collection on worker threads. Where cores are few, that work competes with
 * the program: writing 200 MiB through `profile --stdout-file` on a 2-vCPU
 * VM, the two workers took about 45 ms of CPU in a 250 ms window (perf
 * sampling, 2026-12-06), and the program wrote at 79.8 % of `| cat`'s speed
 * against 84.1 % with them under `SCHED_IDLE` (medians of 25 interleaved
 * runs). A `SCHED_IDLE` thread runs only on CPU time no other thread wants;
 * V8 does a starved job's work on the main thread when it needs its result,
 * so nothing waits for them. (Compiling on the main thread instead, V8's
 * `--no-concurrent-recompilation`, gained as much but held tokens for up to
 * 12–22 ms while it compiled; a nice of 19 gained nothing.)
 *
 * @module
 */

import { errno, libc } from "../ffi/libc.ts";
import { openKeptFile, readKeptFile } from "../ffi/kept_file.ts";

/** The slice asked for, in ns: the shortest the kernel accepts. */
export const SHORT_SLICE_NS = 100_000;

/** What {@linkcode requestShortSlice} did. */
export interface SliceOutcome {
  /** Whether the calling thread now runs with slices of at most the length asked for. */
  applied: boolean;
  /** The thread's slice before, in ns (`undefined` where it could not be read). */
  previousNs?: number;
  /** The thread's slice now, in ns (`undefined` where it could not be read). */
  sliceNs?: number;
  /** Why nothing was changed, when `applied` is `false`. */
  reason?: string;
}

/** `struct sched_attr` up to `sched_util_max` (SCHED_ATTR_SIZE_VER1). */
const SCHED_ATTR_SIZE = 56;
const SCHED_OTHER = 0;
const SCHED_BATCH = 3;
const SCHED_IDLE = 5;
const SCHED_FLAG_RESET_ON_FORK = 0x01n;
/** The runtime's V8 worker threads ("V8 DefaultWorker", cut to the kernel's 15 characters). */
const HELPER_THREAD_NAME = new TextEncoder().encode("V8 DefaultWork");

/** Whether a thread's `comm` (`length` bytes of `bytes`) starts with {@linkcode HELPER_THREAD_NAME}. */
function startsWithName(bytes: Uint8Array, length: number): boolean {
  if (length < HELPER_THREAD_NAME.length) return false;
  for (let i = 0; i < HELPER_THREAD_NAME.length; i++) {
    if (bytes[i] !== HELPER_THREAD_NAME[i]) return false;
  }
  return true;
}

interface SchedulerSyscalls {
  get: bigint;
  set: bigint;
}

function syscallNumbers(): SchedulerSyscalls | undefined {
  switch (Deno.build.arch) {
    case "x86_64":
      return { get: 315n, set: 314n };
    case "aarch64":
      return { get: 275n, set: 274n };
    default:
      return undefined;
  }
}

/** A thread's attributes (default: the calling thread's), or an error text. */
function readAttributes(numbers: SchedulerSyscalls, tid = 0): DataView | string {
  const view = new DataView(new ArrayBuffer(SCHED_ATTR_SIZE));
  const bytes = new Uint8Array(view.buffer);
  if (libc().sched_getattr(numbers.get, tid, bytes, SCHED_ATTR_SIZE, 0) !== 0n) {
    return `sched_getattr failed (errno ${errno()})`;
  }
  return view;
}

interface Schedule {
  policy: number;
  nice: number;
  /** The thread's slice in ns (0 where the kernel reports none: Linux < 6.12). */
  sliceNs: number;
}

/** The calling thread's schedule, or why a short slice cannot be asked for. */
function currentSchedule(numbers: SchedulerSyscalls | undefined): Schedule | string {
  if (Deno.build.os !== "linux" || numbers === undefined) {
    return `not available on ${Deno.build.os}/${Deno.build.arch}`;
  }
  const attributes = readAttributes(numbers);
  if (typeof attributes === "string") return attributes;
  const schedule = {
    policy: attributes.getUint32(4, true),
    nice: attributes.getInt32(16, true),
    sliceNs: Number(attributes.getBigUint64(24, true)),
  };
  if (schedule.policy !== SCHED_OTHER && schedule.policy !== SCHED_BATCH) {
    return `scheduling policy ${schedule.policy} is not SCHED_OTHER/BATCH`;
  }
  if (schedule.nice < 0) {
    return `nice ${schedule.nice}: children would lose it (reset on fork)`;
  }
  // Linux < 6.12 reports no slice for a fair task: it would keep none either.
  if (schedule.sliceNs === 0) return "this kernel keeps no custom slice (Linux < 6.12)";
  return schedule;
}

/**
 * Whether {@linkcode requestShortSlice} would shorten the calling thread's
 * slice, without changing anything (for `doctor`).
 *
 * @returns `available`, the thread's slice now, and why not when it is not.
 * @throws {Deno.errors.NotCapable} Without FFI permission.
 *
 * @example Usage
 * ```ts
 * import { shortSliceAvailability } from "./scheduler_slice.ts";
 * const { available, reason } = shortSliceAvailability();
 * console.log(available ? "short slices: yes" : `short slices: no (${reason})`);
 * ```
 */
export function shortSliceAvailability(): {
  available: boolean;
  sliceNs?: number;
  reason?: string;
} {
  try {
    const schedule = currentSchedule(syscallNumbers());
    return typeof schedule === "string"
      ? { available: false, reason: schedule }
      : { available: true, sliceNs: schedule.sliceNs };
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) throw error;
    return { available: false, reason: (error as Error).message };
  }
}

/**
 * Asks the kernel for slices of `sliceNs` on the calling thread (the
 * runtime's main thread, which waits for the program's output), keeping
 * its policy and nice; children get the default slice. Where the kernel or
 * the thread's settings do not allow it, nothing changes and `reason` says
 * why.
 *
 * @param sliceNs The slice to ask for, in ns (default {@linkcode SHORT_SLICE_NS}).
 * @returns What was done.
 * @throws {Deno.errors.NotCapable} Without FFI permission.
 *
 * @example Usage
 * ```ts
 * import { requestShortSlice } from "./scheduler_slice.ts";
 * const outcome = requestShortSlice();
 * console.log(outcome.applied ? `slice ${outcome.sliceNs} ns` : outcome.reason);
 * ```
 */
export function requestShortSlice(sliceNs: number = SHORT_SLICE_NS): SliceOutcome {
  const numbers = syscallNumbers();
  try {
    const schedule = currentSchedule(numbers);
    if (typeof schedule === "string") return { applied: false, reason: schedule };
    const previousNs = schedule.sliceNs;
    if (previousNs <= sliceNs) return { applied: true, previousNs, sliceNs: previousNs };
    const request = new DataView(new ArrayBuffer(SCHED_ATTR_SIZE));
    request.setUint32(0, SCHED_ATTR_SIZE, true);
    request.setUint32(4, schedule.policy, true);
    request.setBigUint64(8, SCHED_FLAG_RESET_ON_FORK, true);
    request.setInt32(16, schedule.nice, true);
    request.setBigUint64(24, BigInt(sliceNs), true);
    const bytes = new Uint8Array(request.buffer);
    if (libc().sched_setattr(numbers!.set, 0, bytes, 0) !== 0n) {
      return { applied: false, previousNs, reason: `sched_setattr failed (errno ${errno()})` };
    }
    const after = readAttributes(numbers!);
    if (typeof after === "string") return { applied: false, previousNs, reason: after };
    const now = Number(after.getBigUint64(24, true));
    return now <= sliceNs
      ? { applied: true, previousNs, sliceNs: now }
      : { applied: false, previousNs, sliceNs: now, reason: "the kernel kept its own slice" };
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) throw error;
    return { applied: false, reason: (error as Error).message };
  }
}

/** What {@linkcode idleHelperThreads} did. */
export interface HelperThreadsOutcome {
  /** The runtime's helper threads found. */
  found: number;
  /** How many of them now run under `SCHED_IDLE`. */
  idle: number;
  /** Why some (or all) were left as they were. */
  reason?: string;
}

/**
 * Puts the runtime's helper threads (V8's workers: background compiles,
 * parts of garbage collection) under `SCHED_IDLE`, keeping their nice, so
 * that they run only on CPU time that neither the program nor the main
 * thread wants. The main thread and the runtime's I/O threads are left as
 * they are: they carry tokens and the program's exit. Threads under a
 * real-time or deadline policy are left alone too.
 *
 * @returns How many were found, how many are idle now, and why not all.
 * @throws {Deno.errors.NotCapable} Without FFI or read permission.
 *
 * @example Usage
 * ```ts
 * import { idleHelperThreads } from "./scheduler_slice.ts";
 * const { found, idle, reason } = idleHelperThreads();
 * console.log(`${idle} of ${found} helper threads idle${reason ? ` (${reason})` : ""}`);
 * ```
 */
export function idleHelperThreads(): HelperThreadsOutcome {
  const numbers = syscallNumbers();
  if (Deno.build.os !== "linux" || numbers === undefined) {
    return { found: 0, idle: 0, reason: `not available on ${Deno.build.os}/${Deno.build.arch}` };
  }
  const name = new Uint8Array(32);
  let found = 0;
  let idle = 0;
  let reason: string | undefined;
  for (const entry of Deno.readDirSync("/proc/self/task")) {
    const tid = Number(entry.name);
    const fd = openKeptFile(`/proc/self/task/${tid}/comm`);
    if (fd < 0) continue; // ended since the listing
    const length = readKeptFile(fd, name);
    libc().close(fd);
    if (!startsWithName(name, length)) continue;
    found++;
    const attributes = readAttributes(numbers, tid);
    if (typeof attributes === "string") {
      reason ??= attributes;
      continue;
    }
    const policy = attributes.getUint32(4, true);
    if (policy === SCHED_IDLE) {
      idle++;
      continue;
    }
    if (policy !== SCHED_OTHER && policy !== SCHED_BATCH) {
      reason ??= `scheduling policy ${policy} is not SCHED_OTHER/BATCH`;
      continue;
    }
    const request = new DataView(new ArrayBuffer(SCHED_ATTR_SIZE));
    request.setUint32(0, SCHED_ATTR_SIZE, true);
    request.setUint32(4, SCHED_IDLE, true);
    request.setBigUint64(8, SCHED_FLAG_RESET_ON_FORK, true);
    // Kept: asking for a lower nice than the thread has would need privilege.
    request.setInt32(16, attributes.getInt32(16, true), true);
    if (libc().sched_setattr(numbers.set, tid, new Uint8Array(request.buffer), 0) === 0n) {
      idle++;
    } else {
      reason ??= `sched_setattr failed (errno ${errno()})`;
    }
  }
  if (found === 0) reason ??= "no V8 worker thread found";
  return { found, idle, reason };
}
