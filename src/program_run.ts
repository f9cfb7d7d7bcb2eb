/**
 * One run of the profiled program: held start, stdout scanning, phase
 * boundaries and the final measurement.
 *
 * @module
 */

import { ClockAnchor } from "./clock.ts";
import { ProfilerError } from "./errors.ts";
import { signalName } from "./ffi/libc.ts";
import type { Logger } from "./logger.ts";
import { SourceOrchestrator } from "./orchestrator.ts";
import { BoundaryLog, END_TOKEN, START_TOKEN } from "./phase/boundary_log.ts";
import type { TokenPattern } from "./phase/token_pattern.ts";
import { TokenScanner } from "./phase/token_scanner.ts";
import type { ByteSink } from "./process/byte_sink.ts";
import { ProgramProcess } from "./process/program_process.ts";
import type { SignalRelay } from "./process/signal_relay.ts";
import type { InvokingUser } from "./process/invoking_user.ts";
import { buildPhases, type RunResult, spanMs } from "./result.ts";
import type { Source } from "./source.ts";

/**
 * After the program exits, how long stdout may stay silent before the
 * profiler concludes a descendant holds it open, and the most it waits.
 */
const DRAIN_QUIET_MS = 5;
const DRAIN_MAX_MS = 100;
const READ_BUFFER_BYTES = 64 * 1024;
/**
 * After end of output, how long to watch for the program's exit before
 * concluding it closed stdout early and is still running (µs).
 */
const EXIT_SPIN_MICROS = 2000;

/** Everything one run needs. */
export interface ProgramRunOptions {
  /** 0-based iteration index. */
  index: number;
  /** Resolved path of the program. */
  executable: string;
  /** Arguments after the program name. */
  args: string[];
  /** Compiled token pattern. */
  pattern: TokenPattern;
  /** The sources to read. */
  sources: readonly Source[];
  /** Where the program's stdout goes. */
  sink: ByteSink;
  /** Signal forwarding shared by all runs. */
  relay: SignalRelay;
  /** Diagnostics. */
  logger: Logger;
  /** Working directory of the program. */
  cwd?: string;
  /** Extra environment of the program. */
  env?: Record<string, string>;
  /** Run the program as this user instead of the profiler's. */
  runAs?: InvokingUser;
}

/**
 * Runs the program once and returns its phases.
 *
 * The program is spawned held; every source's `init(pid)` and the baseline
 * `measure()` complete before it is resumed. Each token on stdout is a
 * boundary: stamp, measure, retrieve, then the bytes are passed on. END is
 * taken when the program has exited and its stdout is drained. On any error
 * the program is killed and reaped, never left stopped or orphaned.
 *
 * @param options What to run and with which sources.
 * @returns The run's result.
 *
 * @example Usage
 * ```ts
 * import { runProgram } from "./program_run.ts";
 * import { compileTokenPattern } from "./phase/token_pattern.ts";
 * import { WriterSink } from "./process/byte_sink.ts";
 * import { SignalRelay } from "./process/signal_relay.ts";
 * import { Logger } from "./logger.ts";
 * const run = await runProgram({
 *   index: 0,
 *   executable: "/bin/echo",
 *   args: ["__A__"],
 *   pattern: compileTokenPattern("__[A-Z]+__"),
 *   sources: [],
 *   sink: new WriterSink(Deno.stdout),
 *   relay: new SignalRelay(),
 *   logger: new Logger(),
 * });
 * console.log(run.phases.map((p) => p.name)); // [ "START -> __A__", "__A__ -> END" ]
 * ```
 */
export async function runProgram(options: ProgramRunOptions): Promise<RunResult> {
  const { logger, relay } = options;
  const orchestrator = new SourceOrchestrator(options.sources, {
    warn: (message) => logger.warn(message),
    debug: logger.verbosity >= 2 ? (message) => logger.debug(message) : undefined,
  });
  const boundaries = new BoundaryLog();
  const scanner = new TokenScanner(options.pattern);

  const program = ProgramProcess.spawnHeld({
    executable: options.executable,
    args: options.args,
    stdout: "piped",
    cwd: options.cwd,
    env: options.env,
    runAs: options.runAs,
  });
  const stdout = program.stdout!;
  let started = false;
  let pump: StdoutPump | undefined;
  let pumping: Promise<void> | undefined;
  try {
    relay.target = program;
    await orchestrator.init(program.pid);
    if (relay.interrupted) {
      throw new ProfilerError(`interrupted by ${relay.received} before the program started`, {
        exitCode: 130,
      });
    }
    const anchor = ClockAnchor.now();
    const baseline = orchestrator.measure();
    if (baseline) await baseline;
    boundaries.record(START_TOKEN, -1);
    program.resume();
    started = true;
    logger.debug(`program started, pid ${program.pid}`);

    const boundary = (token: string, line: number): void | Promise<void> => {
      boundaries.record(token, line);
      const measured = orchestrator.measure();
      if (measured) return measured.then(() => orchestrator.retrieve());
      return orchestrator.retrieve();
    };

    const reader = stdout.getReader({ mode: "byob" });
    pump = new StdoutPump(reader, scanner, options.sink, boundary);
    pumping = pump.run();
    const first = await Promise.race([pumping.then(() => "eof"), program.exit.then(() => "exit")]);
    if (first === "exit" && !(await pump.drain(DRAIN_QUIET_MS, DRAIN_MAX_MS))) {
      logger.warn(
        "the program exited but a process it started still holds its stdout open; " +
          "stopped reading it (output after this point is not passed on)",
      );
      await pump.cancel();
    }
    await pumping;
    if (pump.sinkBroken) {
      logger.warn("the program's stdout reader went away (broken pipe); stopped passing output on");
    }
    // End of output usually means the program is exiting: END is taken as
    // soon as it has, not when the runtime gets round to reporting it.
    if (!program.exited && !program.waitForExit(EXIT_SPIN_MICROS)) {
      // It closed stdout early and is still running: END is its exit.
      await program.exit;
    }
    const end = boundary(END_TOKEN, -1);
    if (end) await end;
    const exit = await program.exit;
    await orchestrator.join();

    const startNs = boundaries.nsAt(0);
    const endNs = boundaries.nsAt(boundaries.count - 1);
    const converting = performance.now();
    const phases = buildPhases(boundaries, orchestrator.toPhaseMetrics(), anchor);
    logger.info(
      `run ${options.index + 1}: ${phases.length} phases, converted to metrics in ` +
        `${(performance.now() - converting).toFixed(1)} ms`,
    );
    return {
      index: options.index,
      exitCode: exit.code,
      signal: exit.signal === null ? null : signalName(exit.signal),
      interrupted: relay.interrupted,
      startNs,
      endNs,
      timestamp: anchor.toEpochMs(startNs),
      durationMs: spanMs(startNs, endNs),
      phases,
    };
  } catch (error) {
    if (!program.exited) {
      if (started) logger.debug(`killing the program after an error: ${error}`);
      await program.kill();
    }
    if (pump) {
      await pump.cancel();
      await pumping?.catch(() => {});
    } else {
      await stdout.cancel().catch(() => {});
    }
    if (started) await orchestrator.join();
    throw error;
  } finally {
    relay.target = undefined;
  }
}

/**
 * Reads the program's stdout, finds tokens, takes boundaries, passes the
 * bytes on. Bytes are forwarded after the chunk's boundaries are taken so
 * passing output on never delays a measurement.
 */
class StdoutPump {
  readonly #reader: ReadableStreamBYOBReader;
  readonly #scanner: TokenScanner;
  readonly #sink: ByteSink;
  readonly #boundary: (token: string, line: number) => void | Promise<void>;
  #chunks = 0;
  #done = false;
  #cancelled = false;
  #sinkBroken = false;

  constructor(
    reader: ReadableStreamBYOBReader,
    scanner: TokenScanner,
    sink: ByteSink,
    boundary: (token: string, line: number) => void | Promise<void>,
  ) {
    this.#reader = reader;
    this.#scanner = scanner;
    this.#sink = sink;
    this.#boundary = boundary;
  }

  get sinkBroken(): boolean {
    return this.#sinkBroken;
  }

  async run(): Promise<void> {
    const scanner = this.#scanner;
    let buffer = new ArrayBuffer(READ_BUFFER_BYTES);
    try {
      for (;;) {
        const { value, done } = await this.#reader.read(new Uint8Array(buffer));
        if (done || value === undefined) break;
        this.#chunks++;
        const found = scanner.push(value);
        for (let i = 0; i < found; i++) {
          const pending = this.#boundary(scanner.tokens[i]!, scanner.lines[i]!);
          if (pending) await pending;
        }
        this.#sink.write(value);
        if (this.#sink.broken) {
          // Like a shell pipeline: once nobody reads our output, close the
          // program's stdout so its next write fails with SIGPIPE/EPIPE.
          this.#sinkBroken = true;
          await this.cancel();
          break;
        }
        buffer = value.buffer;
      }
    } catch (error) {
      if (!this.#cancelled) throw error;
    } finally {
      this.#done = true;
    }
    const found = scanner.finish();
    for (let i = 0; i < found; i++) {
      const pending = this.#boundary(scanner.tokens[i]!, scanner.lines[i]!);
      if (pending) await pending;
    }
  }

  /** Stops reading and closes the program's stdout. */
  async cancel(): Promise<void> {
    this.#cancelled = true;
    await this.#reader.cancel().catch(() => {});
  }

  /**
   * Waits for end of output once the program has exited. Returns `false`
   * when stdout stayed open and quiet (a descendant holds it).
   */
  async drain(quietMs: number, maxMs: number): Promise<boolean> {
    const deadline = performance.now() + maxMs;
    let seen = this.#chunks;
    let quietSince = performance.now();
    while (!this.#done) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      const now = performance.now();
      if (this.#chunks !== seen) {
        seen = this.#chunks;
        quietSince = now;
      }
      if (now - quietSince >= quietMs || now >= deadline) return this.#done;
    }
    return true;
  }
}
