/**
 * `JouleProfiler`: the library entry point.
 *
 * @module
 */

import { ProfilerError, UsageError } from "./errors.ts";
import { Logger } from "./logger.ts";
import {
  compileTokenPattern,
  DEFAULT_TOKEN_PATTERN,
  type TokenPattern,
} from "./phase/token_pattern.ts";
import { type ByteSink, WriterSink } from "./process/byte_sink.ts";
import { resolveCommand } from "./process/command_resolver.ts";
import { SignalRelay } from "./process/signal_relay.ts";
import type { InvokingUser } from "./process/invoking_user.ts";
import { runProgram } from "./program_run.ts";
import type { ProfileResult, RunResult } from "./result.ts";
import type { Sensor, Source } from "./source.ts";

/** What to profile and how. */
export interface ProfileConfig {
  /** The program and its arguments. */
  command: string[];
  /** Regex marking phase boundaries on stdout (default `__[A-Z0-9_]+__`). */
  tokenPattern?: string;
  /** How many times to run the program (default 1). */
  iterations?: number;
  /**
   * Where the program's stdout goes: `"stdout"` (default), `"stderr"`, or
   * any {@linkcode ByteSink}. It is passed on byte for byte.
   */
  stdout?: "stdout" | "stderr" | ByteSink;
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
  /** Diagnostics (default: warnings to stderr). */
  logger?: Logger;
  /**
   * Offer the phase channel (`JOULE_PROFILER_PHASE_FD`/`_FIFO`) to the
   * program (default `true`).
   */
  phaseChannel?: boolean;
  /** Called after each run completes, e.g. for progress display. */
  onRun?: (run: RunResult) => void;
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
    "command" | "tokenPattern" | "iterations" | "cwd" | "sampleIntervalMs"
  >,
): ValidatedProfileConfig {
  const name = config.command[0];
  if (name === undefined) throw new UsageError("no command to profile");
  const iterations = config.iterations ?? 1;
  if (!Number.isSafeInteger(iterations) || iterations < 1) {
    throw new UsageError(`iterations must be a positive integer, got ${iterations}`);
  }
  const interval = config.sampleIntervalMs;
  if (
    interval !== undefined && !(Number.isFinite(interval) && interval >= MIN_SAMPLE_INTERVAL_MS)
  ) {
    throw new UsageError(
      `the sampling interval must be a number of milliseconds ≥ ${MIN_SAMPLE_INTERVAL_MS}, ` +
        `got ${interval}`,
    );
  }
  const pattern = compileTokenPattern(config.tokenPattern ?? DEFAULT_TOKEN_PATTERN);
  const executable = resolveCommand(name, { cwd: config.cwd });
  return { pattern, executable, iterations, sampleIntervalMs: interval };
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

  /**
   * Registers a source. Sources are read in registration order.
   *
   * @param source The source.
   * @returns This profiler, for chaining.
   */
  addSource(source: Source): this {
    this.#sources.push(source);
    return this;
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
   * Profiles a command.
   *
   * @param config What to run and how.
   * @returns The typed result.
   * @throws {UsageError} For invalid configuration (checked before anything
   * is spawned).
   * @throws {CommandNotFoundError} When the command cannot be run.
   */
  async profile(config: ProfileConfig): Promise<ProfileResult> {
    const { pattern, executable, iterations, sampleIntervalMs } = validateProfileConfig(config);
    const args = config.command.slice(1);
    const tokenPattern = pattern.source;
    const logger = config.logger ?? new Logger();
    const sink = config.stdout === "stderr"
      ? new WriterSink(Deno.stderr)
      : config.stdout === undefined || config.stdout === "stdout"
      ? new WriterSink(Deno.stdout)
      : config.stdout;

    const relay = new SignalRelay({
      onKill: () => logger.warn("interrupted three times: killed the program (SIGKILL)"),
    });
    if (config.handleSignals ?? true) relay.install();
    const onAbort = () => relay.handle("SIGTERM");
    config.signal?.addEventListener("abort", onAbort);
    const runs: RunResult[] = [];
    try {
      for (let index = 0; index < iterations && !relay.interrupted; index++) {
        logger.info(`run ${index + 1}/${iterations}: ${config.command.join(" ")}`);
        let run: RunResult;
        try {
          run = await runProgram({
            index,
            executable,
            args,
            pattern,
            sources: this.#sources,
            sink,
            relay,
            logger,
            cwd: config.cwd,
            env: config.env,
            runAs: config.runAs,
            phaseChannel: config.phaseChannel,
            sampleIntervalMs,
          });
        } catch (error) {
          // Interrupted between runs: keep the completed ones.
          if (error instanceof ProfilerError && error.exitCode === 130 && runs.length > 0) break;
          throw error;
        }
        runs.push(run);
        if (run.exitCode !== 0 && iterations > 1) {
          const how = run.signal
            ? `was killed by ${run.signal}`
            : `exited with code ${run.exitCode}`;
          logger.warn(`run ${index + 1} ${how}`);
        }
        config.onRun?.(run);
      }
    } finally {
      config.signal?.removeEventListener("abort", onAbort);
      relay.dispose();
      if (sink !== config.stdout) sink.close();
    }
    return {
      command: [...config.command],
      tokenPattern,
      exitCode: runs.find((run) => run.exitCode !== 0)?.exitCode ?? 0,
      durationMs: runs.reduce((total, run) => total + run.durationMs, 0),
      interrupted: relay.interrupted,
      runs,
    };
  }
}
