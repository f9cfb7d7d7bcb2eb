/**
 * Derived metrics: figures users otherwise compute by hand from what the
 * sources measured, added to each phase after the run by core (a source
 * never reads another source's values).
 *
 * - `IPC`: the `perf_event` source's `INSTRUCTIONS` ÷ `CPU_CYCLES`.
 * - `ENERGY_PER_INSTRUCTION`: the phase's energy (the domains that do not
 *   overlap, as for carbon) ÷ `INSTRUCTIONS`, in nJ per instruction.
 * - `<DOMAIN>_AVERAGE_POWER`: each energy ÷ the phase's duration, in W,
 *   beside its energy (same source).
 * - `ENERGY_DELAY_PRODUCT`: the phase's energy × its duration, in J·s.
 *
 * Every derived metric has `details.method: "derived"`; those computed from
 * an energy say which (`details.of`) and how that energy was obtained
 * (`details.energy_method`: `measured`, `attributed` or `estimated`). Per
 * energy label there is one figure: `ENERGY_PER_INSTRUCTION` from measured
 * energy, `ATTRIBUTED_ENERGY_PER_INSTRUCTION` from the program's attributed
 * share, and so on. A derived metric whose inputs are missing is absent;
 * {@linkcode missingDerivedMetrics} says why.
 *
 * @module
 */

import { energyJoules } from "./energy_units.ts";
import { additiveEnergies, CARBON_UNIT, energyMethod } from "./energy/carbon.ts";
import type { PhaseResult, ProfileResult, RunResult } from "./result.ts";
import type { Metric } from "./source.ts";
import { compareNaturalNames } from "./text/natural_name_order.ts";
import { readPhaseMetrics, writePhaseMetrics } from "./phase/compact_metrics.ts";

/** Source name of the derived metrics that combine several sources. */
export const DERIVED_SOURCE = "derived";

/** The method label of every derived metric. */
export const DERIVED_METHOD = "derived";

/** Source name of the counters IPC and energy per instruction come from. */
const PERF_SOURCE = "perf_event";

/** Suffix of a domain's average power: `PACKAGE-0` → `PACKAGE-0_AVERAGE_POWER`. */
export const AVERAGE_POWER_SUFFIX = "_AVERAGE_POWER";

/**
 * `ENERGY_PER_INSTRUCTION` for measured energy, `ATTRIBUTED_ENERGY_PER_INSTRUCTION`
 * for attributed, … (a prefix: names ending in `_ATTRIBUTED` are attributed energies).
 */
function labelled(name: string, method: string): string {
  return method === "measured" ? name : `${method.toUpperCase()}_${name}`;
}

function round(value: number, digits = 6): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/**
 * The derived metrics of one phase, from its metrics and duration.
 *
 * @param phase A phase (its metrics are not changed).
 * @returns The derived metrics (possibly none).
 *
 * @example IPC from instructions and cycles
 * ```ts
 * import { derivedMetricsOf } from "./derived_metrics.ts";
 * const derived = derivedMetricsOf({
 *   durationMs: 1000,
 *   metrics: [
 *     { name: "INSTRUCTIONS", value: 3_000, unit: "count", source: "perf_event" },
 *     { name: "CPU_CYCLES", value: 2_000, unit: "count", source: "perf_event" },
 *   ],
 * });
 * console.log(derived[0]!.name, derived[0]!.value); // IPC 1.5
 * ```
 */
export function derivedMetricsOf(
  phase: Pick<PhaseResult, "metrics" | "durationMs">,
): Metric[] {
  const metrics = phase.metrics.filter((metric) => metric.details?.method !== DERIVED_METHOD);
  const seconds = phase.durationMs / 1000;
  const counter = (name: string) =>
    metrics.find((metric) => metric.source === PERF_SOURCE && metric.name === name)?.value;
  const instructions = counter("INSTRUCTIONS");
  const cycles = counter("CPU_CYCLES");
  const added: Metric[] = [];
  if (instructions !== undefined && cycles !== undefined && cycles > 0) {
    added.push({
      name: "IPC",
      value: round(instructions / cycles),
      unit: "instructions/cycle",
      source: DERIVED_SOURCE,
      details: { method: DERIVED_METHOD, of: "INSTRUCTIONS/CPU_CYCLES" },
    });
  }
  for (const metric of metrics) {
    const joules = energyJoules(metric);
    if (joules === undefined || metric.unit === CARBON_UNIT || !(seconds > 0)) continue;
    // A frozen counter (marked not_updating) is no measurement: nothing is derived from it.
    if (metric.details?.not_updating === true) continue;
    added.push({
      name: `${metric.name}${AVERAGE_POWER_SUFFIX}`,
      value: round(joules / seconds),
      unit: "W",
      source: metric.source,
      details: { method: DERIVED_METHOD, of: metric.name, energy_method: energyMethod(metric) },
    });
  }
  for (const [method, energies] of additiveEnergies(metrics)) {
    const joules = energies.reduce((sum, metric) => sum + energyJoules(metric)!, 0);
    const of = energies.map((metric) => metric.name).join("+");
    if (instructions !== undefined && instructions > 0) {
      added.push({
        name: labelled("ENERGY_PER_INSTRUCTION", method),
        value: round(joules / instructions * 1e9),
        unit: "nJ/instruction",
        source: DERIVED_SOURCE,
        details: { method: DERIVED_METHOD, of: `(${of})/INSTRUCTIONS`, energy_method: method },
      });
    }
    if (seconds >= 0) {
      added.push({
        name: labelled("ENERGY_DELAY_PRODUCT", method),
        value: round(joules * seconds, 9),
        unit: "J·s",
        source: DERIVED_SOURCE,
        details: { method: DERIVED_METHOD, of: `(${of})×duration`, energy_method: method },
      });
    }
  }
  return added;
}

/**
 * How many derived metrics a phase may hold at most, from the sensors of
 * the sources (for memory budgets): an average power per energy sensor,
 * an energy-delay product, IPC and energy per instruction where their
 * inputs can be measured.
 *
 * @param sensors The available sensors.
 * @returns The count.
 *
 * @example Usage
 * ```ts
 * import { derivedMetricCount } from "./derived_metrics.ts";
 * console.log(derivedMetricCount([{ name: "PACKAGE-0", unit: "µJ", source: "RAPL (Powercap)" }])); // 2
 * ```
 */
export function derivedMetricCount(
  sensors: readonly { name: string; unit: string; source: string }[],
): number {
  const energies =
    sensors.filter((sensor) => energyJoules({ value: 0, unit: sensor.unit }) !== undefined)
      .length;
  const counts = (name: string) =>
    sensors.some((sensor) => sensor.source === PERF_SOURCE && sensor.name === name);
  const instructions = counts("INSTRUCTIONS");
  return energies + (energies > 0 ? 1 : 0) + (instructions && counts("CPU_CYCLES") ? 1 : 0) +
    (instructions && energies > 0 ? 1 : 0);
}

/**
 * Adds the derived metrics to every phase of a run, in place (replacing
 * derived metrics already there, so it can run again after a merge).
 *
 * @param run A run.
 * @returns How many metrics were added.
 *
 * @example Usage
 * ```ts
 * import { addDerivedMetrics } from "./derived_metrics.ts";
 * const run = {
 *   index: 0, exitCode: 0, signal: null, interrupted: false, startNs: 0n,
 *   endNs: 2_000_000_000n, timestamp: 0, durationMs: 2000,
 *   phases: [{
 *     index: 0, name: "START -> END", startToken: "START", endToken: "END", startNs: 0n,
 *     endNs: 2_000_000_000n, timestamp: 0, durationMs: 2000, failures: [],
 *     metrics: [{ name: "GPU-0", value: 10, unit: "J", source: "NVML" }],
 *   }],
 * };
 * addDerivedMetrics(run);
 * console.log(run.phases[0]!.metrics.map((m) => `${m.name} ${m.value} ${m.unit}`));
 * // ["ENERGY_DELAY_PRODUCT 20 J·s", "GPU-0 10 J", "GPU-0_AVERAGE_POWER 5 W"]
 * ```
 */
export function addDerivedMetrics(run: RunResult): number {
  let count = 0;
  for (const phase of run.phases) {
    // Each phase once, and stored again at once: a long run's lists never pile up in memory.
    const metrics = readPhaseMetrics(phase);
    const added = derivedMetricsOf({ metrics, durationMs: phase.durationMs });
    const kept = metrics.filter((metric) => metric.details?.method !== DERIVED_METHOD);
    if (added.length === 0 && kept.length === metrics.length) continue;
    // Phases without metrics share one frozen empty list: build a new one.
    writePhaseMetrics(
      phase,
      [...kept, ...added].sort((a, b) =>
        a.source === b.source ? compareNaturalNames(a.name, b.name) : a.source < b.source ? -1 : 1
      ),
    );
    count += added.length;
  }
  return count;
}

/** A derived metric that could not be computed, and why. */
export interface MissingDerivedMetric {
  /** Its name (`IPC`, `ENERGY_PER_INSTRUCTION`). */
  name: string;
  /** Why, in words. */
  reason: string;
}

/**
 * The counter-based derived metrics (`IPC`, `ENERGY_PER_INSTRUCTION`) that
 * are absent although the `perf_event` source counted: which input was
 * missing. Nothing is reported when no `perf_event` metric exists (the
 * counters were not asked for), nor, with `asked`, for a metric whose
 * counters were not among the events asked for.
 *
 * @param results Profile results.
 * @param asked The perf events asked for, by metric name (`CPU_CYCLES`);
 *   default: report whatever is missing.
 * @returns One entry per absent metric.
 *
 * @example Usage
 * ```ts
 * import { missingDerivedMetrics } from "./derived_metrics.ts";
 * const phase = {
 *   index: 0, name: "START -> END", startToken: "START", endToken: "END", startNs: 0n,
 *   endNs: 1n, timestamp: 0, durationMs: 0, failures: [],
 *   metrics: [{ name: "TASK_CLOCK", value: 5, unit: "ns", source: "perf_event" }],
 * };
 * const run = { ...phase, exitCode: 0, signal: null, interrupted: false, phases: [phase] };
 * console.log(missingDerivedMetrics([{
 *   command: ["x"], tokenPattern: "", exitCode: 0, durationMs: 0, interrupted: false, runs: [run],
 * }])[0]!.name); // IPC
 * ```
 */
export function missingDerivedMetrics(
  results: readonly ProfileResult[],
  asked?: readonly string[],
): MissingDerivedMetric[] {
  const wanted = (name: string) => asked === undefined || asked.includes(name);
  const counted = new Set<string>();
  let perf = false;
  let energy = false;
  for (const result of results) {
    for (const run of result.runs) {
      for (const phase of run.phases) {
        for (const metric of phase.metrics) {
          if (metric.source === PERF_SOURCE) {
            perf = true;
            counted.add(metric.name);
          } else if (energyJoules(metric) !== undefined && metric.unit !== CARBON_UNIT) {
            energy = true;
          }
        }
      }
    }
  }
  if (!perf) return [];
  const lacking = ["INSTRUCTIONS", "CPU_CYCLES"].filter((name) => !counted.has(name));
  const why = (names: string[]) =>
    `perf_event counted no ${names.join(" and no ")} (add them with --perf-events; hardware ` +
    `events need a PMU, which most virtual machines lack)`;
  const missing: MissingDerivedMetric[] = [];
  if (lacking.length > 0 && wanted("INSTRUCTIONS") && wanted("CPU_CYCLES")) {
    missing.push({ name: "IPC", reason: why(lacking) });
  }
  if (!wanted("INSTRUCTIONS")) return missing;
  if (!counted.has("INSTRUCTIONS")) {
    missing.push({
      name: "ENERGY_PER_INSTRUCTION",
      reason: energy ? why(["INSTRUCTIONS"]) : `no energy was measured, and ${why(lacking)}`,
    });
  } else if (!energy) {
    missing.push({ name: "ENERGY_PER_INSTRUCTION", reason: "no energy was measured" });
  }
  return missing;
}
