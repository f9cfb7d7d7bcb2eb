/**
 * The events `--perf` counts by default, in a module without imports: the
 * CLI's option table names them in `--help` without loading the perf_event
 * catalog and its FFI bindings (start-up is part of every run's cost).
 *
 * @module
 */

/**
 * The events `--perf` counts when `--perf-events` is not given.
 *
 * @example Usage
 * ```ts
 * import { DEFAULT_PERF_EVENTS } from "./default_events.ts";
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
