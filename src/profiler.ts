/**
 * `JouleProfiler`: the library entry point.
 *
 * @module
 */

import type { CpuPlacement } from "./process/cpu_placement.ts";
import { ProfilerError, UsageError } from "./errors.ts";
import { Logger } from "./logger.ts";
import {
  compileTokenPattern,
  DEFAULT_TOKEN_PATTERN,
  type TokenPattern,
} from "./phase/token_pattern.ts";
import { type ByteSink, WriterSink } from "./process/byte_sink.ts";
import { resolveCommand } from "./process/command_resolver.ts";
import { DEFAULT_KILL_AFTER_SECONDS, SignalRelay } from "./process/signal_relay.ts";
import { OrphanWatchdog } from "./process/orphan_watchdog.ts";
import {
  DESCENDANT_POLICIES,
  type DescendantPolicy,
  ProgramReaper,
} from "./process/program_reaper.ts";
import type { InvokingUser } from "./process/invoking_user.ts";
import { HookError, runHook } from "./process/hook_command.ts";
import { attributeEnergy } from "./energy_attribution.ts";
import { addDerivedMetrics, derivedMetricCount } from "./derived_metrics.ts";
import { runProgram } from "./program_run.ts";
import { loadLazily } from "./lazy_module.ts";
import { joulesPerUnit } from "./energy_units.ts";
import { lineBufferedEnv } from "./process/line_buffering.ts";
import type { ProfileResult, RunResult, SourceStatus } from "./result.ts";
import {
  DEFAULT_MAX_PHASES,
  defaultMaxPhases,
  MAX_PHASES_LIMIT,
  MAX_SAMPLES_LIMIT,
  RUN_SETTING_LIMITS,
} from "./run_limits.ts";
import { DEFAULT_MAX_SAMPLES } from "./setting_defaults.ts";

export {
  DEFAULT_MAX_PHASES,
  DEFAULT_MAX_SAMPLES,
  defaultMaxPhases,
  MAX_PHASES_LIMIT,
  MAX_SAMPLES_LIMIT,
  RUN_SETTING_LIMITS,
};
import type { IdleBaseline } from "./stats/phase_statistics.ts";
import { reviewRuns } from "./stats/run_review.ts";
import type { Sensor, Source } from "./source.ts";
import { applyEstimators, checkEstimators, type EnergyEstimator } from "./energy/estimator.ts";
import type { SampleObserver } from "./live_intervals.ts";

/** What to profile and how. */
export interface ProfileConfig extends RunSettings {
  /** The program and its arguments. */
  command: string[];
  /** A label for the command in results and comparisons. */
  name?: string;
}

/** A command of a multi-command profile. */
export interface NamedCommand {
  /** The program and its arguments. */
  command: string[];
  /** A label for results and comparisons (default: the command line). */
  name?: string;
  /** The parameter values of a parameter scan that made this command (`{ N: "4" }`). */
  parameters?: Record<string, string>;
}

/** Several commands profiled together, their runs interleaved (A B A B …). */
export interface MultiProfileConfig extends RunSettings {
  /** The commands, in order; the first is the baseline of comparisons. */
  commands: NamedCommand[];
}

/** How every command of a profile is run. */
export interface RunSettings {
  /** Regex marking phase boundaries on stdout (default `__[A-Z0-9_]+__`). */
  tokenPattern?: string;
  /** How many times to run the program (default 1). */
  iterations?: number;
  /** Runs executed first and discarded (caches, JIT, frequency), default 0. */
  warmup?: number;
  /** Run at least this many times (with `minTimeSeconds`: until both hold). */
  minRuns?: number;
  /** Keep running until the measured runs add up to this many seconds. */
  minTimeSeconds?: number;
  /** Shell command run before each run (warm-up included), not measured. */
  prepare?: string;
  /** Shell command run after each run (warm-up included), not measured. */
  cleanup?: string;
  /**
   * Measure the machine at rest for this many seconds before the runs, for
   * energy above idle.
   */
  idleSeconds?: number;
  /**
   * Where the program's stdout goes: `"stdout"` (default), `"stderr"`, or
   * any {@linkcode ByteSink}. It is passed on byte for byte.
   */
  stdout?: "stdout" | "stderr" | ByteSink;
  /**
   * Look for tokens on the program's stdout (default `true`). With `false`
   * the profiler never reads it: the program gets `stdout`'s descriptor as
   * its own (the profiler's stdout or stderr, a file, or `/dev/null` for a
   * `DiscardSink`) and writes there at full speed; phases come from the
   * phase channel alone, END is the program's exit.
   *
   * @example Phases from the phase channel, stdout untouched
   * ```ts
   * import { JouleProfiler } from "./profiler.ts";
   * const result = await new JouleProfiler().profile({
   *   command: ["sh", "-c", 'echo __NOT_READ__; echo loaded > "$JOULE_PROFILER_PHASE_FIFO"'],
   *   stdoutTokens: false,
   * });
   * console.log(result.runs[0]!.phases.map((p) => p.name)); // [ "START -> loaded", "loaded -> END" ]
   * ```
   */
  stdoutTokens?: boolean;
  /** Working directory of the program. */
  cwd?: string;
  /** Environment variables to add for the program. */
  env?: Record<string, string>;
  /**
   * Run the program as this user (uid, gid and groups, `HOME`, `USER`,
   * `LOGNAME`); e.g. the user behind `sudo` (see `invokingUser()`).
   */
  runAs?: InvokingUser;
  /**
   * Aborting sends SIGTERM to the program; results up to its exit are kept.
   */
  signal?: AbortSignal;
  /**
   * Forward SIGINT/SIGTERM/SIGHUP/SIGQUIT to the program and keep results
   * on interrupt (default `true`).
   */
  handleSignals?: boolean;
  /**
   * Seconds from the first forwarded signal (or from SIGTERM to processes
   * left running) to SIGKILL of whatever of the program is left (default
   * 5, like `timeout --kill-after`; must be > 0).
   */
  killAfterSeconds?: number;
  /**
   * What becomes of processes the program started and left running:
   * `"end-with-profiler"` (default: a warning names them; they are ended
   * when the profiler exits), `"end-with-program"` (`--kill-descendants`)
   * or `"keep"` (`--keep-descendants`, for daemons started on purpose;
   * signals then go to the program alone). Whatever the policy, the
   * program itself never outlives the profiler.
   */
  descendants?: DescendantPolicy;
  /** Diagnostics (default: warnings to stderr). */
  logger?: Logger;
  /**
   * Offer the phase channel (`JOULE_PROFILER_PHASE_FD`/`_FIFO`) to the
   * program (default `true`).
   */
  phaseChannel?: boolean;
  /**
   * Called after each measured run completes, e.g. for progress display;
   * `command` is the command's position in a multi-command profile.
   */
  onRun?: (run: RunResult, command: number) => void;
  /**
   * Called as the profile advances (idle measurement, each warm-up run,
   * each measured run starting and ending), e.g. for a progress bar.
   */
  onProgress?: (event: ProgressEvent) => void;
  /**
   * Ask the program to line-buffer its stdout (`PYTHONUNBUFFERED=1`,
   * coreutils' stdbuf preload), so tokens arrive when printed rather than
   * when a block buffer fills. Variables in `env` take precedence.
   */
  lineBuffered?: boolean;
  /**
   * Sample every source that can be sampled, and the program's CPU and
   * RSS, every this many milliseconds (≥ 1; default: no sampling). The
   * series land in `RunResult.samples`; per-phase metrics are unchanged.
   *
   * @example Sampling every 10 ms
   * ```ts
   * import { JouleProfiler } from "./profiler.ts";
   * const result = await new JouleProfiler().profile({
   *   command: ["sh", "-c", "sleep 0.1"],
   *   sampleIntervalMs: 10,
   * });
   * console.log(result.runs[0]!.samples?.map((series) => series.name)); // [ "CPU", "RSS" ]
   * ```
   */
  sampleIntervalMs?: number;
  /**
   * Measure at most this many phases per run (≥ 1); later tokens are
   * passed on but not measured, with a warning. Default:
   * {@linkcode defaultMaxPhases} of the sources' sensors (at most
   * {@linkcode DEFAULT_MAX_PHASES}), which keeps memory under 300 MB.
   */
  maxPhases?: number;
  /**
   * Each sampled series keeps at most this many samples (and so do the GPU
   * sources' own readings) per run
   * (2 to {@linkcode MAX_SAMPLES_LIMIT}); past it every other one is
   * dropped, again each time, so memory stays bounded however long the
   * run (default {@linkcode DEFAULT_MAX_SAMPLES}). A series that was
   * thinned says so in `every`.
   */
  maxSamples?: number;
  /**
   * The results will be listed phase by phase for the terminal
   * (`--all-phases`), which builds every phase's lines at once: the default
   * `maxPhases` is then lower.
   */
  terminalLayout?: boolean;
  /**
   * Estimate energy after each run from the measured metrics (an energy
   * model, the TDP curve): their metrics are labelled `estimated`. Each is
   * checked against the sources' sensors before anything runs.
   */
  estimators?: readonly EnergyEstimator[];
  /**
   * Stop the profile at the first measured run whose exit status is not 0
   * (a {@linkcode ProfilerError} with that status), as hyperfine does
   * without `--ignore-failure`. Default `false`: such runs are kept, with
   * their exit codes, and a warning.
   */
  stopOnFailure?: boolean;
  /**
   * Refuse a run when a source has not initialised (attached to the held
   * program) after this many seconds; the error names the slow source.
   * Default: wait as long as the sources take.
   */
  initTimeoutSeconds?: number;
  /**
   * Told after every sampling tick of every run, e.g. `LiveIntervals`
   * printing live intervals (`-I`); needs `sampleIntervalMs`.
   */
  sampleObserver?: SampleObserver;
  /**
   * Set-up of the caller's (e.g. loading the output's modules), started as
   * each run's program is spawned and awaited before its START, so that it
   * fills the wait while the program's launcher execs to its gate.
   */
  whileHeld?: () => Promise<unknown>;
  /**
   * Where the profiler and each run's program run (`--profiler-cpus`): the
   * profiler's threads on CPUs of their own during every run, the program
   * on the others.
   */
  cpuPlacement?: CpuPlacement;
}

/**
 * How far a profile has got, for progress displays.
 *
 * @example A progress line
 * ```ts
 * import type { ProgressEvent } from "./profiler.ts";
 * const show = (event: ProgressEvent) =>
 *   console.error(`${event.stage} ${event.done}/${event.total ?? "?"}`);
 * show({ stage: "run-end", done: 1, total: 10, elapsedMs: 120 });
 * ```
 */
export interface ProgressEvent {
  /**
   * `idle`: the idle measurement starts; `warmup`: a warm-up run ended;
   * `run-start`/`run-end`: a measured run starts or ends.
   */
  stage: "idle" | "warmup" | "run-start" | "run-end";
  /** Runs of this stage done so far (all commands together). */
  done: number;
  /**
   * Runs this stage will take at least (all commands together); with a
   * minimum time the runs go on until it is reached.
   */
  total?: number;
  /** Milliseconds since the profile started. */
  elapsedMs: number;
  /** With `idle`: how long the measurement lasts, ms. */
  idleMs?: number;
  /** With `run-end`: the run. */
  run?: RunResult;
  /** With `run-end`: the command's position in a multi-command profile. */
  command?: number;
  /** With `run-end`: the measured time still needed by the minimum time, ms (0 when met). */
  remainingMinTimeMs?: number;
}

/** The shortest sampling interval accepted, ms: Deno's timers are about 1 ms coarse. */
export const MIN_SAMPLE_INTERVAL_MS = 1;

/** What {@linkcode validateProfileConfig} establishes. */
export interface ValidatedProfileConfig {
  /** The compiled token pattern. */
  pattern: TokenPattern;
  /** The resolved program path. */
  executable: string;
  /** The number of runs. */
  iterations: number;
  /** The sampling interval in ms, when sampling is on. */
  sampleIntervalMs?: number;
}

/**
 * Checks a configuration without running anything: the command resolves,
 * the pattern compiles, the iteration count is valid.
 *
 * @param config What would be profiled.
 * @returns The compiled pattern, resolved executable and iteration count.
 * @throws {UsageError} For an invalid pattern, iteration count, sampling
 * interval or missing command.
 * @throws {CommandNotFoundError} When the command cannot be run (127/126).
 *
 * @example Usage
 * ```ts
 * import { validateProfileConfig } from "./profiler.ts";
 * console.log(validateProfileConfig({ command: ["sh", "-c", "true"] }).executable);
 * ```
 */
export function validateProfileConfig(
  config: Pick<
    ProfileConfig,
    | "command"
    | "tokenPattern"
    | "iterations"
    | "cwd"
    | "sampleIntervalMs"
    | "maxPhases"
    | "maxSamples"
  >,
): ValidatedProfileConfig {
  const name = config.command[0];
  if (name === undefined) throw new UsageError("no command to profile");
  const iterations = config.iterations ?? 1;
  const { maxRuns, maxSampleIntervalMs } = RUN_SETTING_LIMITS;
  if (!(Number.isSafeInteger(iterations) && iterations >= 1 && iterations <= maxRuns)) {
    throw new UsageError(`iterations must be an integer from 1 to ${maxRuns}, got ${iterations}`);
  }
  const interval = config.sampleIntervalMs;
  if (
    interval !== undefined &&
    !(Number.isFinite(interval) && interval >= MIN_SAMPLE_INTERVAL_MS &&
      interval <= maxSampleIntervalMs)
  ) {
    throw new UsageError(
      `the sampling interval must be from ${MIN_SAMPLE_INTERVAL_MS} to ${maxSampleIntervalMs} ` +
        `milliseconds (1 h), got ${interval}`,
    );
  }
  checkLimit("phase limit", config.maxPhases, 1, MAX_PHASES_LIMIT);
  checkLimit("sample limit", config.maxSamples, 2, MAX_SAMPLES_LIMIT);
  const pattern = compileTokenPattern(config.tokenPattern ?? DEFAULT_TOKEN_PATTERN);
  const executable = resolveCommand(name, { cwd: config.cwd });
  return { pattern, executable, iterations, sampleIntervalMs: interval };
}

/** Refuses a limit (`maxPhases`, `maxSamples`) that is given but not an integer in its range. */
function checkLimit(what: string, value: number | undefined, min: number, max: number): void {
  if (value === undefined || (Number.isSafeInteger(value) && value >= min && value <= max)) return;
  throw new UsageError(`the ${what} must be an integer from ${min} to ${max}, got ${value}`);
}

/**
 * Checks the repetition settings: warm-up, minimum runs and time, idle
 * length.
 *
 * @param settings The settings.
 * @throws {UsageError} Naming the first invalid one.
 *
 * @example Usage
 * ```ts
 * import { validateRunSettings } from "./profiler.ts";
 * validateRunSettings({ warmup: 2, minRuns: 10, minTimeSeconds: 3 });
 * ```
 */
export function validateRunSettings(
  settings: Pick<
    RunSettings,
    "warmup" | "minRuns" | "minTimeSeconds" | "idleSeconds" | "killAfterSeconds" | "descendants"
  >,
): void {
  const { warmup, minRuns, minTimeSeconds, idleSeconds, killAfterSeconds } = settings;
  const { maxRuns, maxMinTimeSeconds, maxIdleSeconds } = RUN_SETTING_LIMITS;
  if (
    killAfterSeconds !== undefined && !(Number.isFinite(killAfterSeconds) && killAfterSeconds > 0)
  ) {
    throw new UsageError(
      `--kill-after must be a number of seconds > 0, got ${killAfterSeconds} ` +
        `(a long delay such as 3600 lets a program shut down at its own pace)`,
    );
  }
  if (settings.descendants !== undefined && !DESCENDANT_POLICIES.includes(settings.descendants)) {
    throw new UsageError(
      `descendants must be one of ${DESCENDANT_POLICIES.join(", ")}, got ${settings.descendants}`,
    );
  }
  if (warmup !== undefined && !(Number.isSafeInteger(warmup) && warmup >= 0 && warmup <= maxRuns)) {
    throw new UsageError(`warm-up runs must be an integer from 0 to ${maxRuns}, got ${warmup}`);
  }
  if (
    minRuns !== undefined && !(Number.isSafeInteger(minRuns) && minRuns >= 1 && minRuns <= maxRuns)
  ) {
    throw new UsageError(`minimum runs must be an integer from 1 to ${maxRuns}, got ${minRuns}`);
  }
  if (
    minTimeSeconds !== undefined &&
    !(Number.isFinite(minTimeSeconds) && minTimeSeconds >= 0 && minTimeSeconds <= maxMinTimeSeconds)
  ) {
    throw new UsageError(
      `minimum time must be from 0 to ${maxMinTimeSeconds} seconds (7 days), got ${minTimeSeconds}`,
    );
  }
  if (
    idleSeconds !== undefined &&
    !(Number.isFinite(idleSeconds) && idleSeconds > 0 && idleSeconds <= maxIdleSeconds)
  ) {
    throw new UsageError(
      `idle measurement must last more than 0 and at most ${maxIdleSeconds} seconds (1 h), ` +
        `got ${idleSeconds}`,
    );
  }
}

/**
 * A measured run exited with a status other than 0 and the profile was
 * asked to stop then (`stopOnFailure`); `exitCode` is the run's.
 *
 * @example Usage
 * ```ts
 * import { RunFailedError } from "./profiler.ts";
 * console.log(new RunFailedError("run 1 of 'false' exited with code 1", { exitCode: 1 }).name);
 * ```
 */
export class RunFailedError extends ProfilerError {
  /**
   * Creates the error.
   *
   * @param message What failed.
   * @param options `exitCode`: the run's status.
   */
  constructor(message: string, options: ErrorOptions & { exitCode?: number } = {}) {
    super(message, options);
    this.name = "RunFailedError";
  }
}

/** A command ready to run. */
interface PreparedCommand {
  command: string[];
  name?: string;
  parameters?: Record<string, string>;
  executable: string;
  runs: RunResult[];
  measuredMs: number;
}

/**
 * Runs a program and measures every registered source per phase.
 *
 * @example Usage
 * ```ts
 * import { JouleProfiler } from "./profiler.ts";
 * const profiler = new JouleProfiler();
 * const result = await profiler.profile({ command: ["sh", "-c", "echo __WORK__; sleep 0.1"] });
 * for (const phase of result.runs[0]!.phases) console.log(phase.name, phase.durationMs);
 * ```
 */
export class JouleProfiler {
  readonly #sources: Source[] = [];
  readonly #origins = new Map<Source, SourceStatus["origin"]>();
  readonly #unavailable: SourceStatus[] = [];

  /**
   * Registers a source. Sources are read in registration order.
   *
   * @param source The source.
   * @param options `origin`: whether it was asked for (default) or is on by default.
   * @returns This profiler, for chaining.
   */
  addSource(source: Source, options: { origin?: SourceStatus["origin"] } = {}): this {
    this.#sources.push(source);
    if (options.origin !== undefined) this.#origins.set(source, options.origin);
    return this;
  }

  /**
   * Records a source that was asked for, or is on by default, but cannot
   * measure here: results list it in `sources` as inactive, with the
   * reason.
   *
   * @param status Its name, origin and reason (`active` is forced to `false`).
   * @returns This profiler, for chaining.
   *
   * @example Usage
   * ```ts
   * import { JouleProfiler } from "./profiler.ts";
   * new JouleProfiler().addUnavailableSource({
   *   name: "RAPL", origin: "default", active: false, reason: "no RAPL zones",
   * });
   * ```
   */
  addUnavailableSource(status: SourceStatus): this {
    this.#unavailable.push({ ...status, active: false });
    return this;
  }

  /** Whether any registered source has an energy sensor (µJ, mJ, J). */
  async #measuresEnergy(): Promise<boolean> {
    const sensors = await this.listSensors();
    return sensors.some((sensor) =>
      sensor.available !== false && joulesPerUnit(sensor.unit) !== undefined
    );
  }

  /** What each source did in a command's runs: inactive when it failed in every phase. */
  #sourceStatuses(runs: readonly RunResult[]): SourceStatus[] {
    const statuses = this.#sources.map((source): SourceStatus => {
      let phases = 0;
      let failed = 0;
      let reason: string | undefined;
      for (const run of runs) {
        for (const phase of run.phases) {
          phases++;
          const failure = phase.failures.find((entry) => entry.source === source.name);
          if (failure === undefined) continue;
          failed++;
          reason ??= failure.message;
        }
      }
      const status: SourceStatus = {
        name: source.name,
        origin: this.#origins.get(source) ?? "requested",
        active: !(phases > 0 && failed === phases),
      };
      if (!status.active && reason !== undefined) {
        status.reason = `failed in every phase: ${reason}`;
      }
      return status;
    });
    return [...statuses, ...this.#unavailable.map((status) => ({ ...status }))];
  }

  /** The registered sources. */
  get sources(): readonly Source[] {
    return this.#sources;
  }

  /**
   * Lists what every registered source can measure on this machine.
   *
   * @returns The sensors of all sources, in registration order.
   */
  async listSensors(): Promise<Sensor[]> {
    const lists = await Promise.all(this.#sources.map((source) => source.sensors()));
    return lists.flat();
  }

  /**
   * Profiles a command: warm-up runs (discarded), then at least
   * `iterations` and `minRuns` runs, until `minTimeSeconds` is reached.
   *
   * @param config What to run and how.
   * @returns The typed result.
   * @throws {UsageError} For invalid configuration (checked before anything
   * is spawned).
   * @throws {CommandNotFoundError} When the command cannot be run.
   * @throws {ProfilerError} When a `prepare`/`cleanup` hook fails.
   */
  async profile(config: ProfileConfig): Promise<ProfileResult> {
    const { command, name, ...settings } = config;
    const [result] = await this.profileCommands({ ...settings, commands: [{ command, name }] });
    return result!;
  }

  /**
   * Profiles several commands under the same conditions: their runs are
   * interleaved (A B A B …, warm-up included) so slow drift (temperature,
   * frequency, background load) affects them alike; one idle baseline
   * serves all.
   *
   * @param config The commands and how to run them.
   * @returns One result per command, in order.
   * @throws {UsageError} For invalid configuration (checked before anything
   * is spawned).
   * @throws {CommandNotFoundError} When a command cannot be run.
   * @throws {ProfilerError} When a `prepare`/`cleanup` hook fails.
   *
   * @example Comparing two commands
   * ```ts
   * import { JouleProfiler } from "./profiler.ts";
   * const [a, b] = await new JouleProfiler().profileCommands({
   *   commands: [
   *     { name: "short", command: ["sh", "-c", "echo __WORK__; sleep 0.01"] },
   *     { name: "long", command: ["sh", "-c", "echo __WORK__; sleep 0.02"] },
   *   ],
   *   iterations: 3,
   * });
   * console.log(a!.runs.length, b!.runs.length); // 3 3
   * ```
   */
  async profileCommands(config: MultiProfileConfig): Promise<ProfileResult[]> {
    if (config.commands.length === 0) throw new UsageError("no command to profile");
    validateRunSettings(config);
    let pattern: TokenPattern | undefined;
    let iterations = 1;
    const commands: PreparedCommand[] = config.commands.map(({ command, name, parameters }) => {
      const valid = validateProfileConfig({ ...config, command });
      pattern = valid.pattern;
      iterations = valid.iterations;
      return { command, name, parameters, executable: valid.executable, runs: [], measuredMs: 0 };
    });
    const logger = config.logger ?? new Logger();
    const estimators = config.estimators ?? [];
    if (estimators.length > 0) checkEstimators(estimators, await this.listSensors());
    const sink = config.stdout === "stderr"
      ? new WriterSink(Deno.stderr)
      : config.stdout === undefined || config.stdout === "stdout"
      ? new WriterSink(Deno.stdout)
      : config.stdout;
    if (config.stdoutTokens === false) {
      const descriptor = sink.descriptor;
      if (descriptor === undefined || descriptor === -1) {
        throw new UsageError(
          "stdoutTokens: false needs a stdout the program can write to itself: " +
            '"stdout", "stderr", a DiscardSink or a WriterSink over a writer with a descriptor',
        );
      }
    }

    let env = config.env;
    if (config.lineBuffered) {
      const buffering = lineBufferedEnv();
      if (buffering.missing !== undefined) logger.info(`--line-buffered: ${buffering.missing}`);
      env = { ...buffering.env, ...config.env };
    }
    const began = performance.now();
    const progress = (event: Omit<ProgressEvent, "elapsedMs">) =>
      config.onProgress?.({ ...event, elapsedMs: performance.now() - began });
    const killAfterMs = (config.killAfterSeconds ?? DEFAULT_KILL_AFTER_SECONDS) * 1000;
    const relay = new SignalRelay({
      onKill: () => logger.warn("interrupted three times: killed the program (SIGKILL)"),
      killAfterMs,
      onKillAfter: (received) =>
        logger.warn(
          `the program was still running ${killAfterMs / 1000} s after ${received}: ` +
            `killed it (SIGKILL, --kill-after)`,
        ),
    });
    const reaper = new ProgramReaper({
      policy: config.descendants,
      killAfterMs,
      warn: (message) => logger.warn(message),
      info: (message) => logger.info(message),
    });
    if (config.handleSignals ?? true) relay.install();
    const onAbort = () => relay.handle("SIGTERM");
    config.signal?.addEventListener("abort", onAbort);
    const warmup = config.warmup ?? 0;
    const minRuns = Math.max(iterations, config.minRuns ?? 1);
    const minTimeMs = (config.minTimeSeconds ?? 0) * 1000;
    let idle: IdleBaseline | undefined;
    let stoppedBy: string | undefined;
    const maxPhases = config.maxPhases ?? defaultMaxPhases(await sensorCount(this.#sources), {
      terminal: config.terminalLayout,
    });
    const runOnce = async (entry: PreparedCommand, index: number, label: string) => {
      logger.info(`${label}: ${entry.command.join(" ")}`);
      const hookOptions = { cwd: config.cwd, env: config.env, runAs: config.runAs };
      if (config.prepare !== undefined) {
        await runHook(config.prepare, { ...hookOptions, label: "--prepare" });
      }
      let run: RunResult;
      try {
        run = await runProgram({
          index,
          executable: entry.executable,
          args: entry.command.slice(1),
          pattern: pattern!,
          sources: this.#sources,
          sink,
          stdoutTokens: config.stdoutTokens,
          relay,
          logger,
          cwd: config.cwd,
          env,
          runAs: config.runAs,
          phaseChannel: config.phaseChannel,
          sampleIntervalMs: config.sampleIntervalMs,
          initTimeoutMs: config.initTimeoutSeconds === undefined
            ? undefined
            : config.initTimeoutSeconds * 1000,
          maxPhases,
          maxSamples: config.maxSamples,
          reaper,
          sampleObserver: config.sampleObserver,
          whileHeld: config.whileHeld,
          cpuPlacement: config.cpuPlacement,
        });
        // The program's share of measured energy, from the process and system sources' metrics.
        attributeEnergy(run, idle);
        // Estimates last: they read only measured metrics, and are never attributed.
        applyEstimators(run, estimators, logger);
        // IPC, average power, energy per instruction, energy-delay product: from the metrics above.
        addDerivedMetrics(run);
      } catch (error) {
        if (config.cleanup !== undefined) {
          // The run's own error is the one to report; the hook's is a warning.
          await runHook(config.cleanup, { ...hookOptions, label: "--cleanup" }).catch(
            (hookError) => logger.warn((hookError as Error).message),
          );
        }
        throw error;
      }
      if (config.cleanup !== undefined) {
        try {
          await runHook(config.cleanup, { ...hookOptions, label: "--cleanup" });
        } catch (error) {
          // The run itself completed: keep it, and stop (as for an interrupt).
          throw error instanceof HookError ? new HookFailure(error, run) : error;
        }
      }
      return run;
    };
    try {
      if (config.idleSeconds !== undefined && !(await this.#measuresEnergy())) {
        // Said before anything runs: idling would only delay the same news.
        logger.warn(
          `--idle ${config.idleSeconds}: no source measures energy, so there is no idle power ` +
            "to subtract; skipping the idle measurement ('joule-profiler doctor' says why)",
        );
      } else if (config.idleSeconds !== undefined) {
        progress({ stage: "idle", done: 0, idleMs: config.idleSeconds * 1000 });
        const { measureIdle } = await loadLazily<typeof import("./idle_measurement.ts")>(
          "./idle_measurement.ts",
          import.meta.url,
        );
        idle = await measureIdle({
          seconds: config.idleSeconds,
          sources: this.#sources,
          relay,
          logger,
        });
      }
      let warmedUp = 0;
      if (warmup > 0) progress({ stage: "warmup", done: 0, total: warmup * commands.length });
      for (let round = 0; round < warmup && !relay.interrupted; round++) {
        for (const entry of commands) {
          if (relay.interrupted) break;
          await runOnce(entry, round, `warm-up run ${round + 1}/${warmup}`).catch((error) => {
            // A warm-up run is never kept.
            throw error instanceof HookFailure ? error.hookError : error;
          });
          warmedUp++;
          progress({ stage: "warmup", done: warmedUp, total: warmup * commands.length });
        }
      }
      let measured = 0;
      const measuredTotal = minRuns * commands.length;
      for (let round = 0; !relay.interrupted; round++) {
        const enoughTime = commands.every((entry) => entry.measuredMs >= minTimeMs);
        if (round >= minRuns && enoughTime) break;
        for (const [position, entry] of commands.entries()) {
          if (relay.interrupted) break;
          const of = round < minRuns && minTimeMs === 0 ? `/${minRuns}` : "";
          progress({ stage: "run-start", done: measured, total: measuredTotal });
          let run: RunResult;
          try {
            run = await runOnce(entry, round, `run ${round + 1}${of}`);
          } catch (error) {
            if (!(error instanceof HookFailure)) throw error;
            entry.runs.push(error.run);
            config.onRun?.(error.run, position);
            throw error.hookError;
          }
          entry.runs.push(run);
          entry.measuredMs += run.durationMs;
          if (run.exitCode !== 0 && !relay.interrupted && config.stopOnFailure) {
            const how = run.signal
              ? `was killed by ${run.signal}`
              : `exited with code ${run.exitCode}`;
            throw new RunFailedError(
              `run ${round + 1} of '${entry.name ?? entry.command.join(" ")}' ${how}: profile ` +
                `stopped, no results (--ignore-failure keeps runs that fail, with their exit codes)`,
              { exitCode: run.exitCode },
            );
          }
          measured++;
          progress({
            stage: "run-end",
            done: measured,
            total: measuredTotal,
            run,
            command: position,
            remainingMinTimeMs: Math.max(
              0,
              ...commands.map((command) => minTimeMs - command.measuredMs),
            ),
          });
          if (run.exitCode !== 0 && minRuns > 1) {
            const how = run.signal
              ? `was killed by ${run.signal}`
              : `exited with code ${run.exitCode}`;
            logger.warn(`run ${round + 1} of ${entry.name ?? entry.command.join(" ")} ${how}`);
          }
          config.onRun?.(run, position);
        }
      }
    } catch (error) {
      // Interrupted before a run could start, or a hook failed between runs:
      // keep the completed ones.
      const interruptedBetweenRuns = error instanceof ProfilerError && error.exitCode === 130 &&
        !(error instanceof RunFailedError);
      const hookFailed = error instanceof HookError;
      if (
        !(interruptedBetweenRuns || hookFailed) ||
        commands.every((entry) => entry.runs.length === 0)
      ) {
        throw error;
      }
      if (hookFailed) {
        logger.warn(`${(error as Error).message}; the completed runs are kept`);
        stoppedBy = (error as Error).message;
      }
    } finally {
      // Before the relay goes: a signal while leftovers are ended is still no sudden death.
      await reaper.close();
      // A library caller keeps no watchdog process or descriptor once nothing is guarded.
      await OrphanWatchdog.closeSharedIfIdle();
      config.signal?.removeEventListener("abort", onAbort);
      relay.dispose();
      if (sink !== config.stdout) sink.close();
    }
    const results = commands.map((entry): ProfileResult => {
      const result: ProfileResult = {
        command: [...entry.command],
        // Empty when stdout was not read: no pattern found these phases.
        tokenPattern: config.stdoutTokens === false ? "" : pattern!.source,
        exitCode: entry.runs.find((run) => run.exitCode !== 0)?.exitCode ?? 0,
        durationMs: entry.measuredMs,
        interrupted: relay.interrupted,
        runs: entry.runs,
      };
      if (entry.name !== undefined) result.name = entry.name;
      if (entry.parameters !== undefined) result.parameters = { ...entry.parameters };
      if (warmup > 0) result.warmupRuns = warmup;
      if (idle !== undefined) result.idle = idle;
      result.sources = this.#sourceStatuses(entry.runs);
      if (stoppedBy !== undefined) result.stoppedBy = stoppedBy;
      return result;
    });
    for (const result of results) reviewRuns(result, logger);
    return results;
  }
}

/** Sensors across the sources (0 for a source that cannot list them). */
async function sensorCount(sources: readonly Source[]): Promise<number> {
  const sensors: Sensor[] = [];
  for (const source of sources) {
    try {
      sensors.push(...(await source.sensors()).filter((sensor) => sensor.available !== false));
    } catch {
      // Unknown: counted as none.
    }
  }
  // The derived metrics each phase will also hold (average power beside each energy, …).
  return sensors.length + derivedMetricCount(sensors);
}

/** A hook failed after a run that completed: carries both. */
class HookFailure extends Error {
  readonly hookError: HookError;
  readonly run: RunResult;

  constructor(hookError: HookError, run: RunResult) {
    super(hookError.message, { cause: hookError });
    this.name = "HookFailure";
    this.hookError = hookError;
    this.run = run;
  }
}
