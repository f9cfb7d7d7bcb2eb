/**
 * CPU lists as `taskset --cpu-list` and cgroups write them (`2-3,6`), for
 * `--profiler-cpus`. No system calls here: the option table loads this.
 *
 * @module
 */

/** The highest CPU number a list may name, plus one (the affinity masks the profiler passes). */
export const CPU_LIMIT = 16384;

/**
 * Parses a CPU list as `taskset --cpu-list` and cgroups write them.
 *
 * @param text Numbers and ranges, comma-separated: `3`, `2-3,6`.
 * @returns The CPUs, ascending, without repeats.
 * @throws {RangeError} When the text is not such a list.
 *
 * @example Usage
 * ```ts
 * import { parseCpuList } from "./cpu_list.ts";
 * console.log(parseCpuList("6,2-3")); // [ 2, 3, 6 ]
 * ```
 */
export function parseCpuList(text: string): number[] {
  const cpus = new Set<number>();
  for (const part of text.trim().split(",")) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (match === null) throw new RangeError(`'${text}' is not a CPU list (e.g. 3 or 2-3,6)`);
    const from = Number(match[1]);
    const to = match[2] === undefined ? from : Number(match[2]);
    if (to < from || to >= CPU_LIMIT) {
      throw new RangeError(`'${part.trim()}' in '${text}' is not a CPU range`);
    }
    for (let cpu = from; cpu <= to; cpu++) cpus.add(cpu);
  }
  return [...cpus].sort((a, b) => a - b);
}

/**
 * Writes CPUs as a short list, ranges joined.
 *
 * @param cpus CPU numbers.
 * @returns For example `0-3,6`.
 *
 * @example Usage
 * ```ts
 * import { formatCpuList } from "./cpu_list.ts";
 * console.log(formatCpuList([0, 1, 2, 3, 6])); // "0-3,6"
 * ```
 */
export function formatCpuList(cpus: readonly number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(",");
}
