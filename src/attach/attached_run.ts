/**
 * A measurement with no program of ours: attached to running processes
 * (`profile -p`) or of the whole machine (`profile -a`). It starts at
 * once, takes phase boundaries from the phase channel, and ends when the
 * watched processes have all exited, the duration is over, or SIGINT,
 * SIGTERM or SIGHUP arrives; the watched processes are never signalled.
 *
 * @module
 */

import { ClockAnchor } from "../clock.ts";
import { ProfilerError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { SourceOrchestrator } from "../orchestrator.ts";
import { BoundaryLog, END_TOKEN, START_TOKEN } from "../phase/boundary_log.ts";
import { BoundaryTaker } from "../phase/boundary_taker.ts";
import { TokenScanner } from "../phase/token_scanner.ts";
import { TokenPump } from "../phase/token_pump.ts";
import type { PhaseChannel } from "../process/phase_channel.ts";
import {
  CHANNEL_LINE,
  clipSeries,
  drainChannel,
  samplingTick,
  serializeBoundaries,
  thinnedSamplesNote,
} from "../program_run.ts";
import { buildPhases, type RunResult, spanMs } from "../result.ts";
import { Sampler } from "../sampling/sampler.ts";
import { setMaxSamplesPerSeries } from "../sampling/sample_buffer.ts";
import { DEFAULT_MAX_SAMPLES } from "../setting_defaults.ts";
import type { Source } from "../source.ts";
import type { SampleObserver } from "../live_intervals.ts";
import type { ProcessExitWatch } from "./process_exit_watch.ts";

/** Why an attached measurement ended. */
export type AttachedEnd = "exit" | "duration" | "signal";

/** Signals that end the measurement (the watched processes are not told). */
const ENDING_SIGNALS: readonly Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/** What {@linkcode measureAttached} needs. */
export interface AttachedRunOptions {
  /** The sources, in reading order. */
  sources: readonly Source[];
  /**
   * The process per-process sources follow (`init(pid)`); 0 when every
   * source is machine-wide.
   */
  pid: number;
  /** End when these processes have all exited. */
  watch?: ProcessExitWatch;
  /** End after this many seconds. */
  durationS?: number;
  /** Phase boundaries: every non-blank line written to its FIFO is a token. */
  channel?: PhaseChannel;
  /** Diagnostics. */
  logger: Logger;
  /** Sample the sources every this many ms (default: off). */
  sampleIntervalMs?: number;
  /** Told after every sampling tick (live intervals). */
  sampleObserver?: SampleObserver;
  /** Aborting ends the measurement like a signal. */
  signal?: AbortSignal;
  /** End on SIGINT/SIGTERM/SIGHUP (default `true`). */
  handleSignals?: boolean;
  /**
   * Measure at most this many phases: later channel lines are ignored,
   * with a warning, so memory stays bounded (default: no limit).
   */
  maxPhases?: number;
  /**
   * Each sampled series keeps at most this many samples (and so do the GPU
   * sources' own readings), thinned
   * past it so memory stays bounded however long the measurement (default
   * {@linkcode DEFAULT_MAX_SAMPLES}).
   */
  maxSamples?: number;
  /** Refuse to start when a source takes longer than this to initialise, ms (names it). */
  initTimeoutMs?: number;
  /** Called once the baseline is taken: the measurement has started. */
  onStart?: () => void;
}

/** The result of {@linkcode measureAttached}. */
export interface AttachedRun {
  /** The measurement as one run (exit code 0: the processes are not ours). */
  run: RunResult;
  /** What ended it. */
  endedBy: AttachedEnd;
  /** The signal that ended it, if one did. */
  signal?: Deno.Signal;
}

/**
 * Measures until the watched processes exit, the duration is over, or a
 * signal comes. Sources are initialised first: one that cannot attach is
 * an error before anything is measured.
 *
 * @param options Sources and what ends the measurement.
 * @returns The run and why it ended.
 * @throws {SourceError} When a source cannot initialise.
 *
 * @example Measuring the machine for 0.2 s
 * ```ts
 * import { measureAttached } from "./attached_run.ts";
 * import { Logger } from "../logger.ts";
 * const { run, endedBy } = await measureAttached({
 *   sources: [], pid: 0, durationS: 0.2, logger: new Logger(),
 * });
 * console.log(endedBy, run.phases.length); // "duration" 1
 * ```
 */
export async function measureAttached(options: AttachedRunOptions): Promise<AttachedRun> {
  const { logger, channel } = options;
  const orchestrator = new SourceOrchestrator(options.sources, {
    warn: (message) => logger.warn(message),
    debug: logger.verbosity >= 2 ? (message) => logger.debug(message) : undefined,
  });
  const boundaries = new BoundaryLog();
  await orchestrator.init(options.pid, options.initTimeoutMs);
  const pumps: { pump: TokenPump; running: Promise<void> }[] = [];
  let sampler: Sampler | undefined;
  const listeners: [Deno.Signal, () => void][] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let started = false;
  try {
    let end!: (how: { endedBy: AttachedEnd; signal?: Deno.Signal }) => void;
    const ended = new Promise<{ endedBy: AttachedEnd; signal?: Deno.Signal }>((resolve) => {
      end = resolve;
    });
    if (options.handleSignals ?? true) {
      for (const name of ENDING_SIGNALS) {
        const listener = () => end({ endedBy: "signal", signal: name });
        Deno.addSignalListener(name, listener);
        listeners.push([name, listener]);
      }
    }
    const onAbort = () => end({ endedBy: "signal", signal: "SIGTERM" });
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener("abort", onAbort, { once: true });

    const anchor = ClockAnchor.now();
    // Every measurement's own limit (a source may keep samples even when it is not sampled).
    setMaxSamplesPerSeries(options.maxSamples ?? DEFAULT_MAX_SAMPLES);
    if (options.sampleIntervalMs !== undefined) {
      const first = orchestrator.sample();
      first?.catch(() => {});
      options.sampleObserver?.started();
      sampler = new Sampler({
        intervalMs: options.sampleIntervalMs,
        tick: samplingTick(orchestrator, undefined, options.sampleObserver),
      });
    }
    const baseline = orchestrator.measure();
    if (baseline) await baseline;
    boundaries.record(START_TOKEN, -1);
    started = true;
    sampler?.start();
    options.watch?.allExited.then((all) => all && end({ endedBy: "exit" }));
    if (options.durationS !== undefined) {
      timer = setTimeout(() => end({ endedBy: "duration" }), options.durationS * 1000);
    }
    options.onStart?.();

    let closed = false;
    let late = 0;
    let dropped = 0;
    const taker = new BoundaryTaker(boundaries, orchestrator);
    const maxPhases = options.maxPhases ?? Infinity;
    const boundary = serializeBoundaries((token, line, read) => {
      if (closed) {
        late++;
        return;
      }
      // The last phase is closed by END: a token may open at most maxPhases - 1 more.
      if (token !== END_TOKEN && boundaries.count >= maxPhases) {
        if (dropped++ === 0) {
          logger.warn(
            `more than ${maxPhases} phases: later phase-channel lines are not measured ` +
              `(raise --max-phases)`,
          );
        }
        return;
      }
      // Lines of one read share one reading.
      return taker.take(token, line, read);
    });
    if (channel !== undefined) {
      for (const readable of [channel.socket?.readable, channel.file.readable]) {
        if (readable === undefined) continue;
        const pump = new TokenPump({
          reader: readable.getReader({ mode: "byob" }),
          scanner: new TokenScanner(CHANNEL_LINE),
          boundary,
          reportLines: false,
        });
        pumps.push({ pump, running: pump.run() });
      }
    }

    const how = await ended;
    // Tokens written just before the end come first.
    if (channel !== undefined && channel.unread() > 0) {
      await drainChannel(channel, pumps.map(({ pump }) => pump));
    }
    await sampler?.stop();
    const last = boundary(END_TOKEN, -1, -1);
    closed = true;
    if (last) await last;
    if (sampler !== undefined) {
      const final = orchestrator.sample();
      if (final) await final;
    }
    if (channel !== undefined) {
      for (const { pump } of pumps) pump.stop();
      channel.wake();
      for (const { running } of pumps) await running;
    }
    if (late > 0) logger.warn(`${late} phase-channel token(s) arrived after the end; ignored`);
    await orchestrator.join();

    const startNs = boundaries.nsAt(0);
    const endNs = boundaries.nsAt(boundaries.count - 1);
    const phases = buildPhases(boundaries, orchestrator.toPhaseMetrics(), anchor);
    const run: RunResult = {
      index: 0,
      exitCode: 0,
      signal: null,
      interrupted: false,
      startNs,
      endNs,
      timestamp: anchor.toEpochMs(startNs),
      durationMs: spanMs(startNs, endNs),
      phases,
    };
    if (sampler !== undefined) {
      run.samples = clipSeries(
        orchestrator.samples(),
        Number(startNs),
        Number(endNs) + sampler.intervalMs * 1e6,
      );
      run.sampling = {
        intervalMs: sampler.intervalMs,
        ticks: sampler.ticks,
        missed: sampler.missed,
      };
      const thinned = thinnedSamplesNote(run.samples, options.maxSamples);
      if (thinned !== undefined) logger.notice(thinned);
    }
    return { run, ...how };
  } catch (error) {
    await sampler?.stop();
    channel?.wake();
    for (const { pump, running } of pumps) {
      await pump.cancel();
      await running.catch(() => {});
    }
    await orchestrator.join();
    if (!started) throw error;
    throw error instanceof ProfilerError
      ? error
      : new ProfilerError(`measurement failed: ${(error as Error).message}`, { cause: error });
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    for (const [name, listener] of listeners) Deno.removeSignalListener(name, listener);
  }
}
