/**
 * A one-line progress bar on stderr for long profiles (repeated runs,
 * minimum time, warm-up, idle baseline, several commands): run i/N,
 * elapsed time, ETA and the current mean of the main energy figure.
 *
 * @module
 */

import type { ProgressEvent } from "../profiler.ts";
import { runTotals } from "../stats/run_totals.ts";
import { formatDurationMs, formatQuantity } from "./human_units.ts";

/** Where the bar is drawn. */
export interface ProgressWriter {
  /** Writes bytes, synchronously. */
  writeSync(bytes: Uint8Array): number;
}

/** Options of {@linkcode ProgressBar}. */
export interface ProgressBarOptions {
  /** Destination (default `Deno.stderr`). */
  writer?: ProgressWriter;
  /** Columns available (default: the terminal's width, else 80). */
  columns?: number;
  /** Milliseconds between redraws while nothing happens (default 1000; 0: no timer). */
  refreshMs?: number;
  /**
   * Erase the bar while a run is in progress and redraw it after (for a
   * program whose output goes to the same terminal).
   */
  hideDuringRuns?: boolean;
}

const BAR_CELLS = 12;
const encoder = new TextEncoder();

/** Mean of a run's main energy figure: the CPU total, else the first energy sensor. */
interface EnergyMean {
  name: string;
  unit: string;
  sum: number;
  n: number;
}

/**
 * Draws progress from {@linkcode ProgressEvent}s on one line (`\r`, erase
 * to end of line). Call `finish()` to erase it before printing results.
 *
 * @example Usage
 * ```ts
 * import { ProgressBar } from "./progress_bar.ts";
 * const bar = new ProgressBar({ refreshMs: 0 });
 * bar.handle({ stage: "run-start", done: 0, total: 3, elapsedMs: 0 });
 * bar.finish();
 * ```
 */
export class ProgressBar {
  readonly #writer: ProgressWriter;
  readonly #columns: number;
  readonly #hideDuringRuns: boolean;
  #timer: ReturnType<typeof setInterval> | undefined;
  #last: ProgressEvent | undefined;
  #lastAt = 0;
  #stageStartedMs = 0;
  #stage: ProgressEvent["stage"] | undefined;
  /** Time from the first measured run's start to the last one's end, ms. */
  #runStageMs = 0;
  #runs = 0;
  #running = false;
  #drawn = false;
  readonly #energy = new Map<number, EnergyMean>();
  #command = 0;

  /**
   * Creates the bar; nothing is drawn before the first event.
   *
   * @param options Destination, width and refresh.
   */
  constructor(options: ProgressBarOptions = {}) {
    this.#writer = options.writer ?? Deno.stderr;
    this.#columns = options.columns ?? terminalColumns();
    this.#hideDuringRuns = options.hideDuringRuns ?? false;
    const refresh = options.refreshMs ?? 1000;
    if (refresh > 0) {
      const timer = setInterval(() => this.#redraw(), refresh);
      Deno.unrefTimer(timer);
      this.#timer = timer;
    }
  }

  /**
   * Takes a progress event and redraws.
   *
   * @param event What happened.
   */
  handle(event: ProgressEvent): void {
    const stage = event.stage === "run-start" || event.stage === "run-end" ? "run" : event.stage;
    if (
      stage !== (this.#stage === "run-start" || this.#stage === "run-end" ? "run" : this.#stage)
    ) {
      this.#stageStartedMs = event.elapsedMs;
    }
    this.#stage = event.stage;
    this.#last = event;
    this.#lastAt = performance.now();
    if (event.stage === "run-end" && event.run !== undefined) {
      this.#runs++;
      this.#runStageMs = event.elapsedMs - this.#stageStartedMs;
      this.#addEnergy(event);
    }
    this.#running = event.stage === "run-start";
    if (this.#running && this.#hideDuringRuns) {
      this.#erase();
      return;
    }
    this.#redraw();
  }

  /**
   * Writes a line (a warning, say) above the bar: the bar is erased, the
   * line written, and the bar drawn again below it.
   *
   * @param line The text, without its newline.
   */
  printAbove(line: string): void {
    const drawn = this.#drawn;
    this.#erase();
    this.#write(`${line}\n`);
    if (drawn) this.#redraw();
  }

  /** Erases the bar and stops redrawing. */
  finish(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#erase();
  }

  /** The line the bar shows now (without control characters). */
  text(): string {
    const event = this.#last;
    if (event === undefined) return "";
    const elapsedMs = event.elapsedMs + (performance.now() - this.#lastAt);
    const parts: string[] = [];
    if (event.stage === "idle") {
      const idleMs = event.idleMs ?? 0;
      const doneMs = Math.min(idleMs, elapsedMs - this.#stageStartedMs);
      parts.push(
        `idle baseline ${bar(idleMs > 0 ? doneMs / idleMs : 0)} ` +
          `${formatDurationMs(doneMs)} of ${formatDurationMs(idleMs)}`,
      );
    } else if (event.stage === "warmup") {
      parts.push(
        `warm-up ${event.done}/${event.total ?? "?"} ` +
          bar(event.total ? event.done / event.total : 0),
      );
    } else {
      const total = this.#estimatedRuns(event);
      const current = event.stage === "run-start" ? event.done + 1 : event.done;
      parts.push(`run ${current}/${total ?? "?"} ${bar(total ? event.done / total : 0)}`);
      const eta = this.#etaMs(total, elapsedMs);
      parts.push(`elapsed ${formatDurationMs(elapsedMs)}`);
      parts.push(`ETA ${eta === undefined ? "?" : formatDurationMs(eta)}`);
      const energy = this.#energy.get(this.#command);
      if (energy !== undefined && energy.n > 0) {
        parts.push(`${energy.name} ${formatQuantity(energy.sum / energy.n, energy.unit)} mean`);
      } else if (this.#runs > 0) {
        parts.push(`${formatDurationMs(this.#runStageMs / this.#runs)} per run`);
      }
      return truncate(parts.join(" · "), this.#columns - 1);
    }
    parts.push(`elapsed ${formatDurationMs(elapsedMs)}`);
    return truncate(parts.join(" · "), this.#columns - 1);
  }

  /** Runs expected in all: the minimum count, or more while the minimum time is not met. */
  #estimatedRuns(event: ProgressEvent): number | undefined {
    const total = event.total;
    const remainingMs = event.remainingMinTimeMs ?? 0;
    if (remainingMs <= 0 || event.run === undefined) return total;
    const measuredPerRun = event.run.durationMs;
    if (!(measuredPerRun > 0)) return total;
    const more = Math.ceil(remainingMs / measuredPerRun);
    return Math.max(total ?? 0, event.done + more);
  }

  /** Time left: the runs' mean pace (start-up and hooks included) times the runs to go. */
  #etaMs(total: number | undefined, elapsedMs: number): number | undefined {
    if (total === undefined || this.#runs === 0) return undefined;
    const perRun = this.#runStageMs / this.#runs;
    return Math.max(0, perRun * total - (elapsedMs - this.#stageStartedMs));
  }

  #addEnergy(event: ProgressEvent): void {
    const command = event.command ?? 0;
    this.#command = command;
    // A frozen counter's 0 (a VM's RAPL, marked not updating) is no energy to show.
    const totals = runTotals(event.run!).energy.filter((entry) => !entry.notUpdating);
    const main = totals.find((entry) => entry.total === "cpu") ?? totals[0];
    if (main === undefined) return;
    let mean = this.#energy.get(command);
    if (mean === undefined || mean.name !== main.name) {
      mean = { name: main.name, unit: main.unit, sum: 0, n: 0 };
      this.#energy.set(command, mean);
    }
    mean.sum += main.value;
    mean.n++;
  }

  #redraw(): void {
    if (this.#last === undefined || (this.#running && this.#hideDuringRuns)) return;
    this.#write(`\r${this.text()}\u001b[K`);
    this.#drawn = true;
  }

  #erase(): void {
    if (!this.#drawn) return;
    this.#write("\r\u001b[K");
    this.#drawn = false;
  }

  #write(text: string): void {
    try {
      const bytes = encoder.encode(text);
      let offset = 0;
      while (offset < bytes.length) offset += this.#writer.writeSync(bytes.subarray(offset));
    } catch {
      // A display aid: a closed terminal must not end the profile.
    }
  }
}

function bar(fraction: number): string {
  const clamped = Math.min(1, Math.max(0, fraction));
  const full = Math.round(clamped * BAR_CELLS);
  return `[${"█".repeat(full)}${"░".repeat(BAR_CELLS - full)}] ${Math.floor(clamped * 100)} %`;
}

function truncate(text: string, columns: number): string {
  const characters = [...text];
  return characters.length <= columns ? text : `${characters.slice(0, columns - 1).join("")}…`;
}

function terminalColumns(): number {
  try {
    return Deno.consoleSize().columns || 80;
  } catch {
    return 80;
  }
}

/**
 * Whether a profile is long enough to show progress: repeated runs, a
 * minimum time, warm-up, an idle baseline or several commands.
 *
 * @param settings The profile's settings.
 * @returns `true` when a bar helps.
 *
 * @example Usage
 * ```ts
 * import { wantsProgress } from "./progress_bar.ts";
 * console.log(wantsProgress({ iterations: 10, commands: 1 })); // true
 * ```
 */
export function wantsProgress(settings: {
  iterations?: number;
  minRuns?: number;
  minTimeSeconds?: number;
  warmup?: number;
  idleSeconds?: number;
  commands: number;
}): boolean {
  return (settings.iterations ?? 1) > 1 || (settings.minRuns ?? 1) > 1 ||
    (settings.minTimeSeconds ?? 0) > 0 || (settings.warmup ?? 0) > 0 ||
    settings.idleSeconds !== undefined || settings.commands > 1;
}
