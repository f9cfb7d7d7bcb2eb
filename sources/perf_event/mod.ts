/**
 * The `perf_event` source: per-process hardware and software counters of
 * the profiled program and its descendants, per phase (`--perf`).
 *
 * ```ts
 * import { JouleProfiler } from "../../src/mod.ts";
 * import { parsePerfEventList, PerfEventSource } from "./mod.ts";
 *
 * const source = new PerfEventSource({ events: parsePerfEventList("task-clock,cs") });
 * const profiler = new JouleProfiler().addSource(source);
 * const result = await profiler.profile({ command: ["sleep", "0.1"] });
 * console.log(result.runs[0]!.phases[0]!.metrics);
 * ```
 *
 * @module
 */

export type { MaybePromise, Metric, Sensor, Source } from "../../src/source.ts";
export {
  DEFAULT_PERF_EVENTS,
  parsePerfEventList,
  PERF_EVENT_CATALOG,
  type PerfEventSpec,
  resolvePerfEvents,
} from "./event_catalog.ts";
export {
  PERF_EVENT_SOURCE_NAME,
  PerfEventSource,
  type PerfEventSourceOptions,
  scaleCount,
  type ScaledCount,
} from "./perf_event_source.ts";
