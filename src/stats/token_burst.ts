/**
 * Detects the sign of block-buffered output: every token arrives in one
 * burst as the program exits, so the phase times measure the buffer's
 * flush, not the program's work.
 *
 * @module
 */

import type { RunResult } from "../result.ts";

/** Shorter runs may legitimately print all their tokens near the end. */
export const BURST_MIN_RUN_MS = 20;
/**
 * Tokens of one flushed buffer arrive together: their spread (stretched
 * only by the sources' reads at each boundary) is under this share of the
 * time before the first of them.
 */
const BURST_SPREAD_SHARE = 0.1;
/** The burst sits in the run's last quarter (END waits for the sources' last reads). */
const BURST_TAIL_SHARE = 0.25;

/**
 * Whether a run's tokens all came in one burst at its end: at least two
 * tokens, all in the last quarter of a run of 20 ms or more, spread over
 * less than a tenth of the time that passed before the first of them.
 * That is what a program whose stdout is a pipe, block-buffered by its C
 * library or runtime, looks like: nothing for most of the run, then every
 * token at once when the buffer is flushed at exit.
 *
 * @param run A run.
 * @returns `true` for a burst at exit.
 *
 * @example Usage
 * ```ts
 * import { tokensBurstAtExit } from "./token_burst.ts";
 * console.log(tokensBurstAtExit({
 *   index: 0, exitCode: 0, signal: null, interrupted: false, startNs: 0n, endNs: 50_000_000n,
 *   timestamp: 0, durationMs: 50, phases: [],
 * })); // false
 * ```
 */
export function tokensBurstAtExit(run: RunResult): boolean {
  if (run.durationMs < BURST_MIN_RUN_MS) return false;
  let tokens = 0;
  let first = 0n;
  let last = 0n;
  let position = 0;
  const count = run.phases.length;
  // One pass, whatever holds the phases: every phase but the last ends at a token.
  for (const phase of run.phases) {
    if (++position === count) break;
    if (tokens === 0) first = phase.endNs;
    last = phase.endNs;
    tokens++;
  }
  if (tokens < 2) return false;
  const beforeMs = Number(first - run.startNs) / 1e6;
  const spreadMs = Number(last - first) / 1e6;
  const tailMs = Number(run.endNs - first) / 1e6;
  return spreadMs <= beforeMs * BURST_SPREAD_SHARE &&
    tailMs <= run.durationMs * BURST_TAIL_SHARE;
}

/**
 * The warning for runs whose tokens came in one burst at exit, naming the
 * fixes; `undefined` when no run shows it.
 *
 * @param runs The runs of one command.
 * @returns The message, or `undefined`.
 *
 * @example Usage
 * ```ts
 * import { tokenBurstMessage } from "./token_burst.ts";
 * console.log(tokenBurstMessage([])); // undefined
 * ```
 */
export function tokenBurstMessage(runs: readonly RunResult[]): string | undefined {
  const burst = runs.filter(tokensBurstAtExit).length;
  if (burst === 0) return undefined;
  const which = runs.length === 1
    ? "every token"
    : `in ${burst} of ${runs.length} runs, every token`;
  return `${which} arrived in one burst as the program exited: its stdout is probably ` +
    `block-buffered, so the phase times are wrong. Flush after each token ` +
    `(print(..., flush=True), fflush(stdout)), set PYTHONUNBUFFERED=1, run it under ` +
    `'stdbuf -oL', profile with --line-buffered, or write tokens to the phase channel ` +
    `($JOULE_PROFILER_PHASE_FD)`;
}

/** Phases named in the shared-reading message. */
const NAMED_SHARED_PHASES = 3;

/**
 * The notice for phases whose two tokens arrived in one read of the
 * program's output: one reading served both boundaries, so the phase has
 * zero duration and nothing of its own; `undefined` when there are none.
 *
 * @param runs The runs of one command.
 * @returns The message, or `undefined`.
 *
 * @example Usage
 * ```ts
 * import { sharedReadingMessage } from "./token_burst.ts";
 * console.log(sharedReadingMessage([])); // undefined
 * ```
 */
export function sharedReadingMessage(runs: readonly RunResult[]): string | undefined {
  let count = 0;
  let phases = 0;
  const examples: string[] = [];
  for (const run of runs) {
    for (const phase of run.phases) {
      phases++;
      // Only a shared reading gives a phase exactly zero length (the clock moves between reads).
      if (phase.durationMs !== 0 || phase.startNs !== phase.endNs) continue;
      count++;
      if (examples.length < NAMED_SHARED_PHASES && !examples.includes(phase.name)) {
        examples.push(phase.name);
      }
    }
  }
  if (count === 0) return undefined;
  return `${count.toString()} of ${phases.toString()} phases (e.g. ${examples.join(", ")}) ` +
    `began and ended within one read of the program's output: the profiler saw both tokens ` +
    `at the same instant, so each of these phases has zero duration and zero energy, and ` +
    `the work between its tokens counts in the phase before it. Print tokens further apart ` +
    `(about 1 ms or more), or flush after each one`;
}
