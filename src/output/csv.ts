/**
 * CSV output: `;`-separated, one row per metric per phase (per iteration),
 * quoted as RFC 4180 says.
 *
 * @module
 */

import type { ProfileResult, SourceStatus } from "../result.ts";
import type { Sensor } from "../source.ts";
import type { Comparison } from "../stats/comparison.ts";
import { readPhaseMetrics } from "../phase/compact_metrics.ts";
import { type CsvCell, csvRecords } from "./csv_records.ts";

/** The reference tool's columns, in order. */
export const CSV_COLUMNS = [
  "phase_id",
  "phase_name",
  "phase_duration_ms",
  "metric_name",
  "metric_value",
  "metric_unit",
  "metric_source",
  "start_token",
  "end_token",
  "start_line",
  "end_line",
  "timestamp",
  "command",
  "exit_code",
  "token_pattern",
  // Added after the reference tool's columns: measured, attributed or estimated (energy).
  "metric_method",
] as const;

/** Columns the reference tool always wraps in quotes; kept for byte-compatibility. */
const ALWAYS_QUOTED = new Set(["phase_name", "command", "token_pattern"]);

/** Options of the CSV writers. */
export interface CsvOptions {
  /**
   * Keep text cells that start with `=`, `+`, `-`, `@`, tab or carriage
   * return as they are. By default such cells get a leading `'` (OWASP's
   * advice against CSV injection) so spreadsheets show them instead of
   * executing them. Numbers are never changed.
   */
  rawCells?: boolean;
  /**
   * Add a first column `command_name` with this value (multi-command
   * profiles: one table, a block of rows per command).
   */
  commandName?: string;
  /** Write the header line (default `true`; `false` for a later command's rows). */
  header?: boolean;
}

/** First characters a spreadsheet treats as the start of a formula. */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * Neutralises a text cell a spreadsheet would execute (OWASP CSV injection).
 *
 * @param value A text cell.
 * @returns The value, with a leading `'` when it starts like a formula.
 *
 * @example Usage
 * ```ts
 * import { neutralizeFormula } from "./csv.ts";
 * console.log(neutralizeFormula("=HYPERLINK(1)")); // "'=HYPERLINK(1)"
 * ```
 */
export function neutralizeFormula(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

/** Formats rows, after the header line unless `withHeader` is false. */
function write(
  header: readonly string[],
  rows: CsvCell[][],
  options: CsvOptions = {},
  withHeader = true,
): string {
  const quoted = new Set(header.flatMap((name, i) => ALWAYS_QUOTED.has(name) ? [i] : []));
  const records = csvRecords(rows, {
    quoted,
    clean: options.rawCells ? undefined : neutralizeFormula,
  });
  // The header's names are written as they are.
  return withHeader ? csvRecords([header]) + records : records;
}

/**
 * Formats a result as CSV. With several runs (or `forceIterations`), an
 * `iteration_id` column comes first. A phase without metrics still gets one
 * row (empty metric cells) so its duration is never lost.
 *
 * @param result A profile result.
 * @param forceIterations Add `iteration_id` even for a single run.
 * @param options Formula neutralisation.
 * @returns CSV text with a header line.
 *
 * @example Usage
 * ```ts
 * import { formatCsv } from "./csv.ts";
 * const text = formatCsv({
 *   command: ["true"], tokenPattern: "__X__", exitCode: 0, durationMs: 1,
 *   interrupted: false, runs: [],
 * });
 * console.log(text.split("\n")[0]); // "phase_id;phase_name;..."
 * ```
 */
export function formatCsv(
  result: ProfileResult,
  forceIterations = false,
  options: CsvOptions = {},
): string {
  return [...csvChunks(result, forceIterations, options)].join("");
}

/** Rows are formatted in batches of this many, so a large result is never one string. */
const ROWS_PER_CHUNK = 64;

/**
 * The same text as {@linkcode formatCsv}, in pieces of a few hundred rows.
 *
 * @param result A profile result.
 * @param forceIterations Add `iteration_id` even for a single run.
 * @param options Formula neutralisation.
 * @returns Pieces of CSV text, header first.
 *
 * @example Usage
 * ```ts
 * import { csvChunks } from "./csv.ts";
 * const result = {
 *   command: ["true"], tokenPattern: "__X__", exitCode: 0, durationMs: 1,
 *   interrupted: false, runs: [],
 * };
 * for (const piece of csvChunks(result)) console.log(piece);
 * ```
 */
export function* csvChunks(
  result: ProfileResult,
  forceIterations = false,
  options: CsvOptions = {},
): Generator<string> {
  const iterating = forceIterations || result.runs.length > 1;
  const named = options.commandName !== undefined;
  // A parameter scan's values, one column each (`parameter_N`), after the command's name.
  const parameters = Object.entries(result.parameters ?? {});
  const header: string[] = [
    ...(named ? ["command_name"] : []),
    ...parameters.map(([name]) => `parameter_${name}`),
    ...(iterating ? ["iteration_id"] : []),
    ...CSV_COLUMNS,
  ];
  const command = result.command.join(" ");
  if (options.header ?? true) yield write(header, [], options);
  let rows: CsvCell[][] = [];
  for (const run of result.runs) {
    for (const phase of run.phases) {
      const common = (
        metric: [CsvCell, CsvCell, CsvCell, CsvCell],
        method: CsvCell = "",
      ): CsvCell[] => {
        const row: CsvCell[] = [
          phase.index,
          phase.name,
          Math.round(phase.durationMs * 1e6) / 1e6,
          ...metric,
          phase.startToken,
          phase.endToken,
          phase.startLine ?? "",
          phase.endLine ?? "",
          phase.timestamp,
          command,
          run.exitCode,
          result.tokenPattern,
          method,
        ];
        if (iterating) row.unshift(run.index);
        if (parameters.length > 0) row.unshift(...parameters.map(([, value]) => value));
        if (named) row.unshift(options.commandName!);
        return row;
      };
      // Read once and not kept: a long run's phases are written without piling up garbage.
      const metrics = readPhaseMetrics(phase);
      if (metrics.length === 0) rows.push(common(["", "", "", ""]));
      for (const metric of metrics) {
        const method = metric.details?.method;
        rows.push(
          common(
            [metric.name, metric.value, metric.unit, metric.source],
            typeof method === "string" ? method : "",
          ),
        );
      }
      if (rows.length >= ROWS_PER_CHUNK) {
        yield write(header, rows, options, false);
        rows = [];
      }
    }
  }
  if (rows.length > 0) yield write(header, rows, options, false);
}

/**
 * The `list-sensors` CSV: header `sensor;unit;source` (the reference
 * schema), one row per sensor that can be read; unavailable ones are left
 * out (the terminal and JSON outputs say why).
 *
 * @param sensors The sensors.
 * @param options Formula neutralisation.
 * @returns CSV text.
 *
 * @example Usage
 * ```ts
 * import { formatSensorsCsv } from "./csv.ts";
 * console.log(formatSensorsCsv([{ name: "PSYS", unit: "µJ", source: "RAPL (Powercap)" }]));
 * ```
 */
export function formatSensorsCsv(sensors: readonly Sensor[], options: CsvOptions = {}): string {
  return write(
    ["sensor", "unit", "source"],
    sensors.filter((sensor) => sensor.available !== false)
      .map((sensor) => [sensor.name, sensor.unit, sensor.source]),
    options,
  );
}

/** Columns of the `compare` CSV. */
const COMPARISON_COLUMNS = [
  "baseline",
  "candidate",
  "phase_id",
  "phase_name",
  "metric_name",
  "metric_unit",
  "metric_source",
  "baseline_n",
  "baseline_mean",
  "baseline_stddev",
  "candidate_n",
  "candidate_mean",
  "candidate_stddev",
  "ratio",
  "ratio_uncertainty",
  "p_value",
  "significant",
] as const;

/**
 * The `compare` CSV: one row per phase and metric of every comparison.
 *
 * @param comparisons Comparisons, each B against its A.
 * @param options Formula neutralisation.
 * @returns CSV text with a header line.
 *
 * @example Usage
 * ```ts
 * import { formatComparisonCsv } from "./csv.ts";
 * console.log(formatComparisonCsv([
 *   { baseline: "A", candidate: "B", alpha: 0.05, phases: [], unmatched: [] },
 * ]));
 * ```
 */
export function formatComparisonCsv(
  comparisons: readonly Comparison[],
  options: CsvOptions = {},
): string {
  return [...comparisonCsvChunks(comparisons, options)].join("");
}

/**
 * The same text as {@linkcode formatComparisonCsv}, in pieces of a few
 * hundred rows, so a large comparison is never one string.
 *
 * @param comparisons Comparisons, each B against its A.
 * @param options Formula neutralisation.
 * @returns Pieces of CSV text, header first.
 *
 * @example Usage
 * ```ts
 * import { comparisonCsvChunks } from "./csv.ts";
 * for (const piece of comparisonCsvChunks([])) console.log(piece);
 * ```
 */
export function* comparisonCsvChunks(
  comparisons: readonly Comparison[],
  options: CsvOptions = {},
): Generator<string> {
  yield write(COMPARISON_COLUMNS, [], options);
  let rows: CsvCell[][] = [];
  for (const comparison of comparisons) {
    for (const phase of comparison.phases) {
      for (const metric of phase.metrics) {
        rows.push([
          comparison.baseline,
          comparison.candidate,
          phase.index,
          phase.name,
          metric.name,
          metric.unit,
          metric.source,
          metric.baseline.n,
          metric.baseline.mean,
          metric.baseline.stddev,
          metric.candidate.n,
          metric.candidate.mean,
          metric.candidate.stddev,
          Number.isFinite(metric.ratio) ? metric.ratio : "",
          Number.isFinite(metric.ratioUncertainty) ? metric.ratioUncertainty : "",
          metric.pValue ?? "",
          String(metric.significant),
        ]);
        if (rows.length >= ROWS_PER_CHUNK) {
          yield write(COMPARISON_COLUMNS, rows, options, false);
          rows = [];
        }
      }
    }
  }
  if (rows.length > 0) yield write(COMPARISON_COLUMNS, rows, options, false);
}

/** The columns of the sources sidecar. */
export const SOURCES_CSV_COLUMNS = ["source", "origin", "active", "reason"] as const;

/**
 * The sources of a profile as CSV, for the sidecar written beside a CSV
 * results file (`data.csv` → `data.sources.csv`): one row per source asked
 * for or on by default, `active` `true`/`false`, and why not. The results
 * rows themselves stay exactly as they are.
 *
 * @param statuses The result's `sources`.
 * @param options Formula neutralisation.
 * @returns CSV text with a header line.
 *
 * @example Usage
 * ```ts
 * import { formatSourcesCsv } from "./csv.ts";
 * console.log(formatSourcesCsv([
 *   { name: "RAPL", origin: "default", active: false, reason: "no RAPL zones" },
 * ]));
 * // source;origin;active;reason
 * // RAPL;default;false;no RAPL zones
 * ```
 */
export function formatSourcesCsv(
  statuses: readonly SourceStatus[],
  options: CsvOptions = {},
): string {
  return write(
    SOURCES_CSV_COLUMNS,
    statuses.map((status) => [
      status.name,
      status.origin,
      String(status.active),
      status.reason ?? "",
    ]),
    options,
  );
}

/**
 * Where the sources sidecar of a CSV results file goes: `.csv` becomes
 * `.sources.csv`; other names get `.sources.csv` appended.
 *
 * @param path The results file.
 * @returns The sidecar's path.
 *
 * @example Usage
 * ```ts
 * import { sourcesSidecarPath } from "./csv.ts";
 * console.log(sourcesSidecarPath("runs/data.csv")); // "runs/data.sources.csv"
 * ```
 */
export function sourcesSidecarPath(path: string): string {
  return /\.csv$/i.test(path) ? path.replace(/\.csv$/i, ".sources.csv") : `${path}.sources.csv`;
}

/** The columns of the per-node sidecar of a merged job result. */
export const NODES_CSV_COLUMNS = [
  "node",
  "job_id",
  "ranks",
  "leader_rank",
  "measured",
  "iteration_id",
  "phase_id",
  "phase_name",
  "phase_duration_ms",
  "metric_name",
  "metric_value",
  "metric_unit",
  "metric_source",
  "metric_method",
  "start_ns",
  "end_ns",
] as const;

/**
 * The per-node breakdown of a merged job result (`merge`) as CSV, for the
 * sidecar written beside its CSV (`job.csv` → `job.nodes.csv`): one row
 * per node, run, phase and metric, the same figures as `job.nodes[]` in
 * the JSON. `ranks` is space-separated; `start_ns`/`end_ns` are the
 * node's wall-clock times (ns since the Unix epoch); `iteration_id` is
 * always there (0 for one run). A node phase without metrics still gets
 * one row. The job CSV itself keeps its columns and rows.
 *
 * @param result A merged job result (one without `job` gives the header only).
 * @param options Formula neutralisation.
 * @returns Pieces of CSV text, header first.
 *
 * @example Usage
 * ```ts
 * import { nodesCsvChunks } from "./csv.ts";
 * const result = {
 *   command: ["true"], tokenPattern: "__X__", exitCode: 0, durationMs: 1,
 *   interrupted: false, runs: [],
 * };
 * console.log([...nodesCsvChunks(result)].join("")); // "node;job_id;ranks;..."
 * ```
 */
export function* nodesCsvChunks(
  result: ProfileResult,
  options: CsvOptions = {},
): Generator<string> {
  yield write(NODES_CSV_COLUMNS, [], options);
  let rows: CsvCell[][] = [];
  for (const node of result.job?.nodes ?? []) {
    for (const [r, run] of node.runs.entries()) {
      for (const [i, phase] of run.entries()) {
        const common = (metric: CsvCell[]): CsvCell[] => [
          node.node,
          node.jobId ?? "",
          node.ranks.join(" "),
          node.leaderRank ?? "",
          String(node.measured),
          result.runs[r]?.index ?? r,
          i,
          result.runs[r]?.phases[i]?.name ?? "",
          Math.round(phase.durationMs * 1e6) / 1e6,
          ...metric,
          phase.startNs.toString(),
          phase.endNs.toString(),
        ];
        if (phase.metrics.length === 0) rows.push(common(["", "", "", "", ""]));
        for (const metric of phase.metrics) {
          const method = metric.details?.method;
          rows.push(common([
            metric.name,
            metric.value,
            metric.unit,
            metric.source,
            typeof method === "string" ? method : "",
          ]));
        }
        if (rows.length >= ROWS_PER_CHUNK) {
          yield write(NODES_CSV_COLUMNS, rows, options, false);
          rows = [];
        }
      }
    }
  }
  if (rows.length > 0) yield write(NODES_CSV_COLUMNS, rows, options, false);
}

/**
 * Where the per-node sidecar of a merged job's CSV goes: `.csv` becomes
 * `.nodes.csv`; other names get `.nodes.csv` appended.
 *
 * @param path The job's CSV file.
 * @returns The sidecar's path.
 *
 * @example Usage
 * ```ts
 * import { nodesSidecarPath } from "./csv.ts";
 * console.log(nodesSidecarPath("runs/job.csv")); // "runs/job.nodes.csv"
 * ```
 */
export function nodesSidecarPath(path: string): string {
  return /\.csv$/i.test(path) ? path.replace(/\.csv$/i, ".nodes.csv") : `${path}.nodes.csv`;
}
