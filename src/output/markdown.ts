/**
 * `--export-markdown`: results and comparisons as Markdown tables, ready
 * for a pull request description.
 *
 * @module
 */

import type { ProfileResult } from "../result.ts";
import {
  type Comparison,
  comparisonSentences,
  formatRatio,
  resultLabel,
} from "../stats/comparison.ts";
import type { Description } from "../stats/descriptive.ts";
import { phaseStatistics } from "../stats/phase_statistics.ts";

/**
 * A number for a table: integers from 1000 up, else 4 significant digits.
 *
 * @param value A number.
 * @returns Its display form.
 *
 * @example Usage
 * ```ts
 * import { formatStatistic } from "./markdown.ts";
 * console.log(formatStatistic(1234567.89), formatStatistic(0.012345)); // "1234568" "0.01235"
 * ```
 */
export function formatStatistic(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 1000) return Math.round(value).toString();
  if (value === 0) return "0";
  return Number(value.toPrecision(4)).toString();
}

/** `|` and line breaks would break a table cell. */
function cell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll(/\r?\n/g, " ");
}

function row(cells: readonly string[]): string {
  return `| ${cells.map(cell).join(" | ")} |`;
}

/** Columns whose cells are numbers, right-aligned. */
const NUMERIC = new Set([
  "Mean ± σ",
  "Min … Max",
  "95 % CI of the mean",
  "Power (W)",
  "Above idle (95 % CI)",
]);

function meanCell(description: Description): string {
  return description.n > 1
    ? `${formatStatistic(description.mean)} ± ${formatStatistic(description.stddev)}`
    : formatStatistic(description.mean);
}

function rangeCell(description: Description): string {
  return `${formatStatistic(description.min)} … ${formatStatistic(description.max)}`;
}

function intervalCell(interval: readonly [number, number]): string {
  return `[${formatStatistic(interval[0])}, ${formatStatistic(interval[1])}]`;
}

/**
 * Markdown for the results of a profile: per phase, a table of duration
 * and metrics with mean ± σ, min … max, the 95 % confidence interval of
 * the mean, average power and, with `--idle`, the energy above idle.
 *
 * @param results One result per command.
 * @returns Markdown text.
 *
 * @example Usage
 * ```ts
 * import { resultsMarkdown } from "./markdown.ts";
 * console.log(resultsMarkdown([{
 *   command: ["true"], tokenPattern: "__X__", exitCode: 0, durationMs: 0,
 *   interrupted: false, runs: [],
 * }]));
 * ```
 */
export function resultsMarkdown(results: readonly ProfileResult[]): string {
  const lines: string[] = [];
  for (const result of results) {
    lines.push(`## \`${cell(resultLabel(result))}\``, "");
    const facts = [`${result.runs.length} run${result.runs.length === 1 ? "" : "s"}`];
    if (result.warmupRuns) facts.push(`${result.warmupRuns} warm-up run(s) discarded`);
    if (result.name !== undefined) facts.push(`command \`${cell(result.command.join(" "))}\``);
    lines.push(facts.join(", "), "");
    if (result.idle !== undefined && result.idle.power.length > 0) {
      lines.push(
        `Idle power, measured over ${
          (result.idle.durationMs / 1000).toFixed(1)
        } s before the runs:`,
        "",
        row(["Sensor", "Idle power (W)", "Source"]),
        row(["---", "---:", "---"]),
        ...result.idle.power.map((power) =>
          row([
            power.name,
            `${formatStatistic(power.meanW)} ± ${formatStatistic(power.stddevW)}`,
            power.source,
          ])
        ),
        "",
      );
    }
    const withIdle = result.idle !== undefined;
    for (const phase of phaseStatistics(result, result.idle)) {
      lines.push(`### Phase \`${cell(phase.name)}\``, "");
      const head = ["Metric", "Mean ± σ", "Min … Max", "95 % CI of the mean", "Unit", "Power (W)"];
      if (withIdle) head.push("Above idle (95 % CI)");
      head.push("Source");
      lines.push(row(head), row(head.map((name) => NUMERIC.has(name) ? "---:" : "---")));
      const durationRow = [
        "Duration",
        meanCell(phase.durationMs),
        rangeCell(phase.durationMs),
        intervalCell(phase.durationMs.ci95),
        "ms",
        "",
      ];
      if (withIdle) durationRow.push("");
      lines.push(row([...durationRow, ""]));
      for (const metric of phase.metrics) {
        const cells = [
          metric.name,
          meanCell(metric.value),
          rangeCell(metric.value),
          intervalCell(metric.value.ci95),
          metric.unit,
          metric.averagePowerW === undefined ? "" : meanCell(metric.averagePowerW),
        ];
        if (withIdle) {
          const above = metric.aboveIdle;
          cells.push(
            above === undefined ? "" : `${formatStatistic(above.mean)} ${intervalCell(above.ci95)}`,
          );
        }
        lines.push(row([...cells, metric.source]));
      }
      lines.push("");
    }
  }
  return `${lines.join("\n").trimEnd()}\n`;
}

function pCell(p: number | null): string {
  if (p === null) return "n/a";
  return p < 0.001 ? "< 0.001" : p.toFixed(3);
}

/**
 * Markdown for comparisons: the summary sentences, then per phase a table
 * of A and B (mean ± σ), the ratio B/A ± its uncertainty, Welch's p-value
 * and the verdict.
 *
 * @param comparisons Comparisons (each B against its A).
 * @param totals Keys of metrics marked as totals, for the summary lines.
 * @returns Markdown text.
 *
 * @example Usage
 * ```ts
 * import { comparisonsMarkdown } from "./markdown.ts";
 * console.log(comparisonsMarkdown([
 *   { baseline: "A", candidate: "B", alpha: 0.05, phases: [], unmatched: [] },
 * ]));
 * ```
 */
export function comparisonsMarkdown(
  comparisons: readonly Comparison[],
  totals: Set<string> = new Set(),
): string {
  const lines: string[] = [];
  for (const comparison of comparisons) {
    const { baseline, candidate } = comparison;
    lines.push(`## \`${cell(candidate)}\` compared with \`${cell(baseline)}\``, "");
    for (const sentence of comparisonSentences(comparison, totals)) lines.push(`- ${sentence}`);
    lines.push(
      "",
      `Ratio: mean of ${candidate} ÷ mean of ${baseline}, ± its standard uncertainty. ` +
        `Significance: Welch's t-test, two-sided, at ${Math.round(comparison.alpha * 100)} %.`,
      "",
    );
    for (const phase of comparison.phases) {
      lines.push(`### Phase \`${cell(phase.name)}\``, "");
      lines.push(
        row(["Metric", baseline, candidate, "Unit", "Ratio", "p", "Verdict", "Source"]),
        row(["---", "---:", "---:", "---", "---:", "---:", "---", "---"]),
      );
      for (const metric of phase.metrics) {
        const side = (s: { mean: number; stddev: number; n: number }) =>
          `${formatStatistic(s.mean)} ± ${formatStatistic(s.stddev)} (n=${s.n})`;
        const verdict = metric.pValue === null
          ? `n/a (${metric.notes?.test ?? "too few runs"})`
          : metric.significant
          ? metric.ratio > 1 ? "higher" : "lower"
          : "no significant difference";
        lines.push(row([
          metric.name,
          side(metric.baseline),
          side(metric.candidate),
          metric.unit,
          formatRatio(metric, 3),
          pCell(metric.pValue),
          verdict,
          metric.source,
        ]));
      }
      lines.push("");
    }
    if (comparison.unmatched.length > 0) {
      lines.push(`Phases only one side has: ${comparison.unmatched.join(", ")}`, "");
    }
  }
  return `${lines.join("\n").trimEnd()}\n`;
}
