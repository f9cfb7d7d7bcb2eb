/**
 * `joule-profiler model fit|train|show`: fit an energy model on result
 * files, on built-in calibration workloads, or print one.
 *
 * @module
 */

import { UsageError } from "../../errors.ts";
import { parseResultFile } from "../../output/json_reader.ts";
import { ResultFile, writeText } from "../../output/result_file.ts";
import { invokingUser } from "../../process/invoking_user.ts";
import type { ProfileResult } from "../../result.ts";
import type { Source } from "../../source.ts";
import { trainEnergyModel } from "../../energy/calibration.ts";
import { type EnergyModel, formatModelFile, readModelFile } from "../../energy/energy_model.ts";
import { DEFAULT_FOLDS, fitEnergyModel } from "../../energy/model_fit.ts";
import { formatModelReport } from "../../energy/model_report.ts";
import { Logger } from "../../logger.ts";
import { type GlobalFlags, verbosityOf } from "../command_context.ts";
import { buildSources } from "../sources.ts";
import { loadLazily } from "../../lazy_module.ts";

/** Flags shared by `model fit` and `model train`. */
export interface ModelFitFlags {
  /** `-o FILE` (the global `--output-file`): where the model goes (required). */
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
 * import { modelFit } from "./model.ts";
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
  const { ProcessSource, PROCESS_SOURCE } = await loadLazily<
    typeof import("../../../sources/process/mod.ts")
  >("../../../sources/process/mod.ts", import.meta.url);
  const { SystemSource, SYSTEM_SOURCE } = await loadLazily<
    typeof import("../../../sources/system/mod.ts")
  >("../../../sources/system/mod.ts", import.meta.url);
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

/** The flags of `model`, as parsed from the option table. */
export type ModelFlags = ModelTrainFlags;

/**
 * Runs `model fit|train|show`.
 *
 * @param global The global flags (`-o` names the model file; the source
 * flags choose what `train` reads).
 * @param flags The flags of `model`.
 * @param operands The action and its files.
 * @returns The exit status (0).
 * @throws {UsageError} For an unknown action, misplaced flags, bad files and
 * refused fits.
 *
 * @example Usage
 * ```ts ignore
 * import { modelCommand } from "./model.ts";
 * await modelCommand({ verbose: 0, outputFile: "m.json" }, {}, ["fit", "a.json"]);
 * ```
 */
export async function modelCommand(
  global: GlobalFlags,
  flags: ModelFlags,
  operands: string[],
): Promise<number> {
  const [action, ...files] = operands;
  const trainOnly = (["seconds", "rounds"] as const).filter((name) => flags[name] !== undefined);
  // The model file is the global -o (`--output-file`): one meaning of -o after `model`.
  const merged = { ...flags, output: global.outputFile };
  if ((global.json || global.csv) && action !== "show") {
    throw new UsageError(
      `model ${action ?? ""}: the model is always JSON (-o FILE); --json/--csv do not apply`,
    );
  }
  switch (action) {
    case "fit":
      if (trainOnly.length > 0) {
        throw new UsageError(`--${trainOnly[0]} is a flag of 'model train', not 'model fit'`);
      }
      await modelFit(files, merged);
      return 0;
    case "train": {
      if (files.length > 0) {
        throw new UsageError(
          `model train takes no files (got '${files.join(" ")}'): it runs its own workloads`,
        );
      }
      const logger = new Logger(verbosityOf(global));
      // Reserve the output before the (long) calibration: a bad path fails at once.
      await modelTrain(await buildSources(global, logger, "profile"), merged, logger);
      return 0;
    }
    case "show": {
      if (files.length !== 1) throw new UsageError("model show takes one model file");
      if (
        global.outputFile !== undefined || flags.features !== undefined || trainOnly.length > 0
      ) {
        throw new UsageError("model show takes no flags but the model file");
      }
      if (global.csv) throw new UsageError("model show: --csv does not apply (--json does)");
      if (global.json) {
        writeText(Deno.stdout, formatModelFile(await readModelFile(files[0]!)));
        return 0;
      }
      await modelShow(files[0]);
      return 0;
    }
    default:
      throw new UsageError(
        `unknown model action '${action ?? ""}': 'fit RESULT.json... -o FILE', ` +
          "'train -o FILE' or 'show FILE'",
      );
  }
}
