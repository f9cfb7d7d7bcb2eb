/**
 * Estimated energy: computed by the profiler after a run from the metrics
 * the sources measured (a source never talks to another). Every estimate is
 * labelled `details.method: "estimated"` and comes from a source whose name
 * ends in `(estimated)`, so no output can pass it for a measurement.
 *
 * @module
 */

import type { Logger } from "../logger.ts";
import type { PhaseResult, RunResult } from "../result.ts";
import { withAveragePower } from "../result.ts";
import type { Metric, Sensor } from "../source.ts";
import { compareNaturalNames } from "../text/natural_name_order.ts";

/** The `details.method` of every estimated value. */
export const ESTIMATED = "estimated";

/**
 * Turns a phase's measured metrics into estimated energy.
 *
 * @example An estimator of 1 J per second
 * ```ts
 * import type { EnergyEstimator } from "./estimator.ts";
 * const oneWatt: EnergyEstimator = {
 *   name: "one watt (estimated)",
 *   check() {},
 *   estimate: (phase) => [{
 *     name: "CPU", value: phase.durationMs * 1e3, unit: "µJ", source: "one watt (estimated)",
 *     details: { method: "estimated" },
 *   }],
 * };
 * ```
 */
export interface EnergyEstimator {
  /** Source name of its metrics; ends in `(estimated)`. */
  readonly name: string;
  /**
   * Checks, before anything runs, that the profile's sources provide what
   * the estimator reads.
   *
   * @param sensors Every sensor of the profile's sources.
   * @throws {UsageError} Naming what is missing and how to get it.
   */
  check(sensors: readonly Sensor[]): void;
  /**
   * The estimates of one phase, or why there are none (a source failed in
   * that phase).
   *
   * @param phase A phase with its measured metrics.
   */
  estimate(phase: PhaseResult): Metric[] | string;
}

/**
 * Checks every estimator against the profile's sensors.
 *
 * @param estimators The estimators.
 * @param sensors The sensors of the profile's sources.
 * @throws {UsageError} From the first estimator that cannot work.
 *
 * @example Usage
 * ```ts
 * import { checkEstimators } from "./estimator.ts";
 * checkEstimators([], []);
 * ```
 */
export function checkEstimators(
  estimators: readonly EnergyEstimator[],
  sensors: readonly Sensor[],
): void {
  for (const estimator of estimators) estimator.check(sensors);
}

/**
 * Adds every estimator's metrics to each phase of a run (with their
 * average power), keeping metrics sorted by source then name. Phases an
 * estimator cannot estimate are named in one warning per estimator.
 *
 * @param run A finished run.
 * @param estimators The estimators.
 * @param logger Where the warning goes.
 *
 * @example Usage
 * ```ts
 * import { applyEstimators } from "./estimator.ts";
 * import { Logger } from "../logger.ts";
 * const run = {
 *   index: 0, exitCode: 0, signal: null, interrupted: false, startNs: 0n, endNs: 0n,
 *   timestamp: 0, durationMs: 0, phases: [],
 * };
 * applyEstimators(run, [], new Logger());
 * ```
 */
export function applyEstimators(
  run: RunResult,
  estimators: readonly EnergyEstimator[],
  logger: Logger,
): void {
  if (estimators.length === 0) return;
  for (const estimator of estimators) {
    const skipped: string[] = [];
    let reason = "";
    for (const phase of run.phases) {
      const estimates = estimator.estimate(phase);
      if (typeof estimates === "string") {
        skipped.push(phase.name);
        reason = estimates;
        continue;
      }
      withAveragePower(estimates, phase.endNs - phase.startNs);
      // A fresh array: phases without metrics share one frozen empty list.
      phase.metrics = [...phase.metrics, ...estimates].sort(bySourceThenName);
    }
    if (skipped.length > 0) {
      logger.warn(
        `${estimator.name}: no estimate for ${skipped.length} phase${
          skipped.length === 1 ? "" : "s"
        } (${skipped.slice(0, 3).join(", ")}${skipped.length > 3 ? ", …" : ""}): ${reason}`,
      );
    }
  }
}

function bySourceThenName(a: Metric, b: Metric): number {
  return a.source === b.source ? compareNaturalNames(a.name, b.name) : a.source < b.source ? -1 : 1;
}

/**
 * Seconds in a time metric's unit.
 *
 * @param unit `ns`, `µs`, `us`, `ms` or `s`.
 * @returns Seconds per unit, or `undefined` for other units.
 *
 * @example Usage
 * ```ts
 * import { secondsPerUnit } from "./estimator.ts";
 * console.log(secondsPerUnit("ns")); // 1e-9
 * ```
 */
export function secondsPerUnit(unit: string): number | undefined {
  return { ns: 1e-9, "µs": 1e-6, us: 1e-6, ms: 1e-3, s: 1 }[unit];
}
