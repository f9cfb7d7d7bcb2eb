/**
 * The terminal view of a merged job's per-node breakdown: one row per node
 * and phase with its duration and energies, in joules.
 *
 * @module
 */

import { energyJoules } from "../energy_units.ts";
import type { JobSummary } from "./job_summary.ts";

function rankRanges(ranks: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < ranks.length; i++) {
    let j = i;
    while (j + 1 < ranks.length && ranks[j + 1] === ranks[j]! + 1) j++;
    parts.push(i === j ? String(ranks[i]) : `${ranks[i]}-${ranks[j]}`);
    i = j;
  }
  return parts.join(",");
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) =>
    row.map((cell, column) =>
      column < 4 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)
    )
      .join("  ").trimEnd()
  );
}

/**
 * Formats the per-node breakdown of a merged job (its first run; `--json`
 * has every run).
 *
 * @param job The job summary of a merged result.
 * @param phaseNames The phases' names, in order.
 * @returns Text ending with a newline.
 *
 * @example Usage
 * ```ts
 * import { formatJobTerminal } from "./job_terminal.ts";
 * console.log(formatJobTerminal({
 *   launcher: "slurm", jobIds: ["7"], tasks: 1, files: 1, missingRanks: [], nodes: [],
 * }, []));
 * ```
 */
export function formatJobTerminal(job: JobSummary, phaseNames: readonly string[]): string {
  const jobs = job.jobIds.length === 0 ? "" : ` ${job.jobIds.join(", ")}`;
  const lines = [
    `Job${jobs} (${job.launcher}): ${job.tasks} tasks on ${job.nodes.length} node(s), ` +
    `${job.files} file(s) merged`,
  ];
  if (job.missingRanks.length > 0) lines.push(`Missing ranks: ${job.missingRanks.join(", ")}`);
  const unmeasured = job.nodes.filter((node) => !node.measured).map((node) => node.node);
  if (unmeasured.length > 0) {
    lines.push(
      `Unmeasured (no leader file): ${unmeasured.join(", ")}: their energy is not counted`,
    );
  }
  const columns: string[] = [];
  for (const node of job.nodes) {
    for (const phase of node.runs[0] ?? []) {
      for (const metric of phase.metrics) {
        if (energyJoules(metric) === undefined || columns.includes(metric.name)) continue;
        columns.push(metric.name);
      }
    }
  }
  const rows = [[
    "Node",
    "Ranks",
    "Leader",
    "Phase",
    "Duration (ms)",
    ...columns.map((c) => `${c} (J)`),
  ]];
  for (const node of job.nodes) {
    for (const [i, phase] of (node.runs[0] ?? []).entries()) {
      const energies = columns.map((column) => {
        let joules: number | undefined;
        for (const metric of phase.metrics) {
          if (metric.name !== column) continue;
          const value = energyJoules(metric);
          if (value !== undefined) joules = (joules ?? 0) + value;
        }
        return joules === undefined ? (node.measured ? "-" : "unmeasured") : joules.toFixed(3);
      });
      rows.push([
        i === 0 ? node.node : "",
        i === 0 ? rankRanges(node.ranks) : "",
        i === 0 ? (node.leaderRank === undefined ? "missing" : String(node.leaderRank)) : "",
        phaseNames[i] ?? String(i),
        phase.durationMs.toFixed(3),
        ...energies,
      ]);
    }
  }
  lines.push(
    "",
    "Per node" + ((job.nodes[0]?.runs.length ?? 0) > 1 ? " (run 1; --json has every run)" : ""),
  );
  lines.push(...table(rows));
  return `${lines.join("\n")}\n`;
}
