/**
 * What a profile shows while it runs: the program's own output (echoed
 * for one run, on request for repeated runs) and a progress bar on stderr
 * for long profiles.
 *
 * @module
 */

import { ProgressBar, type ProgressWriter, wantsProgress } from "../output/progress_bar.ts";
import type { ProgressEvent } from "../profiler.ts";

/** The display flags of `profile`. */
export interface DisplayFlags {
  /** `--quiet`: no progress bar (warnings and errors still go to stderr). */
  quiet?: boolean;
  /** `--show-output`: echo the program's stdout on every run, repeated runs too. */
  showOutput?: boolean;
  /** `--quiet-output`: never echo the program's stdout (it is still scanned for tokens). */
  quietOutput?: boolean;
}

/** How many times, and how, the program runs. */
export interface RunShape {
  /** `-n`. */
  iterations?: number;
  /** `--min-runs`. */
  minRuns?: number;
  /** `--min-time`, seconds. */
  minTimeSeconds?: number;
  /** `--warmup`. */
  warmup?: number;
  /** `--idle`, seconds. */
  idleSeconds?: number;
  /** Number of commands. */
  commands: number;
}

/**
 * Whether the program runs more than once (measured or warm-up runs).
 *
 * @param shape The run settings.
 * @returns `true` for repeated runs.
 *
 * @example Usage
 * ```ts
 * import { runsRepeatedly } from "./profile_display.ts";
 * console.log(runsRepeatedly({ iterations: 1, warmup: 2, commands: 1 })); // true
 * ```
 */
export function runsRepeatedly(shape: RunShape): boolean {
  return (shape.iterations ?? 1) > 1 || (shape.minRuns ?? 1) > 1 ||
    (shape.minTimeSeconds ?? 0) > 0 || (shape.warmup ?? 0) > 0 || shape.commands > 1;
}

/**
 * Whether the program's stdout is echoed: for a single run unless
 * `--quiet-output`; for repeated runs only with `--show-output` (the same
 * output N times buries the results).
 *
 * @param flags The display flags.
 * @param shape The run settings.
 * @returns `true` to echo.
 *
 * @example Usage
 * ```ts
 * import { echoesProgramOutput } from "./profile_display.ts";
 * console.log(echoesProgramOutput({}, { iterations: 10, commands: 1 })); // false
 * ```
 */
export function echoesProgramOutput(flags: DisplayFlags, shape: RunShape): boolean {
  if (flags.quietOutput) return false;
  return flags.showOutput === true || !runsRepeatedly(shape);
}

/**
 * The progress bar for this profile, or `undefined`: shown only for long
 * work (repeated runs, minimum time, warm-up, idle baseline, several
 * commands), when stderr is a terminal and `--quiet` is not set.
 *
 * @param flags The display flags.
 * @param shape The run settings.
 * @param options `stderr`: where to draw (default `Deno.stderr`); `echo`:
 * whether the program's output shares the terminal (the bar then hides
 * during runs).
 * @returns The bar, or `undefined`.
 *
 * @example Usage
 * ```ts
 * import { progressBarFor } from "./profile_display.ts";
 * const bar = progressBarFor({}, { iterations: 10, commands: 1 });
 * bar?.finish();
 * ```
 */
export function progressBarFor(
  flags: DisplayFlags,
  shape: RunShape,
  options: { stderr?: ProgressWriter & { isTerminal(): boolean }; echo?: boolean } = {},
): ProgressBar | undefined {
  const stderr = options.stderr ?? Deno.stderr;
  if (flags.quiet || !wantsProgress(shape) || !stderr.isTerminal()) return undefined;
  return new ProgressBar({ writer: stderr, hideDuringRuns: options.echo ?? false });
}

/**
 * The `onProgress` callback for a bar, or `undefined` without one.
 *
 * @param bar The bar.
 * @returns The callback.
 *
 * @example Usage
 * ```ts
 * import { progressCallback } from "./profile_display.ts";
 * console.log(progressCallback(undefined)); // undefined
 * ```
 */
export function progressCallback(
  bar: ProgressBar | undefined,
): ((event: ProgressEvent) => void) | undefined {
  return bar === undefined ? undefined : (event) => bar.handle(event);
}
