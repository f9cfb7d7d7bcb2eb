/**
 * `--idle`: the machine's power at rest, measured through the same
 * sources and boundary reads as the runs, so the baseline and the runs
 * share every bias.
 *
 * @module
 */

import { energyJoules } from "./energy_units.ts";
import type { Logger } from "./logger.ts";
import { compileTokenPattern } from "./phase/token_pattern.ts";
import { DiscardSink } from "./process/byte_sink.ts";
import type { SignalRelay } from "./process/signal_relay.ts";
import { runProgram } from "./program_run.ts";
import type { RunResult } from "./result.ts";
import type { Source } from "./source.ts";
import { describe } from "./stats/descriptive.ts";
import type { IdleBaseline, IdlePower } from "./stats/phase_statistics.ts";

const IDLE_TOKEN = "__JOULE_PROFILER_IDLE__";
/** Most windows: enough for a standard deviation, few enough that each is long. */
const MAX_WINDOWS = 10;
/** Shortest window; shorter ones would mostly measure RAPL's quantisation. */
const MIN_WINDOW_S = 0.1;

/** What {@linkcode measureIdle} needs. */
export interface IdleMeasurementOptions {
  /** How long to measure, s. */
  seconds: number;
  /** The sources the runs use. */
  sources: readonly Source[];
  /** Signal forwarding shared with the runs. */
  relay: SignalRelay;
  /** Diagnostics. */
  logger: Logger;
}

/**
 * How many windows of which length an idle measurement of `seconds` uses.
 *
 * @param seconds Total length, s.
 * @returns Window count (2…10) and length, s.
 *
 * @example Usage
 * ```ts
 * import { idleWindows } from "./idle_measurement.ts";
 * console.log(idleWindows(5)); // { count: 10, seconds: 0.5 }
 * ```
 */
export function idleWindows(seconds: number): { count: number; seconds: number } {
  const count = Math.max(2, Math.min(MAX_WINDOWS, Math.floor(seconds / MIN_WINDOW_S)));
  return { count, seconds: seconds / count };
}

/**
 * Measures the machine at rest: a shell that only sleeps marks equal
 * windows, every source is read at each mark, and each energy metric's
 * power is averaged over the windows (its spread across windows gives the
 * uncertainty).
 *
 * @param options Length, sources, signals, diagnostics.
 * @returns The baseline (no power entries when no source measures energy).
 *
 * @example Usage
 * ```ts
 * import { measureIdle } from "./idle_measurement.ts";
 * import { SignalRelay } from "./process/signal_relay.ts";
 * import { Logger } from "./logger.ts";
 * const idle = await measureIdle({
 *   seconds: 1, sources: [], relay: new SignalRelay(), logger: new Logger(),
 * });
 * console.log(idle.windows); // 10
 * ```
 */
export async function measureIdle(options: IdleMeasurementOptions): Promise<IdleBaseline> {
  const windows = idleWindows(options.seconds);
  const script = `echo ${IDLE_TOKEN}; i=0; while [ "$i" -lt ${windows.count} ]; do ` +
    `sleep ${windows.seconds.toFixed(6)}; echo ${IDLE_TOKEN}; i=$((i + 1)); done`;
  options.logger.info(
    `measuring idle power: ${windows.count} windows of ${(windows.seconds * 1000).toFixed(0)} ms`,
  );
  const run = await runProgram({
    index: 0,
    executable: "/bin/sh",
    args: ["-c", script],
    pattern: compileTokenPattern(IDLE_TOKEN),
    sources: options.sources,
    sink: new DiscardSink(),
    relay: options.relay,
    logger: options.logger,
    phaseChannel: false,
  });
  return idleBaseline(run);
}

/**
 * The baseline from an idle run: only the windows between two idle marks
 * count (not the shell's start-up before the first or its exit after the
 * last).
 *
 * @param run The idle run.
 * @returns Mean and spread of each energy metric's power.
 *
 * @example Usage
 * ```ts
 * import { idleBaseline } from "./idle_measurement.ts";
 * const idle = idleBaseline({
 *   index: 0, exitCode: 0, signal: null, interrupted: false, startNs: 0n, endNs: 0n,
 *   timestamp: 0, durationMs: 0, phases: [],
 * });
 * console.log(idle.power); // []
 * ```
 */
export function idleBaseline(run: RunResult): IdleBaseline {
  const windows = run.phases.filter((phase) =>
    phase.startToken === IDLE_TOKEN && phase.endToken === IDLE_TOKEN && phase.durationMs > 0
  );
  const watts = new Map<string, { name: string; source: string; values: number[] }>();
  for (const phase of windows) {
    for (const metric of phase.metrics) {
      const joules = energyJoules(metric);
      if (joules === undefined) continue;
      const key = `${metric.source}\u0000${metric.name}`;
      let entry = watts.get(key);
      if (entry === undefined) {
        entry = { name: metric.name, source: metric.source, values: [] };
        watts.set(key, entry);
      }
      entry.values.push(joules / (phase.durationMs / 1000));
    }
  }
  const power: IdlePower[] = [...watts.values()].map(({ name, source, values }) => {
    const description = describe(values);
    return { name, source, meanW: description.mean, stddevW: description.stddev, n: values.length };
  });
  return {
    durationMs: windows.reduce((total, phase) => total + phase.durationMs, 0),
    windows: windows.length,
    power,
  };
}
