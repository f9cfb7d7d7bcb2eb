/**
 * Parses the PID list of `profile -p` (a light module: the option table
 * loads it at start-up).
 *
 * @module
 */

import { UsageError } from "../errors.ts";

/**
 * Parses `-p 123` or `-p 123,456`.
 *
 * @param text What followed `-p`.
 * @returns The PIDs, without repeats, in the order given.
 * @throws {UsageError} Naming the bad entry.
 *
 * @example Usage
 * ```ts
 * import { parsePidList } from "./pid_list.ts";
 * console.log(parsePidList("12,34")); // [12, 34]
 * ```
 */
export function parsePidList(text: string): number[] {
  const pids: number[] = [];
  for (const entry of text.split(",")) {
    const trimmed = entry.trim();
    const pid = Number(trimmed);
    if (!/^\d+$/.test(trimmed) || !Number.isSafeInteger(pid) || pid < 1 || pid > 0x3fffffff) {
      throw new UsageError(
        `--pid: '${entry}' is not a process ID (give PIDs such as 1234 or 1234,5678)`,
      );
    }
    if (!pids.includes(pid)) pids.push(pid);
  }
  return pids;
}
