/**
 * Estimates CPU energy from the program's CPU time and the processor's TDP
 * (`profile --tdp WATTS`), through a published utilisation → power curve.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import { parseTdp, tdpFraction } from "./tdp_curve.ts";
import type { PhaseResult } from "../result.ts";
import type { Metric, Sensor } from "../source.ts";
import { type EnergyEstimator, ESTIMATED, secondsPerUnit } from "./estimator.ts";
import { thisMachine } from "./machine_identity.ts";

export { parseTdp, tdpFraction, TEADS_CURVE } from "./tdp_curve.ts";

/** Source name of TDP estimates. */
export const TDP_ESTIMATE_SOURCE = "TDP curve (estimated)";

/** Where the program's CPU time is read, in order of preference. */
const CPU_TIME_METRICS = [
  { source: "process", name: "CPU_TIME" },
  { source: "perf_event", name: "TASK_CLOCK" },
] as const;

/** Options of {@linkcode TdpEstimator}. */
export interface TdpOptions {
  /** Thermal design power of all the machine's processors together, W. */
  tdpWatts: number;
  /** Logical CPUs the utilisation is relative to (default: this machine's). */
  logicalCpus?: number;
}

/**
 * Per phase: utilisation u = program CPU time ÷ (duration × logical CPUs),
 * and E = TDP × curve(u) × duration, reported as `CPU` energy.
 *
 * @example Usage
 * ```ts
 * import { TdpEstimator } from "./tdp_estimator.ts";
 * const estimator = new TdpEstimator({ tdpWatts: 100, logicalCpus: 2 });
 * const [metric] = estimator.estimate({
 *   index: 0, name: "START -> END", startToken: "START", endToken: "END", startNs: 0n,
 *   endNs: 1_000_000_000n, timestamp: 0, durationMs: 1000, failures: [],
 *   metrics: [{ name: "CPU_TIME", value: 2e9, unit: "ns", source: "process" }],
 * }) as { value: number }[];
 * console.log(metric!.value); // 102000000 (µJ: both CPUs busy, 1.02 × 100 W for 1 s)
 * ```
 */
export class TdpEstimator implements EnergyEstimator {
  /** {@linkcode TDP_ESTIMATE_SOURCE}. */
  readonly name: string = TDP_ESTIMATE_SOURCE;
  readonly #watts: number;
  readonly #cpus: number;

  /**
   * Creates the estimator.
   *
   * @param options TDP and CPU count.
   * @throws {UsageError} When the TDP is not a positive number.
   */
  constructor(options: TdpOptions) {
    this.#watts = parseTdp(options.tdpWatts);
    this.#cpus = Math.max(1, options.logicalCpus ?? thisMachine().logicalCpus);
  }

  check(sensors: readonly Sensor[]): void {
    const found = CPU_TIME_METRICS.some(({ source, name }) =>
      sensors.some((sensor) =>
        sensor.source === source && sensor.name === name && sensor.available !== false
      )
    );
    if (!found) {
      throw new UsageError(
        "--tdp needs the program's CPU time: the process source (on by default: drop " +
          "--no-process) or --perf counting TASK_CLOCK",
      );
    }
  }

  estimate(phase: PhaseResult): Metric[] | string {
    let cpuSeconds: number | undefined;
    for (const { source, name } of CPU_TIME_METRICS) {
      const metric = phase.metrics.find((m) => m.source === source && m.name === name);
      const perUnit = metric === undefined ? undefined : secondsPerUnit(metric.unit);
      if (metric !== undefined && perUnit !== undefined) {
        cpuSeconds = metric.value * perUnit;
        break;
      }
    }
    if (cpuSeconds === undefined) return "the program's CPU time was not measured";
    const seconds = phase.durationMs / 1e3;
    const utilisation = seconds > 0 ? Math.min(1, cpuSeconds / (seconds * this.#cpus)) : 0;
    const fraction = tdpFraction(utilisation);
    return [{
      name: "CPU",
      value: Math.round(this.#watts * fraction * seconds * 1e6),
      unit: "µJ",
      source: TDP_ESTIMATE_SOURCE,
      details: {
        method: ESTIMATED,
        tdp_w: this.#watts,
        cpu_utilisation: Math.round(utilisation * 1e4) / 1e4,
        tdp_fraction: Math.round(fraction * 1e4) / 1e4,
        curve: "Teads 2021 (SPECpower): 0 % → 0.12, 10 % → 0.32, 50 % → 0.75, 100 % → 1.02 × TDP",
      },
    }];
  }
}
