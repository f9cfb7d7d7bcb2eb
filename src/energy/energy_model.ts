/**
 * The fitted energy model: per energy domain, non-negative weights over
 * per-phase metrics plus the phase's duration; its file format (JSON,
 * versioned) and the checks made when one is read.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import type { MachineIdentity } from "./machine_identity.ts";

/** The `schema` field of every model file. */
export const MODEL_SCHEMA = "joule-profiler/energy-model";
/** The model file version this code writes and reads. */
export const MODEL_SCHEMA_VERSION = 1;

/** The feature every model has: the phase's duration, in seconds. */
export const DURATION_FEATURE: ModelFeature = { name: "DURATION", source: "phase", unit: "s" };

/** A model input: a per-phase metric (by source and name), or the duration. */
export interface ModelFeature {
  /** Metric name, e.g. `CPU_TIME`, or `DURATION`. */
  name: string;
  /** Source of the metric, e.g. `process`; `phase` for the duration. */
  source: string;
  /** Unit the weights apply to, e.g. `ns`. */
  unit: string;
}

/** The model of one energy domain. */
export interface DomainModel {
  /** Energy metric name, e.g. `PACKAGE-0`. */
  name: string;
  /** Source that measured it when the model was fitted, e.g. `RAPL (Powercap)`. */
  source: string;
  /** Joules per unit of each feature, in the order of `EnergyModel.features`; all ≥ 0. */
  weights: number[];
  /** Coefficient of determination of the fit on all its phases. */
  r2: number;
  /** k-fold cross-validated mean absolute percentage error, as a fraction (0.05 = 5 %). */
  cvMape: number;
  /** k-fold cross-validated root mean square error, J. */
  cvRmseJ: number;
  /** Phases the domain was fitted on. */
  phases: number;
  /** Mean measured energy of those phases, J. */
  meanJ: number;
}

/** A fitted model, as saved by `model fit` / `model train`. */
export interface EnergyModel {
  /** When it was fitted (ISO 8601). */
  created: string;
  /** The machine whose measurements it was fitted on. */
  machine: MachineIdentity;
  /** Inputs, in weight order; the first is {@linkcode DURATION_FEATURE}. */
  features: ModelFeature[];
  /** One model per energy domain. */
  domains: DomainModel[];
  /** How it was fitted. */
  training: {
    /** Result files (or calibration workloads) it was fitted on. */
    inputs: string[];
    /** Phases with measured energy. */
    phases: number;
    /** Folds of the cross-validation. */
    folds: number;
    /** What the fit left out and why (features, domains), one sentence each. */
    notes?: string[];
  };
}

/**
 * The key of a feature in a model file's `weights`: `DURATION`, or
 * `source/NAME`.
 *
 * @param feature The feature.
 * @returns Its key.
 *
 * @example Usage
 * ```ts
 * import { featureKey } from "./energy_model.ts";
 * console.log(featureKey({ name: "CPU_TIME", source: "process", unit: "ns" })); // "process/CPU_TIME"
 * ```
 */
export function featureKey(feature: ModelFeature): string {
  return feature.source === DURATION_FEATURE.source && feature.name === DURATION_FEATURE.name
    ? DURATION_FEATURE.name
    : `${feature.source}/${feature.name}`;
}

/**
 * The model file text: pretty JSON with snake_case keys and, per domain,
 * the weights keyed by feature.
 *
 * @param model A fitted model.
 * @returns JSON text ending with a newline.
 *
 * @example Usage
 * ```ts
 * import { formatModelFile, parseModelFile } from "./energy_model.ts";
 * const text = formatModelFile({
 *   created: "2026-01-01T00:00:00.000Z",
 *   machine: { cpuModel: "x", logicalCpus: 2, kernel: "6.1" },
 *   features: [{ name: "DURATION", source: "phase", unit: "s" }],
 *   domains: [{ name: "PSYS", source: "RAPL", weights: [5], r2: 1, cvMape: 0, cvRmseJ: 0, phases: 3, meanJ: 5 }],
 *   training: { inputs: ["a.json"], phases: 3, folds: 3 },
 * });
 * console.log(parseModelFile(text, "m.json").domains[0]!.weights); // [ 5 ]
 * ```
 */
export function formatModelFile(model: EnergyModel): string {
  const document = {
    schema: MODEL_SCHEMA,
    schema_version: MODEL_SCHEMA_VERSION,
    created: model.created,
    machine: {
      cpu_model: model.machine.cpuModel,
      logical_cpus: model.machine.logicalCpus,
      kernel: model.machine.kernel,
    },
    training: model.training,
    features: model.features.map(({ name, source, unit }) => ({ name, source, unit })),
    domains: model.domains.map((domain) => ({
      name: domain.name,
      source: domain.source,
      unit: "J",
      weights: Object.fromEntries(
        model.features.map((feature, j) => [featureKey(feature), domain.weights[j]!]),
      ),
      r2: domain.r2,
      cv_mape: domain.cvMape,
      cv_rmse_j: domain.cvRmseJ,
      phases: domain.phases,
      mean_j: domain.meanJ,
    })),
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function text(value: unknown, what: string): string {
  if (typeof value !== "string" || value === "") throw new TypeError(`${what} is not a name`);
  return value;
}

function finite(value: unknown, what: string, min = -Infinity): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min) {
    throw new TypeError(`${what} is not a number${min === 0 ? " ≥ 0" : ""}`);
  }
  return value;
}

/**
 * Reads a model file's text, checking everything the estimator relies on.
 *
 * @param content The file's text.
 * @param path The file's name, for messages.
 * @returns The model.
 * @throws {UsageError} Naming the problem: not JSON (truncated), another
 * schema or version, a missing or invalid field, weights that do not match
 * the features.
 *
 * @example A file of another kind is refused
 * ```ts
 * import { parseModelFile } from "./energy_model.ts";
 * try {
 *   parseModelFile('{"phases": []}', "result.json");
 * } catch (error) {
 *   console.log((error as Error).message); // "result.json is not a joule-profiler energy model ..."
 * }
 * ```
 */
export function parseModelFile(content: string, path: string): EnergyModel {
  let document: unknown;
  try {
    document = JSON.parse(content);
  } catch (error) {
    throw new UsageError(
      `${path} is not a complete JSON document (truncated?): ${(error as Error).message}`,
    );
  }
  if (!isObject(document) || document.schema !== MODEL_SCHEMA) {
    const schema = isObject(document) && typeof document.schema === "string"
      ? `schema '${document.schema}'`
      : "no schema field";
    throw new UsageError(
      `${path} is not a joule-profiler energy model (${schema}; expected '${MODEL_SCHEMA}' ` +
        `from 'joule-profiler model fit' or 'model train')`,
    );
  }
  if (document.schema_version !== MODEL_SCHEMA_VERSION) {
    throw new UsageError(
      `${path} is an energy model of schema version ${String(document.schema_version)}; ` +
        `this joule-profiler reads version ${MODEL_SCHEMA_VERSION}`,
    );
  }
  try {
    return readModel(document);
  } catch (error) {
    throw new UsageError(`${path} is not a valid energy model: ${(error as Error).message}`);
  }
}

function readModel(document: Json): EnergyModel {
  const machine = document.machine;
  if (!isObject(machine)) throw new TypeError("no machine");
  if (!Array.isArray(document.features) || document.features.length === 0) {
    throw new TypeError("no features[]");
  }
  const features = document.features.map((feature, j): ModelFeature => {
    if (!isObject(feature)) throw new TypeError(`feature ${j} is not an object`);
    return {
      name: text(feature.name, `feature ${j} name`),
      source: text(feature.source, `feature ${j} source`),
      unit: text(feature.unit, `feature ${j} unit`),
    };
  });
  const keys = features.map(featureKey);
  if (new Set(keys).size !== keys.length) throw new TypeError("a feature is listed twice");
  if (!Array.isArray(document.domains) || document.domains.length === 0) {
    throw new TypeError("no domains[]");
  }
  const domains = document.domains.map((domain, d): DomainModel => {
    if (!isObject(domain)) throw new TypeError(`domain ${d} is not an object`);
    const name = text(domain.name, `domain ${d} name`);
    const weights = domain.weights;
    if (!isObject(weights)) throw new TypeError(`domain ${name} has no weights`);
    const extra = Object.keys(weights).filter((key) => !keys.includes(key));
    if (extra.length > 0) {
      throw new TypeError(`domain ${name} has weights for unlisted features: ${extra.join(", ")}`);
    }
    return {
      name,
      source: text(domain.source, `domain ${name} source`),
      weights: keys.map((key) => finite(weights[key], `domain ${name} weight of ${key}`, 0)),
      r2: finite(domain.r2, `domain ${name} r2`),
      cvMape: finite(domain.cv_mape, `domain ${name} cv_mape`, 0),
      cvRmseJ: finite(domain.cv_rmse_j, `domain ${name} cv_rmse_j`, 0),
      phases: finite(domain.phases, `domain ${name} phases`, 0),
      meanJ: finite(domain.mean_j, `domain ${name} mean_j`),
    };
  });
  const training = isObject(document.training) ? document.training : {};
  return {
    created: text(document.created, "created"),
    machine: {
      cpuModel: text(machine.cpu_model, "machine.cpu_model"),
      logicalCpus: finite(machine.logical_cpus, "machine.logical_cpus", 0),
      kernel: text(machine.kernel, "machine.kernel"),
    },
    features,
    domains,
    training: {
      inputs: Array.isArray(training.inputs) ? training.inputs.map(String) : [],
      phases: typeof training.phases === "number" ? training.phases : 0,
      folds: typeof training.folds === "number" ? training.folds : 0,
      ...(Array.isArray(training.notes) ? { notes: training.notes.map(String) } : {}),
    },
  };
}

/**
 * Reads and checks a model file.
 *
 * @param path The file.
 * @returns The model.
 * @throws {UsageError} When it cannot be read or is not a valid model.
 *
 * @example Usage
 * ```ts
 * import { readModelFile } from "./energy_model.ts";
 * try {
 *   await readModelFile("/nonexistent/model.json");
 * } catch (error) {
 *   console.log((error as Error).message); // "cannot read energy model /nonexistent/model.json: ..."
 * }
 * ```
 */
export async function readModelFile(path: string): Promise<EnergyModel> {
  let content: string;
  try {
    content = await Deno.readTextFile(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "no such file"
      : (error as Error).message;
    throw new UsageError(`cannot read energy model ${path}: ${reason}`);
  }
  return parseModelFile(content, path);
}
