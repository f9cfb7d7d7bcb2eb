/**
 * The human-readable layout: a Command box with the run's totals, then one
 * box per phase with one table per source, as in the reference tool.
 * Figures are scaled for people (`3.914 J`, `372.5 ms`, `12.30 W`); with
 * iterations, each figure is a mean ± σ with its range. Past
 * {@linkcode PHASE_LIST_LIMIT} phases a run is summarised per phase name.
 *
 * @module
 */

import type { PhaseResult, ProfileResult, RunResult } from "../result.ts";
import type { Metric, Sensor } from "../source.ts";
import type { Description } from "../stats/descriptive.ts";
import { phaseStatistics } from "../stats/phase_statistics.ts";
import { runTotals, totalsStatistics } from "../stats/run_totals.ts";
import { type Comparison, comparisonSentences } from "../stats/comparison.ts";
import { formatDurationMs, formatMeanSpread, formatQuantity, formatRange } from "./human_units.ts";
import { quoteShellWords } from "./shell_quote.ts";
import { type Column, textTable } from "./text_table.ts";
import { PHASE_LIST_LIMIT } from "../setting_defaults.ts";
import { groupDigits } from "../text/digit_grouping.ts";
import { readPhaseMetrics } from "../phase/compact_metrics.ts";

const WIDTH = 48;

export { PHASE_LIST_LIMIT };

/** Phase names listed in a summary, the longest in total first; the rest are counted. */
const SUMMARY_GROUPS = 30;

/** Options of the terminal formatters. */
export interface TerminalOptions {
  /** Use colours (default: when stdout is a terminal and NO_COLOR is unset). */
  color?: boolean;
  /** Show the statistics layout (mean ± σ) even for a single run. */
  statistics?: boolean;
  /** List every phase, however many (default: a summary past {@linkcode PHASE_LIST_LIMIT}). */
  allPhases?: boolean;
}

/** SGR codes of the styles used, with their reset: no `node:util` (it starts Deno's Node layer). */
const STYLES = {
  bold: [1, 22],
  dim: [2, 22],
  cyan: [36, 39],
  yellow: [33, 39],
} as const;

type Paint = (style: keyof typeof STYLES, text: string) => string;

function useColor(options: TerminalOptions): boolean {
  return options.color ?? (Deno.stdout.isTerminal() && !Deno.noColor);
}

function painter(color: boolean): Paint {
  return color
    ? (style, text) => `\x1b[${STYLES[style][0]}m${text}\x1b[${STYLES[style][1]}m`
    : (_, text) => text;
}

function fit(text: string): string {
  return text.length >= WIDTH - 2 ? text.slice(0, WIDTH - 3) + "…" : text.padEnd(WIDTH - 2);
}

function doubleBox(title: string, paint: Paint): string[] {
  return [
    `╔${"═".repeat(WIDTH)}╗`,
    `║ ${paint("bold", fit(title))} ║`,
    `╚${"═".repeat(WIDTH)}╝`,
  ];
}

function singleBox(title: string, paint: Paint): string[] {
  return [
    `┌${"─".repeat(WIDTH)}┐`,
    `│ ${paint("cyan", fit(title))} │`,
    `└${"─".repeat(WIDTH)}┘`,
  ];
}

function field(label: string, value: string): string {
  return `  ${label.padEnd(20)}: ${value}`;
}

function table(columns: Column[], rows: string[][], paint: Paint): string[] {
  // A column nobody filled (no power, no note) is left out rather than shown empty.
  const used = columns.map((_, i) => i === 0 || rows.some((row) => (row[i] ?? "") !== ""));
  return textTable(
    columns.filter((_, i) => used[i]),
    rows.map((row) => row.filter((_, i) => used[i])),
    { styleHeader: (text) => paint("bold", text) },
  );
}

/** Token lines are counted from 1 for people (JSON keeps the 0-based index). */
function tokenLabel(token: string, line: number | undefined): string {
  return line === undefined ? token : `${token} (line ${line + 1})`;
}

function bySourceThenName(a: { source: string; name: string }, b: typeof a): number {
  if (a.source !== b.source) return a.source < b.source ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function groupBySource<T extends { source: string }>(items: readonly T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(item.source);
    if (group) group.push(item);
    else groups.set(item.source, [item]);
  }
  return new Map([...groups].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0));
}

const TOTAL_LABELS: Record<string, string> = { cpu: "← CPU total", platform: "← platform total" };

/** How an energy value was obtained; every one is labelled. */
const METHODS = new Set(["measured", "attributed", "estimated"]);

/** `[measured]`, `[attributed]` or `[estimated]`, for values that carry a method. */
function methodLabel(method: unknown): string | undefined {
  return METHODS.has(String(method)) ? `[${method}]` : undefined;
}

/** The remarks a metric's details call for, e.g. `[measured] ← CPU total`, `(scaled)`. */
function noteOf(details: Metric["details"]): string {
  if (details === undefined) return "";
  const notes: string[] = [];
  // A counter that never moved read 0: no method label, as that 0 was measured by nothing.
  const frozen = details.not_updating === true;
  const method = frozen ? undefined : methodLabel(details.method);
  if (method !== undefined) notes.push(method);
  if (details.scaled === true) notes.push("(scaled)");
  if (details.via === "integrated_power") notes.push("(integrated power)");
  if (frozen) notes.push("(counter not updating: not a measurement)");
  const total = TOTAL_LABELS[String(details.total)];
  if (total !== undefined) notes.push(total);
  return notes.join(" ");
}

/** Said once under results that mark totals: overlapping domains must not be summed. */
const OVERLAP_NOTE = "Note: RAPL domains overlap (PSYS ⊇ PACKAGE ⊇ CORE, UNCORE): never add them " +
  "up; use the figure marked as total.";

function key(metric: { source: string; name: string }): string {
  return `${metric.source}\u0000${metric.name}`;
}

/** What stays true of a sensor across phases and runs: its method, total mark and reading path. */
type SensorMarks = Record<string, string | number | boolean>;

/**
 * Each sensor's lasting marks (`method`, `total`, `via`), from the first
 * run's phases: shown beside figures that aggregate phases or runs.
 */
function sensorMarks(result: ProfileResult): Map<string, SensorMarks> {
  const marks = new Map<string, SensorMarks>();
  for (const run of result.runs) {
    for (const phase of run.phases) {
      for (const metric of readPhaseMetrics(phase)) {
        const details = metric.details;
        if (details === undefined || marks.has(key(metric))) continue;
        const lasting: SensorMarks = {};
        // not_updating: a frozen counter is marked on every phase of its run, so on the first.
        for (const name of ["method", "total", "via", "not_updating"]) {
          if (details[name] !== undefined) lasting[name] = details[name]!;
        }
        if (Object.keys(lasting).length > 0) marks.set(key(metric), lasting);
      }
    }
    if (run.phases.length > 0) break;
  }
  return marks;
}

function marksTotals(marks: Map<string, SensorMarks>): boolean {
  for (const mark of marks.values()) if (typeof mark.total === "string") return true;
  return false;
}

function watts(value: number): string {
  return formatQuantity(value, "W");
}

function exitLabel(code: number, signal: string | null): string {
  return signal === null ? String(code) : `${code} (${signal})`;
}

function phaseCount(result: ProfileResult): number {
  return result.runs.reduce((most, run) => Math.max(most, run.phases.length), 0);
}

// ── Command block ────────────────────────────────────────────────────────────

function commandLines(result: ProfileResult, paint: Paint, repeated: boolean): string[] {
  const title = result.name === undefined ? "Command" : `Command: ${result.name}`;
  const lines = [
    ...doubleBox(title, paint),
    quoteShellWords(result.command),
    "─".repeat(WIDTH),
  ];
  if (result.warmupRuns) lines.push(field("Warm-up runs", `${result.warmupRuns} (discarded)`));
  if (!repeated && result.runs.length === 1) {
    const run = result.runs[0]!;
    lines.push(field("Duration", formatDurationMs(run.durationMs)));
    lines.push(field("Exit code", exitLabel(run.exitCode, run.signal)));
    lines.push(field("Phases", groupDigits(run.phases.length)));
    lines.push(...singleRunTotals(run, sensorMarks(result), paint));
  } else {
    lines.push(field("Iterations", String(result.runs.length)));
    lines.push(field("Total duration", `${formatDurationMs(result.durationMs)} (all runs)`));
    const failed = result.runs.filter((run) => run.exitCode !== 0).length;
    lines.push(
      field("Exit code", failed === 0 ? "0" : `${result.exitCode} (${failed} failed runs)`),
    );
    lines.push(...repeatedTotals(result, sensorMarks(result), paint));
  }
  if (result.interrupted) lines.push(paint("yellow", field("Interrupted", "yes")));
  return lines;
}

/** Said when nothing measured energy, so an empty table is not read as zero. */
const NO_ENERGY = field(
  "Energy",
  "not measured: no energy source ('joule-profiler doctor' says why)",
);

/** The whole run: duration and energy per domain, with average power. */
function singleRunTotals(
  run: RunResult,
  marks: Map<string, SensorMarks>,
  paint: Paint,
): string[] {
  const totals = runTotals(run);
  if (totals.energy.length === 0) return [NO_ENERGY];
  const seconds = totals.durationMs / 1000;
  const rows = totals.energy.map((entry) => [
    entry.name,
    formatQuantity(entry.value, entry.unit),
    seconds > 0 ? watts(entry.value * joules(entry.unit) / seconds) : "",
    entry.source,
    noteOf(marks.get(key(entry))),
  ]);
  return [
    "",
    ...table(
      [
        { header: "Whole run" },
        { header: "Energy", align: "right" },
        { header: "Power", align: "right" },
        { header: "Source" },
        { header: "Note" },
      ],
      rows,
      paint,
    ),
  ];
}

/** Per run, across iterations: the totals' mean ± σ and range. */
function repeatedTotals(
  result: ProfileResult,
  marks: Map<string, SensorMarks>,
  paint: Paint,
): string[] {
  const totals = totalsStatistics(result);
  if (totals === undefined) return [];
  const rows = [[
    "Duration",
    formatMeanSpread(totals.durationMs.mean, totals.durationMs.stddev, "ms"),
    formatRange(totals.durationMs.min, totals.durationMs.max, "ms"),
    "",
    "",
  ]];
  if (totals.energy.length === 0) rows.push(["Energy", "not measured", "", "", ""]);
  for (const entry of totals.energy) {
    rows.push([
      entry.name,
      formatMeanSpread(entry.value.mean, entry.value.stddev, entry.unit),
      formatRange(entry.value.min, entry.value.max, entry.unit),
      entry.source,
      noteOf(marks.get(key(entry))),
    ]);
  }
  return [
    "",
    ...table(
      [
        { header: "Per run" },
        { header: "Mean ± σ", align: "right" },
        { header: "Min … Max", align: "right" },
        { header: "Source" },
        { header: "Note" },
      ],
      rows,
      paint,
    ),
  ];
}

const JOULES: Record<string, number> = { "µJ": 1e-6, "uJ": 1e-6, "mJ": 1e-3, "J": 1 };

function joules(unit: string): number {
  return JOULES[unit] ?? 1;
}

// ── One run, phase by phase ──────────────────────────────────────────────────

function metricRow(metric: Metric): string[] {
  const power = metric.details?.average_power_w;
  // An estimate's ± (energy model: estimate × cross-validated error), in the estimate's unit.
  const uncertainty = metric.details?.uncertainty;
  return [
    metric.name,
    typeof uncertainty === "number"
      ? formatMeanSpread(metric.value, uncertainty, metric.unit)
      : formatQuantity(metric.value, metric.unit),
    typeof power === "number" ? watts(power) : "",
    noteOf(metric.details),
  ];
}

const SINGLE_COLUMNS: Column[] = [
  { header: "Metric" },
  { header: "Value", align: "right" },
  { header: "Power", align: "right" },
  { header: "Note" },
];

/** Per-CPU figures (`CPU0_UTILIZATION`, `CPU1_…`) are folded into one row past this many CPUs. */
const PER_CPU_ROWS = 4;
const PER_CPU_NAME = /^CPU(\d+)_(.+)$/;

/**
 * Folds a source's per-CPU metrics (`CPU<n>_<what>`, one per logical CPU)
 * into one row per `<what>` when there are more than {@linkcode PER_CPU_ROWS}
 * CPUs: a 64-core machine would otherwise print 64 rows per phase. The row
 * shows the CPU count and the range; JSON and CSV keep every CPU.
 */
function foldPerCpu<T extends { name: string; unit: string }>(
  metrics: readonly T[],
  value: (metric: T) => number,
): { rest: T[]; folded: string[][] } {
  const groups = new Map<string, T[]>();
  for (const metric of metrics) {
    const match = PER_CPU_NAME.exec(metric.name);
    if (match === null) continue;
    const list = groups.get(match[2]!);
    if (list === undefined) groups.set(match[2]!, [metric]);
    else list.push(metric);
  }
  const foldedNames = new Set<string>();
  const folded: string[][] = [];
  for (const [what, list] of groups) {
    if (list.length <= PER_CPU_ROWS) continue;
    for (const metric of list) foldedNames.add(metric.name);
    const values = list.map(value);
    folded.push([
      `CPU*_${what} (${list.length} CPUs)`,
      formatRange(Math.min(...values), Math.max(...values), list[0]!.unit),
    ]);
  }
  return { rest: metrics.filter((metric) => !foldedNames.has(metric.name)), folded };
}

function phaseLines(phase: PhaseResult, paint: Paint): string[] {
  const lines = [
    ...doubleBox(`Phase: ${phase.name}`, paint),
    field("Duration", formatDurationMs(phase.durationMs)),
    field("Start token", tokenLabel(phase.startToken, phase.startLine)),
    field("End token", tokenLabel(phase.endToken, phase.endLine)),
  ];
  for (const [source, metrics] of groupBySource(readPhaseMetrics(phase))) {
    const { rest, folded } = foldPerCpu(metrics, (metric) => metric.value);
    lines.push(
      ...singleBox(source, paint),
      ...table(SINGLE_COLUMNS, [...rest.map(metricRow), ...folded], paint),
    );
  }
  for (const failure of phase.failures) {
    lines.push(paint("yellow", `  ${failure.source}: no data for this phase (${failure.message})`));
  }
  return lines;
}

// ── Iterations: mean ± σ per phase ───────────────────────────────────────────

function spread(description: Description, unit: string): string {
  return formatMeanSpread(description.mean, description.stddev, unit);
}

function range(description: Description, unit: string): string {
  return formatRange(description.min, description.max, unit);
}

const REPEATED_COLUMNS: Column[] = [
  { header: "Metric" },
  { header: "Mean ± σ", align: "right" },
  { header: "Min … Max", align: "right" },
  { header: "Power (mean ± σ)", align: "right" },
  { header: "Note" },
];

function iterationLines(result: ProfileResult, paint: Paint): string[] {
  const lines: string[] = [];
  const withIdle = result.idle !== undefined;
  const marks = sensorMarks(result);
  for (const phase of phaseStatistics(result, result.idle)) {
    lines.push(...doubleBox(`Phase: ${phase.name}`, paint));
    if (phase.runs.length !== result.runs.length) {
      lines.push(
        paint("yellow", `  present in ${phase.runs.length} of ${result.runs.length} runs`),
      );
    }
    lines.push(
      field("Duration", `${spread(phase.durationMs, "ms")}  (${range(phase.durationMs, "ms")})`),
    );
    const metrics = [...phase.metrics].sort(bySourceThenName);
    for (const [source, all] of groupBySource(metrics)) {
      const rows: string[][] = [];
      // Folded per-CPU rows show the range of the CPUs' means.
      const { rest: list, folded } = foldPerCpu(all, (metric) => metric.value.mean);
      for (const metric of list) {
        const raw = metric.aboveIdle !== undefined;
        rows.push([
          raw ? `${metric.name} (raw)` : metric.name,
          spread(metric.value, metric.unit),
          range(metric.value, metric.unit),
          metric.averagePowerW === undefined ? "" : spread(metric.averagePowerW, "W"),
          noteOf(marks.get(key(metric))),
        ]);
        if (withIdle && metric.aboveIdle !== undefined) {
          const [low, high] = metric.aboveIdle.ci95;
          rows.push([
            "  above idle",
            formatQuantity(metric.aboveIdle.mean, metric.unit),
            `95 % CI ${formatRange(low, high, metric.unit)}`,
            "",
            "raw − idle power × duration",
          ]);
        }
      }
      for (const [name, span] of folded) rows.push([name!, "", `means ${span}`, "", ""]);
      lines.push(...singleBox(source, paint), ...table(REPEATED_COLUMNS, rows, paint));
    }
  }
  return lines;
}

function idleLines(result: ProfileResult, paint: Paint): string[] {
  const idle = result.idle;
  if (idle === undefined) return [];
  const lines = [
    ...singleBox(`Idle power (${(idle.durationMs / 1000).toFixed(1)} s before the runs)`, paint),
  ];
  if (idle.power.length === 0) {
    lines.push("  no energy source: nothing to subtract");
    return lines;
  }
  lines.push(...table(
    [{ header: "Metric" }, { header: "Power (mean ± σ)", align: "right" }, { header: "Source" }],
    idle.power.map((power) => [
      power.name,
      formatMeanSpread(power.meanW, power.stddevW, "W"),
      power.source,
    ]),
    paint,
  ));
  return lines;
}

// ── Many phases: a summary per phase name ────────────────────────────────────

interface SummaryGroup {
  name: string;
  count: number;
  durationMs: number;
  metrics: Map<string, { name: string; source: string; unit: string; total: number; n: number }>;
}

/**
 * Sums per phase name over every run, in one pass over the phases (they
 * may be held in any iterable storage): memory grows with the number of
 * distinct names and sensors, never with the number of phases.
 */
function summaryGroups(result: ProfileResult): SummaryGroup[] {
  const groups = new Map<string, SummaryGroup>();
  for (const run of result.runs) {
    for (const phase of run.phases) {
      let group = groups.get(phase.name);
      if (group === undefined) {
        group = { name: phase.name, count: 0, durationMs: 0, metrics: new Map() };
        groups.set(phase.name, group);
      }
      group.count++;
      group.durationMs += phase.durationMs;
      for (const metric of readPhaseMetrics(phase)) {
        const id = key(metric);
        const entry = group.metrics.get(id);
        if (entry === undefined) {
          group.metrics.set(id, { ...metric, total: metric.value, n: 1 });
        } else {
          entry.total += metric.value;
          entry.n++;
        }
      }
    }
  }
  return [...groups.values()].sort((a, b) => b.durationMs - a.durationMs);
}

/** Units of rates and ratios: a sum over phases means nothing (a mean does). */
const NON_ADDITIVE_UNITS = new Set(["%", "W", "instructions/cycle", "nJ/instruction"]);

/** Whether a metric's values add up over phases (not a rate, a ratio or a peak). */
function addsUp(metric: { name: string; unit: string }): boolean {
  return !NON_ADDITIVE_UNITS.has(metric.unit) && !metric.name.endsWith("_PEAK");
}

function summaryLines(result: ProfileResult, paint: Paint): string[] {
  const runs = result.runs.length;
  const groups = summaryGroups(result);
  const phases = groups.reduce((sum, group) => sum + group.count, 0);
  const lines = [
    ...doubleBox("Phases: summary per phase name", paint),
    `  ${groupDigits(phases)} phases${runs > 1 ? ` in ${runs} runs` : ""}, ` +
    `more than ${PHASE_LIST_LIMIT} per run: one table per phase name (--all-phases lists them all)`,
  ];
  for (const group of groups.slice(0, SUMMARY_GROUPS)) {
    lines.push(...singleBox(`${group.name} (× ${groupDigits(group.count)})`, paint));
    const rows = [[
      "Duration",
      formatDurationMs(group.durationMs),
      formatDurationMs(group.durationMs / group.count),
      "",
    ]];
    const metrics = [...group.metrics.values()].sort(bySourceThenName);
    for (const metric of metrics) {
      rows.push([
        metric.name,
        addsUp(metric) ? formatQuantity(metric.total, metric.unit) : "—",
        formatQuantity(metric.total / metric.n, metric.unit),
        metric.source,
      ]);
    }
    lines.push(...table(
      [
        { header: "Metric" },
        { header: "Total", align: "right" },
        { header: "Mean per phase", align: "right" },
        { header: "Source" },
      ],
      rows,
      paint,
    ));
  }
  if (groups.length > SUMMARY_GROUPS) {
    const rest = groups.slice(SUMMARY_GROUPS);
    const count = rest.reduce((sum, group) => sum + group.count, 0);
    lines.push(
      paint(
        "dim",
        `  … ${rest.length} more phase names (${groupDigits(count)} phases); ` +
          "--all-phases or --json for every one",
      ),
    );
  }
  return lines;
}

/**
 * Formats a result for the terminal: the Command block with the whole
 * run's totals, then every phase (a summary per phase name past
 * {@linkcode PHASE_LIST_LIMIT} phases, unless `allPhases`).
 *
 * @param result A profile result.
 * @param options Colour, layout and phase listing.
 * @returns The text, ending with a newline.
 *
 * @example Usage
 * ```ts
 * import { formatTerminal } from "./terminal.ts";
 * console.log(formatTerminal({
 *   command: ["true"], tokenPattern: "__X__", exitCode: 0, durationMs: 0,
 *   interrupted: false, runs: [],
 * }, { color: false }));
 * ```
 */
export function formatTerminal(result: ProfileResult, options: TerminalOptions = {}): string {
  return [...terminalChunks(result, options)].join("");
}

/** Phases listed one by one are written in batches of this many. */
const PHASES_PER_CHUNK = 256;

/**
 * The same text as {@linkcode formatTerminal}, in pieces: with
 * `allPhases`, a run of millions of phases is written a few hundred
 * phases at a time, never held as one string.
 *
 * @param result A profile result.
 * @param options Colour, layout and phase listing.
 * @returns Pieces of text; joined, they end with a newline.
 *
 * @example Usage
 * ```ts
 * import { terminalChunks } from "./terminal.ts";
 * const result = {
 *   command: ["true"], tokenPattern: "__X__", exitCode: 0, durationMs: 0,
 *   interrupted: false, runs: [],
 * };
 * for (const piece of terminalChunks(result, { color: false })) console.log(piece);
 * ```
 */
export function* terminalChunks(
  result: ProfileResult,
  options: TerminalOptions = {},
): Generator<string> {
  const color = useColor(options);
  const paint = painter(color);
  const repeated = result.runs.length > 1 || options.statistics === true ||
    result.idle !== undefined;
  const lines = commandLines(result, paint, repeated);
  lines.push(...idleLines(result, paint));
  if (!options.allPhases && phaseCount(result) > PHASE_LIST_LIMIT) {
    lines.push(...summaryLines(result, paint));
  } else if (!repeated && result.runs.length === 1) {
    let batch = 0;
    for (const phase of result.runs[0]!.phases) {
      lines.push(...phaseLines(phase, paint));
      if (++batch < PHASES_PER_CHUNK) continue;
      yield `${lines.join("\n")}\n`;
      lines.length = 0;
      batch = 0;
    }
  } else if (result.runs.length > 0) {
    lines.push(...iterationLines(result, paint));
  }
  if (marksTotals(sensorMarks(result))) lines.push(paint("dim", OVERLAP_NOTE));
  if (lines.length > 0) yield `${lines.join("\n")}\n`;
}

/**
 * Formats the `list-sensors` table, one box per source.
 *
 * @param sensors The sensors.
 * @param options Colour control.
 * @returns The text, ending with a newline.
 *
 * @example Usage
 * ```ts
 * import { formatSensorsTerminal } from "./terminal.ts";
 * console.log(formatSensorsTerminal([{ name: "PSYS", unit: "µJ", source: "RAPL (Powercap)" }]));
 * ```
 */
export function formatSensorsTerminal(
  sensors: readonly Sensor[],
  options: TerminalOptions = {},
): string {
  const paint = painter(useColor(options));
  const lines = doubleBox("Available Sensors", paint);
  if (sensors.length === 0) {
    lines.push(
      "  No sensors available on this machine.",
      "  'joule-profiler doctor' says why and how to fix it; 'joule-profiler --perf list-sensors'",
      "  lists the per-process counters (CPU time, cycles…) that work without RAPL.",
    );
  }
  for (const [source, list] of groupBySource(sensors)) {
    lines.push(...singleBox(source, paint));
    lines.push(`  ${"Name".padEnd(20)} | Unit`, "─".repeat(WIDTH));
    for (const sensor of list) {
      let line = `  ${sensor.name.padEnd(20)} | ${sensor.unit.padEnd(6)}`;
      if (sensor.available === false) {
        line += paint("yellow", ` | not available${sensor.note ? `: ${sensor.note}` : ""}`);
      } else if (sensor.note) {
        line += ` | ${sensor.note}`;
      }
      lines.push(line.trimEnd());
    }
  }
  return `${lines.join("\n")}\n`;
}

/**
 * Formats a comparison (`compare`, or a multi-command profile) for the
 * terminal: the hyperfine-style sentences, significant ones highlighted.
 *
 * @param comparisons Comparisons, each B against its A.
 * @param totals Keys of metrics marked as totals (see `totalMetricKeys`).
 * @param options Colour control.
 * @returns The text, ending with a newline.
 *
 * @example Usage
 * ```ts
 * import { formatComparisonTerminal } from "./terminal.ts";
 * console.log(formatComparisonTerminal(
 *   [{ baseline: "A", candidate: "B", alpha: 0.05, phases: [], unmatched: [] }],
 *   new Set(),
 *   { color: false },
 * ));
 * ```
 */
export function formatComparisonTerminal(
  comparisons: readonly Comparison[],
  totals: Set<string>,
  options: TerminalOptions = {},
): string {
  const paint = painter(useColor(options));
  const lines: string[] = [];
  for (const comparison of comparisons) {
    lines.push(
      ...doubleBox(`Comparison: ${comparison.candidate} vs ${comparison.baseline}`, paint),
    );
    const sentences = comparisonSentences(comparison, totals);
    if (sentences.length === 0) lines.push("  no phase in common");
    for (const sentence of sentences) {
      lines.push(
        `  ${sentence.includes("not a significant") ? sentence : paint("bold", sentence)}`,
      );
    }
    if (comparison.unmatched.length > 0) {
      lines.push(paint("yellow", `  phases only one side has: ${comparison.unmatched.join(", ")}`));
    }
    lines.push(
      paint(
        "dim",
        `  ratio ± standard uncertainty; Welch's t-test, two-sided, ` +
          `significant below p = ${comparison.alpha}`,
      ),
    );
  }
  return `${lines.join("\n")}\n`;
}
