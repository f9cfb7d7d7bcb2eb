/**
 * Per-task file names: `%j` job id, `%n` node name, `%r` rank, `%h` host
 * name, `%p` pid, `%%` a literal `%`.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import type { Placement } from "./placement.ts";

/** What the placeholders stand for. */
export interface TaskNameContext {
  /** The task's placement, or `undefined` without a launcher. */
  placement?: Placement;
  /** The host name (`%h`, and `%n` without a launcher). */
  hostname: string;
  /** The profiler's pid (`%p`). */
  pid: number;
}

const PLACEHOLDER = /%(.|$)/gs;

/**
 * Replaces the placeholders of a file name. Without a launcher `%j` is
 * `nojob`, `%n` the host name and `%r` 0.
 *
 * @param template The name as given, e.g. `out-%n-%r.json`.
 * @param context The values.
 * @param flag The flag that gave it, for the error message.
 * @returns The name for this task.
 * @throws {UsageError} For an unknown placeholder or a `%` at the end.
 *
 * @example Usage
 * ```ts
 * import { expandTaskFileName } from "./task_file_name.ts";
 * const name = expandTaskFileName("out-%n-%r.json", {
 *   placement: { launcher: "slurm", jobId: "7", node: "node1", hostname: "h", rank: 3, localRank: 1, tasks: 4 },
 *   hostname: "h",
 *   pid: 1234,
 * });
 * console.log(name); // "out-node1-3.json"
 * ```
 */
export function expandTaskFileName(
  template: string,
  context: TaskNameContext,
  flag = "-o",
): string {
  const { placement } = context;
  return template.replace(PLACEHOLDER, (_whole, key: string) => {
    switch (key) {
      case "j":
        return safe(placement?.jobId ?? "nojob");
      case "n":
        return safe(placement?.node ?? context.hostname);
      case "r":
        return String(placement?.rank ?? 0);
      case "h":
        return safe(context.hostname);
      case "p":
        return String(context.pid);
      case "%":
        return "%";
      default:
        throw new UsageError(
          `${flag} '${template}': unknown placeholder '%${key}' (known: %j job, %n node, ` +
            `%r rank, %h host, %p pid; %% for a literal %)`,
        );
    }
  });
}

/** Launcher-given text never adds a folder level to a file name. */
function safe(value: string): string {
  return value.replaceAll("/", "_");
}

/** Whether a name has a placeholder that differs between tasks (`%r` or `%p`). */
export function namesEachTask(template: string): boolean {
  for (const match of template.matchAll(PLACEHOLDER)) {
    if (match[1] === "r" || match[1] === "p") return true;
  }
  return false;
}

/**
 * Refuses a file name that every task of a multi-task job would share:
 * under a launcher with more than one task the name needs `%r` or `%p`.
 * `-` (stdout) is per task already.
 *
 * @param flag The flag, for the message (e.g. `-o`).
 * @param template The name as given.
 * @param placement The task's placement.
 * @throws {UsageError} When two tasks would write one file.
 *
 * @example Usage
 * ```ts
 * import { checkTaskFileName } from "./task_file_name.ts";
 * checkTaskFileName("-o", "out-%r.json", undefined);
 * ```
 */
export function checkTaskFileName(
  flag: string,
  template: string,
  placement: Placement | undefined,
): void {
  if (placement === undefined || placement.tasks <= 1 || template === "-") return;
  if (namesEachTask(template)) return;
  const dot = template.lastIndexOf(".");
  const example = dot > 0 ? `${template.slice(0, dot)}-%r${template.slice(dot)}` : `${template}-%r`;
  throw new UsageError(
    `${flag} '${template}': the ${placement.tasks} tasks of this ${placement.launcher} job would ` +
      `all write this one file; put %r (rank) or %p (pid) in the name, e.g. '${example}'`,
  );
}
