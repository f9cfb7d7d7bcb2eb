/**
 * Estimates energy with a fitted model (`profile --energy-model`).
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import type { PhaseResult } from "../result.ts";
import type { Metric, Sensor } from "../source.ts";
import { DURATION_FEATURE, type EnergyModel, featureKey, readModelFile } from "./energy_model.ts";
import { type EnergyEstimator, ESTIMATED } from "./estimator.ts";
import { type MachineIdentity, thisMachine } from "./machine_identity.ts";
import { phaseFeatureValues } from "./phase_features.ts";

/** Source name of model estimates. */
export const MODEL_ESTIMATE_SOURCE = "energy model (estimated)";

/** How the flags that turn each source on are named, for messages. */
const HOW_TO_GET: Record<string, string> = {
  process: "the process source is on by default: drop --no-process",
  system: "the system source is on by default: drop --no-system",
  perf_event: "add --perf (and --perf-events with these events)",
};

/**
 * Per phase and domain of the model: E = Σ weightⱼ × featureⱼ, with
 * `details.uncertainty` = E × the model's cross-validated MAPE.
 *
 * @example Usage
 * ```ts
 * import { ModelEstimator } from "./model_estimator.ts";
 * const estimator = new ModelEstimator({
 *   created: "2026-01-01T00:00:00.000Z",
 *   machine: { cpuModel: "x", logicalCpus: 2, kernel: "6.1" },
 *   features: [{ name: "DURATION", source: "phase", unit: "s" }],
 *   domains: [{ name: "PSYS", source: "RAPL", weights: [5], r2: 1, cvMape: 0.02, cvRmseJ: 0.1, phases: 9, meanJ: 5 }],
 *   training: { inputs: [], phases: 9, folds: 5 },
 * }, "model.json");
 * const [metric] = estimator.estimate({
 *   index: 0, name: "START -> END", startToken: "START", endToken: "END", startNs: 0n,
 *   endNs: 2_000_000_000n, timestamp: 0, durationMs: 2000, metrics: [], failures: [],
 * }) as { value: number }[];
 * console.log(metric!.value); // 10000000 (µJ: 5 W × 2 s)
 * ```
 */
export class ModelEstimator implements EnergyEstimator {
  /** {@linkcode MODEL_ESTIMATE_SOURCE}. */
  readonly name: string = MODEL_ESTIMATE_SOURCE;
  readonly #model: EnergyModel;
  readonly #path: string;
  readonly #keys: string[];

  /**
   * Creates the estimator.
   *
   * @param model A model (see `readModelFile`).
   * @param path Where it came from, for messages and `details.model`.
   */
  constructor(model: EnergyModel, path: string) {
    this.#model = model;
    this.#path = path;
    this.#keys = model.features.map(featureKey);
  }

  /**
   * Reads a model file and warns when it was fitted on another machine.
   *
   * @param path The model file.
   * @param warn Receives the warning, if any.
   * @param machine This machine (default: read from the system).
   * @returns The estimator.
   * @throws {UsageError} For a missing, truncated or foreign file.
   */
  static async open(
    path: string,
    warn: (message: string) => void,
    machine: MachineIdentity = thisMachine(),
  ): Promise<ModelEstimator> {
    const model = await readModelFile(path);
    const mismatch = machineMismatch(model.machine, machine);
    if (mismatch !== undefined) {
      warn(
        `energy model ${path} was fitted on another machine (${mismatch}): its estimates may be ` +
          "off here; fit one on this hardware with 'joule-profiler model train'",
      );
    }
    return new ModelEstimator(model, path);
  }

  /** The model. */
  get model(): EnergyModel {
    return this.#model;
  }

  check(sensors: readonly Sensor[]): void {
    const missing = this.#model.features.filter((feature) =>
      feature !== DURATION_FEATURE && featureKey(feature) !== DURATION_FEATURE.name &&
      !sensors.some((sensor) =>
        sensor.source === feature.source && sensor.name === feature.name &&
        sensor.unit === feature.unit && sensor.available !== false
      )
    );
    if (missing.length === 0) return;
    const hints = [...new Set(missing.map((feature) => HOW_TO_GET[feature.source]))]
      .filter((hint) => hint !== undefined);
    throw new UsageError(
      `energy model ${this.#path} was fitted on features this profile does not measure: ` +
        `${missing.map(featureKey).join(", ")}` +
        (hints.length > 0 ? ` (${hints.join("; ")})` : ""),
    );
  }

  estimate(phase: PhaseResult): Metric[] | string {
    const values = phaseFeatureValues(phase);
    const absent = this.#keys.filter((key) => !values.has(key));
    if (absent.length > 0) return `${absent.join(", ")} not measured`;
    return this.#model.domains.map((domain): Metric => {
      let joules = 0;
      for (let j = 0; j < this.#keys.length; j++) {
        joules += domain.weights[j]! * values.get(this.#keys[j]!)!;
      }
      return {
        name: domain.name,
        value: Math.round(joules * 1e6),
        unit: "µJ",
        source: MODEL_ESTIMATE_SOURCE,
        details: {
          method: ESTIMATED,
          uncertainty: Math.round(joules * domain.cvMape * 1e6),
          cv_mape: Math.round(domain.cvMape * 1e4) / 1e4,
          fitted_on: domain.source,
          model: this.#path,
        },
      };
    });
  }
}

/**
 * How two machines differ in what matters to an energy model (CPU model,
 * logical CPUs), or `undefined` when they do not.
 *
 * @param fitted The model's machine.
 * @param here This machine.
 * @returns A phrase naming the differences.
 *
 * @example Usage
 * ```ts
 * import { machineMismatch } from "./model_estimator.ts";
 * console.log(machineMismatch(
 *   { cpuModel: "A", logicalCpus: 8, kernel: "6.1" },
 *   { cpuModel: "B", logicalCpus: 8, kernel: "6.1" },
 * )); // "CPU 'A', this one 'B'"
 * ```
 */
export function machineMismatch(
  fitted: MachineIdentity,
  here: MachineIdentity,
): string | undefined {
  const differences: string[] = [];
  if (fitted.cpuModel !== here.cpuModel) {
    differences.push(`CPU '${fitted.cpuModel}', this one '${here.cpuModel}'`);
  }
  if (fitted.logicalCpus !== here.logicalCpus) {
    differences.push(`${fitted.logicalCpus} logical CPUs, this one ${here.logicalCpus}`);
  }
  return differences.length > 0 ? differences.join("; ") : undefined;
}
