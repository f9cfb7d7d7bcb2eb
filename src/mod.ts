/**
 * joule-profiler as a library: profile a command by phases with your own
 * metric sources.
 *
 * ```ts
 * import { JouleProfiler, type Source } from "./mod.ts";
 *
 * const profiler = new JouleProfiler();
 * // profiler.addSource(mySource);
 * const result = await profiler.profile({ command: ["sh", "-c", "echo __WORK__; sleep 0.1"] });
 * console.log(result.runs[0]!.phases.map((phase) => phase.name));
 * ```
 *
 * @module
 */

export {
  JouleProfiler,
  MIN_SAMPLE_INTERVAL_MS,
  type MultiProfileConfig,
  type NamedCommand,
  type ProfileConfig,
  type ProgressEvent,
  RunFailedError,
  type RunSettings,
} from "./profiler.ts";
export type { MaybePromise, Metric, SampleSeries, Sensor, Source, SourceScope } from "./source.ts";
export type {
  PhaseResult,
  ProfileResult,
  RunResult,
  SamplingSummary,
  SourceStatus,
} from "./result.ts";
export type { PhaseMetrics, SourceFailure } from "./orchestrator.ts";
export {
  CommandNotFoundError,
  EXIT_NOT_EXECUTABLE,
  EXIT_NOT_FOUND,
  EXIT_PROFILER_FAILURE,
  EXIT_USAGE,
  ProfilerError,
  SourceError,
  UsageError,
} from "./errors.ts";
export { Logger, type Verbosity } from "./logger.ts";
export { type ByteSink, type SyncWriter, WriterSink } from "./process/byte_sink.ts";
export { DEFAULT_TOKEN_PATTERN } from "./phase/token_pattern.ts";
export { type CsvOptions, formatCsv, formatSensorsCsv, neutralizeFormula } from "./output/csv.ts";
export { type InvokingUser, invokingUser } from "./process/invoking_user.ts";
export { allowedCpus, CpuPlacement, restrictToCpus } from "./process/cpu_placement.ts";
export { formatCpuList, parseCpuList } from "./process/cpu_list.ts";
export { formatJson, formatSensorsJson, toJsonDocument } from "./output/json.ts";
export {
  formatSensorsTerminal,
  formatTerminal,
  PHASE_LIST_LIMIT,
  terminalChunks,
  type TerminalOptions,
} from "./output/terminal.ts";
export {
  type EnergyTotal,
  type RunTotals,
  runTotals,
  type TotalsStatistics,
  totalsStatistics,
} from "./stats/run_totals.ts";
export { monotonicNs, realtimeNs } from "./clock.ts";
export { SnapshotStore } from "./snapshot_store.ts";
export {
  type AboveIdle,
  type IdleBaseline,
  type IdlePower,
  type MetricStatistics,
  type PhaseStatistics,
  phaseStatistics,
} from "./stats/phase_statistics.ts";
export { describe, type Description } from "./stats/descriptive.ts";
export { type Ratio, ratioOfMeans, type WelchResult, welchTest } from "./stats/student_t.ts";
export {
  type CompareOptions,
  compareResults,
  type Comparison,
  comparisonSentences,
  type MetricComparison,
  type PhaseComparison,
  type SampleSummary,
} from "./stats/comparison.ts";
export { parseResultFile } from "./output/json_reader.ts";
export { comparisonsMarkdown, resultsMarkdown } from "./output/markdown.ts";
export { DiscardSink } from "./process/byte_sink.ts";
export { ATTRIBUTED_SUFFIX, attributeEnergy } from "./energy_attribution.ts";
export {
  addDerivedMetrics,
  AVERAGE_POWER_SUFFIX,
  DERIVED_METHOD,
  DERIVED_SOURCE,
  derivedMetricsOf,
  type MissingDerivedMetric,
  missingDerivedMetrics,
} from "./derived_metrics.ts";
export {
  CGROUP_NAME_PREFIX,
  type CgroupFolder,
  type CgroupSignal,
  CgroupUnavailableError,
  ProgramCgroup,
  type ProgramCgroupOptions,
} from "./process/program_cgroup.ts";
export {
  type DomainModel,
  DURATION_FEATURE,
  type EnergyModel,
  featureKey,
  formatModelFile,
  MODEL_SCHEMA,
  MODEL_SCHEMA_VERSION,
  type ModelFeature,
  parseModelFile,
  readModelFile,
} from "./energy/energy_model.ts";
export {
  applyEstimators,
  checkEstimators,
  type EnergyEstimator,
  ESTIMATED,
} from "./energy/estimator.ts";
export {
  DEFAULT_FOLDS,
  DEFAULT_MIN_PHASE_MS,
  fitEnergyModel,
  type FitOptions,
  type FitReport,
  ModelFitError,
} from "./energy/model_fit.ts";
export { MODEL_ESTIMATE_SOURCE, ModelEstimator } from "./energy/model_estimator.ts";
export {
  parseTdp,
  TDP_ESTIMATE_SOURCE,
  TdpEstimator,
  tdpFraction,
  type TdpOptions,
} from "./energy/tdp_estimator.ts";
export {
  CALIBRATION_WORKLOADS,
  trainEnergyModel,
  type TrainOptions,
  type TrainReport,
} from "./energy/calibration.ts";
export { formatModelReport } from "./energy/model_report.ts";
export { type MachineIdentity, thisMachine } from "./energy/machine_identity.ts";
export {
  type Columns,
  leastSquares,
  nonNegativeLeastSquares,
  type QrSolution,
} from "./energy/least_squares.ts";
export {
  detectPlacement,
  type Environment,
  type Launcher,
  type Placement,
  type TaskPlacement,
  type WallClockAnchor,
} from "./cluster/placement.ts";
export { sourcesForTask, type TaskSources } from "./cluster/task_sources.ts";
export { TaskContext, type TaskContextOptions } from "./cluster/task_context.ts";
export {
  JobMerger,
  MergeError,
  type MergeOptions,
  mergeTaskFiles,
  mergeTaskResults,
} from "./cluster/merge.ts";
export type { JobSummary, NodePhase, NodeSummary } from "./cluster/job_summary.ts";
export { formatJobTerminal } from "./cluster/job_terminal.ts";
export {
  addCarbon,
  additiveEnergies,
  CARBON_SOURCE,
  CARBON_UNIT,
  carbonGrams,
  type CarbonSettings,
  energyMethod,
} from "./energy/carbon.ts";
export { type OpenMetricsOptions, openMetricsText } from "./output/openmetrics.ts";
export { PushError, pushMetrics, type PushTarget, pushUrl } from "./output/pushgateway.ts";
export {
  evaluateGate,
  EXIT_GATE_FAILED,
  type GateCheck,
  gateDocument,
  gateLines,
  type GateOptions,
  type GateReport,
  type GateVerdict,
} from "./stats/energy_gate.ts";
export { DESCENDANT_POLICIES, type DescendantPolicy } from "./process/program_reaper.ts";
export { DEFAULT_KILL_AFTER_SECONDS } from "./process/signal_relay.ts";
export {
  closeDebugSignal,
  closeEnvironmentInspector,
  debugSignalClosed,
} from "./process/debug_signal.ts";
export {
  type Interval,
  intervalJson,
  type IntervalValue,
  type LiveIntervalFormat,
  LiveIntervals,
  type LiveIntervalsOptions,
  MIN_LIVE_INTERVAL_MS,
  type SampleObserver,
} from "./live_intervals.ts";
export {
  type AttachedEnd,
  type AttachedRun,
  type AttachedRunOptions,
  measureAttached,
} from "./attach/attached_run.ts";
export { ProcessExitWatch } from "./attach/process_exit_watch.ts";
export {
  type AttachCheckOptions,
  type AttachTarget,
  checkAttachable,
  parsePidList,
} from "./attach/attach_target.ts";
export { PHASE_FD_ENV, PHASE_FIFO_ENV, PhaseChannel } from "./process/phase_channel.ts";
