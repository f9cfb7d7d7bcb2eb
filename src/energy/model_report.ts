/**
 * The text `model show` and `model fit`/`train` print: the machine, the
 * features, and per domain its weights in readable units, R² and the
 * cross-validated error.
 *
 * @module
 */

import {
  DURATION_FEATURE,
  type EnergyModel,
  featureKey,
  type ModelFeature,
} from "./energy_model.ts";

/** A weight in a unit people read: W for the duration, J per CPU second, J per MB. */
function readableWeight(feature: ModelFeature, weight: number): string {
  if (feature.name === DURATION_FEATURE.name && feature.source === DURATION_FEATURE.source) {
    return `${number(weight)} W (at rest)`;
  }
  switch (feature.unit) {
    case "ns":
      return `${number(weight * 1e9)} J per second of ${feature.name}`;
    case "µs":
    case "us":
      return `${number(weight * 1e6)} J per second of ${feature.name}`;
    case "ms":
      return `${number(weight * 1e3)} J per second of ${feature.name}`;
    case "bytes":
    case "B":
      return `${number(weight * 1e6)} J per MB`;
    case "count":
      return `${number(weight * 1e6)} µJ each`;
    default:
      return `${number(weight)} J per ${feature.unit}`;
  }
}

/** Four significant digits, without exponent for ordinary magnitudes. */
function number(value: number): string {
  if (value === 0) return "0";
  const magnitude = Math.abs(value);
  return magnitude >= 1e-3 && magnitude < 1e6
    ? String(Number(value.toPrecision(4)))
    : value.toExponential(3);
}

/**
 * Describes a model in lines of text.
 *
 * @param model The model.
 * @param notes Remarks of the fit (features left out, domains skipped);
 * default: those recorded in the model.
 * @returns The text, ending with a newline.
 *
 * @example Usage
 * ```ts
 * import { formatModelReport } from "./model_report.ts";
 * console.log(formatModelReport({
 *   created: "2026-01-01T00:00:00.000Z",
 *   machine: { cpuModel: "x", logicalCpus: 2, kernel: "6.1" },
 *   features: [{ name: "DURATION", source: "phase", unit: "s" }],
 *   domains: [{ name: "PSYS", source: "RAPL", weights: [5], r2: 1, cvMape: 0.01, cvRmseJ: 0.1, phases: 9, meanJ: 5 }],
 *   training: { inputs: ["a.json"], phases: 9, folds: 5 },
 * }));
 * ```
 */
export function formatModelReport(
  model: EnergyModel,
  notes: readonly string[] = model.training.notes ?? [],
): string {
  const lines = [
    `Energy model fitted ${model.created} on ${model.machine.cpuModel} ` +
    `(${model.machine.logicalCpus} logical CPUs, kernel ${model.machine.kernel})`,
    `  from ${model.training.phases} phases with measured energy` +
    (model.training.inputs.length > 0 ? ` of ${model.training.inputs.join(", ")}` : "") +
    `; ${model.training.folds}-fold cross-validation`,
    `  features: ${model.features.map((f) => `${featureKey(f)} (${f.unit})`).join(", ")}`,
  ];
  for (const note of notes) lines.push(`  note: ${note}`);
  const width = Math.max(...model.features.map((f) => featureKey(f).length));
  for (const domain of model.domains) {
    lines.push(
      "",
      `${domain.name} (fitted on ${domain.source}): ${domain.phases} phases, mean ` +
        `${number(domain.meanJ)} J`,
      `  R² ${domain.r2.toFixed(4)}   cross-validated error (MAPE) ` +
        `${(domain.cvMape * 100).toFixed(2)} %   RMSE ${number(domain.cvRmseJ)} J`,
    );
    model.features.forEach((feature, j) => {
      const weight = domain.weights[j]!;
      lines.push(`  ${featureKey(feature).padEnd(width)}  ${readableWeight(feature, weight)}`);
    });
  }
  lines.push(
    "",
    "Estimates from it are labelled 'estimated', with ± = estimate × the domain's MAPE.",
  );
  return `${lines.join("\n")}\n`;
}
