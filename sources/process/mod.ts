/**
 * The `process` source: CPU time, context switches, page faults, I/O and
 * memory peaks of the profiled program and all its descendants.
 *
 * @module
 */

export {
  PROCESS_METRIC_NAMES,
  PROCESS_SOURCE,
  ProcessSource,
  type ProcessSourceOptions,
} from "./process_source.ts";
export { FIELD, FIELD_COUNT, ProcessTree, type ProcessTreeOptions } from "./process_tree.ts";
export { CgroupCounters, type CgroupReading } from "./cgroup_counters.ts";
