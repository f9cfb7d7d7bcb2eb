/**
 * Two CPUs to keep the profiler and the program apart with `taskset`, for
 * the report's yardsticks that show what sharing a CPU costs the program.
 *
 * @module
 */

/** The CPUs of a run that keeps the profiler and the program apart. */
export interface SeparateCpus {
  /** Where every thread of the profiler runs. */
  profiler: number;
  /** Where the program runs. */
  program: number;
}

/**
 * The first and the last CPU this process may run on, or `undefined` with
 * only one (nothing to keep apart).
 *
 * @returns The two CPUs.
 */
export function separateCpus(): SeparateCpus | undefined {
  const status = Deno.readTextFileSync("/proc/self/status");
  const list = /^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1] ?? "";
  const cpus = list.split(",").filter((range) => range !== "").flatMap((range) => {
    const [from, to = from] = range.split("-").map(Number);
    return Array.from({ length: to! - from! + 1 }, (_, i) => from! + i);
  });
  if (cpus.length < 2) return undefined;
  return { program: cpus[0]!, profiler: cpus[cpus.length - 1]! };
}

/**
 * The words that run a command on one CPU.
 *
 * @param cpu The CPU.
 * @returns `taskset --cpu-list <cpu>`, to put before the command.
 */
export function pinnedTo(cpu: number): string[] {
  return ["taskset", "--cpu-list", String(cpu)];
}
