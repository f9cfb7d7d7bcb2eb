/**
 * The typed result of a profile: runs (iterations), phases and metrics.
 *
 * @module
 */

import type { ClockAnchor } from "./clock.ts";
import type { TaskPlacement } from "./cluster/placement.ts";
import type { JobSummary } from "./cluster/job_summary.ts";
import type { PhaseMetrics, SourceFailure } from "./orchestrator.ts";
import type { BoundaryLog } from "./phase/boundary_log.ts";
import type { Metric, SampleSeries } from "./source.ts";
import type { IdleBaseline } from "./stats/phase_statistics.ts";
import { joulesPerUnit } from "./energy_units.ts";
import type { CarbonSettings } from "./energy/carbon.ts";
import { attachMetrics, CompactMetrics } from "./phase/compact_metrics.ts";

/** One phase: the window between two consecutive boundaries. */
export interface PhaseResult {
  /** 0-based position in the run. */
  index: number;
  /** `"<start token> -> <end token>"`. */
  name: string;
  /** Token that opened the phase (`START` for the first). */
  startToken: string;
  /** Token that closed the phase (`END` for the last). */
  endToken: string;
  /** 0-based stdout line of the start token, when it came from stdout. */
  startLine?: number;
  /** 0-based stdout line of the end token, when it came from stdout. */
  endLine?: number;
  /** `CLOCK_MONOTONIC` time of the start boundary, ns. */
  startNs: bigint;
  /** `CLOCK_MONOTONIC` time of the end boundary, ns. */
  endNs: bigint;
  /** Wall-clock start, milliseconds since the Unix epoch. */
  timestamp: number;
  /** Duration in milliseconds (exact to the nanosecond). */
  durationMs: number;
  /** Metrics of every source, sorted by source then sensor. */
  metrics: Metric[];
  /** Sources that failed during this phase (their metrics are absent). */
  failures: SourceFailure[];
}

/** One execution of the program. */
export interface RunResult {
  /** 0-based iteration index. */
  index: number;
  /** Exit code, or 128 + N when killed by signal N. */
  exitCode: number;
  /** Name of the signal that killed the program, or `null`. */
  signal: string | null;
  /** `true` when the profiler was interrupted during this run. */
  interrupted: boolean;
  /** `CLOCK_MONOTONIC` time of START, ns. */
  startNs: bigint;
  /** `CLOCK_MONOTONIC` time of END, ns. */
  endNs: bigint;
  /** Wall-clock start, milliseconds since the Unix epoch. */
  timestamp: number;
  /** START to END, milliseconds. */
  durationMs: number;
  /** Phases in order; at least one (`START -> END`). */
  phases: PhaseResult[];
  /**
   * With sampling on (`sampleIntervalMs`): every sampled series of this
   * run (power per domain in W, the program's CPU in % and RSS in MiB),
   * stamped with the clock of `startNs`/`endNs`.
   */
  samples?: SampleSeries[];
  /** With sampling on: how the schedule went. */
  sampling?: SamplingSummary;
}

/**
 * How sampling went during one run.
 *
 * @example Usage
 * ```ts
 * import type { SamplingSummary } from "./result.ts";
 * const summary: SamplingSummary = { intervalMs: 10, ticks: 199, missed: 1 };
 * ```
 */
export interface SamplingSummary {
  /** Milliseconds between deadlines. */
  intervalMs: number;
  /** Scheduled samples taken (besides the ones at START and END). */
  ticks: number;
  /** Deadlines skipped because the profiler was busy or woke too late. */
  missed: number;
}

/** Result of {@linkcode JouleProfiler.profile}. */
export interface ProfileResult {
  /** The command as given (argv). */
  command: string[];
  /** The token pattern used. */
  tokenPattern: string;
  /** Exit code the CLI ends with: the first non-zero one among the runs, else 0. */
  exitCode: number;
  /** Sum of the runs' durations, milliseconds. */
  durationMs: number;
  /** `true` when the profile was interrupted (Ctrl-C, SIGTERM, abort). */
  interrupted: boolean;
  /**
   * Why the profile stopped before its planned runs, when a `--prepare` or
   * `--cleanup` hook failed (the completed runs are kept); the CLI then
   * exits 125 after writing the results.
   */
  stoppedBy?: string;
  /** Every run, in order. */
  runs: RunResult[];
  /** The command's label in a multi-command profile (`--command-name`). */
  name?: string;
  /** The parameter values of this command in a parameter scan (`{ N: "4" }`). */
  parameters?: Record<string, string>;
  /** Warm-up runs executed before `runs` and discarded. */
  warmupRuns?: number;
  /** The machine at rest, measured before the runs (`--idle`). */
  idle?: IdleBaseline;
  /** The conversion behind the carbon metrics (`--carbon-intensity`, `--pue`). */
  carbon?: CarbonSettings;
  /**
   * Where this task ran, when a launcher (Slurm, Open MPI, MPICH) started
   * it: job, node, ranks, whether it read the node's machine-wide sources.
   */
  placement?: TaskPlacement;
  /**
   * A job result made by `merge` from per-task results: the nodes, their
   * ranks and per-node metrics. Its phases' `startNs`/`endNs` are then
   * wall-clock times (ns since the Unix epoch), not monotonic ones.
   */
  job?: JobSummary;
  /**
   * Every source that was asked for or is on by default, whether it
   * measured, and if not, why: "not measured" is then told apart from
   * "nothing to report".
   */
  sources?: SourceStatus[];
}

/**
 * A source of a profile and whether it measured.
 *
 * @example A default source this machine lacks
 * ```ts
 * import type { SourceStatus } from "./result.ts";
 * const status: SourceStatus = {
 *   name: "RAPL",
 *   origin: "default",
 *   active: false,
 *   reason: "powercap: no RAPL zones under /sys/devices/virtual/powercap/intel-rapl",
 * };
 * ```
 */
export interface SourceStatus {
  /** Source name, as in metrics (e.g. `RAPL (Powercap)`), or the family (`RAPL`) when none opened. */
  name: string;
  /** `requested`: a flag or the caller asked for it; `default`: on unless it cannot work. */
  origin: "requested" | "default";
  /** Whether it measured the runs. */
  active: boolean;
  /** Why it did not (the words `doctor` uses). */
  reason?: string;
}

/**
 * Nanoseconds between two monotonic times as milliseconds.
 *
 * @param startNs Start, ns.
 * @param endNs End, ns.
 * @returns Milliseconds, exact to 1 ns for any realistic duration.
 *
 * @example Usage
 * ```ts
 * import { spanMs } from "./result.ts";
 * console.log(spanMs(1_000n, 2_501_000n)); // 2.5
 * ```
 */
export function spanMs(startNs: bigint, endNs: bigint): number {
  return Number(endNs - startNs) / 1e6;
}

/**
 * Builds the phases of a run from its boundaries (START, tokens..., END)
 * and the per-phase metrics: phase `i` spans boundaries `i` and `i + 1`.
 *
 * Past {@linkcode COMPACT_AFTER_PHASES} phases, their metrics are kept in a
 * compact store and `metrics` is built when read (see
 * `phase/compact_metrics.ts`); with `metrics` given as a function, each
 * phase's metrics are then converted and stored one phase at a time.
 *
 * @param boundaries The run's boundaries.
 * @param metrics Metrics per phase, one entry per window (or the function that converts one).
 * @param anchor Maps monotonic times to epoch timestamps.
 * @param options `compactAfter`: phases past which metrics are stored compactly.
 * @returns The phases in order.
 *
 * @example Usage
 * ```ts
 * import { buildPhases } from "./result.ts";
 * import { BoundaryLog } from "./phase/boundary_log.ts";
 * import { ClockAnchor } from "./clock.ts";
 * const log = new BoundaryLog();
 * log.record("START", -1);
 * log.record("END", -1);
 * const phases = buildPhases(log, [{ metrics: [], failures: [] }], ClockAnchor.now());
 * console.log(phases[0]!.name); // "START -> END"
 * ```
 */
export function buildPhases(
  boundaries: BoundaryLog,
  metrics: readonly PhaseMetrics[] | ((phase: number) => PhaseMetrics | undefined),
  anchor: ClockAnchor,
  options: { compactAfter?: number } = {},
): PhaseResult[] {
  const phases: PhaseResult[] = [];
  const metricsAt = typeof metrics === "function" ? metrics : (i: number) => metrics[i];
  const count = Math.max(0, boundaries.count - 1);
  const store = count > (options.compactAfter ?? COMPACT_AFTER_PHASES)
    ? new CompactMetrics(count)
    : undefined;
  // One name string per pair of tokens, not per phase: a million "__A__ -> __A__"
  // are one string. Bounded, so a program whose tokens never repeat costs no more.
  const names = new Map<string, string>();
  const nameOf = (start: string, end: string): string => {
    const name = `${start} -> ${end}`;
    const known = names.get(name);
    if (known !== undefined) return known;
    if (names.size < NAME_CACHE_SIZE) names.set(name, name);
    return name;
  };
  let startNs = boundaries.count > 0 ? boundaries.nsAt(0) : 0n;
  for (let i = 0; i + 1 < boundaries.count; i++) {
    // Consecutive phases share their boundary's bigint: one allocation per boundary.
    const endNs = boundaries.nsAt(i + 1);
    const startToken = boundaries.tokenAt(i);
    const endToken = boundaries.tokenAt(i + 1);
    const converted = metricsAt(i);
    const phaseMetrics = withAveragePower(nonEmpty(converted?.metrics), endNs - startNs);
    const phase = {
      index: i,
      name: nameOf(startToken, endToken),
      startToken,
      endToken,
      startNs,
      endNs,
      timestamp: anchor.toEpochMs(startNs),
      durationMs: spanMs(startNs, endNs),
    } as PhaseResult;
    if (store === undefined) {
      phase.metrics = phaseMetrics;
    } else {
      store.write(i, phaseMetrics);
      attachMetrics(phase, store, i);
    }
    phase.failures = nonEmpty(converted?.failures);
    const startLine = boundaries.lineAt(i);
    const endLine = boundaries.lineAt(i + 1);
    if (startLine !== undefined) phase.startLine = startLine;
    if (endLine !== undefined) phase.endLine = endLine;
    phases.push(phase);
    startNs = endNs;
  }
  return phases;
}

/**
 * One shared empty list for the (many) phases without metrics or failures:
 * 100,000 phases would otherwise carry 200,000 empty arrays.
 */
const EMPTY: never[] = Object.freeze([]) as unknown as never[];

/**
 * Phases per run past which their metrics are stored compactly (numbers in
 * typed arrays, `metrics` built when read): this keeps 100,000 phases with
 * 40 metrics each near 40 MB instead of 800 MB.
 */
export const COMPACT_AFTER_PHASES = 1_000;

/** Distinct phase names shared by {@linkcode buildPhases} (beyond them, each phase has its own). */
const NAME_CACHE_SIZE = 4096;

function nonEmpty<T>(list: T[] | undefined): T[] {
  return list === undefined || list.length === 0 ? EMPTY : list;
}

/**
 * Adds `details.average_power_w` (energy ÷ phase duration) and
 * `details.method` (`measured` unless the source set `attributed` or
 * `estimated`) to every energy metric (units µJ, mJ, J) of a phase.
 *
 * @param metrics A phase's metrics.
 * @param durationNs The phase's duration.
 * @returns The same metrics, energy ones with their average power.
 *
 * @example Usage
 * ```ts
 * import { withAveragePower } from "./result.ts";
 * const [metric] = withAveragePower(
 *   [{ name: "PACKAGE-0", value: 2_000_000, unit: "µJ", source: "RAPL (Powercap)" }],
 *   1_000_000_000n,
 * );
 * console.log(metric!.details); // { average_power_w: 2, method: "measured" }
 * ```
 */
export function withAveragePower(metrics: Metric[], durationNs: bigint): Metric[] {
  const seconds = Number(durationNs) / 1e9;
  for (const metric of metrics) {
    const perUnit = joulesPerUnit(metric.unit);
    if (perUnit === undefined) continue;
    // Every energy value says how it was obtained; a source's own energy is a measurement
    // unless it says otherwise (`attributed`, `estimated`).
    const method = metric.details?.method ?? "measured";
    if (durationNs <= 0n) {
      metric.details = { ...metric.details, method };
      continue;
    }
    const watts = Math.round(metric.value * perUnit / seconds * 1e6) / 1e6;
    metric.details = { ...metric.details, average_power_w: watts, method };
  }
  return metrics;
}
