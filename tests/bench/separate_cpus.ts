/**
 * The CPU the report's `--profiler-cpus` yardsticks give the profiler: what
 * keeping it off the program's CPUs is worth to the program.
 *
 * @module
 */

import { allowedCpus } from "../../src/process/cpu_placement.ts";

/**
 * The last CPU this process may run on (the program keeps the others), or
 * `undefined` with only one (nothing to keep apart).
 *
 * @returns The CPU for `--profiler-cpus`.
 */
export function profilerOnlyCpu(): number | undefined {
  const cpus = allowedCpus();
  return cpus.length < 2 ? undefined : cpus.at(-1);
}
