/**
 * One run of the profiled program: held start, stdout scanning, phase
 * boundaries and the final measurement.
 *
 * @module
 */

import type { CpuPlacement } from "./process/cpu_placement.ts";
import { formatCpuList } from "./process/cpu_list.ts";
import { ClockAnchor } from "./clock.ts";
import { ProfilerError, UsageError } from "./errors.ts";
import { signalName } from "./ffi/libc.ts";
import { DEFAULT_MAX_PHASES } from "./run_limits.ts";
import { type Logger, sinceStart } from "./logger.ts";
import { groupDigits } from "./text/digit_grouping.ts";
import { SourceOrchestrator } from "./orchestrator.ts";
import { BoundaryLog, END_TOKEN, START_TOKEN } from "./phase/boundary_log.ts";
import { BoundaryTaker } from "./phase/boundary_taker.ts";
import type { TokenPattern } from "./phase/token_pattern.ts";
import { TokenScanner } from "./phase/token_scanner.ts";
import { type BoundaryFn, TokenPump } from "./phase/token_pump.ts";
import { EventLoopTurn, findRuntimeEpoll, MainThreadWait } from "./phase/main_thread_wait.ts";
import { afterMs } from "./one_shot_timer.ts";
import { PhaseChannel } from "./process/phase_channel.ts";
import type { ByteSink } from "./process/byte_sink.ts";
import { ProgramProcess } from "./process/program_process.ts";
import { ProgramReaper } from "./process/program_reaper.ts";
import { cgroupContainer, type ProgramTree } from "./process/program_tree.ts";
import { ProgramCgroup } from "./process/program_cgroup.ts";
import type { SignalRelay } from "./process/signal_relay.ts";
import type { InvokingUser } from "./process/invoking_user.ts";
import { buildPhases, type RunResult, spanMs } from "./result.ts";
import { PROCESS_SOURCE_NAME, ProcessUsageSampler } from "./sampling/process_usage.ts";
import { Sampler } from "./sampling/sampler.ts";
import { setMaxSamplesPerSeries } from "./sampling/sample_buffer.ts";
import { DEFAULT_MAX_SAMPLES } from "./setting_defaults.ts";
import type { SampleSeries, Source } from "./source.ts";
import type { SampleObserver } from "./live_intervals.ts";

/**
 * After the program exits, how long stdout may stay silent before the
 * profiler concludes a descendant holds it open, and the most it waits.
 */
const DRAIN_QUIET_MS = 5;
const DRAIN_MAX_MS = 100;
/** On the phase channel every non-blank line is one token (surrounding blanks trimmed). */
export const CHANNEL_LINE = "\\S(?:.*\\S)?";
/**
 * After end of output, how long to watch for the program's exit before
 * concluding it closed stdout early and is still running (µs).
 */
const EXIT_SPIN_MICROS = 2000;
/**
 * After the program's output ran dry (and from START, for stdout), how long
 * the stdout and phase-socket readers wait for more in poll(2) on the main
 * thread before they leave the wait to the runtime's stream, ms: tokens that
 * follow one another within it, and the program's exit, are seen as a C
 * reader sees them, not after the runtime's delivery (see
 * src/phase/main_thread_wait.ts).
 */
const READER_LINGER_MS = 2;
/** Longest wait for the warm-up read before START (ms). */
const WARM_UP_MS = 20;
/** Phase-channel reads: markers are short lines. */
const CHANNEL_READ_BYTES = 64 * 1024;

/** Everything one run needs. */
export interface ProgramRunOptions {
  /** 0-based iteration index. */
  index: number;
  /** Resolved path of the program. */
  executable: string;
  /** Arguments after the program name. */
  args: string[];
  /** Refuse the run when a source takes longer than this to initialise, ms. */
  initTimeoutMs?: number;
  /** Compiled token pattern. */
  pattern: TokenPattern;
  /** The sources to read. */
  sources: readonly Source[];
  /** Where the program's stdout goes. */
  sink: ByteSink;
  /**
   * Read the program's stdout for tokens (default `true`). With `false` the
   * program is given the sink's descriptor as its stdout and writes there
   * itself: its output never passes through the profiler, and phases come
   * from the phase channel alone (`--no-stdout-tokens`).
   */
  stdoutTokens?: boolean;
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
  /** Offer the phase channel to the program (default `true`). */
  phaseChannel?: boolean;
  /** Sample the sources and the program's CPU and RSS every this many ms (default: off). */
  sampleIntervalMs?: number;
  /**
   * Measure at most this many phases; later tokens are passed on but not
   * measured, with a warning (default {@linkcode DEFAULT_MAX_PHASES}).
   */
  maxPhases?: number;
  /**
   * Each sampled series keeps at most this many samples (and so do the GPU
   * sources' own readings), thinned
   * past it so memory stays bounded (default {@linkcode DEFAULT_MAX_SAMPLES}).
   */
  maxSamples?: number;
  /**
   * Custody of the program's processes across runs (process group,
   * watchdog, what happens to processes left running). Default: one for
   * this run alone, which ends leftovers when the run ends.
   */
  reaper?: ProgramReaper;
  /** Told after every sampling tick (live intervals, `-I`); needs `sampleIntervalMs`. */
  sampleObserver?: SampleObserver;
  /**
   * The caller's own set-up, started once the program is spawned and awaited
   * before START: it fills the wait while the launcher execs its way to the
   * gate (setsid, sh: about 4 ms on the 2-CPU VM the report ran on), where the
   * profiler's thread would otherwise sleep. Never during the run: the
   * profiler's thread is then the one that takes the boundaries.
   */
  whileHeld?: () => Promise<unknown>;
  /**
   * Where the profiler and the program run (`--profiler-cpus`): the held
   * program is put on its CPUs before it runs, the profiler's threads on
   * theirs for the run, and put back when the run ends.
   */
  cpuPlacement?: CpuPlacement;
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
  // Every run's own limit (a source may keep samples even when the run is not sampled).
  setMaxSamplesPerSeries(options.maxSamples ?? DEFAULT_MAX_SAMPLES);
  const ownReaper = options.reaper === undefined;
  const reaper = options.reaper ?? new ProgramReaper({
    warn: (message) => logger.warn(message),
    info: (message) => logger.info(message),
  });
  // Checked before anything is opened or spawned.
  const direct = options.stdoutTokens === false ? directStdout(options.sink) : undefined;
  const channel = options.phaseChannel === false
    ? undefined
    : await PhaseChannel.open({ owner: options.runAs });

  let program: ProgramProcess;
  let tree: ProgramTree | undefined;
  let spawnedPid: number | undefined;
  // Slow set-up of the sources (the cgroup move's kernel wait) overlaps the spawn.
  orchestrator.prepare();
  try {
    program = ProgramProcess.spawnHeld({
      executable: options.executable,
      args: options.args,
      stdout: direct ?? "piped",
      cwd: options.cwd,
      env: { ...options.env, ...channel?.env() },
      runAs: options.runAs,
      ownProcessGroup: reaper.ownProcessGroup,
      onSpawn: (pid) => {
        spawnedPid = pid;
        reaper.spawned(pid);
      },
    });
  } catch (error) {
    if (spawnedPid !== undefined) reaper.spawnFailed(spawnedPid);
    await channel?.close();
    if (ownReaper) await reaper.close();
    throw error;
  }
  channel?.closeInheritedEnd();
  if (direct !== undefined) {
    logger.debug(`the program writes its stdout itself (${destinationName(direct)}): not read`);
  }
  // Settled before START (below); a failure is the caller's to report when it awaits it.
  const callerSetUp = options.whileHeld?.();
  callerSetUp?.catch(() => {});
  // Null when the program writes its stdout itself (stdoutTokens: false).
  const stdout = program.stdout;
  let started = false;
  const pumps: { pump: TokenPump; running: Promise<void> }[] = [];
  let sampling: { sampler: Sampler; usage: ProcessUsageSampler | undefined } | undefined;
  let initialized = false;
  // The stdout pump's first wait, on the main thread, begins with the program (see TokenPump).
  let markStarted = () => {};
  const programStarted = new Promise<void>((resolve) => markStarted = resolve);
  try {
    const placement = options.cpuPlacement;
    if (placement !== undefined) {
      // While it is held: the program, and all it starts, inherit these CPUs.
      placement.placeProgram(program.pid);
      const moved = placement.pinProfiler();
      logger.debug(
        `the program on CPUs ${formatCpuList(placement.programCpus)}, the profiler's ${moved} ` +
          `threads on CPUs ${formatCpuList(placement.profilerCpus)}`,
      );
    }
    tree = reaper.adopt(program);
    // Signals reach every process of the program, unless its descendants are to be kept.
    relay.target = reaper.policy === "keep" ? program : tree;
    let ended = false;
    let late = 0;
    // START and END are boundaries too: the tokens in between make maxPhases - 1.
    const maxPhases = options.maxPhases ?? DEFAULT_MAX_PHASES;
    let unmeasured = 0;
    let closing = false;
    const taker = new BoundaryTaker(boundaries, orchestrator);
    const boundary = serializeBoundaries((token, line, read) => {
      if (ended) {
        // A channel token still in flight when the program's exit was taken as END.
        late++;
        return;
      }
      if (boundaries.count >= maxPhases && !(closing && token === END_TOKEN)) {
        if (unmeasured++ === 0) {
          logger.warn(
            `run ${options.index + 1}: reached ${maxPhases} phases (--max-phases); later tokens ` +
              "are not measured (the program's output still passes through, and the last phase " +
              "runs to the end)",
          );
        }
        return;
      }
      // Tokens of one read share one reading; a token past --max-phases took none.
      return taker.take(token, line, read);
    });

    // Readers start before the program does: once it runs, the profiler only waits.
    const stdoutFd = program.stdoutFd;
    // The runtime's epoll set, found through a descriptor it watches: stdout's pipe, or the
    // phase socket where stdout is not read (--no-stdout-tokens).
    const socketFd = channel === undefined || channel.socketFd < 0 ? undefined : channel.socketFd;
    const watchedFd = stdoutFd ?? socketFd;
    const epoll = watchedFd === undefined ? undefined : findRuntimeEpoll(watchedFd);
    // One wait on the main thread for stdout's reader and the phase socket's.
    const mainWait = epoll === undefined ? undefined : new MainThreadWait({
      epoll,
      turn: new EventLoopTurn(),
      alsoWatch: channel === undefined ? [] : [channel.fifoProbeFd],
      // Bytes for the runtime to read from the socket (when its reader waits through the
      // stream), or a FIFO in use at all: the runtime reads the FIFO on a pool thread, whose
      // end may not wake a wait.
      runtimeHasInput: channel === undefined
        ? undefined
        : (waitedFor) =>
          (!waitedFor.includes(channel.socketFd) && channel.socketUnread() > 0) ||
          channel.fifoWritten(),
    });
    const stdoutPump = stdout === null ? undefined : new TokenPump({
      reader: stdout.getReader({ mode: "byob" }),
      scanner: new TokenScanner(options.pattern),
      boundary,
      sink: options.sink,
      reportLines: true,
      fd: stdoutFd,
      linger: mainWait === undefined
        ? undefined
        : { wait: mainWait, ms: READER_LINGER_MS, from: programStarted },
    });
    if (stdoutPump !== undefined) pumps.push({ pump: stdoutPump, running: stdoutPump.run() });
    // The FIFO is read through a thread: bytes it has taken from the kernel may
    // not have reached the scanner yet when the program exits. A marker line
    // written after the program's last byte tells when they all have.
    const fifoSync = channel === undefined ? undefined : new ChannelSync();
    // The channel's two ways in (socket descriptor, FIFO path), each with its own line state.
    const channelPumps = channel === undefined
      ? []
      : [channel.socket?.readable, channel.file.readable].flatMap((readable) => {
        if (readable === undefined) return [];
        const viaSocket = readable !== channel.file.readable;
        const pump = new TokenPump({
          reader: readable.getReader({ mode: "byob" }),
          scanner: new TokenScanner(CHANNEL_LINE),
          boundary: viaSocket ? boundary : fifoSync!.filter(boundary),
          reportLines: false,
          readBufferBytes: CHANNEL_READ_BYTES,
          // The socket is read like stdout: after each read, more is waited for on the main
          // thread, in the same wait as stdout's.
          ...(viaSocket && socketFd !== undefined && mainWait !== undefined
            ? { fd: socketFd, linger: { wait: mainWait, ms: READER_LINGER_MS } }
            : {}),
        });
        const entry = { pump, running: pump.run() };
        pumps.push(entry);
        return [entry];
      });

    if (channelPumps.length > 0) {
      // The first read to complete in a fresh process runs the runtime's stream code for the
      // first time (about 1 ms): let an empty channel line take that cost before START,
      // instead of the program's first token or its exit. One line, read before START: one
      // left unread would also cut the stdout reader's first wait short (see MainThreadWait's
      // runtimeHasInput).
      const way = channel!.warmUpLine();
      const socketPump = channel!.socket === undefined ? undefined : channelPumps[0]!.pump;
      const fifoPump = channelPumps[channelPumps.length - 1]!.pump;
      if (way !== undefined) {
        await (way === "socket" ? socketPump ?? fifoPump : fifoPump).activity(WARM_UP_MS);
      }
    }
    // The readers above were set up while the launcher exec'd its way to the gate.
    try {
      await program.untilHeld();
    } catch (error) {
      // A signal forwarded to the tree can reach the launcher before it stops at its gate, and
      // end it there: that is the interrupt, not a launch failure (runs done before are kept).
      if (!relay.interrupted) throw error;
      throw new ProfilerError(`interrupted by ${relay.received} before the program started`, {
        exitCode: 130,
        cause: error,
      });
    }
    logger.debug(`program spawned and held, ${sinceStart()}`);
    await orchestrator.init(program.pid, options.initTimeoutMs);
    // Done by now in the usual case (it ran while the launcher exec'd); only its outcome counts.
    await callerSetUp?.catch(() => {});
    initialized = true;
    // The process source may have moved the program into a cgroup of its own.
    const cgroup = programCgroupOf(options.sources);
    if (cgroup !== undefined) reaper.attachContainer(tree, cgroupContainer(cgroup));
    if (relay.interrupted) {
      throw new ProfilerError(`interrupted by ${relay.received} before the program started`, {
        exitCode: 130,
      });
    }
    // The checks made at the program's exit run once now, so that they are compiled before
    // the exit they time (the program is stopped: this answers at once).
    program.waitForExit(0);
    channel?.unread();
    channel?.fifoWritten();
    const anchor = ClockAnchor.now();
    if (options.sampleIntervalMs !== undefined) {
      // A `process` source that samples draws the program's CPU and RSS itself.
      const treeSampled = options.sources.some((source) =>
        source.name === PROCESS_SOURCE_NAME && source.sample !== undefined
      );
      sampling = startSampling(
        orchestrator,
        program.pid,
        options.sampleIntervalMs,
        !treeSampled,
        options.sampleObserver,
      );
    }
    // After the warm-up line: from here on, a write to the FIFO is the program's.
    channel?.markFifoUnwritten();
    const baseline = orchestrator.measure();
    if (baseline) await baseline;
    boundaries.record(START_TOKEN, -1);
    program.resume();
    markStarted();
    started = true;
    sampling?.sampler.start();
    logger.debug(`program started (START), pid ${program.pid}, ${sinceStart()}`);

    let stdoutHeld = false;
    if (stdoutPump === undefined) {
      // The program writes its stdout itself: END is its exit.
      await program.exit;
    } else {
      const stdoutDone = pumps[0]!.running;
      // Raced as they are (no mapping step on the way to END); the pump says which came first.
      await Promise.race([stdoutDone, program.exit]);
      // A process the program started holds its stdout: the run ends at the program's exit.
      stdoutHeld = !stdoutPump.done &&
        !(await stdoutPump.drain(DRAIN_QUIET_MS, DRAIN_MAX_MS));
      if (stdoutHeld) await stdoutPump.cancel();
      await stdoutDone;
      if (stdoutPump.sinkBroken) {
        logger.warn(
          "the program's stdout reader went away (broken pipe); stopped passing output on",
        );
      }
      // End of output usually means the program is exiting: END is taken as
      // soon as it has, not when the runtime gets round to reporting it.
      if (!program.exited && !program.waitForExit(EXIT_SPIN_MICROS)) {
        // It closed stdout early and is still running: END is its exit.
        await program.exit;
      }
    }
    // Tokens the program wrote to the channel just before exiting come first;
    // an empty channel (the usual case) costs no wait before END.
    if (channel !== undefined && channel.unread() > 0) {
      await drainChannel(channel, channelPumps.map(({ pump }) => pump));
    }
    // Only a FIFO something wrote to can have bytes on their way through its read thread.
    if (channel !== undefined && channel.fifoWritten()) await fifoSync!.wait(channel);
    // Stopped before END: the last boundary read is never delayed by a sample.
    if (sampling !== undefined) await sampling.sampler.stop();
    closing = true;
    const end = boundary(END_TOKEN, -1, -1);
    ended = true;
    if (end) await end;
    logger.debug(`END taken, ${sinceStart()}`);
    // A reader that saw the end itself (see TokenPump's linger) leaves its stream open.
    await stdoutPump?.cancel();
    if (sampling !== undefined) {
      // A last point at END, so the timeline reaches the end of the run.
      const last = orchestrator.sample();
      if (last) await last;
      sampling.usage?.close();
    }
    if (channel !== undefined) {
      for (const { pump } of channelPumps) pump.stop();
      channel.wake();
      for (const { running } of channelPumps) await running;
    }
    if (unmeasured > 0) {
      logger.warn(
        `run ${options.index + 1}: ${unmeasured} token(s) past --max-phases not measured`,
      );
    }
    if (late > 0) {
      logger.warn(
        `${late} phase-channel token(s) arrived after the program's end was measured; ignored`,
      );
    }
    if (stdoutPump !== undefined) {
      const channelTokens = channelPumps.reduce((sum, { pump }) => sum + pump.tokens, 0);
      suggestUnreadStdout(stdoutPump, channelTokens, logger);
    }
    const exit = await program.exit;
    await orchestrator.join();
    if (relay.interrupted) {
      // Leftovers get SIGKILL at --kill-after from here, not from the relay's timer as well.
      relay.target = undefined;
    }
    await reaper.programExited(tree, {
      interrupted: relay.interrupted,
      killDeadline: relay.killDeadline,
      stdoutHeld,
    });

    const startNs = boundaries.nsAt(0);
    const endNs = boundaries.nsAt(boundaries.count - 1);
    const converting = performance.now();
    const phases = buildPhases(
      boundaries,
      // One phase at a time, each raw value dropped once converted: never all at once.
      (phase) =>
        phase < orchestrator.phaseCount
          ? orchestrator.phaseMetrics(phase, { release: true })
          : undefined,
      anchor,
    );
    logger.info(
      `run ${options.index + 1}: ${phases.length} phases, converted to metrics in ` +
        `${(performance.now() - converting).toFixed(1)} ms`,
    );
    const sampled = sampling === undefined ? {} : {
      samples: clipSeries(
        [...orchestrator.samples(), ...(sampling.usage?.samples() ?? [])],
        Number(startNs),
        Number(endNs) + sampling.sampler.intervalMs * 1e6,
      ),
      sampling: {
        intervalMs: sampling.sampler.intervalMs,
        ticks: sampling.sampler.ticks,
        missed: sampling.sampler.missed,
      },
    };
    if (sampling !== undefined) {
      logger.info(
        `run ${options.index + 1}: ${sampled.sampling!.ticks} samples every ` +
          `${sampling.sampler.intervalMs} ms, ${sampled.sampling!.missed} deadlines missed`,
      );
      const thinned = thinnedSamplesNote(sampled.samples!, options.maxSamples);
      if (thinned !== undefined) logger.notice(`run ${options.index + 1}: ${thinned}`);
    }
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
      ...sampled,
    };
  } catch (error) {
    if (sampling !== undefined) {
      await sampling.sampler.stop();
      sampling.usage?.close();
    }
    if (started) logger.debug(`killing the program after an error: ${error}`);
    if (tree !== undefined) await reaper.killNow(tree);
    if (!program.exited) await program.kill();
    if (pumps.length === 0) await stdout?.cancel().catch(() => {});
    channel?.wake();
    markStarted();
    for (const { pump, running } of pumps) {
      await pump.cancel();
      await running.catch(() => {});
    }
    // Sources release what init() took (counters, the program's cgroup) even if it never ran.
    if (started || initialized) await orchestrator.join();
    throw error;
  } finally {
    relay.target = undefined;
    // Hooks and the next run's spawn start from the profiler's own CPUs again.
    options.cpuPlacement?.release();
    await channel?.close();
    if (ownReaper) await reaper.close();
  }
}

/** Output read for nothing, past which `--no-stdout-tokens` is suggested (once per process). */
const UNREAD_HINT_BYTES = 64 * 1024 * 1024;
let unreadHintGiven = false;

/**
 * Says once when the program wrote a lot on stdout while all its tokens came
 * through the phase channel: reading that output only cost CPU time.
 */
function suggestUnreadStdout(stdout: TokenPump, channelTokens: number, logger: Logger): void {
  if (unreadHintGiven || stdout.tokens > 0 || channelTokens === 0) return;
  if (stdout.bytes < UNREAD_HINT_BYTES) return;
  unreadHintGiven = true;
  logger.notice(
    `note: the program wrote ${Math.round(stdout.bytes / 2 ** 20)} MiB on stdout and marked its ` +
      "phases through the phase channel only: with --no-stdout-tokens it writes that output " +
      "itself, unread by the profiler",
  );
}

/** How `-vv` names where the program writes its stdout itself. */
function destinationName(direct: number | "null"): string {
  if (direct === "null") return "/dev/null";
  if (direct === 1) return "the profiler's stdout";
  if (direct === 2) return "the profiler's stderr";
  return `a file, descriptor ${direct}`;
}

/**
 * The descriptor the program is given as its stdout when the profiler does
 * not read it; refused before anything runs when the sink has none.
 */
function directStdout(sink: ByteSink): number | "null" {
  const descriptor = sink.descriptor;
  if (descriptor === undefined || descriptor === -1) {
    throw new UsageError(
      "stdoutTokens: false needs a destination the program can write to itself " +
        "(the profiler's stdout or stderr, a file opened by the profiler, or none)",
    );
  }
  return descriptor;
}

/** The cgroup the `process` source made for this run's program, if any. */
function programCgroupOf(sources: readonly Source[]): ProgramCgroup | undefined {
  for (const source of sources) {
    if (source.name !== PROCESS_SOURCE_NAME) continue;
    const cgroup = (source as { cgroup?: unknown }).cgroup;
    if (cgroup instanceof ProgramCgroup) return cgroup;
  }
  return undefined;
}

/**
 * Prepares sampling of a held program: opens its `/proc` files and plans
 * ticks that sample every source and the process tree. The first sample of
 * each is taken now, at START.
 */
function startSampling(
  orchestrator: SourceOrchestrator,
  pid: number,
  intervalMs: number,
  withUsage: boolean,
  observer?: SampleObserver,
): { sampler: Sampler; usage: ProcessUsageSampler | undefined } {
  const usage = withUsage ? new ProcessUsageSampler(pid) : undefined;
  usage?.sample();
  const first = orchestrator.sample();
  // Sources sample synchronously in practice; an asynchronous first sample is not waited for.
  first?.catch(() => {});
  observer?.started();
  const tick = samplingTick(orchestrator, usage, observer);
  return { sampler: new Sampler({ intervalMs, tick }), usage };
}

/**
 * One sampling tick: the process tree, every source, then the observer
 * (live intervals) with the series so far.
 *
 * @param orchestrator The run's sources.
 * @param usage The program's CPU and RSS, when no source samples them.
 * @param observer Told after each tick.
 * @returns The tick.
 */
export function samplingTick(
  orchestrator: SourceOrchestrator,
  usage?: { sample(): unknown },
  observer?: SampleObserver,
): () => void | Promise<void> {
  if (observer === undefined) {
    return () => {
      usage?.sample();
      return orchestrator.sample();
    };
  }
  const series = () => orchestrator.samples();
  return () => {
    usage?.sample();
    const pending = orchestrator.sample();
    if (pending) return pending.then(() => observer.sampled(series));
    observer.sampled(series);
  };
}

/**
 * Says how far sampled series were thinned to stay within the sample
 * limit, when any was.
 *
 * @param series A run's series.
 * @param maxSamples The limit the run had (default {@linkcode DEFAULT_MAX_SAMPLES}).
 * @returns One sentence, or `undefined` when every sample was kept.
 *
 * @example Usage
 * ```ts
 * import { thinnedSamplesNote } from "./program_run.ts";
 * const series = { name: "CPU", unit: "%", source: "process", every: 4 };
 * const points = { timesNs: new Float64Array(2), values: new Float64Array(2) };
 * console.log(thinnedSamplesNote([{ ...series, ...points }], 1000));
 * // "1 sample in 4 kept (CPU): at most 1,000 per series (--max-samples)"
 * ```
 */
export function thinnedSamplesNote(
  series: readonly SampleSeries[],
  maxSamples = DEFAULT_MAX_SAMPLES,
): string | undefined {
  const byEvery = new Map<number, string[]>();
  for (const entry of series) {
    if (entry.every === undefined) continue;
    const names = byEvery.get(entry.every) ?? [];
    names.push(entry.name);
    byEvery.set(entry.every, names);
  }
  if (byEvery.size === 0) return undefined;
  const parts = [...byEvery].sort(([a], [b]) => b - a).map(([every, names]) =>
    `1 sample in ${every} kept (${
      names.length > 3
        ? `${names.slice(0, 3).join(", ")} and ${names.length - 3} more`
        : names.join(", ")
    })`
  );
  return `${parts.join(", ")}: at most ${groupDigits(maxSamples)} per series (--max-samples)`;
}

/**
 * Keeps the points of each series between `fromNs` and `toNs` (sources may record more).
 *
 * @param series The series.
 * @param fromNs First time kept.
 * @param toNs Last time kept.
 * @returns The clipped series.
 */
export function clipSeries(series: SampleSeries[], fromNs: number, toNs: number): SampleSeries[] {
  return series.map((entry) => {
    const { timesNs, values } = entry;
    let first = 0;
    while (first < timesNs.length && timesNs[first]! < fromNs) first++;
    let end = timesNs.length;
    while (end > first && timesNs[end - 1]! > toNs) end--;
    if (first === 0 && end === timesNs.length) return entry;
    return { ...entry, timesNs: timesNs.slice(first, end), values: values.slice(first, end) };
  });
}

/**
 * Makes boundaries from two readers (stdout and the phase channel) happen
 * one at a time, in arrival order. Synchronous sources never queue, so the
 * common case costs nothing.
 */
export function serializeBoundaries(take: BoundaryFn): BoundaryFn {
  let queue: Promise<void> = Promise.resolve();
  let queued = 0;
  return (token, line, read) => {
    if (queued === 0) {
      const pending = take(token, line, read);
      if (pending === undefined) return;
      queued++;
      queue = pending.finally(() => queued--);
      return queue;
    }
    queued++;
    queue = queue.then(() => take(token, line, read)).finally(() => queued--);
    return queue;
  };
}

/**
 * Waits until everything written to the phase FIFO before now has been
 * scanned: a marker line (random per run, so no program writes it) goes in
 * after the program's bytes, and FIFO order does the rest.
 */
class ChannelSync {
  readonly #marker = `\u0001joule-profiler-sync-${crypto.randomUUID()}`;
  #seen: (() => void) | undefined;

  /** Wraps the FIFO's boundary function so the marker is not a token. */
  filter(take: BoundaryFn): BoundaryFn {
    return (token, line, read) => {
      if (token === this.#marker) {
        this.#seen?.();
        return;
      }
      return take(token, line, read);
    };
  }

  /** Sends the marker and waits for it (at most 100 ms, should the reader be gone). */
  async wait(channel: PhaseChannel): Promise<void> {
    const seen = new Promise<void>((resolve) => this.#seen = resolve);
    if (!channel.send(`${this.#marker}\n`)) return;
    // Not the global setTimeout: its first use loads Deno's Node.js timers (about 5 ms).
    const bound = new Promise<void>((resolve) => afterMs(DRAIN_MAX_MS, resolve));
    await Promise.race([seen, bound]);
  }
}

/** Waits (at most 100 ms) until what the program wrote to the channel was read. */
export async function drainChannel(channel: PhaseChannel, pumps: TokenPump[]): Promise<void> {
  const deadline = performance.now() + DRAIN_MAX_MS;
  for (;;) {
    const left = deadline - performance.now();
    if (channel.unread() === 0 || left <= 0) break;
    // Woken as soon as a channel reader has handled a chunk.
    await Promise.race(pumps.map((pump) => pump.activity(left)));
  }
  // Let a read that already returned deliver its bytes.
  await new Promise<void>((resolve) => afterMs(0, resolve));
}
