/**
 * A regression gate over comparisons: fail when B is worse than A by more
 * than a threshold AND the difference is significant (Welch's t-test at the
 * comparison's alpha). With a single run on either side no significance
 * can be computed, and the gate says it judges on the ratio alone.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import { type Comparison, headlineMetrics, type MetricComparison } from "./comparison.ts";

/** Exit status of `compare` when the gate fails. */
export const EXIT_GATE_FAILED = 3;

/** What to gate on. */
export interface GateOptions {
  /** Fail when B/A − 1 exceeds this many percent (≥ 0). */
  failAbovePct: number;
  /**
   * `energy` (default): the headline energies of each phase (totals such as
   * the whole CPU when sources mark them, else every energy); `duration`;
   * or a metric name as written in the results (e.g. `PACKAGE-0`,
   * `CPU_TIME`, `instructions`).
   */
  metric?: string;
  /** Only phases with this name (`A -> B`) or this 0-based index. */
  phase?: string;
}

/** The verdict on one metric of one phase. */
export type GateVerdict =
  | "regression"
  | "within threshold"
  | "not significant"
  | "improvement"
  | "n/a: zero on both sides";

/** One checked metric. */
export interface GateCheck {
  /** Label of the baseline (A). */
  baseline: string;
  /** Label of the candidate (B). */
  candidate: string;
  /** The phase's name. */
  phase: string;
  /** The phase's position in the run. */
  phaseIndex: number;
  /** The metric as compared. */
  metric: MetricComparison;
  /** The verdict. */
  verdict: GateVerdict;
  /** `true` when this check fails the gate. */
  failed: boolean;
  /** `true` when a side has a single run: the ratio alone decided. */
  ratioOnly: boolean;
}

/** The gate's outcome. */
export interface GateReport {
  /** Every check, in phase then metric order. */
  checks: GateCheck[];
  /** `true` when any check failed. */
  failed: boolean;
  /** The threshold, percent. */
  failAbovePct: number;
}

function selectMetrics(
  metrics: MetricComparison[],
  headline: MetricComparison[],
  wanted: string,
): MetricComparison[] {
  if (wanted === "energy") return headline.filter((metric) => metric.energy);
  if (wanted === "duration") return metrics.filter((metric) => metric.source === "");
  return metrics.filter((metric) =>
    metric.name === wanted || `${metric.source}:${metric.name}` === wanted
  );
}

/**
 * Judges comparisons against a threshold.
 *
 * @param comparisons B against A (from `compareResults`), one or more.
 * @param totals Keys of metrics marked as totals (`totalMetricKeys`).
 * @param options Threshold, metric and phase.
 * @returns Every check and whether the gate failed.
 * @throws {UsageError} When nothing matches: a gate with nothing to check
 * must not pass.
 *
 * @example Usage
 * ```ts
 * import { evaluateGate } from "./energy_gate.ts";
 * const metric = {
 *   name: "PACKAGE-0", unit: "µJ", source: "RAPL", energy: true,
 *   baseline: { n: 5, mean: 100, stddev: 1 }, candidate: { n: 5, mean: 200, stddev: 1 },
 *   ratio: 2, ratioUncertainty: 0.02, pValue: 1e-9, significant: true,
 * };
 * const report = evaluateGate([{
 *   baseline: "A", candidate: "B", alpha: 0.05, unmatched: [],
 *   phases: [{ index: 0, name: "START -> END", metrics: [metric] }],
 * }], new Set(), { failAbovePct: 10 });
 * console.log(report.failed, report.checks[0]!.verdict); // true regression
 * ```
 */
export function evaluateGate(
  comparisons: readonly Comparison[],
  totals: Set<string>,
  options: GateOptions,
): GateReport {
  const wanted = options.metric ?? "energy";
  const limit = 1 + options.failAbovePct / 100;
  const checks: GateCheck[] = [];
  const seenPhases = new Set<string>();
  const seenMetrics = new Set<string>();
  for (const comparison of comparisons) {
    for (const phase of comparison.phases) {
      seenPhases.add(phase.name);
      for (const metric of phase.metrics) seenMetrics.add(metric.name);
      if (
        options.phase !== undefined && phase.name !== options.phase &&
        String(phase.index) !== options.phase
      ) continue;
      const picked = selectMetrics(phase.metrics, headlineMetrics(phase, totals), wanted);
      for (const metric of picked) {
        const ratioOnly = metric.pValue === null;
        const significant = ratioOnly || metric.significant;
        let verdict: GateVerdict;
        const zeroBaseline = metric.baseline.mean === 0;
        // 0 → 0 has no ratio (nothing used either time); 0 → more is worse by any percentage.
        const ratio = zeroBaseline ? (metric.candidate.mean === 0 ? NaN : Infinity) : metric.ratio;
        if (Number.isNaN(ratio)) verdict = "n/a: zero on both sides";
        else if (ratio > limit) verdict = significant ? "regression" : "not significant";
        else if (ratio < 1 && significant && !ratioOnly) verdict = "improvement";
        else verdict = "within threshold";
        checks.push({
          baseline: comparison.baseline,
          candidate: comparison.candidate,
          phase: phase.name,
          phaseIndex: phase.index,
          metric,
          verdict,
          failed: verdict === "regression",
          ratioOnly,
        });
      }
    }
  }
  if (checks.length === 0) {
    const where = options.phase === undefined ? "" : ` in phase '${options.phase}'`;
    const phases = options.phase !== undefined && !seenPhases.has(options.phase)
      ? `; phases in both files: ${[...seenPhases].join(", ") || "none"}`
      : "";
    const names = wanted === "energy"
      ? " (no energy metric: was an energy source active? see `joule-profiler doctor`)"
      : wanted === "duration"
      ? ""
      : `; metrics in both files: ${[...seenMetrics].sort().join(", ") || "none"}`;
    throw new UsageError(
      `--fail-above: nothing to compare: no ${wanted} metric${where} in both results` +
        `${names}${phases}`,
    );
  }
  return {
    checks,
    failed: checks.some((check) => check.failed),
    failAbovePct: options.failAbovePct,
  };
}

function percent(ratio: number): string {
  const change = (ratio - 1) * 100;
  return `${change >= 0 ? "+" : ""}${change.toFixed(1)} %`;
}

/**
 * One line per check: verdict, phase, metric, ratio ± uncertainty, change
 * and p-value; a closing line says whether the gate passed.
 *
 * @param report The gate's outcome.
 * @param alpha The significance level used.
 * @returns Lines for people (and CI logs).
 *
 * @example Usage
 * ```ts
 * import { gateLines } from "./energy_gate.ts";
 * console.log(gateLines({ checks: [], failed: false, failAbovePct: 5 }, 0.05).at(-1));
 * // gate passed: no phase is more than 5 % worse with significance at alpha = 0.05
 * ```
 */
export function gateLines(report: GateReport, alpha: number): string[] {
  const lines: string[] = [];
  const single = report.checks.some((check) =>
    check.ratioOnly && check.metric.notes?.test === "fewer than 2 runs"
  );
  if (single) {
    lines.push(
      "note: a side has a single run, so no significance can be computed: " +
        "the gate judges on the ratio alone (profile with -n 10 for a test)",
    );
  }
  for (const check of report.checks) {
    const { metric } = check;
    const p = metric.pValue === null
      ? `p n/a (${metric.notes?.test === "fewer than 2 runs" ? "single run" : "no spread"})`
      : Number.isNaN(metric.pValue)
      ? "p n/a (no spread)"
      : metric.pValue < 0.001
      ? "p < 0.001"
      : `p = ${metric.pValue.toFixed(3)}`;
    const label = check.failed ? "FAIL" : "ok  ";
    const name = metric.source === "" ? "duration" : `${metric.name} (${metric.source})`;
    const ratio = Number.isFinite(metric.ratio)
      ? `${metric.ratio.toFixed(3)} ± ${metric.ratioUncertainty.toFixed(3)} (${
        percent(metric.ratio)
      })`
      : metric.baseline.mean === 0 && metric.candidate.mean !== 0
      ? "n/a (the baseline is 0)"
      : "n/a (0 on both sides)";
    lines.push(
      `${label} ${check.verdict}: phase ${check.phase}, ${name}: ` +
        `${check.candidate} / ${check.baseline} = ${ratio}, ${p}`,
    );
  }
  const failures = report.checks.filter((check) => check.failed).length;
  lines.push(
    report.failed
      ? `gate FAILED: ${failures} of ${report.checks.length} checks more than ` +
        `${report.failAbovePct} % worse` +
        (single ? " (ratio alone)" : ` and significant at alpha = ${alpha}`)
      : `gate passed: no phase is more than ${report.failAbovePct} % worse` +
        (single ? " (ratio alone)" : ` with significance at alpha = ${alpha}`),
  );
  return lines;
}

/**
 * The gate as a JSON-ready object (snake_case keys, as the result files use).
 *
 * @param report The gate's outcome.
 * @param alpha The significance level used.
 * @returns The document.
 *
 * @example Usage
 * ```ts
 * import { gateDocument } from "./energy_gate.ts";
 * console.log(gateDocument({ checks: [], failed: false, failAbovePct: 5 }, 0.05).failed); // false
 * ```
 */
export function gateDocument(report: GateReport, alpha: number): Record<string, unknown> {
  return {
    fail_above_pct: report.failAbovePct,
    alpha,
    failed: report.failed,
    exit_status: report.failed ? EXIT_GATE_FAILED : 0,
    checks: report.checks.map((check) => ({
      baseline: check.baseline,
      candidate: check.candidate,
      phase: check.phase,
      phase_index: check.phaseIndex,
      metric: check.metric.source === "" ? "Duration" : check.metric.name,
      source: check.metric.source,
      ratio: Number.isFinite(check.metric.ratio) ? check.metric.ratio : null,
      ratio_uncertainty: Number.isFinite(check.metric.ratioUncertainty)
        ? check.metric.ratioUncertainty
        : null,
      p_value: check.metric.pValue,
      ratio_only: check.ratioOnly,
      verdict: check.verdict,
      failed: check.failed,
    })),
  };
}
