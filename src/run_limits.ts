/**
 * The limits of a profile's settings, in one small module so the option
 * table can name them without loading the profiler.
 *
 * @module
 */

/**
 * Phases measured per run unless `maxPhases` says otherwise. Until the
 * results are written each phase costs about 0.5 KB with no energy source
 * (more with many metrics per phase), so this keeps the profiler under
 * 300 MB in JSON and CSV however many tokens a program prints (figures in
 * docs/PERFORMANCE.md); raise it for programs with more phases.
 */
export const DEFAULT_MAX_PHASES = 150_000;

/** The largest phase limit accepted: past it the boundary arrays alone outgrow memory. */
export const MAX_PHASES_LIMIT = 100_000_000;

/**
 * The largest values the run settings accept: beyond them a value is a
 * typo (a week of runs, an hour of idle), not a plan.
 */
export const RUN_SETTING_LIMITS = {
  /** `iterations`, `minRuns`, `warmup`. */
  maxRuns: 1_000_000,
  /** `minTimeSeconds`: 7 days. */
  maxMinTimeSeconds: 604_800,
  /** `idleSeconds`: 1 hour. */
  maxIdleSeconds: 3_600,
  /** `sampleIntervalMs`: 1 hour. */
  maxSampleIntervalMs: 3_600_000,
} as const;
