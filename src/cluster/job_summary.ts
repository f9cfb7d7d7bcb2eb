/**
 * The shape of a merged job result's per-node breakdown.
 *
 * @module
 */

import type { Launcher } from "./placement.ts";
import type { Metric } from "../source.ts";

/** One phase of one node. */
export interface NodePhase {
  /** Earliest start among the node's tasks, ns since the Unix epoch. */
  startNs: bigint;
  /** Latest end among the node's tasks, ns since the Unix epoch. */
  endNs: bigint;
  /** `endNs − startNs`, ms. */
  durationMs: number;
  /** The node's metrics: its leader's machine-wide ones, per-process ones summed over its ranks. */
  metrics: Metric[];
}

/** One node of a job. */
export interface NodeSummary {
  /** Node name. */
  node: string;
  /** The job the node's tasks belong to. */
  jobId?: string;
  /** Ranks found on the node, ascending. */
  ranks: number[];
  /** Rank of the task that read the node's machine-wide sources, when its file was given. */
  leaderRank?: number;
  /** `false` when the leader's file is missing (merged with `--allow-missing`): no energy. */
  measured: boolean;
  /** Per run, per phase. */
  runs: NodePhase[][];
}

/** What a merged result says about the job. */
export interface JobSummary {
  /** The launcher that started the tasks. */
  launcher: Launcher;
  /** Job ids found (one, unless merged with `--force`). */
  jobIds: string[];
  /** Task count the tasks reported (summed over jobs). */
  tasks: number;
  /** Files merged. */
  files: number;
  /** Ranks missing (merged with `--allow-missing`), per job as `job:rank`, or plain ranks. */
  missingRanks: string[];
  /** Every node, in name order. */
  nodes: NodeSummary[];
}
