/**
 * The defaults and limits that `--help` quotes, in one module without
 * imports: the option table (`src/cli/option_table.ts`) renders them at
 * every `--help` and loads nothing else for them, while the code each
 * belongs to (the signal relay, the model fit, the live intervals, the
 * terminal output, the perf_event source, the token scanner, the run
 * limits) imports it from here. One module rather than one per default:
 * each module a start loads costs it about 0.15 ms (docs/PERFORMANCE.md,
 * `--help`).
 *
 * @module
 */

/** The default token pattern, as in the reference tool. */
export const DEFAULT_TOKEN_PATTERN = "__[A-Z0-9_]+__";

/**
 * Phases measured per run unless `maxPhases` says otherwise, with no
 * sensor (`defaultMaxPhases` in run_limits.ts gives fewer with sensors): until
 * the results are written each phase is kept in memory, so this keeps the
 * profiler under 300 MB in JSON and CSV however many tokens a program
 * prints (figures in docs/PERFORMANCE.md); raise it for programs with more
 * phases.
 */
export const DEFAULT_MAX_PHASES = 150_000;

/**
 * Samples each sampled series keeps at most unless `maxSamples` says
 * otherwise (`--max-samples`): past it, every other sample is dropped, so
 * memory stays bounded however long a run samples (100,000 samples are
 * about 17 minutes at 10 ms, 28 hours at 1 s).
 */
export const DEFAULT_MAX_SAMPLES = 100_000;

/** Default of `--kill-after`: seconds from the first signal to SIGKILL. */
export const DEFAULT_KILL_AFTER_SECONDS = 5;

/** Phases shorter than this (ms) are left out of a fit by default. */
export const DEFAULT_MIN_PHASE_MS = 10;
/** Default folds of the cross-validation. */
export const DEFAULT_FOLDS = 5;

/**
 * The shortest interval `-I` accepts, ms. Each interval is a sampling tick
 * and one line; the profiler's CPU grows as the interval shrinks (measured
 * in docs/PERFORMANCE.md), and below 10 ms Deno's ~1 ms timer lateness is
 * over a tenth of the interval, as `perf stat -I` also warns.
 */
export const MIN_LIVE_INTERVAL_MS = 10;

/**
 * Runs with more phases than this are shown in the terminal as one table
 * per phase name (count, total and mean of every figure), unless
 * `allPhases` is set (`--all-phases`).
 */
export const PHASE_LIST_LIMIT = 50;

/**
 * The events `--perf` counts when `--perf-events` is not given.
 *
 * @example Usage
 * ```ts
 * import { DEFAULT_PERF_EVENTS } from "./setting_defaults.ts";
 * console.log(DEFAULT_PERF_EVENTS.length); // 8
 * ```
 */
export const DEFAULT_PERF_EVENTS: readonly string[] = [
  "CPU_CYCLES",
  "INSTRUCTIONS",
  "CACHE_MISSES",
  "BRANCH_MISSES",
  "TASK_CLOCK",
  "PAGE_FAULTS",
  "CONTEXT_SWITCHES",
  "CPU_MIGRATIONS",
];
