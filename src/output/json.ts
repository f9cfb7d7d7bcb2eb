/**
 * JSON output, in the reference tool's schema plus exact boundary times.
 *
 * @module
 */

import type { PhaseResult, ProfileResult, RunResult } from "../result.ts";
import type { TaskPlacement } from "../cluster/placement.ts";
import type { JobSummary, NodePhase, NodeSummary } from "../cluster/job_summary.ts";
import type { Sensor } from "../source.ts";
import type { Description } from "../stats/descriptive.ts";
import { type IdleBaseline, phaseStatistics } from "../stats/phase_statistics.ts";
import { runTotals, totalsStatistics } from "../stats/run_totals.ts";
import { readPhaseMetrics } from "../phase/compact_metrics.ts";

/**
 * A list whose elements are built when serialised, one at a time: a long
 * run's phases are never all converted to JSON objects at once.
 */
class LazyList<T> {
  constructor(readonly length: number, readonly at: (index: number) => T) {}
}

/** Milliseconds rounded to the nanosecond, so floats print cleanly. */
function ms(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

/**
 * A phase's document. `exactNs` gives its `_ns` fields: bigints in the plain
 * document, already-serialised integers (`JSON.rawJSON`) in the one built
 * only to be written, so that its phases need no replacer (see
 * {@linkcode plainItemsJson}).
 */
function phaseDocument(
  phase: PhaseResult,
  exactNs: (ns: bigint) => unknown = (ns) => ns,
): Record<string, unknown> {
  const document: Record<string, unknown> = {
    index: phase.index,
    start_token: phase.startToken,
    end_token: phase.endToken,
  };
  if (phase.startLine !== undefined) document.start_token_line = phase.startLine;
  if (phase.endLine !== undefined) document.end_token_line = phase.endLine;
  document.timestamp = phase.timestamp;
  document.duration_ms = ms(phase.durationMs);
  document.start_ns = exactNs(phase.startNs);
  document.end_ns = exactNs(phase.endNs);
  // Both tokens came in one read: one reading served both ends (README, "Phases").
  if (phase.startNs === phase.endNs && phase.index > 0) document.shared_reading = true;
  // Read once and not kept: a long run's phases are written without piling up garbage.
  document.metrics = readPhaseMetrics(phase).map((metric) => {
    const entry: Record<string, unknown> = {
      name: metric.name,
      value: metric.value,
      unit: metric.unit,
      source: metric.source,
    };
    if (metric.details !== undefined) entry.details = metric.details;
    return entry;
  });
  if (phase.failures.length > 0) document.failures = phase.failures;
  return document;
}

function phaseList(phases: readonly PhaseResult[], lazy: boolean): unknown {
  return lazy
    ? new LazyList(phases.length, (index) => phaseDocument(phases[index]!, rawNs))
    : phases.map((phase) => phaseDocument(phase));
}

function runDocument(run: RunResult, lazy = false): Record<string, unknown> {
  const document: Record<string, unknown> = {
    index: run.index,
    timestamp: run.timestamp,
    duration_ms: ms(run.durationMs),
    start_ns: run.startNs,
    end_ns: run.endNs,
    exit_code: run.exitCode,
    signal: run.signal,
    phases: phaseList(run.phases, lazy),
  };
  addSamples(document, run);
  return document;
}

/**
 * Adds `sampling` and `samples` when the run was sampled: one entry per
 * series with `time_ms` (since the run's START, to the µs) and `values`.
 */
function addSamples(document: Record<string, unknown>, run: RunResult): void {
  if (run.samples === undefined) return;
  if (run.sampling !== undefined) {
    document.sampling = {
      interval_ms: run.sampling.intervalMs,
      ticks: run.sampling.ticks,
      missed: run.sampling.missed,
    };
  }
  const origin = Number(run.startNs);
  document.samples = run.samples.map((series) => ({
    name: series.name,
    unit: series.unit,
    source: series.source,
    ...(series.scope === undefined ? {} : { scope: series.scope }),
    ...(series.node === undefined ? {} : { node: series.node }),
    ...(series.rank === undefined ? {} : { rank: series.rank }),
    ...(series.every === undefined ? {} : { every: series.every }),
    time_ms: Array.from(series.timesNs, (ns) => Math.round((ns - origin) / 1e3) / 1e3),
    values: Array.from(series.values, (value) => Math.round(value * 1e4) / 1e4),
  }));
}

/**
 * The JSON document of a result, as a plain object (bigints for `_ns`).
 *
 * One run gives the reference layout (`command`, `token_pattern`,
 * `exit_code`, `phases`) plus `signal`, `duration_ms`, `start_ns`,
 * `end_ns`; several runs give `nb_iterations` and `iterations[]`, each
 * with its own index, exit code, duration and phases. A sampled run adds
 * `sampling` (`interval_ms`, `ticks`, `missed`) and `samples` (per series:
 * `name`, `unit`, `source`, `scope` of a machine-wide source's, `node` and
 * `rank` in a merged job, `every` when thinned to `--max-samples` (one
 * sample kept in that many), `time_ms` since START, `values`). Every layout
 * has `totals` (the whole run's duration and energy per sensor, summed
 * over phases; with iterations, their mean, σ and range per run) and, when
 * the result records them, `sources` (`name`, `origin`, `active`,
 * `reason`).
 *
 * @param result A profile result.
 * @param forceIterations Use the iterations layout even for one run.
 * @returns The document.
 *
 * @example Usage
 * ```ts
 * import { toJsonDocument } from "./json.ts";
 * const doc = toJsonDocument({
 *   command: ["true"], tokenPattern: "__X__", exitCode: 0, durationMs: 1,
 *   interrupted: false, runs: [],
 * });
 * console.log(doc.command); // "true"
 * ```
 */
export function toJsonDocument(
  result: ProfileResult,
  forceIterations = false,
): Record<string, unknown> {
  return buildDocument(result, forceIterations, false);
}

function buildDocument(
  result: ProfileResult,
  forceIterations: boolean,
  lazy: boolean,
): Record<string, unknown> {
  const document: Record<string, unknown> = {};
  if (result.name !== undefined) document.name = result.name;
  if (result.parameters !== undefined) document.parameters = { ...result.parameters };
  document.command = result.command.join(" ");
  document.token_pattern = result.tokenPattern;
  document.exit_code = result.exitCode;
  if (result.sources !== undefined) document.sources = sourcesDocument(result);
  if (result.placement !== undefined) document.placement = placementDocument(result.placement);
  if (result.idle !== undefined) document.idle = idleDocument(result.idle);
  if (result.carbon !== undefined) {
    document.carbon = {
      intensity_g_per_kwh: result.carbon.intensityGPerKwh,
      pue: result.carbon.pue ?? 1,
      unit: "gCO2e",
    };
  }
  const only = result.runs[0];
  if (result.runs.length === 1 && only !== undefined && !forceIterations) {
    document.totals = singleTotalsDocument(only);
    document.signal = only.signal;
    document.duration_ms = ms(only.durationMs);
    document.start_ns = only.startNs;
    document.end_ns = only.endNs;
    document.timestamp = only.timestamp;
    if (result.interrupted) document.interrupted = true;
    if (result.warmupRuns !== undefined) document.warmup_runs = result.warmupRuns;
    document.phases = phaseList(only.phases, lazy);
    addSamples(document, only);
    if (result.idle !== undefined) document.statistics = statisticsDocument(result);
    if (result.job !== undefined) document.job = jobDocument(result.job, lazy);
    return document;
  }
  document.duration_ms = ms(result.durationMs);
  if (result.interrupted) document.interrupted = true;
  if (result.warmupRuns !== undefined) document.warmup_runs = result.warmupRuns;
  document.nb_iterations = result.runs.length;
  const totals = totalsDocument(result);
  if (totals !== undefined) document.totals = totals;
  document.iterations = result.runs.map((run) => runDocument(run, lazy));
  document.statistics = statisticsDocument(result);
  if (result.job !== undefined) document.job = jobDocument(result.job, lazy);
  return document;
}

/** `sources`: each source asked for or on by default, whether it measured, and why not. */
function sourcesDocument(result: ProfileResult): unknown[] {
  return (result.sources ?? []).map((status) => ({
    name: status.name,
    origin: status.origin,
    active: status.active,
    ...(status.reason === undefined ? {} : { reason: status.reason }),
  }));
}

/** `totals` of one run: its duration and energy per sensor (raw units), summed over phases. */
function singleTotalsDocument(run: RunResult): Record<string, unknown> {
  const totals = runTotals(run);
  return {
    duration_ms: ms(totals.durationMs),
    energy: totals.energy.map((entry) => ({
      name: entry.name,
      source: entry.source,
      unit: entry.unit,
      value: entry.value,
      ...(entry.total === undefined ? {} : { total: entry.total }),
      ...(entry.notUpdating ? { not_updating: true } : {}),
    })),
  };
}

/** `totals` across iterations: per run, each figure's mean, σ, median, range and 95 % CI. */
function totalsDocument(result: ProfileResult): Record<string, unknown> | undefined {
  const totals = totalsStatistics(result);
  if (totals === undefined) return undefined;
  const runs = result.runs.map((run) => run.index);
  return {
    iterations: totals.runs,
    duration_ms: descriptionDocument(totals.durationMs, runs),
    energy: totals.energy.map((entry) => ({
      name: entry.name,
      source: entry.source,
      unit: entry.unit,
      ...(entry.total === undefined ? {} : { total: entry.total }),
      ...(entry.notUpdating ? { not_updating: true } : {}),
      value: descriptionDocument(entry.value, runs),
    })),
  };
}

/** `placement`: where a task of a Slurm or MPI job ran (see `TaskPlacement`). */
function placementDocument(placement: TaskPlacement): Record<string, unknown> {
  const document: Record<string, unknown> = { launcher: placement.launcher };
  if (placement.jobId !== undefined) document.job_id = placement.jobId;
  document.node = placement.node;
  document.hostname = placement.hostname;
  document.rank = placement.rank;
  document.local_rank = placement.localRank;
  if (placement.nodeId !== undefined) document.node_id = placement.nodeId;
  document.tasks = placement.tasks;
  if (placement.localTasks !== undefined) document.local_tasks = placement.localTasks;
  document.pid = placement.pid;
  document.node_leader = placement.nodeLeader;
  document.leader_local_rank = placement.leaderLocalRank;
  document.left_to_leader = placement.leftToLeader;
  document.clock_anchor = {
    monotonic_ns: placement.clockAnchor.monotonicNs,
    realtime_ns: placement.clockAnchor.realtimeNs,
  };
  return document;
}

/**
 * `job`: the per-node breakdown of a merged result. Node phases carry
 * wall-clock `start_ns`/`end_ns` (ns since the Unix epoch), like the
 * merged phases.
 */
function jobDocument(job: JobSummary, lazy: boolean): Record<string, unknown> {
  const node = (summary: NodeSummary): Record<string, unknown> => {
    const document: Record<string, unknown> = { node: summary.node };
    if (summary.jobId !== undefined) document.job_id = summary.jobId;
    document.ranks = summary.ranks;
    if (summary.leaderRank !== undefined) document.leader_rank = summary.leaderRank;
    document.measured = summary.measured;
    const phases = (run: NodePhase[]) =>
      lazy
        ? new LazyList(run.length, (i) => nodePhaseDocument(run[i]!, i, rawNs))
        : run.map((phase, i) => nodePhaseDocument(phase, i));
    if (summary.runs.length === 1) document.phases = phases(summary.runs[0]!);
    else document.iterations = summary.runs.map((run) => ({ phases: phases(run) }));
    return document;
  };
  return {
    launcher: job.launcher,
    job_ids: job.jobIds,
    tasks: job.tasks,
    files: job.files,
    missing_ranks: job.missingRanks,
    clock: "realtime",
    nodes: lazy ? new LazyList(job.nodes.length, (i) => node(job.nodes[i]!)) : job.nodes.map(node),
  };
}

/** A node's phase; `exactNs` as for {@linkcode phaseDocument}. */
function nodePhaseDocument(
  phase: NodePhase,
  index: number,
  exactNs: (ns: bigint) => unknown = (ns) => ns,
): Record<string, unknown> {
  return {
    index,
    start_ns: exactNs(phase.startNs),
    end_ns: exactNs(phase.endNs),
    duration_ms: ms(phase.durationMs),
    metrics: phase.metrics.map((metric) => {
      const entry: Record<string, unknown> = {
        name: metric.name,
        value: metric.value,
        unit: metric.unit,
        source: metric.source,
      };
      if (metric.details !== undefined) entry.details = metric.details;
      return entry;
    }),
  };
}

function idleDocument(idle: IdleBaseline): Record<string, unknown> {
  return {
    duration_ms: ms(idle.durationMs),
    windows: idle.windows,
    power: idle.power.map((power) => ({
      name: power.name,
      source: power.source,
      mean_w: power.meanW,
      stddev_w: power.stddevW,
      windows: power.n,
    })),
  };
}

function descriptionDocument(description: Description, runs: readonly number[]) {
  return {
    n: description.n,
    mean: description.mean,
    stddev: description.stddev,
    median: description.median,
    min: description.min,
    max: description.max,
    ci95: description.ci95,
    outlier_iterations: description.outliers.map((index) => runs[index]!),
  };
}

/**
 * Per phase, across iterations: duration and every metric's mean, standard
 * deviation, median, range, 95 % interval and outlier iterations; energy
 * metrics also get average power (W) and, with an idle baseline, the
 * energy above idle.
 */
function statisticsDocument(result: ProfileResult): unknown[] {
  return phaseStatistics(result, result.idle).map((phase) => ({
    index: phase.index,
    name: phase.name,
    iterations: phase.runs.length,
    duration_ms: descriptionDocument(phase.durationMs, phase.runs),
    metrics: phase.metrics.map((metric) => {
      const entry: Record<string, unknown> = {
        name: metric.name,
        unit: metric.unit,
        source: metric.source,
        value: descriptionDocument(metric.value, phase.runs),
      };
      if (metric.averagePowerW !== undefined) {
        entry.average_power_w = descriptionDocument(metric.averagePowerW, phase.runs);
      }
      if (metric.aboveIdle !== undefined) {
        entry.above_idle = { mean: metric.aboveIdle.mean, ci95: metric.aboveIdle.ci95 };
      }
      return entry;
    }),
  }));
}

/**
 * The JSON text of a multi-command profile: `commands[]` (each in the
 * iterations layout, with its `name`) and `comparisons[]` (every command
 * against the first).
 *
 * @param results One result per command, the baseline first.
 * @param comparisons The comparisons' documents.
 * @returns Pieces of JSON text; joined, they end with a newline.
 *
 * @example Usage
 * ```ts
 * import { multiJsonChunks } from "./json.ts";
 * console.log([...multiJsonChunks([], [])].join("")); // {"commands": [], ...}
 * ```
 */
export function* multiJsonChunks(
  results: readonly ProfileResult[],
  comparisons: readonly Record<string, unknown>[],
): Generator<string> {
  const document = {
    commands: new LazyList(results.length, (index) => buildDocument(results[index]!, true, true)),
    comparisons,
  };
  yield* prettyJsonChunks(document, "");
  yield "\n";
}

/**
 * Serialises a result as pretty JSON; nanosecond times are written as exact
 * integers (no float rounding).
 *
 * @param result A profile result.
 * @param forceIterations Use the iterations layout even for one run.
 * @returns JSON text ending with a newline.
 *
 * @example Usage
 * ```ts
 * import { formatJson } from "./json.ts";
 * const text = formatJson({
 *   command: ["true"], tokenPattern: "__X__", exitCode: 0, durationMs: 1,
 *   interrupted: false, runs: [],
 * });
 * ```
 */
export function formatJson(result: ProfileResult, forceIterations = false): string {
  return [...jsonChunks(result, forceIterations)].join("");
}

/**
 * The same text as {@linkcode formatJson}, in pieces: long arrays (the
 * phases of a 100,000-phase run) are serialised one element at a time, so
 * writing a large result never holds the whole text in memory.
 *
 * @param result A profile result.
 * @param forceIterations Use the iterations layout even for one run.
 * @returns Pieces of JSON text; joined, they end with a newline.
 *
 * @example Usage
 * ```ts
 * import { jsonChunks } from "./json.ts";
 * const result = {
 *   command: ["true"], tokenPattern: "__X__", exitCode: 0, durationMs: 1,
 *   interrupted: false, runs: [],
 * };
 * for (const piece of jsonChunks(result)) console.log(piece);
 * ```
 */
export function* jsonChunks(result: ProfileResult, forceIterations = false): Generator<string> {
  yield* prettyJsonChunks(buildDocument(result, forceIterations, true), "");
  yield "\n";
}

/**
 * Any JSON value as pretty JSON (2-space indent) in pieces: long arrays
 * are written element by element, so a large document is never one string.
 *
 * @param value The value (bigints are written as exact integers).
 * @returns Pieces that, joined, equal `JSON.stringify(value, null, 2)` plus a newline.
 *
 * @example Usage
 * ```ts
 * import { jsonValueChunks } from "./json.ts";
 * console.log([...jsonValueChunks({ a: [1, 2] })].join(""));
 * ```
 */
export function* jsonValueChunks(value: unknown): Generator<string> {
  yield* prettyJsonChunks(value, "");
  yield "\n";
}

/** Arrays longer than this are written element by element. */
const STREAMED_ARRAY_LENGTH = 64;

/**
 * Pretty JSON (2-space indent, bigints as exact integers) in pieces, equal
 * to `JSON.stringify(value, …, 2)` once joined.
 */
function* prettyJsonChunks(value: unknown, indent: string): Generator<string> {
  if (value instanceof LazyList && value.length === 0) {
    yield "[]";
    return;
  }
  if (
    value instanceof LazyList ||
    (Array.isArray(value) && (value.length > STREAMED_ARRAY_LENGTH || hasLongArray(value)))
  ) {
    const inner = `${indent}  `;
    if (
      Array.isArray(value) && value.length > 0 && inner.length <= 10 &&
      value.every((item) => typeof item === "number")
    ) {
      yield* numberArrayChunks(value, indent);
      return;
    }
    const at = value instanceof LazyList ? value.at : (index: number) => value[index];
    yield "[\n";
    // Scalars (a sample series' times and values) go out in batches: a piece per
    // number cost about 1.5 µs each to make and write, 20 ms for 300 samples.
    let batch = "";
    for (let i = 0; i < value.length; i++) {
      const item = at(i);
      const separator = i + 1 < value.length ? ",\n" : "\n";
      const scalar = scalarJson(item);
      if (scalar !== undefined) {
        batch += inner + scalar + separator;
        if (batch.length >= SCALAR_BATCH_CHARS) {
          yield batch;
          batch = "";
        }
        continue;
      }
      if (batch !== "") {
        yield batch;
        batch = "";
      }
      // An object without a long array (a run's phase): one piece, at its indent already.
      if (!(item instanceof LazyList) && !hasLongArray(item as object)) {
        yield plainItemJson(item, inner) + separator;
        continue;
      }
      yield inner;
      yield* prettyJsonChunks(item, inner);
      yield separator;
    }
    if (batch !== "") yield batch;
    yield `${indent}]`;
    return;
  }
  if (value !== null && typeof value === "object" && !Array.isArray(value) && hasLongArray(value)) {
    const entries = Object.entries(value).filter(([, item]) => item !== undefined);
    const inner = `${indent}  `;
    yield "{\n";
    for (let i = 0; i < entries.length; i++) {
      const [key, item] = entries[i]!;
      yield `${inner}${JSON.stringify(key)}: `;
      yield* prettyJsonChunks(item, inner);
      yield i + 1 < entries.length ? ",\n" : "\n";
    }
    yield `${indent}}`;
    return;
  }
  const text = stringify(value);
  yield indent === "" ? text : text.replaceAll("\n", `\n${indent}`);
}

/**
 * An array element (an object or array without a long array inside) as
 * pretty JSON at `inner`'s indent, `inner` included: what writing it alone
 * and indenting its lines would give, in one call of the runtime's
 * `JSON.stringify` on the element nested as deep as `inner` (each level
 * adds two spaces), the nesting's lines cut off. Without a replacer where
 * it holds no bigint: a replacer function takes V8 off its fast path, and
 * with it and the indenting of each line afterwards a phase of 24 metrics
 * took 40 µs to write, against 25 µs this way.
 *
 * @param item The element.
 * @param inner Its indent: two spaces per level.
 * @returns Its text (its indent first), without a separator.
 */
function plainItemJson(item: unknown, inner: string): string {
  const levels = inner.length / 2;
  let nested: unknown = item;
  for (let level = 0; level < levels; level++) nested = [nested];
  let text: string;
  try {
    text = JSON.stringify(nested, null, 2);
  } catch (error) {
    // A bigint somewhere: the replacer writes it as an exact integer.
    if (!(error instanceof TypeError)) throw error;
    text = stringify(nested);
  }
  // "[\n  [\n    {…}\n  ]\n]" for an indent of 4: level k of the nesting takes a line of 2k + 2
  // characters at each end (its indent, a bracket, a newline): levels × (levels + 1) in all.
  const cut = levels * (levels + 1);
  return text.slice(cut, text.length - cut);
}

/** Numbers of an array serialised natively at a time: a piece stays under 4 KiB. */
const NUMBER_SLICE = 100;

/**
 * An array of numbers (a sample series' times or values), pretty, in a few
 * pieces: slices go through the runtime's own `JSON.stringify`, with the
 * elements' indent as its `space` (at most 10 characters), several times
 * faster than a piece per number (about 1.5 µs each: 20 ms for the series
 * of 300 samples).
 */
function* numberArrayChunks(numbers: readonly number[], indent: string): Generator<string> {
  yield "[";
  for (let start = 0; start < numbers.length; start += NUMBER_SLICE) {
    const text = JSON.stringify(numbers.slice(start, start + NUMBER_SLICE), null, `${indent}  `);
    // "[\n<inner>1,\n<inner>2\n]" → "\n<inner>1,\n<inner>2"; slices joined by a comma.
    yield start === 0 ? text.slice(1, -2) : `,${text.slice(1, -2)}`;
  }
  yield `\n${indent}]`;
}

/** Characters of scalar elements gathered before they are yielded as one piece (bounded). */
const SCALAR_BATCH_CHARS = 2048;

/**
 * An array element's JSON when it is a scalar (as `JSON.stringify` writes it
 * inside an array: `undefined` and non-finite numbers as `null`, bigints as
 * exact integers), or `undefined` for an object or array.
 */
function scalarJson(item: unknown): string | undefined {
  switch (typeof item) {
    case "number":
      return Number.isFinite(item) ? String(item) : "null";
    case "string":
      return JSON.stringify(item);
    case "boolean":
      return item ? "true" : "false";
    case "bigint":
      return item.toString();
    case "undefined":
      return "null";
    case "object":
      return item === null ? "null" : undefined;
    default:
      return undefined;
  }
}

/**
 * Whether an object or array holds, at any depth, an array worth streaming.
 * (Walked without `Object.values`, whose copy of every phase's and metric's
 * values was 7 % of a profile writing 17,000 phases.)
 */
function hasLongArray(value: object): boolean {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (isOrHoldsLongArray(value[i])) return true;
    return false;
  }
  for (const key in value) {
    if (Object.hasOwn(value, key) && isOrHoldsLongArray((value as Record<string, unknown>)[key])) {
      return true;
    }
  }
  return false;
}

function isOrHoldsLongArray(item: unknown): boolean {
  if (item === null || typeof item !== "object") return false;
  if (item instanceof LazyList) return true;
  if (Array.isArray(item) && item.length > STREAMED_ARRAY_LENGTH) return true;
  return hasLongArray(item);
}

/**
 * The `list-sensors` JSON: an array of `{name, unit, source}`, plus
 * `available` and `note` when the source reports them.
 *
 * @param sensors The sensors.
 * @returns JSON text ending with a newline.
 *
 * @example Usage
 * ```ts
 * import { formatSensorsJson } from "./json.ts";
 * console.log(formatSensorsJson([{ name: "PSYS", unit: "µJ", source: "RAPL (Powercap)" }]));
 * ```
 */
export function formatSensorsJson(sensors: readonly Sensor[]): string {
  const entries = sensors.map(({ name, unit, source, available, note }) => ({
    name,
    unit,
    source,
    ...(available === undefined ? {} : { available }),
    ...(note === undefined ? {} : { note }),
  }));
  return `${stringify(entries)}\n`;
}

/** `JSON.rawJSON` (ES2025, in V8) is not in TypeScript's lib yet. */
const rawJson = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;

/** A bigint as the exact integer `JSON.stringify` writes without a replacer. */
function rawNs(ns: bigint): unknown {
  return rawJson(ns.toString());
}

function stringify(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, item) => typeof item === "bigint" ? rawJson(item.toString()) : item,
    2,
  );
}
