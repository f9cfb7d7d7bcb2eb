/**
 * Fits an energy model: per measured energy domain, non-negative weights
 * over per-phase metrics and the duration, with k-fold cross-validation.
 *
 * @module
 */

import { energyJoules } from "../energy_units.ts";
import { UsageError } from "../errors.ts";
import type { PhaseResult, ProfileResult } from "../result.ts";
import {
  type DomainModel,
  DURATION_FEATURE,
  type EnergyModel,
  featureKey,
  type ModelFeature,
} from "./energy_model.ts";
import { DEFAULT_FOLDS, DEFAULT_MIN_PHASE_MS } from "../setting_defaults.ts";
import { leastSquares, nonNegativeLeastSquares, norm } from "./least_squares.ts";
import { type MachineIdentity, thisMachine } from "./machine_identity.ts";
import {
  DEFAULT_FEATURE_NAMES,
  isMeasuredEnergy,
  metricFeature,
  phaseFeatureValues,
} from "./phase_features.ts";

export { DEFAULT_FOLDS, DEFAULT_MIN_PHASE_MS } from "../setting_defaults.ts";

/** A fit that cannot give a trustworthy model: exit code 2, nothing written. */
export class ModelFitError extends UsageError {
  /**
   * Creates the error.
   *
   * @param message One line saying why the fit is refused.
   */
  constructor(message: string) {
    super(message);
    this.name = "ModelFitError";
  }
}

/** How to fit. */
export interface FitOptions {
  /**
   * Features to use, each `NAME` (any source) or `source/NAME`; `DURATION`
   * is always included. Default: `DURATION` and every metric of
   * {@linkcode DEFAULT_FEATURE_NAMES} present in every phase, skipping
   * constant and collinear ones (each skip is noted).
   */
  features?: readonly string[];
  /** Folds of the cross-validation (default 5; fewer when there are fewer phases). */
  folds?: number;
  /**
   * Phases shorter than this many ms are left out (default
   * {@linkcode DEFAULT_MIN_PHASE_MS}): their energy is mostly the counters'
   * quantisation (RAPL updates about every 1 ms).
   */
  minPhaseMs?: number;
  /** Names of what the results came from, recorded in the model. */
  inputs?: readonly string[];
  /** The machine recorded in the model (default: this one). */
  machine?: MachineIdentity;
  /** The date recorded in the model (default: now). */
  created?: Date;
}

/** A fitted model and what the fit decided on the way. */
export interface FitReport {
  /** The model. */
  model: EnergyModel;
  /** Features left out and domains skipped, one sentence each. */
  notes: string[];
}

/** Below this, a feature's distance to the span of the others (relative to its length) means collinear. */
const COLLINEAR_INDEPENDENCE = 1e-4;
/**
 * Automatic feature choice keeps this many phases per feature, so that a
 * small calibration does not fit its noise (explicit `--features` only need
 * more phases than features).
 */
const PHASES_PER_AUTOMATIC_FEATURE = 3;

interface Row {
  features: Map<string, number>;
  phase: PhaseResult;
}

/**
 * Fits a model on every phase of `results` that has measured energy.
 *
 * @param results Profile results (e.g. read with `parseResultFile`).
 * @param options Features, folds, what to record.
 * @returns The model and the notes of the fit.
 * @throws {ModelFitError} When no phase has measured energy, a feature is
 * missing, constant or collinear, or there are not more phases than
 * features.
 *
 * @example A linear relation is recovered
 * ```ts
 * import { fitEnergyModel } from "./model_fit.ts";
 * import type { ProfileResult } from "../result.ts";
 * const phases = [1, 2, 3, 4, 5, 6].map((seconds, index) => ({
 *   index, name: "A -> B", startToken: "A", endToken: "B", startNs: 0n, endNs: 0n,
 *   timestamp: 0, durationMs: seconds * 1000, failures: [],
 *   metrics: [
 *     { name: "CPU_TIME", value: (index % 3) * 1e9, unit: "ns", source: "process" },
 *     { name: "PSYS", value: (5 * seconds + 20 * (index % 3)) * 1e6, unit: "µJ", source: "RAPL" },
 *   ],
 * }));
 * const result: ProfileResult = {
 *   command: ["x"], tokenPattern: "", exitCode: 0, durationMs: 0, interrupted: false,
 *   runs: [{ index: 0, exitCode: 0, signal: null, interrupted: false, startNs: 0n, endNs: 0n,
 *     timestamp: 0, durationMs: 0, phases }],
 * };
 * const { model } = fitEnergyModel([result]);
 * console.log(model.domains[0]!.weights.map((w) => Math.round(w * 1e9) / 1e9)); // [ 5, 2e-8 ]
 * ```
 */
export function fitEnergyModel(
  results: readonly ProfileResult[],
  options: FitOptions = {},
): FitReport {
  const inputs = options.inputs ?? [];
  const minPhaseMs = options.minPhaseMs ?? DEFAULT_MIN_PHASE_MS;
  const rows: Row[] = [];
  let short = 0;
  for (const result of results) {
    for (const run of result.runs) {
      for (const phase of run.phases) {
        if (!phase.metrics.some(isMeasuredEnergy)) continue;
        if (phase.durationMs < minPhaseMs) {
          short++;
          continue;
        }
        rows.push({ features: phaseFeatureValues(phase), phase });
      }
    }
  }
  const from = inputs.length > 0 ? ` in ${inputs.join(", ")}` : "";
  if (rows.length === 0 && short === 0) {
    throw new ModelFitError(
      `no phase${from} has measured energy (RAPL or NVML): fit on results profiled where ` +
        "energy counters exist (attributed and estimated energy are not measurements)",
    );
  }
  const shortNote = `${short} phase${short === 1 ? "" : "s"} shorter than ${minPhaseMs} ms ` +
    "left out: their energy is mostly the counters' quantisation";
  if (rows.length < 2) {
    throw new ModelFitError(
      `${rows.length} phase${rows.length === 1 ? "" : "s"} with measured energy${from}: a fit ` +
        "needs more phases than features (DURATION at least); profile more phases or runs" +
        (short > 0 ? ` (${shortNote})` : ""),
    );
  }
  const notes: string[] = short > 0 ? [shortNote] : [];
  const features = options.features === undefined
    ? chooseFeatures(rows, notes)
    : explicitFeatures(rows, options.features);
  const keys = features.map(featureKey);
  if (rows.length <= features.length) {
    throw new ModelFitError(
      `${rows.length} phase${rows.length === 1 ? "" : "s"} with measured energy for ` +
        `${features.length} feature${features.length === 1 ? "" : "s"} (${keys.join(", ")}): ` +
        "a fit needs more phases than features; profile more phases or runs, or pass fewer --features",
    );
  }
  const folds = Math.max(2, Math.floor(options.folds ?? DEFAULT_FOLDS));
  const domains: DomainModel[] = [];
  const skipped: string[] = [];
  for (const [domainKey, domain] of energyDomains(rows)) {
    const domainRows = rows.filter((row) => domain.rows.has(row));
    const columns = keys.map((key) =>
      Float64Array.from(domainRows, (row) => row.features.get(key)!)
    );
    const targets = Float64Array.from(domainRows, (row) => domain.rows.get(row)!);
    if (domainRows.length <= features.length) {
      skipped.push(
        `${domainKey} skipped: measured in only ${domainRows.length} phases for ` +
          `${features.length} features`,
      );
      continue;
    }
    if (!targets.some((joules) => joules > 0)) {
      skipped.push(
        `${domainKey} skipped: 0 J measured in every phase (a counter that does not move)`,
      );
      continue;
    }
    const collinear = firstCollinear(columns);
    if (collinear !== undefined) {
      skipped.push(
        `${domainKey} skipped: on its ${domainRows.length} phases ${keys[collinear]} is a ` +
          "combination of the features before it",
      );
      continue;
    }
    domains.push(fitDomain(domain.name, domain.source, columns, targets, folds));
  }
  if (domains.length === 0) {
    throw new ModelFitError(`no energy domain could be fitted: ${skipped.join("; ")}`);
  }
  notes.push(...skipped);
  return {
    model: {
      created: (options.created ?? new Date()).toISOString(),
      machine: options.machine ?? thisMachine(),
      features,
      domains,
      training: {
        inputs: [...inputs],
        phases: rows.length,
        folds: Math.min(folds, rows.length),
        ...(notes.length > 0 ? { notes: [...notes] } : {}),
      },
    },
    notes,
  };
}

/** Measured energy domains (source/name), with their value in J per phase. */
function energyDomains(
  rows: readonly Row[],
): Map<string, { name: string; source: string; rows: Map<Row, number> }> {
  const domains = new Map<string, { name: string; source: string; rows: Map<Row, number> }>();
  for (const row of rows) {
    for (const metric of row.phase.metrics) {
      if (!isMeasuredEnergy(metric)) continue;
      const key = `${metric.source}/${metric.name}`;
      let domain = domains.get(key);
      if (domain === undefined) {
        domain = { name: metric.name, source: metric.source, rows: new Map() };
        domains.set(key, domain);
      }
      domain.rows.set(row, energyJoules(metric)!);
    }
  }
  return domains;
}

/** Feature keys present in every row, with the feature each stands for. */
function commonFeatures(rows: readonly Row[]): Map<string, ModelFeature> {
  const common = new Map<string, ModelFeature>([[DURATION_FEATURE.name, DURATION_FEATURE]]);
  const first = rows[0]!;
  for (const metric of first.phase.metrics) {
    const feature = metricFeature(metric);
    const key = featureKey(feature);
    if (first.features.has(key) && rows.every((row) => row.features.has(key))) {
      common.set(key, feature);
    }
  }
  return common;
}

function column(rows: readonly Row[], key: string): Float64Array {
  return Float64Array.from(rows, (row) => row.features.get(key) ?? NaN);
}

function isConstant(values: Float64Array): boolean {
  let min = Infinity;
  let max = -Infinity;
  for (const value of values) {
    min = Math.min(min, value);
    max = Math.max(max, value);
  }
  return max - min <= 1e-9 * Math.max(Math.abs(min), Math.abs(max));
}

/** Index of the first column that is (nearly) a combination of the ones before it. */
function firstCollinear(columns: readonly Float64Array[]): number | undefined {
  const { independence } = leastSquares(columns, new Float64Array(columns[0]?.length ?? 0));
  const index = independence.findIndex((value) => value < COLLINEAR_INDEPENDENCE);
  return index < 0 ? undefined : index;
}

/** The features among `chosen` that a collinear `candidate` is made of. */
function collinearWith(chosen: readonly Float64Array[], candidate: Float64Array): number[] {
  const { coefficients } = leastSquares(chosen, candidate);
  const size = norm(candidate);
  return chosen.flatMap((values, j) =>
    Math.abs(coefficients[j]!) * norm(values) > 1e-3 * size ? [j] : []
  );
}

function chooseFeatures(rows: readonly Row[], notes: string[]): ModelFeature[] {
  const common = commonFeatures(rows);
  const partial = new Map<string, number>();
  for (const row of rows) {
    for (const key of row.features.keys()) {
      const name = key.slice(key.indexOf("/") + 1);
      if (!common.has(key) && DEFAULT_FEATURE_NAMES.includes(name)) {
        partial.set(key, (partial.get(key) ?? 0) + 1);
      }
    }
  }
  for (const [key, count] of partial) {
    notes.push(
      `${key} left out: measured in ${count} of the ${rows.length} phases (its source failed ` +
        "or was off in the others)",
    );
  }
  const duration = column(rows, DURATION_FEATURE.name);
  if (isConstant(duration)) {
    throw new ModelFitError(
      "every phase lasts the same time, so DURATION (idle power) cannot be told apart: " +
        "include phases of different lengths",
    );
  }
  const chosen: ModelFeature[] = [DURATION_FEATURE];
  const columns = [duration];
  const skipped: string[] = [];
  for (const name of DEFAULT_FEATURE_NAMES) {
    for (const [key, feature] of common) {
      if (feature.name !== name || key === DURATION_FEATURE.name) continue;
      if ((chosen.length + 1) * PHASES_PER_AUTOMATIC_FEATURE > rows.length) {
        skipped.push(key);
        continue;
      }
      const values = column(rows, key);
      if (isConstant(values)) {
        notes.push(`${key} left out: the same in every phase`);
        continue;
      }
      const independence = leastSquares([...columns, values], new Float64Array(rows.length))
        .independence.at(-1)!;
      if (independence < COLLINEAR_INDEPENDENCE) {
        const partners = collinearWith(columns, values).map((j) => featureKey(chosen[j]!));
        notes.push(`${key} left out: collinear with ${partners.join(", ") || "DURATION"}`);
        continue;
      }
      chosen.push(feature);
      columns.push(values);
    }
  }
  if (skipped.length > 0) {
    notes.push(
      `${skipped.join(", ")} left out: ${rows.length} phases allow at most ` +
        `${Math.floor(rows.length / PHASES_PER_AUTOMATIC_FEATURE)} automatically chosen ` +
        `features (${PHASES_PER_AUTOMATIC_FEATURE} phases per feature; --features overrides)`,
    );
  }
  return chosen;
}

function explicitFeatures(rows: readonly Row[], names: readonly string[]): ModelFeature[] {
  const everywhere = commonFeatures(rows);
  const anywhere = new Map<string, ModelFeature>();
  for (const row of rows) {
    for (const metric of row.phase.metrics) {
      const feature = metricFeature(metric);
      if (row.features.has(featureKey(feature))) anywhere.set(featureKey(feature), feature);
    }
  }
  const wanted = [DURATION_FEATURE.name, ...names.map((name) => name.trim()).filter(Boolean)];
  const chosen: ModelFeature[] = [];
  const columns: Float64Array[] = [];
  for (const name of wanted) {
    const matches = name.includes("/") || name === DURATION_FEATURE.name
      ? [...anywhere.keys(), DURATION_FEATURE.name].filter((key) => key === name)
      : [...anywhere.keys()].filter((key) => key.endsWith(`/${name}`));
    if (matches.length === 0) {
      const known = [...everywhere.keys()].join(", ");
      throw new ModelFitError(`feature ${name} is in no phase (features of every phase: ${known})`);
    }
    if (matches.length > 1) {
      throw new ModelFitError(
        `feature ${name} is measured by several sources (${matches.join(", ")}): name one`,
      );
    }
    const key = matches[0]!;
    if (chosen.some((feature) => featureKey(feature) === key)) continue;
    const missing = rows.filter((row) => !row.features.has(key)).length;
    if (missing > 0) {
      throw new ModelFitError(
        `feature ${key} is missing from ${missing} of the ${rows.length} phases with measured energy`,
      );
    }
    const values = column(rows, key);
    if (isConstant(values)) {
      throw new ModelFitError(
        `feature ${key} is the same (${values[0]}) in every phase: it cannot be fitted; ` +
          (key === DURATION_FEATURE.name
            ? "include phases of different lengths"
            : "leave it out of --features"),
      );
    }
    if (columns.length > 0) {
      const independence = leastSquares([...columns, values], new Float64Array(rows.length))
        .independence.at(-1)!;
      if (independence < COLLINEAR_INDEPENDENCE) {
        const partners = collinearWith(columns, values).map((j) => featureKey(chosen[j]!));
        throw new ModelFitError(
          `feature ${key} is collinear with ${partners.join(", ")} (a linear combination of ` +
            "them in these phases): their weights cannot be told apart; leave one out",
        );
      }
    }
    chosen.push(everywhere.get(key) ?? anywhere.get(key) ?? DURATION_FEATURE);
    columns.push(values);
  }
  return chosen;
}

function predict(columns: readonly Float64Array[], weights: Float64Array, row: number): number {
  let sum = 0;
  for (let j = 0; j < columns.length; j++) sum += weights[j]! * columns[j]![row]!;
  return sum;
}

function fitDomain(
  name: string,
  source: string,
  columns: readonly Float64Array[],
  targets: Float64Array,
  folds: number,
): DomainModel {
  const n = targets.length;
  const weights = nonNegativeLeastSquares(columns, targets);
  let mean = 0;
  for (const target of targets) mean += target / n;
  let residual = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    residual += (targets[i]! - predict(columns, weights, i)) ** 2;
    total += (targets[i]! - mean) ** 2;
  }
  const r2 = total > 0 ? 1 - residual / total : residual === 0 ? 1 : 0;
  const k = Math.min(folds, n);
  let percentSum = 0;
  let percentCount = 0;
  let squareSum = 0;
  for (let fold = 0; fold < k; fold++) {
    const train = [...Array(n).keys()].filter((i) => i % k !== fold);
    const foldWeights = nonNegativeLeastSquares(
      columns.map((values) => Float64Array.from(train, (i) => values[i]!)),
      Float64Array.from(train, (i) => targets[i]!),
    );
    for (let i = fold; i < n; i += k) {
      const error = predict(columns, foldWeights, i) - targets[i]!;
      squareSum += error * error;
      if (targets[i]! > 0) {
        percentSum += Math.abs(error) / targets[i]!;
        percentCount++;
      }
    }
  }
  return {
    name,
    source,
    weights: Array.from(weights),
    r2,
    cvMape: percentCount > 0 ? percentSum / percentCount : 0,
    cvRmseJ: Math.sqrt(squareSum / n),
    phases: n,
    meanJ: mean,
  };
}
