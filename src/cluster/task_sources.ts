/**
 * Which sources a task of a distributed job reads: machine-wide sources
 * (`scope: "machine"`) only on the node leader, per-process ones everywhere.
 *
 * @module
 */

import type { Source } from "../source.ts";

/** The sources one task keeps, and the machine-wide ones it leaves to its node leader. */
export interface TaskSources {
  /** Sources this task reads. */
  read: Source[];
  /** Names of the machine-wide sources left to the node leader. */
  leftToLeader: string[];
}

/**
 * Splits the sources by scope: a node leader reads every source; any other
 * task drops the machine-wide ones (RAPL, GPUs, machine-wide system
 * metrics), which its leader reads once for the whole node. The rule
 * follows `Source.scope`, so it covers sources added later.
 *
 * @param sources The sources built for this profile.
 * @param nodeLeader Whether this task leads its node.
 * @returns What this task reads and what it leaves out.
 *
 * @example Usage
 * ```ts
 * import { sourcesForTask } from "./task_sources.ts";
 * import type { Source } from "../source.ts";
 * const rapl = { name: "RAPL", scope: "machine" } as Source;
 * const perf = { name: "perf_event" } as Source;
 * const { read, leftToLeader } = sourcesForTask([rapl, perf], false);
 * console.log(read.map((s) => s.name), leftToLeader); // [ "perf_event" ] [ "RAPL" ]
 * ```
 */
export function sourcesForTask(sources: readonly Source[], nodeLeader: boolean): TaskSources {
  if (nodeLeader) return { read: [...sources], leftToLeader: [] };
  const read: Source[] = [];
  const leftToLeader: string[] = [];
  for (const source of sources) {
    if (source.scope === "machine") leftToLeader.push(source.name);
    else read.push(source);
  }
  return { read, leftToLeader };
}
