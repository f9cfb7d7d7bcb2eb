/**
 * Estimates CPU energy from the program's CPU time and the processor's TDP
 * (`profile --tdp WATTS`), through a published utilisation → power curve.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import type { PhaseResult } from "../result.ts";
import type { Metric, Sensor } from "../source.ts";
import { type EnergyEstimator, ESTIMATED, secondsPerUnit } from "./estimator.ts";
import { thisMachine } from "./machine_identity.ts";

/** Source name of TDP estimates. */
export const TDP_ESTIMATE_SOURCE = "TDP curve (estimated)";

/**
 * The curve: CPU utilisation (%) → fraction of TDP drawn, from Benjamin
 * Davy, "Building an AWS EC2 Carbon Emissions Dataset", Teads Engineering,
 * 2021 (fitted on SPECpower results), linearly interpolated between its
 * points.
 */
export const TEADS_CURVE: readonly (readonly [utilisationPercent: number, tdpFraction: number])[] =
  [
    [0, 0.12],
    [10, 0.32],
    [50, 0.75],
    [100, 1.02],
  ];

/** Where the program's CPU time is read, in order of preference. */
const CPU_TIME_METRICS = [
  { source: "process", name: "CPU_TIME" },
  { source: "perf_event", name: "TASK_CLOCK" },
] as const;

/**
 * The fraction of TDP drawn at a utilisation, by the Teads curve.
 *
 * @param utilisation CPU utilisation as a fraction of all logical CPUs (clamped to 0…1).
 * @returns Fraction of TDP.
 *
 * @example Usage
 * ```ts
 * import { tdpFraction } from "./tdp_estimator.ts";
 * console.log(tdpFraction(0), tdpFraction(0.3), tdpFraction(1)); // 0.12 0.535 1.02
 * ```
 */
export function tdpFraction(utilisation: number): number {
  const percent = Math.min(100, Math.max(0, utilisation * 100));
  for (let i = 1; i < TEADS_CURVE.length; i++) {
    const [x1, y1] = TEADS_CURVE[i]!;
    if (percent <= x1) {
      const [x0, y0] = TEADS_CURVE[i - 1]!;
      return y0 + (y1 - y0) * (percent - x0) / (x1 - x0);
    }
  }
  return TEADS_CURVE.at(-1)![1];
}

/**
 * Checks a `--tdp` value.
 *
 * @param value The flag's text or number.
 * @returns Watts.
 * @throws {UsageError} Unless a finite number > 0.
 *
 * @example Usage
 * ```ts
 * import { parseTdp } from "./tdp_estimator.ts";
 * console.log(parseTdp("65")); // 65
 * ```
 */
export function parseTdp(value: string | number): number {
  const watts = typeof value === "number" ? value : value.trim() === "" ? NaN : Number(value);
  if (!Number.isFinite(watts) || watts <= 0) {
    throw new UsageError(`--tdp must be a positive number of watts, got '${value}'`);
  }
  return watts;
}

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
