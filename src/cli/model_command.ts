/**
 * `joule-profiler model fit|train|show`: fit an energy model on result
 * files, on built-in calibration workloads, or print one.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { parseResultFile } from "../output/json_reader.ts";
import { ResultFile, writeText } from "../output/result_file.ts";
import { invokingUser } from "../process/invoking_user.ts";
import type { ProfileResult } from "../result.ts";
import type { Source } from "../source.ts";
import { trainEnergyModel } from "../energy/calibration.ts";
import { type EnergyModel, formatModelFile, readModelFile } from "../energy/energy_model.ts";
import { DEFAULT_FOLDS, fitEnergyModel } from "../energy/model_fit.ts";
import { formatModelReport } from "../energy/model_report.ts";
import type { EnergyEstimator } from "../energy/estimator.ts";
import { ModelEstimator } from "../energy/model_estimator.ts";
import { TdpEstimator } from "../energy/tdp_estimator.ts";

/** Flags shared by `model fit` and `model train`. */
export interface ModelFitFlags {
  /** `-o FILE`: where the model goes (required). */
  output?: string;
  /** `--features A,B`: the features to use (default: chosen from the data). */
  features?: string[];
  /** `--folds K`: folds of the cross-validation (default 5). */
  folds?: number;
}

/** Flags of `model train`. */
export interface ModelTrainFlags extends ModelFitFlags {
  /** `--seconds S`: length of each long calibration stage (default 2). */
  seconds?: number;
  /** `--rounds N`: how many times the set of workloads runs (default 2). */
  rounds?: number;
}

/**
 * Parses `--features`: comma-separated names, `NAME` or `source/NAME`.
 *
 * @param value The flag's text.
 * @returns The names.
 * @throws {UsageError} When empty.
 *
 * @example Usage
 * ```ts
 * import { parseFeatureList } from "./model_command.ts";
 * console.log(parseFeatureList("CPU_TIME, process/DISK_WRITE_BYTES")); // [ "CPU_TIME", "process/DISK_WRITE_BYTES" ]
 * ```
 */
export function parseFeatureList(value: string): string[] {
  const names = value.split(",").map((name) => name.trim()).filter((name) => name !== "");
  if (names.length === 0) throw new UsageError(`--features needs metric names, got '${value}'`);
  return names;
}

/**
 * Parses `--folds`.
 *
 * @param value The flag's text.
 * @returns An integer ≥ 2.
 * @throws {UsageError} Otherwise.
 */
export function parseFolds(value: string): number {
  const folds = Number(value);
  if (value.trim() === "" || !Number.isSafeInteger(folds) || folds < 2) {
    throw new UsageError(`--folds must be an integer ≥ 2, got '${value}'`);
  }
  return folds;
}

/**
 * Parses `--seconds` of `model train`.
 *
 * @param value The flag's text.
 * @returns Seconds ≥ 0.2.
 * @throws {UsageError} Otherwise.
 */
export function parseStageSeconds(value: string): number {
  const seconds = Number(value);
  if (value.trim() === "" || !Number.isFinite(seconds) || seconds < 0.2) {
    throw new UsageError(`--seconds must be a number of seconds ≥ 0.2, got '${value}'`);
  }
  return seconds;
}

/**
 * Parses `--rounds` of `model train`.
 *
 * @param value The flag's text.
 * @returns A positive integer.
 * @throws {UsageError} Otherwise.
 */
export function parseRounds(value: string): number {
  const rounds = Number(value);
  if (value.trim() === "" || !Number.isSafeInteger(rounds) || rounds < 1) {
    throw new UsageError(`--rounds must be a positive integer, got '${value}'`);
  }
  return rounds;
}

function reserveOutput(flags: ModelFitFlags, command: string): ResultFile {
  if (flags.output === undefined || flags.output === "" || flags.output === "-") {
    throw new UsageError(`model ${command} needs -o FILE: where to write the model`);
  }
  return ResultFile.prepare(flags.output);
}

/** Writes the model and prints its report; the file appears whole or not at all. */
function save(file: ResultFile, model: EnergyModel, notes: readonly string[]): void {
  file.commit(formatModelFile(model), invokingUser());
  writeText(Deno.stdout, formatModelReport(model, notes));
  writeText(Deno.stdout, `\nModel written to ${file.path}\n`);
}

/**
 * `model fit RESULT.json... -o model.json`.
 *
 * @param files Result files written by `profile --json`.
 * @param flags Output, features, folds.
 * @throws {UsageError} For unreadable or foreign files, a missing `-o`, and
 * every refused fit (`ModelFitError`); nothing is written then.
 *
 * @example Usage
 * ```ts ignore
 * import { modelFit } from "./model_command.ts";
 * await modelFit(["a.json", "b.json"], { output: "model.json" });
 * ```
 */
export async function modelFit(files: readonly string[], flags: ModelFitFlags): Promise<void> {
  if (files.length === 0) {
    throw new UsageError("model fit needs result files (written by 'profile --json')");
  }
  const file = reserveOutput(flags, "fit");
  try {
    const results: ProfileResult[] = [];
    for (const path of files) {
      let content: string;
      try {
        content = await Deno.readTextFile(path);
      } catch (error) {
        const reason = error instanceof Deno.errors.NotFound
          ? "no such file"
          : (error as Error).message;
        throw new UsageError(`cannot read ${path}: ${reason}`);
      }
      results.push(...parseResultFile(content, path));
    }
    const { model, notes } = fitEnergyModel(results, {
      inputs: files,
      features: flags.features,
      folds: flags.folds ?? DEFAULT_FOLDS,
    });
    save(file, model, notes);
  } catch (error) {
    file.discard();
    throw error;
  }
}

/**
 * `model train -o model.json`: calibration workloads under the given
 * sources, then the fit.
 *
 * @param sources The sources a profile would use here (energy and features).
 * @param flags Output, stage length, rounds, features, folds.
 * @param logger Diagnostics.
 * @param signal Aborting (Ctrl-C) stops the workloads; nothing is written.
 * @throws {ProfilerError} When nothing measures energy here.
 * @throws {UsageError} For a missing `-o` and refused fits.
 */
export async function modelTrain(
  sources: readonly Source[],
  flags: ModelTrainFlags,
  logger: Logger,
  signal?: AbortSignal,
): Promise<void> {
  const file = reserveOutput(flags, "train");
  try {
    const { model, notes } = await trainEnergyModel({
      sources: await withFeatureSources(sources),
      seconds: flags.seconds,
      rounds: flags.rounds,
      features: flags.features,
      folds: flags.folds,
      logger,
      signal,
    });
    save(file, model, notes);
  } catch (error) {
    file.discard();
    throw error;
  }
}

/**
 * The sources plus the process and system sources when they are not among
 * them: a calibration needs its features whatever `--no-process` says.
 */
async function withFeatureSources(sources: readonly Source[]): Promise<Source[]> {
  const { ProcessSource, PROCESS_SOURCE } = await import("../../sources/process/mod.ts");
  const { SystemSource, SYSTEM_SOURCE } = await import("../../sources/system/mod.ts");
  const all = [...sources];
  if (!all.some((source) => source.name === PROCESS_SOURCE)) all.push(new ProcessSource());
  if (!all.some((source) => source.name === SYSTEM_SOURCE)) all.push(new SystemSource());
  return all;
}

/**
 * `model show model.json`: prints the model.
 *
 * @param path The model file.
 * @throws {UsageError} For a missing, truncated or foreign file.
 */
export async function modelShow(path: string | undefined): Promise<void> {
  if (path === undefined) throw new UsageError("model show needs a model file");
  writeText(Deno.stdout, formatModelReport(await readModelFile(path)));
}

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
 * import { buildEstimators } from "./model_command.ts";
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
