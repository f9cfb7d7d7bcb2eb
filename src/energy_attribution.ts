/**
 * Attributed energy: the program's share of each measured CPU-side energy
 * domain (RAPL), computed after a run from the metrics of two independent
 * sources, `process` (the program's CPU time) and `system` (the machine's
 * busy CPU time and capacity).
 *
 * For a phase of duration `t`, a domain's raw energy `E`, the program's
 * CPU time `c`, the machine's busy CPU time `b` and its capacity `C` (all
 * cores × `t`, from `/proc/stat`):
 *
 * - without an idle baseline: `E_attr = E × c ÷ max(b, c)`;
 * - with `--idle` (idle power `P` of that domain):
 *   `E_idle = min(E, P × t)`, and
 *   `E_attr = E_idle × min(1, c ÷ C) + (E − E_idle) × c ÷ max(b, c)`:
 *   the program's share of the machine's capacity pays for that much of the
 *   idle draw, and its share of the busy time for that much of the energy
 *   above idle.
 *
 * Both shares are at most 1, so `E_attr ≤ E` always.
 *
 * @module
 */

import type { PhaseResult, RunResult } from "./result.ts";
import { withAveragePower } from "./result.ts";
import { joulesPerUnit } from "./energy_units.ts";
import type { Metric } from "./source.ts";
import type { IdleBaseline } from "./stats/phase_statistics.ts";
import { compareNaturalNames } from "./text/natural_name_order.ts";
import { readPhaseMetrics, writePhaseMetrics } from "./phase/compact_metrics.ts";

/** Suffix of an attributed metric's name: `PACKAGE-0` → `PACKAGE-0_ATTRIBUTED`. */
export const ATTRIBUTED_SUFFIX = "_ATTRIBUTED";

/** The written-out formula, kept in each attributed metric's details. */
const FORMULA = "E x c / max(b, c)";
const FORMULA_IDLE = "min(E, P x t) x min(1, c / C) + (E - min(E, P x t)) x c / max(b, c)";

/**
 * Adds, next to every measured RAPL energy metric of every phase, the
 * program's attributed share (`<name>_ATTRIBUTED`, same source and unit,
 * `details.method: "attributed"`). Phases without both the `process`
 * source's `CPU_TIME` and the `system` source's `SYSTEM_CPU_BUSY_TIME` are
 * left as they are.
 *
 * @param run A run whose phases are complete.
 * @param idle The idle baseline, when measured (`--idle`).
 * @returns How many attributed metrics were added.
 *
 * @example Usage
 * ```ts
 * import { attributeEnergy } from "./energy_attribution.ts";
 * import type { RunResult } from "./result.ts";
 * const run: RunResult = {
 *   index: 0, exitCode: 0, signal: null, interrupted: false, startNs: 0n, endNs: 1_000_000_000n,
 *   timestamp: 0, durationMs: 1000, phases: [{
 *     index: 0, name: "START -> END", startToken: "START", endToken: "END", startNs: 0n,
 *     endNs: 1_000_000_000n, timestamp: 0, durationMs: 1000, failures: [], metrics: [
 *       { name: "PACKAGE-0", value: 10_000_000, unit: "µJ", source: "RAPL (Powercap)",
 *         details: { method: "measured" } },
 *       { name: "CPU_TIME", value: 250_000_000, unit: "ns", source: "process" },
 *       { name: "SYSTEM_CPU_BUSY_TIME", value: 1_000_000_000, unit: "ns", source: "system" },
 *       { name: "SYSTEM_CPU_TIME", value: 2_000_000_000, unit: "ns", source: "system" },
 *     ],
 *   }],
 * };
 * attributeEnergy(run);
 * console.log(run.phases[0]!.metrics.find((m) => m.name === "PACKAGE-0_ATTRIBUTED")!.value);
 * // 2500000
 * ```
 */
export function attributeEnergy(run: RunResult, idle?: IdleBaseline): number {
  let added = 0;
  for (const phase of run.phases) added += attributePhase(phase, idle);
  return added;
}

function attributePhase(phase: PhaseResult, idle: IdleBaseline | undefined): number {
  // Each phase once, and stored again at once: a long run's lists never pile up in memory.
  const metrics = readPhaseMetrics(phase);
  const find = (source: string, name: string) =>
    metrics.find((metric) => metric.source === source && metric.name === name)?.value;
  const program = find("process", "CPU_TIME");
  const busy = find("system", "SYSTEM_CPU_BUSY_TIME");
  if (program === undefined || busy === undefined) return 0;
  const durationNs = phase.endNs - phase.startNs;
  const seconds = Number(durationNs) / 1e9;
  const capacity = find("system", "SYSTEM_CPU_TIME") ??
    navigator.hardwareConcurrency * seconds * 1e9;
  const activeShare = program > 0 ? program / Math.max(busy, program) : 0;
  const capacityShare = capacity > 0 ? Math.min(1, program / capacity) : 0;
  const added: Metric[] = [];
  for (const metric of metrics) {
    const perUnit = joulesPerUnit(metric.unit);
    if (perUnit === undefined || !metric.source.startsWith("RAPL")) continue;
    if (metric.details?.method !== "measured") continue;
    // A frozen counter (a VM's RAPL, marked not_updating) reads 0: there is nothing to share out.
    if (metric.details?.not_updating === true) continue;
    const raw = metric.value;
    const power = idle?.power.find((entry) =>
      entry.source === metric.source && entry.name === metric.name
    );
    const idleEnergy = power === undefined
      ? 0
      : Math.min(raw, Math.max(0, power.meanW * seconds / perUnit));
    const value = idleEnergy * capacityShare + (raw - idleEnergy) * activeShare;
    const details: Record<string, number | string> = {
      method: "attributed",
      raw,
      cpu_share_of_busy: round(activeShare),
      formula: power === undefined ? FORMULA : FORMULA_IDLE,
    };
    if (power !== undefined) {
      details.idle_energy = round(idleEnergy);
      details.cpu_share_of_capacity = round(capacityShare);
    }
    added.push({
      name: `${metric.name}${ATTRIBUTED_SUFFIX}`,
      // Never above the raw value, whatever the rounding.
      value: Math.min(raw, round(value)),
      unit: metric.unit,
      source: metric.source,
      details,
    });
  }
  if (added.length === 0) return 0;
  withAveragePower(added, durationNs);
  metrics.push(...added);
  metrics.sort((a, b) =>
    a.source === b.source ? compareNaturalNames(a.name, b.name) : a.source < b.source ? -1 : 1
  );
  writePhaseMetrics(phase, metrics);
  return added.length;
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
