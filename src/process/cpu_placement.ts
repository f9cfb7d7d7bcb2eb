/**
 * Keeping the profiler and the program on separate CPUs (`--profiler-cpus`).
 *
 * A token wakes the profiler, and the kernel may run it on the program's own
 * CPU: on the 2-vCPU VMs of docs/PERFORMANCE.md it does so for nearly every
 * token, and the profiler, which asks for short slices so that a token is
 * measured at once (`scheduler_slice.ts`), then preempts the program for its
 * whole handling of the token (about 0.1 ms there). With the profiler's
 * threads on CPUs of their own and the program on the others, a marker cost
 * the program 21 µs there instead of 112 µs, at the price of tokens measured
 * later (waking an idle CPU took longer than preempting the program).
 *
 * The program is placed while it is held (its launcher's affinity is what it
 * and everything it starts inherit); the profiler's threads are pinned for
 * the run and put back afterwards, so hooks and later spawns start from the
 * profiler's own CPU set again.
 *
 * @module
 */

import { errno, libc, SyscallError } from "../ffi/libc.ts";
import { UsageError } from "../errors.ts";
import { CPU_LIMIT, formatCpuList } from "./cpu_list.ts";

/**
 * Mask sizes tried when reading an affinity, in bits: glibc's `cpu_set_t` first;
 * `sched_getaffinity(2)` refuses (EINVAL) a mask smaller than the kernel's CPU count.
 */
const MASK_BITS = [1024, 4096, CPU_LIMIT];
const EINVAL = 22;

function maskOf(cpus: readonly number[], bits: number): Uint8Array<ArrayBuffer> {
  const mask = new Uint8Array(bits / 8);
  for (const cpu of cpus) mask[cpu >> 3]! |= 1 << (cpu & 7);
  return mask;
}

/**
 * The CPUs a thread may run on (`sched_getaffinity(2)`).
 *
 * @param tid A thread or process ID; 0 for the calling thread.
 * @returns The CPUs, ascending.
 * @throws {SyscallError} When the kernel refuses (no such thread, ...).
 *
 * @example Usage
 * ```ts
 * import { allowedCpus } from "./cpu_placement.ts";
 * console.log(allowedCpus().length > 0); // true
 * ```
 */
export function allowedCpus(tid = 0): number[] {
  for (const bits of MASK_BITS) {
    const mask = new Uint8Array(bits / 8);
    if (libc().sched_getaffinity(tid, BigInt(mask.length), mask) === 0) {
      const cpus: number[] = [];
      for (let cpu = 0; cpu < bits; cpu++) if (mask[cpu >> 3]! & (1 << (cpu & 7))) cpus.push(cpu);
      return cpus;
    }
    const code = errno();
    if (code !== EINVAL) throw new SyscallError("sched_getaffinity", code, `thread ${tid}`);
  }
  throw new SyscallError("sched_getaffinity", EINVAL, `thread ${tid}: more CPUs than a mask holds`);
}

/**
 * Restricts a thread (or a process's first thread, with which its later
 * threads and children start) to some CPUs (`sched_setaffinity(2)`).
 *
 * @param tid A thread or process ID; 0 for the calling thread.
 * @param cpus The CPUs it may run on.
 * @throws {SyscallError} When the kernel refuses.
 *
 * @example Usage
 * ```ts
 * import { allowedCpus, restrictToCpus } from "./cpu_placement.ts";
 * restrictToCpus(0, allowedCpus()); // no change
 * ```
 */
export function restrictToCpus(tid: number, cpus: readonly number[]): void {
  // A mask shorter than the kernel's is extended with zeros, so it only has to hold the CPUs.
  const bits = Math.max(MASK_BITS[0]!, Math.ceil((Math.max(0, ...cpus) + 1) / 64) * 64);
  const mask = maskOf(cpus, bits);
  if (libc().sched_setaffinity(tid, BigInt(mask.length), mask) !== 0) {
    throw new SyscallError(
      "sched_setaffinity",
      errno(),
      `thread ${tid}, CPUs ${formatCpuList(cpus)}`,
    );
  }
}

/** This process's threads (`/proc/self/task`). */
function ownThreads(): number[] {
  const tids: number[] = [];
  for (const entry of Deno.readDirSync("/proc/self/task")) tids.push(Number(entry.name));
  return tids;
}

/**
 * Where the profiler and the program run: the profiler's threads on the CPUs
 * asked for, the program on the other CPUs the profiler itself may use.
 *
 * @example Usage
 * ```ts ignore
 * import { CpuPlacement } from "./cpu_placement.ts";
 * const placement = CpuPlacement.plan([1]);
 * placement.placeProgram(pid); // while it is held: it and its children run on the others
 * placement.pinProfiler(); // for the run
 * placement.release(); // after it
 * ```
 */
export class CpuPlacement {
  /** The profiler's CPUs during a run. */
  readonly profilerCpus: readonly number[];
  /** The program's CPUs. */
  readonly programCpus: readonly number[];
  /** The profiler's CPUs before (and after) a run. */
  readonly originalCpus: readonly number[];
  #pinned = false;

  private constructor(profiler: number[], program: number[], original: number[]) {
    this.profilerCpus = profiler;
    this.programCpus = program;
    this.originalCpus = original;
  }

  /**
   * Checks `--profiler-cpus` against the CPUs this process may use.
   *
   * @param profilerCpus The CPUs asked for the profiler.
   * @param allowed The CPUs this process may use (default: its own affinity).
   * @returns The placement.
   * @throws {UsageError} When a CPU is not one this process may use, or none is left for the program.
   */
  static plan(
    profilerCpus: readonly number[],
    allowed: readonly number[] = allowedCpus(),
  ): CpuPlacement {
    const outside = profilerCpus.filter((cpu) => !allowed.includes(cpu));
    if (outside.length > 0) {
      throw new UsageError(
        `--profiler-cpus: CPU ${formatCpuList(outside)} is not one this process may run on ` +
          `(allowed: ${formatCpuList(allowed)})`,
      );
    }
    const program = allowed.filter((cpu) => !profilerCpus.includes(cpu));
    if (program.length === 0) {
      throw new UsageError(
        `--profiler-cpus ${formatCpuList(profilerCpus)} leaves no CPU for the program ` +
          `(allowed: ${formatCpuList(allowed)})`,
      );
    }
    return new CpuPlacement([...profilerCpus], program, [...allowed]);
  }

  /**
   * Puts a held program on the program's CPUs (what it runs and starts inherits them).
   *
   * @param pid The program's process, before it runs.
   */
  placeProgram(pid: number): void {
    restrictToCpus(pid, this.programCpus);
  }

  /**
   * Moves every thread of the profiler to its CPUs (threads started later inherit them).
   *
   * @returns How many threads were moved.
   */
  pinProfiler(): number {
    this.#pinned = true;
    return this.#moveThreads(this.profilerCpus);
  }

  /** Puts the profiler's threads back on the CPUs they had (no-op unless pinned). */
  release(): void {
    if (!this.#pinned) return;
    this.#pinned = false;
    this.#moveThreads(this.originalCpus);
  }

  #moveThreads(cpus: readonly number[]): number {
    let moved = 0;
    for (const tid of ownThreads()) {
      try {
        restrictToCpus(tid, cpus);
        moved++;
      } catch (error) {
        // A thread that ended since the listing has nothing to move.
        if (!(error instanceof SyscallError && error.code === "ESRCH")) throw error;
      }
    }
    return moved;
  }
}
