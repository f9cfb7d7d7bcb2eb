/**
 * Short scheduler slices for the profiler's main thread, so that a token's
 * wake-up is not queued behind a busy program's time slice.
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
 * @module
 */

import { errno, libc } from "../ffi/libc.ts";

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
const SCHED_FLAG_RESET_ON_FORK = 0x01n;

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

/** The calling thread's attributes, or an error text. */
function readAttributes(numbers: SchedulerSyscalls): DataView | string {
  const view = new DataView(new ArrayBuffer(SCHED_ATTR_SIZE));
  const bytes = new Uint8Array(view.buffer);
  if (libc().sched_getattr(numbers.get, 0, bytes, SCHED_ATTR_SIZE, 0) !== 0n) {
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
