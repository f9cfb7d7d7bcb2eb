/**
 * `model train`: runs built-in calibration workloads (idle, CPU-bound,
 * memory-bound, disk-bound, mixed) under the profiler and fits an energy
 * model on them.
 *
 * @module
 */

import { joulesPerUnit } from "../energy_units.ts";
import { ProfilerError, UsageError } from "../errors.ts";
import { Logger } from "../logger.ts";
import { DiscardSink } from "../process/byte_sink.ts";
import { JouleProfiler } from "../profiler.ts";
import type { ProfileResult } from "../result.ts";
import type { Source } from "../source.ts";
import { thisMachine } from "./machine_identity.ts";
import { fitEnergyModel, type FitOptions, type FitReport } from "./model_fit.ts";

/** The workloads, in the order they run, as phase tokens. */
export const CALIBRATION_WORKLOADS: readonly string[] = [
  "idle",
  "cpu (one core)",
  "cpu (every core)",
  "memory",
  "disk",
  "mixed",
];

/**
 * The calibration program, a POSIX shell script: each stage prints its
 * token, then runs for a fixed time under `timeout`. Arguments: seconds of
 * long and short stages, a private folder for the disk stage, logical CPUs.
 */
const CALIBRATION_SCRIPT = `
s=$1; half=$2; dir=$3; cpus=$4
spin() { i=0; while [ $i -lt $2 ]; do timeout "$1" sh -c 'while :; do :; done' & i=$((i + 1)); done; wait; }
memory() { timeout "$1" dd if=/dev/zero of=/dev/null bs=64M status=none; }
disk() {
  timeout "$1" sh -c '
    while :; do
      dd if=/dev/zero of="$0/calibration.bin" bs=1M count=16 conv=fsync status=none
      dd if="$0/calibration.bin" of=/dev/null bs=1M iflag=direct status=none 2>/dev/null ||
        cat "$0/calibration.bin" >/dev/null
    done' "$dir"
}
echo __IDLE_SHORT__; sleep "$half"
echo __IDLE__; sleep "$s"
echo __CPU_ONE_CORE__; spin "$half" 1
echo __CPU_EVERY_CORE__; spin "$s" "$cpus"
echo __MEMORY_SHORT__; memory "$half"
echo __MEMORY__; memory "$s"
echo __DISK_SHORT__; disk "$half"
echo __DISK__; disk "$s"
echo __MIXED__; spin "$s" 1 & memory "$half" & disk "$s"; wait
echo __DONE__
rm -f "$dir/calibration.bin"
`;

/** Options of {@linkcode trainEnergyModel}. */
export interface TrainOptions extends Omit<FitOptions, "inputs"> {
  /**
   * The sources to read: at least one measuring energy (RAPL, NVML), and
   * those providing the features (process, system, perf).
   */
  sources: readonly Source[];
  /** Seconds of each long stage (short ones last half); default 2. */
  seconds?: number;
  /** How many times the set of workloads runs (default 2). */
  rounds?: number;
  /** Folder for the disk workload's file (default: a new private folder in /var/tmp). */
  workDir?: string;
  /** Diagnostics. */
  logger?: Logger;
  /** Aborting stops the workloads (no model is fitted). */
  signal?: AbortSignal;
}

/** What {@linkcode trainEnergyModel} returns: the fit and the profile it was fitted on. */
export interface TrainReport extends FitReport {
  /** The calibration runs, as profiled. */
  profile: ProfileResult;
}

/** Phases shorter than this (the shell starting, the last token to exit) are not calibration. */
const MIN_CALIBRATION_PHASE_MS = 100;

/**
 * Runs the calibration workloads under the profiler and fits a model.
 *
 * @param options Sources, stage length, rounds, fit options.
 * @returns The fitted model, the fit's notes and the calibration profile.
 * @throws {ProfilerError} When no source measures energy here.
 * @throws {UsageError} For invalid seconds or rounds.
 * @throws {ModelFitError} When the calibration cannot be fitted.
 *
 * @example Usage
 * ```ts ignore
 * import { trainEnergyModel } from "./calibration.ts";
 * import { formatModelFile } from "./energy_model.ts";
 * const { model } = await trainEnergyModel({ sources: [] }); // throws: no energy source
 * await Deno.writeTextFile("model.json", formatModelFile(model));
 * ```
 */
export async function trainEnergyModel(options: TrainOptions): Promise<TrainReport> {
  const seconds = options.seconds ?? 2;
  const rounds = options.rounds ?? 2;
  if (!Number.isFinite(seconds) || seconds < 0.2) {
    throw new UsageError(`calibration stages must last at least 0.2 s, got ${seconds}`);
  }
  if (!Number.isSafeInteger(rounds) || rounds < 1) {
    throw new UsageError(`calibration rounds must be a positive integer, got ${rounds}`);
  }
  const profiler = new JouleProfiler();
  for (const source of options.sources) profiler.addSource(source);
  const sensors = await profiler.listSensors();
  const energy = sensors.filter((sensor) =>
    joulesPerUnit(sensor.unit) !== undefined && sensor.available !== false
  );
  if (energy.length === 0) {
    throw new ProfilerError(
      "model train needs measured energy, and no energy source works on this machine " +
        "(no RAPL or NVML counters: a virtual machine?); run it on a machine with counters " +
        "('joule-profiler doctor' says why not here) and copy the model file to machines of " +
        "the same hardware, or use 'profile --tdp WATTS' here",
    );
  }
  const logger = options.logger ?? new Logger();
  const ownDir = options.workDir === undefined;
  const dir = options.workDir ?? await privateFolder();
  try {
    const machine = thisMachine();
    logger.info(
      `calibration: ${rounds} × (${CALIBRATION_WORKLOADS.join(", ")}), about ` +
        `${Math.round(rounds * seconds * 7)} s`,
    );
    const profile = await profiler.profile({
      command: [
        "sh",
        "-c",
        CALIBRATION_SCRIPT,
        "calibration",
        String(seconds),
        String(seconds / 2),
        dir,
        String(machine.logicalCpus),
      ],
      iterations: rounds,
      stdout: new DiscardSink(),
      phaseChannel: false,
      logger,
      signal: options.signal,
    });
    if (profile.interrupted) {
      throw new ProfilerError("calibration interrupted: no model fitted", { exitCode: 130 });
    }
    const failed = profile.runs.find((run) => run.exitCode !== 0);
    if (failed !== undefined) {
      throw new ProfilerError(`a calibration run failed (exit code ${failed.exitCode})`);
    }
    const calibration: ProfileResult = {
      ...profile,
      runs: profile.runs.map((run) => ({
        ...run,
        phases: run.phases.filter((phase) => phase.durationMs >= MIN_CALIBRATION_PHASE_MS),
      })),
    };
    const report = fitEnergyModel([calibration], {
      ...options,
      inputs: [`calibration: ${rounds} × ${CALIBRATION_WORKLOADS.join(", ")}, ${seconds} s stages`],
      machine,
    });
    return { ...report, profile };
  } finally {
    if (ownDir) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** A new folder only this user can enter, on disk rather than tmpfs where possible. */
async function privateFolder(): Promise<string> {
  for (const parent of ["/var/tmp", undefined]) {
    try {
      // makeTempDir creates it with mode 0700 and a random name: nothing can be planted in it.
      return await Deno.makeTempDir({ dir: parent, prefix: "joule-profiler-calibration-" });
    } catch {
      // Fall back to the default temporary folder.
    }
  }
  throw new ProfilerError("cannot create a temporary folder for the disk workload");
}
