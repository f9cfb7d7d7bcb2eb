/**
 * `profile -p PID[,PID…]` and `profile -a`: measurements with no program
 * of ours, as `perf stat -p` and `perf stat -a` make them. Their flags are
 * checked before anything starts; the measurement replaces the runs of a
 * normal profile, and the results go through the same outputs.
 *
 * What is measured:
 * - `-a`: the machine-wide sources (RAPL, GPUs, system CPU and network);
 *   `--perf` is refused (it counts a process, and there is none).
 * - `-p` with one PID: those too, plus the process source reading `/proc`
 *   of the tree rooted at the PID (no cgroup: the process is never moved),
 *   and with `--perf` counters opened on the PID, counting from the moment
 *   they are opened, with `inherit` for the threads and children it starts
 *   afterwards; threads and children that already ran are not counted.
 * - `-p` with several PIDs: the machine-wide sources only (per-process
 *   metrics follow one tree).
 *
 * @module
 */

import { UsageError } from "../../errors.ts";
import type { Logger } from "../../logger.ts";
import { type AttachTarget, checkAttachable } from "../../attach/attach_target.ts";
import { ProcessExitWatch } from "../../attach/process_exit_watch.ts";
import { measureAttached } from "../../attach/attached_run.ts";
import { attributeEnergy } from "../../energy_attribution.ts";
import { PhaseChannel } from "../../process/phase_channel.ts";
import type { ProfileResult } from "../../result.ts";
import type { Source } from "../../source.ts";
import type { SampleObserver } from "../../live_intervals.ts";
import { PROCESS_SOURCE_NAME } from "../../sampling/process_usage.ts";
import { applyEstimators, type EnergyEstimator } from "../../energy/estimator.ts";
import { defaultMaxPhases } from "../../run_limits.ts";
import { addDerivedMetrics, derivedMetricCount } from "../../derived_metrics.ts";
import { loadLazily } from "../../lazy_module.ts";

/** How many metrics a phase will hold (for the default phase limit), as a profile counts them. */
async function metricCount(sources: readonly Source[]): Promise<number> {
  const sensors: { name: string; unit: string; source: string }[] = [];
  for (const source of sources) {
    try {
      sensors.push(...(await source.sensors()).filter((sensor) => sensor.available !== false));
    } catch {
      // Unknown: counted as none.
    }
  }
  return sensors.length + derivedMetricCount(sensors);
}

/** The name of the perf_event source (sources/perf_event), compared to avoid loading it. */
const PERF_EVENT_SOURCE_NAME = "perf_event";

/** The flags `profile -p`/`-a` reads. */
export interface AttachFlags {
  pid?: number[];
  systemWide?: boolean;
  duration?: number;
  perf?: boolean;
  perfEvents?: string;
  process?: boolean;
  phaseChannel: boolean;
  stdoutTokens?: boolean;
  command?: string[];
  iterations: number;
  warmup?: number;
  minRuns?: number;
  minTime?: number;
  prepare?: string;
  cleanup?: string;
  idle?: number;
  stdoutFile?: string;
  commandName?: string[];
  useRoot?: boolean;
  killDescendants?: boolean;
  keepDescendants?: boolean;
  parameterScan?: unknown;
  parameterList?: unknown;
  parameterStepSize?: number;
  ignoreFailure?: boolean;
}

/** Flags that only mean something when the profiler runs the program. */
const RUN_ONLY_FLAGS: readonly [keyof AttachFlags, string][] = [
  ["warmup", "--warmup"],
  ["minRuns", "--min-runs"],
  ["minTime", "--min-time"],
  ["prepare", "--prepare"],
  ["cleanup", "--cleanup"],
  ["idle", "--idle"],
  ["stdoutFile", "--stdout-file"],
  ["commandName", "--command-name"],
  ["useRoot", "--use-root"],
  ["killDescendants", "--kill-descendants"],
  ["keepDescendants", "--keep-descendants"],
  ["parameterScan", "--parameter-scan"],
  ["parameterList", "--parameter-list"],
  ["parameterStepSize", "--parameter-step-size"],
  ["ignoreFailure", "--ignore-failure"],
];

/** A checked `-p` or `-a` request, ready to measure. */
export class AttachMode {
  /** The processes (`-p`), or none (`-a`). */
  readonly targets: readonly AttachTarget[];
  /** Stop after this many seconds (`--duration`). */
  readonly durationS: number | undefined;
  /** The command recorded in the results. */
  readonly command: string[];
  readonly #phaseChannel: boolean;

  private constructor(targets: AttachTarget[], durationS: number | undefined, channel: boolean) {
    this.targets = targets;
    this.durationS = durationS;
    this.#phaseChannel = channel;
    this.command = targets.length === 0
      ? ["(system-wide)"]
      : targets.length === 1
      ? targets[0]!.command
      : [`(PIDs ${targets.map((target) => target.pid).join(",")})`];
  }

  /**
   * Checks the flags of `-p`/`-a`: no command, no flag of the run loop,
   * every PID alive and observable.
   *
   * @param flags The `profile` flags.
   * @param positional What followed the flags (must be empty).
   * @returns The mode, or `undefined` for a normal profile.
   * @throws {UsageError} Naming what is wrong.
   *
   * @example Usage
   * ```ts
   * import { AttachMode } from "./profile_attach.ts";
   * const mode = AttachMode.fromFlags({ systemWide: true, duration: 1, iterations: 1, phaseChannel: true }, []);
   * console.log(mode?.command); // ["(system-wide)"]
   * ```
   */
  static fromFlags(flags: AttachFlags, positional: readonly string[]): AttachMode | undefined {
    const attaching = flags.pid !== undefined;
    if (!attaching && !flags.systemWide) {
      if (flags.duration !== undefined) {
        throw new UsageError("--duration goes with -a or -p: a command is measured until it exits");
      }
      return undefined;
    }
    const mode = attaching ? "-p" : "-a";
    if (positional.length > 0 || flags.command !== undefined) {
      const given = positional.length > 0 ? `'${positional.join(" ")}'` : "--command";
      throw new UsageError(
        attaching
          ? `-p attaches to running processes: give no command (got ${given})`
          : `-a measures the machine with no program: give no command (got ${given})`,
      );
    }
    if (flags.iterations !== 1) {
      throw new UsageError(`--iterations goes with a command, not with ${mode}`);
    }
    for (const [key, name] of RUN_ONLY_FLAGS) {
      if (flags[key] !== undefined && flags[key] !== false) {
        throw new UsageError(`${name} goes with a command, not with ${mode}`);
      }
    }
    if (flags.stdoutTokens === false) {
      throw new UsageError(
        `--no-stdout-tokens goes with a command, not with ${mode}: ${mode} reads no stdout ` +
          "(its tokens come from the phase channel already)",
      );
    }
    const perf = flags.perf || flags.perfEvents !== undefined;
    if (!attaching && perf) {
      throw new UsageError(
        "--perf counts the profiled process, and -a has none: attach to one with -p",
      );
    }
    const pids = flags.pid ?? [];
    const perProcess = pids.length === 1 && (perf || flags.process !== false);
    const targets = pids.map((pid) => checkAttachable(pid, { perProcess }));
    return new AttachMode(targets, flags.duration, flags.phaseChannel);
  }

  /**
   * Adapts the sources built from the flags: `-a` and several PIDs keep the
   * machine-wide ones; one PID gets a process source without a cgroup and
   * perf counters that start counting on a running process.
   *
   * @param sources The sources the flags asked for.
   * @param logger Says what is left out.
   * @returns The sources to read.
   */
  async adaptSources(sources: readonly Source[], logger: Logger): Promise<Source[]> {
    const perProcess = sources.filter((source) => source.scope !== "machine");
    if (this.targets.length !== 1) {
      if (this.targets.length > 1 && perProcess.length > 0) {
        logger.warn(
          `per-process metrics (${perProcess.map((source) => source.name).join(", ")}) follow ` +
            `one process tree: with ${this.targets.length} PIDs only machine-wide sources ` +
            `are measured (attach to one PID for them)`,
        );
      }
      return sources.filter((source) => source.scope === "machine");
    }
    const adapted: Source[] = [];
    for (const source of sources) {
      if (source.name === PROCESS_SOURCE_NAME) {
        const { ProcessSource } = await loadLazily<
          typeof import("../../../sources/process/mod.ts")
        >("../../../sources/process/mod.ts", import.meta.url);
        // Never move someone's running process into a cgroup of ours: read /proc.
        adapted.push(new ProcessSource({ cgroup: false }));
        continue;
      }
      if (source.name === PERF_EVENT_SOURCE_NAME) {
        const { PerfEventSource } = await loadLazily<
          typeof import("../../../sources/perf_event/mod.ts")
        >("../../../sources/perf_event/mod.ts", import.meta.url);
        if (!(source instanceof PerfEventSource)) throw new Error("unexpected perf_event source");
        // Its warnings (events this machine lacks) were printed when the flags' source opened.
        adapted.push(
          new PerfEventSource({
            events: source.events,
            running: true,
            warn: (message) => logger.debug(message),
          }),
        );
        logger.info(
          `perf counters count PID ${this.targets[0]!.pid} from now on, and the threads and ` +
            `children it starts from now on; threads and children it already had are not counted`,
        );
        continue;
      }
      adapted.push(source);
    }
    return adapted;
  }

  /**
   * Measures: opens the phase channel and prints its FIFO, watches the
   * PIDs' exit, and ends on exit, `--duration` or a signal.
   *
   * @param options Sources, diagnostics and sampling.
   * @returns The measurement as a profile result with one run.
   */
  async measure(options: {
    sources: readonly Source[];
    logger: Logger;
    tokenPattern: string;
    sampleIntervalMs?: number;
    sampleObserver?: SampleObserver;
    owner?: { uid: number; gid: number };
    maxPhases?: number;
    maxSamples?: number;
    /** The terminal's full listing (`--all-phases`) holds every phase's lines at once. */
    terminalLayout?: boolean;
    estimators?: readonly EnergyEstimator[];
    initTimeoutSeconds?: number;
  }): Promise<ProfileResult> {
    const { logger } = options;
    const pids = this.targets.map((target) => target.pid);
    const watch = pids.length > 0 ? ProcessExitWatch.open(pids) : undefined;
    let channel: PhaseChannel | undefined;
    try {
      if (this.#phaseChannel) {
        // Under sudo the FIFO belongs to the user who typed the command, as for a program.
        channel = await PhaseChannel.open({ owner: options.owner });
        // Nobody inherits the descriptor here: scripts write to the FIFO by its path.
        channel.closeInheritedEnd();
      }
      const what = this.targets.length === 0
        ? "the whole machine"
        : this.targets.map((target) => `PID ${target.pid} (${target.command.join(" ")})`).join(
          ", ",
        );
      const ends = [
        pids.length === 0 ? undefined : pids.length === 1 ? "it exits" : "they all exit",
        this.durationS === undefined ? undefined : `${this.durationS} s have passed`,
      ].filter((part) => part !== undefined);
      const until = [...ends, "Ctrl-C"].join(ends.length > 1 ? ", " : " or ")
        .replace(/, Ctrl-C$/, " or Ctrl-C");
      const { run, endedBy, signal } = await measureAttached({
        sources: options.sources,
        pid: pids.length === 1 ? pids[0]! : 0,
        watch,
        durationS: this.durationS,
        channel,
        logger,
        sampleIntervalMs: options.sampleIntervalMs,
        sampleObserver: options.sampleObserver,
        initTimeoutMs: options.initTimeoutSeconds === undefined
          ? undefined
          : options.initTimeoutSeconds * 1000,
        maxPhases: options.maxPhases ??
          defaultMaxPhases(await metricCount(options.sources), {
            terminal: options.terminalLayout,
          }),
        maxSamples: options.maxSamples,
        onStart: () => {
          logger.notice(`measuring ${what} until ${until}`);
          if (channel !== undefined) {
            logger.notice(`phase channel: echo __NAME__ > ${channel.path}`);
          }
        },
      });
      logger.info(
        `measurement ended: ${
          endedBy === "exit"
            ? "the processes exited"
            : endedBy === "duration"
            ? "--duration elapsed"
            : `${signal} received`
        }`,
      );
      if (this.targets.length === 1) attributeEnergy(run);
      const estimators = options.estimators ?? [];
      if (estimators.length > 0) applyEstimators(run, estimators, logger);
      // IPC, average power, energy per instruction, energy-delay product, as for a profile.
      addDerivedMetrics(run);
      return {
        command: [...this.command],
        tokenPattern: options.tokenPattern,
        exitCode: 0,
        durationMs: run.durationMs,
        interrupted: false,
        runs: [run],
      };
    } finally {
      await watch?.close();
      await channel?.close();
    }
  }
}
