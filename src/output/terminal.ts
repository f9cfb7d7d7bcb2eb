/**
 * The human-readable layout: a Command box, one box per phase and one box
 * per source, as in the reference tool; with iterations, per-phase mean,
 * spread and range.
 *
 * @module
 */

import Table from "cli-table3";
import { styleText } from "node:util";
import type { PhaseResult, ProfileResult } from "../result.ts";
import type { Metric, Sensor } from "../source.ts";
import type { Description } from "../stats/descriptive.ts";
import { phaseStatistics } from "../stats/phase_statistics.ts";
import { formatStatistic } from "./markdown.ts";
import { type Comparison, comparisonSentences } from "../stats/comparison.ts";

const WIDTH = 48;

/** Options of the terminal formatters. */
export interface TerminalOptions {
  /** Use colours (default: when stdout is a terminal and NO_COLOR is unset). */
  color?: boolean;
  /** Show the statistics table even for a single run. */
  statistics?: boolean;
}

type Paint = (style: Parameters<typeof styleText>[0], text: string) => string;

function useColor(options: TerminalOptions): boolean {
  return options.color ?? (Deno.stdout.isTerminal() && !Deno.noColor);
}

function painter(color: boolean): Paint {
  return color
    ? (style, text) => styleText(style, text, { validateStream: false })
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

/**
 * Formats a number for people: integers as they are, others with three
 * decimals.
 *
 * @param value A number.
 * @returns Its display form.
 *
 * @example Usage
 * ```ts
 * import { formatNumber } from "./terminal.ts";
 * console.log(formatNumber(12), formatNumber(0.12345)); // "12" "0.123"
 * ```
 */
export function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(3);
}

function formatMs(value: number): string {
  return `${value.toFixed(3)} ms`;
}

function tokenLabel(token: string, line: number | undefined): string {
  return line === undefined ? token : `${token} (line ${line})`;
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

function metricLine(metric: Metric): string {
  const details = metric.details ?? {};
  let line = `  ${metric.name.padEnd(20)}: ${
    formatNumber(metric.value).padStart(12)
  } ${metric.unit}`;
  if (typeof details.average_power_w === "number") {
    line += `  ${details.average_power_w.toFixed(3).padStart(9)} W`;
  }
  if (details.scaled === true) line += " (scaled)";
  if (details.via === "integrated_power") line += " (integrated power)";
  // An estimate's ± (energy model: estimate × cross-validated error).
  if (typeof details.uncertainty === "number") {
    line += ` ± ${formatNumber(details.uncertainty)} ${metric.unit}`;
  }
  if (METHODS.has(String(details.method))) line += ` [${details.method}]`;
  if (details.not_updating === true) line += " (counter not updating)";
  const total = TOTAL_LABELS[String(details.total)];
  if (total !== undefined) line += `  ${total}`;
  return line;
}

/** Said once under results that mark totals: overlapping domains must not be summed. */
const OVERLAP_NOTE = "Note: RAPL domains overlap (PSYS ⊇ PACKAGE ⊇ CORE, UNCORE): never add them " +
  "up; use the figure marked as total.";

function marksTotals(result: ProfileResult): boolean {
  return result.runs.some((run) =>
    run.phases.some((phase) => phase.metrics.some((metric) => metric.details?.total !== undefined))
  );
}

function phaseLines(phase: PhaseResult, paint: Paint): string[] {
  const lines = [
    ...doubleBox(`Phase: ${phase.name}`, paint),
    field("Duration", formatMs(phase.durationMs)),
    field("Start token", tokenLabel(phase.startToken, phase.startLine)),
    field("End token", tokenLabel(phase.endToken, phase.endLine)),
  ];
  for (const [source, metrics] of groupBySource(phase.metrics)) {
    lines.push(...singleBox(source, paint), ...metrics.map(metricLine));
  }
  for (const failure of phase.failures) {
    lines.push(paint("yellow", `  ${failure.source}: no data for this phase (${failure.message})`));
  }
  return lines;
}

function commandLines(result: ProfileResult, paint: Paint): string[] {
  const title = result.name === undefined ? "Command" : `Command: ${result.name}`;
  const lines = [...doubleBox(title, paint), result.command.join(" "), "─".repeat(WIDTH)];
  if (result.warmupRuns) lines.push(field("Warm-up runs", `${result.warmupRuns} (discarded)`));
  if (result.runs.length === 1) {
    const run = result.runs[0]!;
    lines.push(field("Duration", formatMs(run.durationMs)));
    lines.push(field("Exit code", exitLabel(run.exitCode, run.signal)));
  } else {
    lines.push(field("Iterations", String(result.runs.length)));
    lines.push(field("Total duration", formatMs(result.durationMs)));
    const failed = result.runs.filter((run) => run.exitCode !== 0).length;
    lines.push(
      field("Exit code", failed === 0 ? "0" : `${result.exitCode} (${failed} failed runs)`),
    );
  }
  if (result.interrupted) lines.push(paint("yellow", field("Interrupted", "yes")));
  return lines;
}

function exitLabel(code: number, signal: string | null): string {
  return signal === null ? String(code) : `${code} (${signal})`;
}

function meanCell(description: Description): string {
  return `${formatStatistic(description.mean)} ± ${formatStatistic(description.stddev)}`;
}

function rangeCell(description: Description): string {
  return `${formatStatistic(description.min)} … ${formatStatistic(description.max)}`;
}

function idleLines(result: ProfileResult, paint: Paint): string[] {
  const idle = result.idle;
  if (idle === undefined) return [];
  const lines = [
    ...singleBox(`Idle power (${(idle.durationMs / 1000).toFixed(1)} s before the runs)`, paint),
  ];
  if (idle.power.length === 0) lines.push("  no energy source: nothing to subtract");
  for (const power of idle.power) {
    lines.push(
      `  ${power.name.padEnd(20)}: ${
        `${formatStatistic(power.meanW)} ± ${formatStatistic(power.stddevW)}`.padStart(18)
      } W  (${power.source})`,
    );
  }
  return lines;
}

/** No rule between body rows: a phase's table stays compact. */
const COMPACT_ROWS = { "mid": "", "left-mid": "", "mid-mid": "", "right-mid": "" };

function iterationLines(result: ProfileResult, paint: Paint, color: boolean): string[] {
  const lines: string[] = [];
  const withIdle = result.idle !== undefined;
  for (const phase of phaseStatistics(result, result.idle)) {
    lines.push(...doubleBox(`Phase: ${phase.name}`, paint));
    if (phase.runs.length !== result.runs.length) {
      lines.push(
        paint("yellow", `  present in ${phase.runs.length} of ${result.runs.length} runs`),
      );
    }
    const table = new Table({
      head: ["Metric", "Mean ± σ", "Min … Max", "Unit", "Source"],
      colAligns: ["left", "right", "right", "left", "left"],
      style: { head: color ? ["bold"] : [], border: [] },
      chars: COMPACT_ROWS,
    });
    table.push(["Duration", meanCell(phase.durationMs), rangeCell(phase.durationMs), "ms", ""]);
    for (const metric of phase.metrics) {
      table.push([
        metric.aboveIdle === undefined ? metric.name : `${metric.name} (raw)`,
        meanCell(metric.value),
        rangeCell(metric.value),
        metric.unit,
        metric.source,
      ]);
      if (metric.averagePowerW !== undefined) {
        table.push([
          "  average power",
          meanCell(metric.averagePowerW),
          rangeCell(metric.averagePowerW),
          "W",
          "",
        ]);
      }
      if (withIdle && metric.aboveIdle !== undefined) {
        const [low, high] = metric.aboveIdle.ci95;
        table.push([
          "  above idle",
          formatStatistic(metric.aboveIdle.mean),
          `95 % CI ${formatStatistic(low)} … ${formatStatistic(high)}`,
          metric.unit,
          "raw − idle power × duration",
        ]);
      }
    }
    lines.push(table.toString());
  }
  return lines;
}

/**
 * Formats a result for the terminal.
 *
 * @param result A profile result.
 * @param options Colour control.
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
  const color = useColor(options);
  const paint = painter(color);
  const lines = commandLines(result, paint);
  lines.push(...idleLines(result, paint));
  if (result.runs.length === 1 && !options.statistics && result.idle === undefined) {
    for (const phase of result.runs[0]!.phases) lines.push(...phaseLines(phase, paint));
  } else if (result.runs.length > 0) {
    lines.push(...iterationLines(result, paint, color));
  }
  if (marksTotals(result)) lines.push(paint("dim", OVERLAP_NOTE));
  return `${lines.join("\n")}\n`;
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
  if (sensors.length === 0) lines.push("  No sensors available on this machine.");
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
