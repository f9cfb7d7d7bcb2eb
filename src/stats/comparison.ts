/**
 * Did B use more energy than A? Per phase and metric: the ratio of means
 * with its uncertainty, and Welch's t-test for significance.
 *
 * @module
 */

import { joulesPerUnit } from "../energy_units.ts";
import type { ProfileResult } from "../result.ts";
import { describe } from "./descriptive.ts";
import { ratioOfMeans, welchTest } from "./student_t.ts";

/** Mean and spread of one side of a comparison. */
export interface SampleSummary {
  /** Number of runs. */
  n: number;
  /** Mean across runs. */
  mean: number;
  /** Standard deviation across runs. */
  stddev: number;
}

/** One metric of one phase, compared. */
export interface MetricComparison {
  /** Sensor name (`Duration` for the phase's duration). */
  name: string;
  /** Unit. */
  unit: string;
  /** Source name (empty for the duration). */
  source: string;
  /** `true` for energies (µJ, mJ, J). */
  energy: boolean;
  /** The reference side (A). */
  baseline: SampleSummary;
  /** The compared side (B). */
  candidate: SampleSummary;
  /** mean(B) / mean(A); `NaN` when it cannot be computed (see `notes.ratio`). */
  ratio: number;
  /** Standard uncertainty of the ratio (`NaN` with the ratio). */
  ratioUncertainty: number;
  /** Welch's two-sided p-value, or `null` when the test cannot be run (see `notes.test`). */
  pValue: number | null;
  /** `pValue < alpha`. */
  significant: boolean;
  /** Why the ratio or the test is "n/a", when one is. */
  notes?: { ratio?: string; test?: string };
}

/** One phase, compared. */
export interface PhaseComparison {
  /** Position in the run. */
  index: number;
  /** `A -> B`. */
  name: string;
  /** Duration first, then every metric both sides have. */
  metrics: MetricComparison[];
}

/** B against A. */
export interface Comparison {
  /** Label of A. */
  baseline: string;
  /** Label of B. */
  candidate: string;
  /** Significance level of the test. */
  alpha: number;
  /** Phases both sides have (matched by position and name). */
  phases: PhaseComparison[];
  /** Phases only one side has, by name. */
  unmatched: string[];
}

/** Options of {@linkcode compareResults}. */
export interface CompareOptions {
  /** Significance level (default 0.05). */
  alpha?: number;
  /** Label of A (default: its name or command line). */
  baselineLabel?: string;
  /** Label of B (default: its name or command line). */
  candidateLabel?: string;
}

/**
 * The label of a result: its `name`, else its command line.
 *
 * @param result A profile result.
 * @returns A label for people.
 *
 * @example Usage
 * ```ts
 * import { resultLabel } from "./comparison.ts";
 * console.log(resultLabel({
 *   command: ["./a.out", "-x"], tokenPattern: "", exitCode: 0, durationMs: 0,
 *   interrupted: false, runs: [],
 * })); // "./a.out -x"
 * ```
 */
export function resultLabel(result: ProfileResult): string {
  return result.name ?? result.command.join(" ");
}

function valuesByPhase(result: ProfileResult): Map<string, Map<string, number[]>> {
  const phases = new Map<string, Map<string, number[]>>();
  for (const run of result.runs) {
    for (const phase of run.phases) {
      const phaseKey = `${phase.index}\u0000${phase.name}`;
      let metrics = phases.get(phaseKey);
      if (metrics === undefined) phases.set(phaseKey, metrics = new Map());
      const push = (key: string, value: number) => {
        const list = metrics!.get(key);
        if (list) list.push(value);
        else metrics!.set(key, [value]);
      };
      push("\u0000Duration", phase.durationMs);
      for (const metric of phase.metrics) {
        push(`${metric.source}\u0000${metric.name}`, metric.value);
      }
    }
  }
  return phases;
}

function summary(values: readonly number[]): SampleSummary {
  const { n, mean, stddev } = describe(values);
  return { n, mean, stddev };
}

/**
 * Compares B with A, phase by phase (matched by position and name) and
 * metric by metric: ratio of means B/A with its standard uncertainty, and
 * Welch's t-test (unequal variances) for whether the difference is real.
 *
 * @param a The reference result (A).
 * @param b The compared result (B).
 * @param options Significance level and labels.
 * @returns The comparison.
 *
 * @example Usage
 * ```ts
 * import { compareResults } from "./comparison.ts";
 * const empty = {
 *   command: ["true"], tokenPattern: "", exitCode: 0, durationMs: 0,
 *   interrupted: false, runs: [],
 * };
 * console.log(compareResults(empty, empty).phases); // []
 * ```
 */
export function compareResults(
  a: ProfileResult,
  b: ProfileResult,
  options: CompareOptions = {},
): Comparison {
  const alpha = options.alpha ?? 0.05;
  const left = valuesByPhase(a);
  const right = valuesByPhase(b);
  const units = new Map<string, string>();
  for (const result of [a, b]) {
    for (const run of result.runs) {
      for (const phase of run.phases) {
        for (const metric of phase.metrics) {
          units.set(`${metric.source}\u0000${metric.name}`, metric.unit);
        }
      }
    }
  }
  const phases: PhaseComparison[] = [];
  const unmatched: string[] = [];
  for (const [phaseKey, metricsA] of left) {
    const metricsB = right.get(phaseKey);
    const [index, name] = phaseKey.split("\u0000") as [string, string];
    if (metricsB === undefined) {
      unmatched.push(name);
      continue;
    }
    const metrics: MetricComparison[] = [];
    for (const [key, valuesA] of metricsA) {
      const valuesB = metricsB.get(key);
      if (valuesB === undefined) continue;
      const [source, metricName] = key.split("\u0000") as [string, string];
      const unit = source === "" ? "ms" : units.get(key) ?? "";
      const ratio = ratioOfMeans(valuesA, valuesB);
      const notes: { ratio?: string; test?: string } = {};
      if (Number.isNaN(ratio.value)) notes.ratio = ratioProblem(valuesA, valuesB);
      let pValue: number | null = null;
      if (valuesA.length < 2 || valuesB.length < 2) {
        notes.test = "fewer than 2 runs";
      } else {
        const p = welchTest(valuesA, valuesB).p;
        if (Number.isNaN(p)) notes.test = "no spread: every run gave the same value on both sides";
        else pValue = p;
      }
      metrics.push({
        name: metricName,
        unit,
        source,
        energy: joulesPerUnit(unit) !== undefined,
        baseline: summary(valuesA),
        candidate: summary(valuesB),
        ratio: ratio.value,
        ratioUncertainty: ratio.uncertainty,
        pValue,
        significant: pValue !== null && pValue < alpha,
        ...(notes.ratio !== undefined || notes.test !== undefined ? { notes } : {}),
      });
    }
    phases.push({ index: Number(index), name, metrics });
  }
  for (const phaseKey of right.keys()) {
    if (!left.has(phaseKey)) unmatched.push(phaseKey.split("\u0000")[1]!);
  }
  return {
    baseline: options.baselineLabel ?? resultLabel(a),
    candidate: options.candidateLabel ?? resultLabel(b),
    alpha,
    phases,
    unmatched,
  };
}

/**
 * The metrics a summary line is written for: the duration, and the energy
 * figures marked as totals (whole CPU, platform) when a source marks them,
 * else every energy metric. Overlapping RAPL domains are not all repeated.
 *
 * @param phase A compared phase.
 * @param totals Keys (`source\0name`) of metrics marked as totals.
 * @returns The headline metrics.
 *
 * @example Usage
 * ```ts
 * import { headlineMetrics } from "./comparison.ts";
 * console.log(headlineMetrics({ index: 0, name: "START -> END", metrics: [] }, new Set()));
 * // []
 * ```
 */
export function headlineMetrics(phase: PhaseComparison, totals: Set<string>): MetricComparison[] {
  const energies = phase.metrics.filter((metric) => metric.energy);
  const marked = energies.filter((metric) => totals.has(`${metric.source}\u0000${metric.name}`));
  const duration = phase.metrics.filter((metric) => metric.source === "");
  return [...duration, ...(marked.length > 0 ? marked : energies)];
}

function ratioProblem(a: readonly number[], b: readonly number[]): string {
  const mean = (values: readonly number[]) => values.reduce((x, y) => x + y, 0) / values.length;
  if (!a.every(Number.isFinite) || !b.every(Number.isFinite)) return "a value is not finite";
  return mean(b) === 0 ? "both means are 0" : "the baseline mean is 0";
}

function formatP(metric: MetricComparison): string {
  const p = metric.pValue;
  if (p === null) return `p n/a: ${metric.notes?.test ?? "not computable"}`;
  return p < 0.001 ? "p < 0.001" : `p = ${p.toFixed(3)}`;
}

/**
 * A ratio for people: `1.23 ± 0.04`, or `n/a (why)` when there is none.
 *
 * @param metric A compared metric.
 * @param digits Decimals.
 * @returns The text.
 *
 * @example Usage
 * ```ts
 * import { formatRatio } from "./comparison.ts";
 * console.log(formatRatio({ ratio: NaN, ratioUncertainty: NaN, notes: { ratio: "the baseline mean is 0" } }));
 * // "n/a (the baseline mean is 0)"
 * ```
 */
export function formatRatio(
  metric: Pick<MetricComparison, "ratio" | "ratioUncertainty" | "notes">,
  digits = 2,
): string {
  if (!Number.isFinite(metric.ratio)) return `n/a (${metric.notes?.ratio ?? "not computable"})`;
  return `${metric.ratio.toFixed(digits)} ± ${metric.ratioUncertainty.toFixed(digits)}`;
}

/**
 * Keys (`source\0name`) of metrics some run marks as a total
 * (`details.total`).
 *
 * @param results Results to scan.
 * @returns The keys.
 *
 * @example Usage
 * ```ts
 * import { totalMetricKeys } from "./comparison.ts";
 * console.log(totalMetricKeys([]).size); // 0
 * ```
 */
export function totalMetricKeys(results: readonly ProfileResult[]): Set<string> {
  const keys = new Set<string>();
  for (const result of results) {
    for (const run of result.runs) {
      for (const phase of run.phases) {
        for (const metric of phase.metrics) {
          if (metric.details?.total !== undefined) keys.add(`${metric.source}\u0000${metric.name}`);
        }
      }
    }
  }
  return keys;
}

/**
 * Hyperfine-style sentences, e.g. "B used 1.23 ± 0.04 × the energy of A in
 * phase START -> __WORK__ (PACKAGE-0; p < 0.001)"; a difference the test
 * does not support is said to be not significant.
 *
 * @param comparison A comparison.
 * @param totals Keys of metrics marked as totals (see {@linkcode totalMetricKeys}).
 * @returns One line per phase and headline metric.
 *
 * @example Usage
 * ```ts
 * import { comparisonSentences } from "./comparison.ts";
 * console.log(comparisonSentences({
 *   baseline: "A", candidate: "B", alpha: 0.05, phases: [], unmatched: [],
 * })); // []
 * ```
 */
export function comparisonSentences(
  comparison: Comparison,
  totals: Set<string> = new Set(),
): string[] {
  const lines: string[] = [];
  const { baseline, candidate } = comparison;
  for (const phase of comparison.phases) {
    for (const metric of headlineMetrics(phase, totals)) {
      const ratio = `${formatRatio(metric)}${Number.isFinite(metric.ratio) ? " ×" : ""}`;
      const what = !Number.isFinite(metric.ratio)
        ? `${candidate} against ${baseline}: ratio ${ratio}`
        : metric.source === ""
        ? `${candidate} took ${ratio} the time of ${baseline}`
        : `${candidate} used ${ratio} the energy of ${baseline}`;
      const about = metric.source === "" ? "" : `${metric.name}; `;
      const verdict = metric.significant || metric.pValue === null
        ? ""
        : `: not a significant difference at ${Math.round(comparison.alpha * 100)} %`;
      lines.push(`${what} in phase ${phase.name} (${about}${formatP(metric)})${verdict}`);
    }
  }
  return lines;
}

/**
 * A comparison as a JSON-ready object (snake_case keys, as the result
 * files use).
 *
 * @param comparison A comparison.
 * @param totals Keys of metrics marked as totals, for the summary lines.
 * @returns The document.
 *
 * @example Usage
 * ```ts
 * import { comparisonDocument } from "./comparison.ts";
 * console.log(comparisonDocument({
 *   baseline: "A", candidate: "B", alpha: 0.05, phases: [], unmatched: [],
 * }).test); // "welch"
 * ```
 */
export function comparisonDocument(
  comparison: Comparison,
  totals: Set<string> = new Set(),
): Record<string, unknown> {
  return {
    baseline: comparison.baseline,
    candidate: comparison.candidate,
    test: "welch",
    alpha: comparison.alpha,
    summary: comparisonSentences(comparison, totals),
    phases: comparison.phases.map((phase) => ({
      index: phase.index,
      name: phase.name,
      metrics: phase.metrics.map((metric) => ({
        name: metric.name,
        unit: metric.unit,
        source: metric.source,
        baseline: metric.baseline,
        candidate: metric.candidate,
        ratio: Number.isFinite(metric.ratio) ? metric.ratio : null,
        ratio_uncertainty: Number.isFinite(metric.ratioUncertainty)
          ? metric.ratioUncertainty
          : null,
        p_value: metric.pValue,
        significant: metric.significant,
        ...(metric.notes !== undefined ? { notes: metric.notes } : {}),
      })),
    })),
    ...(comparison.unmatched.length > 0 ? { unmatched_phases: comparison.unmatched } : {}),
  };
}
