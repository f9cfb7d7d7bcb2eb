/**
 * The estimators `profile --energy-model` and `--tdp` ask for.
 *
 * @module
 */

import type { Logger } from "../logger.ts";
import type { EnergyEstimator } from "../energy/estimator.ts";
import { ModelEstimator } from "../energy/model_estimator.ts";
import { TdpEstimator } from "../energy/tdp_estimator.ts";

/** The `profile` flags that ask for estimated energy. */
export interface EstimateFlags {
  /** `--energy-model FILE`. */
  energyModel?: string;
  /** `--tdp WATTS`. */
  tdp?: number;
}

/**
 * The estimators `profile` flags ask for: the model file is read and
 * checked here, before anything runs (a model of another machine warns).
 *
 * @param flags `--energy-model`, `--tdp`.
 * @param logger Where the warning goes.
 * @returns The estimators, model first.
 * @throws {UsageError} For a bad model file or TDP.
 *
 * @example Usage
 * ```ts
 * import { buildEstimators } from "./estimators.ts";
 * import { Logger } from "../logger.ts";
 * const [tdp] = await buildEstimators({ tdp: 65 }, new Logger());
 * console.log(tdp!.name); // "TDP curve (estimated)"
 * ```
 */
export async function buildEstimators(
  flags: EstimateFlags,
  logger: Logger,
): Promise<EnergyEstimator[]> {
  const estimators: EnergyEstimator[] = [];
  if (flags.energyModel !== undefined) {
    estimators.push(await ModelEstimator.open(flags.energyModel, (line) => logger.warn(line)));
  }
  if (flags.tdp !== undefined) estimators.push(new TdpEstimator({ tdpWatts: flags.tdp }));
  return estimators;
}
