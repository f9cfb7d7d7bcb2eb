/**
 * Joins the per-task results of a distributed job into one job result.
 *
 * Every task's file holds its own phases; the node leader's also holds the
 * node's machine-wide metrics (RAPL, GPUs), the other tasks only their
 * per-process ones. Summing every metric over all files therefore sums
 * energy over nodes and process metrics over ranks, with no node counted
 * twice. Phases are matched by their token sequence; each job phase spans
 * the earliest start to the latest end across tasks, on wall-clock time
 * (each node's monotonic times mapped through its own clock anchor).
 *
 * Sampled series (`--sample-interval`, `--timeline`) are kept on the same
 * wall-clock axis: each node's machine-wide series once (its leader's),
 * each task's per-process series under its rank.
 *
 * Files are folded in one at a time: memory grows with phases × metrics ×
 * nodes, not with the number of files (sampled series excepted: they are
 * kept per task).
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import { parseResultFile } from "../output/json_reader.ts";
import {
  type PhaseResult,
  type ProfileResult,
  type RunResult,
  type SamplingSummary,
  withAveragePower,
} from "../result.ts";
import type { SourceFailure } from "../orchestrator.ts";
import type { Metric, SampleSeries } from "../source.ts";
import { DERIVED_METHOD, derivedMetricsOf } from "../derived_metrics.ts";
import type { JobSummary, NodePhase, NodeSummary } from "./job_summary.ts";
import type { Launcher, TaskPlacement } from "./placement.ts";
import { compareNaturalNames } from "../text/natural_name_order.ts";

/** The largest file read as a task result: V8 strings stop at 2^29 characters anyway. */
const MAX_TASK_FILE_BYTES = 512 * 2 ** 20;

/** How strict the merge is. */
export interface MergeOptions {
  /**
   * Merge although ranks or node leaders' files are missing: missing ranks
   * are listed, nodes without their leader's file are marked unmeasured.
   */
  allowMissing?: boolean;
  /** Merge files of different jobs as one (each job's nodes stay apart). */
  force?: boolean;
}

/**
 * A file that cannot be merged: names the file (and rank, phase) and what
 * is wrong with it. Exit code 2, like other bad input.
 *
 * @example Usage
 * ```ts
 * import { MergeError } from "./merge.ts";
 * const error = new MergeError("b.json: rank 1 also in a.json", "b.json");
 * console.log(error.name, error.file); // MergeError b.json
 * ```
 */
export class MergeError extends UsageError {
  /** The file at fault, when one is. */
  readonly file?: string;

  /**
   * Creates the error.
   *
   * @param message One line naming the file and what is wrong.
   * @param file The file at fault.
   */
  constructor(message: string, file?: string) {
    super(message);
    this.name = "MergeError";
    if (file !== undefined) this.file = file;
  }
}

/** A metric summed over files. */
interface MetricSum {
  metric: Metric;
  count: number;
}

/** A phase (of the job, or of one node) being accumulated. */
interface PhaseSum {
  startNs: bigint;
  endNs: bigint;
  metrics: Map<string, MetricSum>;
}

/** One task's sampled series, its times on the wall clock, until the job is built. */
interface TaskSeries {
  jobId?: string;
  node: string;
  /** The task's rank; absent for the node's machine-wide series (its leader's). */
  rank?: number;
  series: SampleSeries;
}

interface RunSum {
  exitCode: number;
  signal: string | null;
  interrupted: boolean;
  phases: PhaseSum[];
  failures: SourceFailure[][];
  /** Sampled series of every task, when any task sampled this run. */
  samples?: TaskSeries[];
  sampling?: SamplingSummary;
}

interface NodeSum {
  node: string;
  jobId?: string;
  ranks: number[];
  leaderRank?: number;
  leaderFile?: string;
  leaderLocalRank: number;
  runs: PhaseSum[][];
}

interface JobEntry {
  tasks: number;
  firstFile: string;
  /** File of each rank. */
  ranks: Map<number, string>;
}

/** The first file's phases, which every other file must match. */
interface Reference {
  file: string;
  rank: number;
  /** Per run: phase names (`A -> B`). */
  runs: string[][];
  command: string[];
  tokenPattern: string;
  launcher: Launcher;
  jobId?: string;
}

function newPhase(): PhaseSum {
  return { startNs: -1n, endNs: -1n, metrics: new Map() };
}

function addMetrics(target: PhaseSum, metrics: readonly Metric[]): void {
  for (const metric of metrics) {
    // Ratios and powers do not add up over tasks: they are derived again from the sums.
    if (metric.details?.method === DERIVED_METHOD) continue;
    const key = `${metric.source}\u0000${metric.name}\u0000${metric.unit}`;
    const sum = target.metrics.get(key);
    if (sum === undefined) {
      target.metrics.set(key, {
        metric: {
          name: metric.name,
          value: metric.value,
          unit: metric.unit,
          source: metric.source,
        },
        count: 1,
      });
    } else {
      sum.metric.value += metric.value;
      sum.count++;
    }
  }
}

function widen(target: PhaseSum, startNs: bigint, endNs: bigint): void {
  if (target.startNs < 0n || startNs < target.startNs) target.startNs = startNs;
  if (endNs > target.endNs) target.endNs = endNs;
}

/** Percentages (utilisation) are averaged over the files that have them; the rest is summed. */
function finalMetrics(phase: PhaseSum): Metric[] {
  const metrics = [...phase.metrics.values()].map(({ metric, count }) =>
    metric.unit === "%" ? { ...metric, value: metric.value / count } : metric
  );
  metrics.sort((a, b) =>
    a.source === b.source ? compareNaturalNames(a.name, b.name) : a.source < b.source ? -1 : 1
  );
  withAveragePower(metrics, phase.endNs - phase.startNs);
  const derived = derivedMetricsOf({
    metrics,
    durationMs: Number(phase.endNs - phase.startNs) / 1e6,
  });
  if (derived.length === 0) return metrics;
  return [...metrics, ...derived].sort((a, b) =>
    a.source === b.source ? compareNaturalNames(a.name, b.name) : a.source < b.source ? -1 : 1
  );
}

function rankLabel(placement: TaskPlacement, file: string): string {
  return `${file} (rank ${placement.rank}${
    placement.jobId === undefined ? "" : ` of job ${placement.jobId}`
  })`;
}

/**
 * Folds per-task results into one job result, file by file.
 *
 * @example Merging two tasks' files
 * ```ts
 * import { JobMerger } from "./merge.ts";
 * const merger = new JobMerger();
 * for (const path of ["out-node1-0.json", "out-node2-1.json"]) {
 *   try {
 *     merger.addText(path, await Deno.readTextFile(path));
 *   } catch {
 *     // not there in this example
 *   }
 * }
 * ```
 */
export class JobMerger {
  readonly #options: MergeOptions;
  #reference: Reference | undefined;
  readonly #jobs = new Map<string, JobEntry>();
  readonly #nodes = new Map<string, NodeSum>();
  #runs: RunSum[] = [];
  #files = 0;

  /**
   * Creates an empty merge.
   *
   * @param options `allowMissing`, `force`.
   */
  constructor(options: MergeOptions = {}) {
    this.#options = options;
  }

  /** Files added so far. */
  get files(): number {
    return this.#files;
  }

  /**
   * Parses one task's `--json` file and adds it.
   *
   * @param file The file's name, for messages.
   * @param text Its content.
   * @throws {MergeError} When it is not a task result or does not fit the others.
   */
  addText(file: string, text: string): void {
    let results: ProfileResult[];
    try {
      results = parseResultFile(text, file);
    } catch (error) {
      throw new MergeError((error as Error).message, file);
    }
    if (results.length !== 1) {
      throw new MergeError(
        `${file} holds ${results.length} commands (a multi-command profile); merge takes one ` +
          `task's result per file`,
        file,
      );
    }
    this.add(file, results[0]!);
  }

  /**
   * Adds one task's result.
   *
   * @param file Where it came from, for messages.
   * @param result The task's result, with its placement.
   * @throws {MergeError} When it does not fit the files added before.
   */
  add(file: string, result: ProfileResult): void {
    const placement = result.placement;
    if (placement === undefined) {
      throw new MergeError(
        result.job === undefined
          ? `${file} has no placement: it was not profiled as a task of a Slurm or MPI job ` +
            `(run the profiler under srun, mpirun or mpiexec)`
          : `${file} is already a merged job result`,
        file,
      );
    }
    const reference = this.#reference ??= {
      file,
      rank: placement.rank,
      runs: result.runs.map((run) => run.phases.map((phase) => phase.name)),
      command: result.command,
      tokenPattern: result.tokenPattern,
      launcher: placement.launcher,
      jobId: placement.jobId,
    };
    const jobKey = placement.jobId ?? "";
    if (placement.jobId !== reference.jobId && !this.#options.force) {
      throw new MergeError(
        `${file} is from job ${placement.jobId ?? "(none)"}, ${reference.file} from job ` +
          `${reference.jobId ?? "(none)"}: merge the files of one job (or --force)`,
        file,
      );
    }
    let job = this.#jobs.get(jobKey);
    if (job === undefined) {
      job = { tasks: placement.tasks, firstFile: file, ranks: new Map() };
      this.#jobs.set(jobKey, job);
    }
    if (placement.tasks !== job.tasks) {
      throw new MergeError(
        `${rankLabel(placement, file)} says the job has ${placement.tasks} tasks, ` +
          `${job.firstFile} says ${job.tasks}`,
        file,
      );
    }
    if (placement.rank >= placement.tasks) {
      throw new MergeError(
        `${file}: rank ${placement.rank} is out of range for a job of ${placement.tasks} tasks`,
        file,
      );
    }
    const earlier = job.ranks.get(placement.rank);
    if (earlier !== undefined) {
      throw new MergeError(
        `${file}: rank ${placement.rank}${
          placement.jobId === undefined ? "" : ` of job ${placement.jobId}`
        } is also in ${earlier} (a duplicate rank)`,
        file,
      );
    }
    this.#checkPhases(file, placement, result.runs, reference);
    job.ranks.set(placement.rank, file);
    this.#fold(file, placement, result.runs);
    this.#files++;
  }

  #checkPhases(
    file: string,
    placement: TaskPlacement,
    runs: readonly RunResult[],
    reference: Reference,
  ): void {
    const who = rankLabel(placement, file);
    const them = `rank ${reference.rank} (${reference.file})`;
    if (runs.length !== reference.runs.length) {
      throw new MergeError(
        `${who} has ${runs.length} run(s), ${them} has ${reference.runs.length}`,
        file,
      );
    }
    for (const [r, run] of runs.entries()) {
      const expected = reference.runs[r]!;
      const where = runs.length > 1 ? `run ${r + 1}, ` : "";
      const phases = run.phases;
      const length = Math.max(phases.length, expected.length);
      for (let i = 0; i < length; i++) {
        const name = phases[i]?.name;
        if (name === expected[i]) continue;
        const mine = name === undefined ? `has no phase ${i}` : `phase ${i} is '${name}'`;
        const theirs = expected[i] === undefined ? `has no phase ${i}` : `has '${expected[i]}'`;
        throw new MergeError(
          `${who}: ${where}${mine} where ${them} ${theirs}: the ranks' phases do not match ` +
            `(${phases.length} vs ${expected.length} phases)`,
          file,
        );
      }
    }
  }

  #fold(file: string, placement: TaskPlacement, runs: readonly RunResult[]): void {
    const nodeKey = `${placement.jobId ?? ""}\u0000${placement.node}`;
    let node = this.#nodes.get(nodeKey);
    if (node === undefined) {
      node = {
        node: placement.node,
        jobId: placement.jobId,
        ranks: [],
        leaderLocalRank: placement.leaderLocalRank,
        runs: runs.map((run) => run.phases.map(newPhase)),
      };
      this.#nodes.set(nodeKey, node);
    }
    node.ranks.push(placement.rank);
    if (placement.nodeLeader) {
      if (node.leaderFile !== undefined) {
        throw new MergeError(
          `${file}: rank ${placement.rank} and rank ${node.leaderRank} (${node.leaderFile}) ` +
            `both read node ${placement.node}'s machine-wide sources: its energy would count ` +
            `twice (were they profiled with different --node-leader?)`,
          file,
        );
      }
      node.leaderFile = file;
      node.leaderRank = placement.rank;
    }
    const offset = placement.clockAnchor.realtimeNs - placement.clockAnchor.monotonicNs;
    if (this.#runs.length === 0) {
      this.#runs = runs.map((run) => ({
        exitCode: 0,
        signal: null,
        interrupted: false,
        phases: run.phases.map(newPhase),
        failures: run.phases.map(() => []),
      }));
    }
    for (const [r, run] of runs.entries()) {
      const total = this.#runs[r]!;
      if (total.exitCode === 0 && run.exitCode !== 0) {
        total.exitCode = run.exitCode;
        total.signal = run.signal;
      }
      if (run.interrupted) total.interrupted = true;
      addSamples(total, run, placement);
      const nodeRun = node.runs[r]!;
      for (const [i, phase] of run.phases.entries()) {
        const startNs = phase.startNs + offset;
        const endNs = phase.endNs + offset;
        const jobPhase = total.phases[i]!;
        widen(jobPhase, startNs, endNs);
        addMetrics(jobPhase, phase.metrics);
        const nodePhase = nodeRun[i]!;
        widen(nodePhase, startNs, endNs);
        addMetrics(nodePhase, phase.metrics);
        for (const failure of phase.failures) {
          total.failures[i]!.push({
            source: failure.source,
            message: `${placement.node} rank ${placement.rank}: ${failure.message}`,
          });
        }
      }
    }
  }

  /**
   * Checks that the job is complete and builds its result.
   *
   * @returns The job result: phases summed over nodes and ranks, with
   *   `job` holding the per-node breakdown.
   * @throws {MergeError} When no file was added, or a rank or a node's
   *   leader file is missing (without `allowMissing`).
   */
  finish(): ProfileResult {
    const reference = this.#reference;
    if (reference === undefined) throw new MergeError("merge needs at least one task's file");
    const missingRanks: string[] = [];
    for (const [jobId, job] of this.#jobs) {
      const missing: number[] = [];
      for (let rank = 0; rank < job.tasks; rank++) if (!job.ranks.has(rank)) missing.push(rank);
      if (missing.length === 0) continue;
      if (!this.#options.allowMissing) {
        throw new MergeError(
          `${jobId === "" ? "the job" : `job ${jobId}`} has ${job.tasks} tasks but no file for ` +
            `rank${missing.length > 1 ? "s" : ""} ${listed(missing)}: give every task's file, ` +
            `or --allow-missing`,
        );
      }
      const prefix = this.#jobs.size > 1 ? `${jobId}:` : "";
      missingRanks.push(...missing.map((rank) => `${prefix}${rank}`));
    }
    const nodes = [...this.#nodes.values()].sort((a, b) =>
      compareNaturalNames(a.jobId ?? "", b.jobId ?? "") ||
      compareNaturalNames(a.node, b.node)
    );
    for (const node of nodes) {
      if (node.leaderFile !== undefined || this.#options.allowMissing) continue;
      throw new MergeError(
        `node ${node.node}${node.jobId === undefined ? "" : ` of job ${node.jobId}`}: no file ` +
          `of its node leader (local rank ${node.leaderLocalRank}), which alone measured its ` +
          `energy; give that file, or --allow-missing to list the node as unmeasured`,
      );
    }
    const runs: RunResult[] = this.#runs.map((run, r) => {
      const phaseNames = reference.runs[r]!;
      const phases: PhaseResult[] = run.phases.map((phase, i) => {
        const [startToken, endToken] = phaseNames[i]!.split(" -> ") as [string, string];
        return {
          index: i,
          name: phaseNames[i]!,
          startToken,
          endToken,
          startNs: phase.startNs,
          endNs: phase.endNs,
          timestamp: Number(phase.startNs / 1_000_000n),
          durationMs: Number(phase.endNs - phase.startNs) / 1e6,
          metrics: finalMetrics(phase),
          failures: run.failures[i]!,
        };
      });
      const startNs = phases[0]?.startNs ?? 0n;
      const endNs = phases.at(-1)?.endNs ?? 0n;
      const merged: RunResult = {
        index: r,
        exitCode: run.exitCode,
        signal: run.signal,
        interrupted: run.interrupted,
        startNs,
        endNs,
        timestamp: Number(startNs / 1_000_000n),
        durationMs: Number(endNs - startNs) / 1e6,
        phases,
      };
      if (run.samples !== undefined) merged.samples = jobSeries(run.samples, this.#jobs.size > 1);
      if (run.sampling !== undefined) merged.sampling = run.sampling;
      return merged;
    });
    const job: JobSummary = {
      launcher: reference.launcher,
      jobIds: [...this.#jobs.keys()].filter((id) => id !== ""),
      tasks: [...this.#jobs.values()].reduce((sum, entry) => sum + entry.tasks, 0),
      files: this.#files,
      missingRanks,
      nodes: nodes.map((node): NodeSummary => {
        const summary: NodeSummary = {
          node: node.node,
          ranks: node.ranks.sort((a, b) => a - b),
          measured: node.leaderFile !== undefined,
          runs: node.runs.map((run) =>
            run.map((phase): NodePhase => ({
              startNs: phase.startNs,
              endNs: phase.endNs,
              durationMs: Number(phase.endNs - phase.startNs) / 1e6,
              metrics: finalMetrics(phase),
            }))
          ),
        };
        if (node.jobId !== undefined) summary.jobId = node.jobId;
        if (node.leaderRank !== undefined) summary.leaderRank = node.leaderRank;
        return summary;
      }),
    };
    return {
      command: reference.command,
      tokenPattern: reference.tokenPattern,
      exitCode: runs.find((run) => run.exitCode !== 0)?.exitCode ?? 0,
      durationMs: runs.reduce((sum, run) => sum + run.durationMs, 0),
      interrupted: runs.some((run) => run.interrupted),
      runs,
      job,
    };
  }
}

/**
 * Keeps a task's sampled series of one run, moved onto the wall clock
 * through the task's clock anchor, like its phases. A machine-wide series
 * counts as the node's only in its leader's file (no other task reads
 * machine-wide sources); anything else belongs to the task.
 */
function addSamples(total: RunSum, run: RunResult, placement: TaskPlacement): void {
  if (run.samples === undefined) return;
  const offsetNs = Number(placement.clockAnchor.realtimeNs - placement.clockAnchor.monotonicNs);
  const kept = total.samples ??= [];
  for (const series of run.samples) {
    const machine = series.scope === "machine" && placement.nodeLeader;
    const entry: TaskSeries = {
      node: placement.node,
      series: { ...series, timesNs: series.timesNs.map((ns) => ns + offsetNs) },
    };
    if (placement.jobId !== undefined) entry.jobId = placement.jobId;
    if (!machine) entry.rank = placement.rank;
    kept.push(entry);
  }
  if (run.sampling !== undefined) {
    // The job's figures: the coarsest interval, samples and missed deadlines of every task.
    const sampling = total.sampling ??= { intervalMs: 0, ticks: 0, missed: 0 };
    sampling.intervalMs = Math.max(sampling.intervalMs, run.sampling.intervalMs);
    sampling.ticks += run.sampling.ticks;
    sampling.missed += run.sampling.missed;
  }
}

/**
 * The job's series of one run, in node order, each node's machine-wide
 * series first, then its ranks' in rank order; each named after where it
 * was recorded (`node1/PACKAGE-0`, `node1/rank2/CPU`, with the job id in
 * front when several jobs were merged), so no two nodes' series share a
 * name.
 */
function jobSeries(kept: readonly TaskSeries[], severalJobs: boolean): SampleSeries[] {
  const ordered = [...kept].sort((a, b) =>
    compareNaturalNames(a.jobId ?? "", b.jobId ?? "") ||
    compareNaturalNames(a.node, b.node) ||
    (a.rank ?? -1) - (b.rank ?? -1)
  );
  return ordered.map(({ jobId, node, rank, series }) => {
    const where = severalJobs && jobId !== undefined ? `${jobId}/${node}` : node;
    const merged: SampleSeries = {
      ...series,
      name: rank === undefined ? `${where}/${series.name}` : `${where}/rank${rank}/${series.name}`,
      node,
    };
    if (rank !== undefined) merged.rank = rank;
    return merged;
  });
}

function listed(ranks: number[]): string {
  const shown = ranks.slice(0, 10).join(", ");
  return ranks.length > 10 ? `${shown} … (${ranks.length} in all)` : shown;
}

/**
 * Merges per-task results already in memory.
 *
 * @param tasks Each task's file name (for messages) and result.
 * @param options `allowMissing`, `force`.
 * @returns The job result.
 * @throws {MergeError} On files that cannot be merged.
 *
 * @example Usage
 * ```ts
 * import { mergeTaskResults } from "./merge.ts";
 * try {
 *   mergeTaskResults([]);
 * } catch (error) {
 *   console.log((error as Error).message); // merge needs at least one task's file
 * }
 * ```
 */
export function mergeTaskResults(
  tasks: readonly { file: string; result: ProfileResult }[],
  options: MergeOptions = {},
): ProfileResult {
  const merger = new JobMerger(options);
  for (const { file, result } of tasks) merger.add(file, result);
  return merger.finish();
}

/**
 * Reads and merges per-task `--json` files, one at a time.
 *
 * @param files The files' paths.
 * @param options `allowMissing`, `force`.
 * @returns The job result.
 * @throws {MergeError} On a file that cannot be read or merged.
 *
 * @example Usage
 * ```ts
 * import { mergeTaskFiles } from "./merge.ts";
 * const job = await mergeTaskFiles(["out-node1-0.json", "out-node2-1.json"]).catch(() => undefined);
 * ```
 */
export async function mergeTaskFiles(
  files: readonly string[],
  options: MergeOptions = {},
): Promise<ProfileResult> {
  const merger = new JobMerger(options);
  for (const file of files) {
    let text: string;
    try {
      const info = await Deno.stat(file);
      // A FIFO or device would block or never end; a huge file is no task result.
      if (!info.isFile) throw new MergeError(`'${file}' is not a regular file`, file);
      if (info.size > MAX_TASK_FILE_BYTES) {
        throw new MergeError(
          `'${file}' is ${(info.size / 2 ** 20).toFixed(0)} MiB: larger than a task result ` +
            `can be (${MAX_TASK_FILE_BYTES / 2 ** 20} MiB)`,
          file,
        );
      }
      text = await Deno.readTextFile(file);
    } catch (error) {
      if (error instanceof MergeError) throw error;
      throw new MergeError(`cannot read '${file}': ${(error as Error).message}`, file);
    }
    merger.addText(file, text);
  }
  return merger.finish();
}
