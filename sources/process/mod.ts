/**
 * The `process` source: CPU time, context switches, page faults, I/O and
 * memory peaks of the profiled program and all its descendants.
 *
 * @module
 */

export type { MaybePromise, Metric, SampleSeries, Sensor, Source } from "../../src/source.ts";
export { ProfilerError } from "../../src/errors.ts";
export {
  type CgroupFolder,
  type CgroupSignal,
  CgroupUnavailableError,
  ProgramCgroup,
  type ProgramCgroupOptions,
} from "../../src/process/program_cgroup.ts";
export {
  PROCESS_METRIC_NAMES,
  PROCESS_SOURCE,
  ProcessSource,
  type ProcessSourceOptions,
} from "./process_source.ts";
export { FIELD, FIELD_COUNT, ProcessTree, type ProcessTreeOptions } from "./process_tree.ts";
export { CgroupCounters, type CgroupReading } from "./cgroup_counters.ts";
