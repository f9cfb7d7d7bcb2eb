/**
 * Drives every source through one run and keeps their raw phase data.
 *
 * @module
 */

import { stampMonotonic } from "./clock.ts";
import { SourceError } from "./errors.ts";
import type { Metric, SampleSeries, Source } from "./source.ts";
import { compareNaturalNames } from "./text/natural_name_order.ts";

/** A source that failed for a phase: that phase has none of its metrics. */
export interface SourceFailure {
  /** Name of the source. */
  source: string;
  /** What went wrong. */
  message: string;
}

/** Metrics of one phase after conversion, with any source failures. */
export interface PhaseMetrics {
  /** Metrics of every source that worked, sorted by source then name. */
  metrics: Metric[];
  /** Sources that failed during this phase. */
  failures: SourceFailure[];
}

/** Where the orchestrator's diagnostics go. */
export interface OrchestratorLog {
  /** A source failed (shown at every verbosity). */
  warn?: (message: string) => void;
  /**
   * Debug details; when set, the time between the first and the last
   * source read of each boundary is recorded and summarised by `join()`.
   */
  debug?: (message: string) => void;
}

/**
 * Runs `init`, `measure`, `retrieve` and `join` on every source, in
 * registration order, and stores each phase's raw data per source.
 *
 * `measure()` calls every source's `measure` back to back first, then the
 * caller records bookkeeping; a synchronous source costs no promise or
 * `await`. A source that throws during a run is recorded as failed for the
 * phases it affects; the others are unaffected and the run goes on.
 *
 * @example Usage
 * ```ts
 * import { SourceOrchestrator } from "./orchestrator.ts";
 * const orchestrator = new SourceOrchestrator([]);
 * await orchestrator.init(Deno.pid);
 * orchestrator.measure(); // baseline
 * orchestrator.measure();
 * orchestrator.retrieve(); // closes phase 0
 * await orchestrator.join();
 * console.log(orchestrator.toPhaseMetrics().length); // 1
 * ```
 */
export class SourceOrchestrator {
  readonly #sources: Source[];
  /** Raw data per source, per phase. */
  readonly #raws: unknown[][];
  /** Per source: boundaries (0 = baseline) whose measure or retrieve failed. */
  readonly #failedBoundaries: Map<number, string>[];
  #boundary = 0;
  readonly #warn: (message: string) => void;
  readonly #debug: ((message: string) => void) | undefined;
  /** Clock scratch: [sec, nsec] before the first read, [sec, nsec] after the last. */
  readonly #stamps = new Float64Array(4);
  #spreads: Float64Array | undefined;
  /** Indices of the sources that can be sampled and have not failed at it this run. */
  #sampled: number[] = [];
  /** Sources already warned about a conversion failure (once each). */
  readonly #warnedConversions = new Set<number>();

  /**
   * Creates an orchestrator for one run.
   *
   * @param sources The sources, in the order they are read.
   * @param log Where diagnostics go (default: nowhere).
   */
  constructor(sources: readonly Source[], log: OrchestratorLog = {}) {
    this.#sources = [...sources];
    this.#raws = this.#sources.map(() => []);
    this.#failedBoundaries = this.#sources.map(() => new Map());
    this.#warn = log.warn ?? (() => {});
    this.#debug = log.debug;
    if (this.#debug !== undefined && this.#sources.length > 1) this.#spreads = new Float64Array(64);
  }

  /** Number of phases retrieved so far. */
  get phaseCount(): number {
    return this.#boundary === 0 ? 0 : this.#boundary - 1;
  }

  /**
   * Calls every source's `prepare()`: the program is about to be spawned.
   * A source's error is ignored here; its `init` reports what matters.
   */
  prepare(): void {
    for (const source of this.#sources) {
      try {
        source.prepare?.();
      } catch {
        // Best effort by contract.
      }
    }
  }

  /**
   * Calls every source's `init(pid)` and waits for all of them: the
   * program must not start before each has acknowledged.
   *
   * @param pid The held program's pid.
   * @param timeoutMs Refuse the run when a source has not initialised
   *   after this many milliseconds (default: wait as long as it takes).
   * @throws {SourceError} When a source cannot attach, or is too slow (it is named).
   */
  async init(pid: number, timeoutMs?: number): Promise<void> {
    this.#sampled = this.#sources.flatMap((source, i) => source.sample === undefined ? [] : [i]);
    const done = new Set<Source>();
    const inits = this.#sources.map(async (source) => {
      try {
        await source.init?.(pid);
        done.add(source);
      } catch (error) {
        throw asSourceError(source, error);
      }
    });
    const all = Promise.all(inits);
    if (timeoutMs === undefined) return void await all;
    // A timer is fine here: the program is held, and this bound is a refusal, not a measurement.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), timeoutMs);
    });
    all.catch(() => {}); // A failure after the refusal has nobody left to tell.
    try {
      if (await Promise.race([all, late]) !== "late") return;
    } finally {
      clearTimeout(timer);
    }
    const slow = this.#sources.filter((source) => !done.has(source));
    // Release what the run took: now for the sources that are ready, when ready for the others.
    const release = async (source: Source) => {
      try {
        await source.join?.();
      } catch (error) {
        this.#warn(`${source.name}: releasing after the refused run failed: ${error}`);
      }
    };
    this.#sources.forEach((source, i) => {
      if (!done.has(source)) inits[i]!.then(() => release(source), () => {});
    });
    await Promise.all([...done].map(release));
    throw new SourceError(
      slow.map((source) => source.name).join(", "),
      `not initialised after ${timeoutMs / 1000} s (--init-timeout): run refused`,
    );
  }

  /**
   * Reads every source once (a boundary, or the baseline when first).
   *
   * @returns Nothing, or a promise when some source is asynchronous.
   */
  measure(): void | Promise<void> {
    const boundary = this.#boundary;
    const spreads = this.#spreads;
    if (spreads !== undefined) stampMonotonic(this.#stamps, 0);
    let pending: Promise<void>[] | undefined;
    for (let i = 0; i < this.#sources.length; i++) {
      try {
        const result = this.#sources[i]!.measure();
        if (result instanceof Promise) {
          (pending ??= []).push(result.catch((error) => this.#fail(i, boundary, error)));
        }
      } catch (error) {
        this.#fail(i, boundary, error);
      }
    }
    this.#boundary = boundary + 1;
    if (pending !== undefined) {
      return Promise.all(pending).then(() => {
        if (spreads !== undefined) this.#recordSpread(boundary);
      });
    }
    if (spreads !== undefined) this.#recordSpread(boundary);
  }

  /**
   * A boundary at the same instant as the previous one (tokens that arrived
   * in one read): each source records its last readings again
   * (`Source.repeat`), or reads anew when it has no `repeat`. A source whose
   * previous boundary failed fails this one too (its readings are the same).
   *
   * @returns Nothing, or a promise when a source without `repeat` is asynchronous.
   */
  repeat(): void | Promise<void> {
    const boundary = this.#boundary;
    if (boundary === 0) return this.measure();
    let pending: Promise<void>[] | undefined;
    for (let i = 0; i < this.#sources.length; i++) {
      const source = this.#sources[i]!;
      try {
        if (source.repeat !== undefined) {
          source.repeat();
          const failed = this.#failedBoundaries[i]!.get(boundary - 1);
          if (failed !== undefined) this.#failedBoundaries[i]!.set(boundary, failed);
          continue;
        }
        const result = source.measure();
        if (result instanceof Promise) {
          (pending ??= []).push(result.catch((error) => this.#fail(i, boundary, error)));
        }
      } catch (error) {
        this.#fail(i, boundary, error);
      }
    }
    this.#boundary = boundary + 1;
    if (pending !== undefined) return Promise.all(pending).then(() => {});
  }

  /**
   * Takes one sample of every source that implements `sample()`. A source
   * whose sample fails is warned about once and not sampled again this
   * run; its per-phase metrics are unaffected.
   *
   * @returns Nothing, or a promise when some source samples asynchronously.
   */
  sample(): void | Promise<void> {
    const sampled = this.#sampled;
    let pending: Promise<void>[] | undefined;
    for (let k = 0; k < sampled.length; k++) {
      const i = sampled[k]!;
      try {
        const result = this.#sources[i]!.sample!();
        if (result instanceof Promise) {
          (pending ??= []).push(result.catch((error) => this.#stopSampling(i, error)));
        }
      } catch (error) {
        this.#stopSampling(i, error);
      }
    }
    if (pending !== undefined) return Promise.all(pending).then(() => {});
  }

  #stopSampling(index: number, error: unknown): void {
    if (!this.#sampled.includes(index)) return;
    this.#sampled = this.#sampled.filter((i) => i !== index);
    const message = asSourceError(this.#sources[index]!, error).message;
    this.#warn(`${message} (while sampling; no more samples of it in this run)`);
  }

  /**
   * The series every source recorded while sampling, converted; runs after
   * the program has exited. A conversion error is warned about and that
   * source's series are left out.
   *
   * @returns The series of all sources, in registration order.
   */
  samples(): SampleSeries[] {
    const series: SampleSeries[] = [];
    for (const source of this.#sources) {
      if (source.samples === undefined) continue;
      try {
        const recorded = source.samples();
        // Said in the series, so `merge` keeps a node's machine-wide series once.
        if (source.scope === "machine") {
          for (const one of recorded) series.push({ ...one, scope: "machine" });
        } else series.push(...recorded);
      } catch (error) {
        this.#warn(`${asSourceError(source, error).message} (its samples are left out)`);
      }
    }
    return series;
  }

  /** Records how long the boundary's reads of all sources took, first to last. */
  #recordSpread(boundary: number): void {
    const stamps = this.#stamps;
    stampMonotonic(stamps, 2);
    let spreads = this.#spreads!;
    if (boundary >= spreads.length) {
      spreads = new Float64Array(spreads.length * 2);
      spreads.set(this.#spreads!);
      this.#spreads = spreads;
    }
    spreads[boundary] = (stamps[2]! - stamps[0]!) * 1e9 + stamps[3]! - stamps[1]!;
  }

  /**
   * Closes the phase that ended at the last `measure()` in every source.
   *
   * @returns Nothing, or a promise when some source is asynchronous.
   */
  retrieve(): void | Promise<void> {
    const boundary = this.#boundary - 1;
    let pending: Promise<void>[] | undefined;
    for (let i = 0; i < this.#sources.length; i++) {
      const raws = this.#raws[i]!;
      const phase = boundary - 1;
      try {
        const result = this.#sources[i]!.retrieve();
        if (result instanceof Promise) {
          (pending ??= []).push(
            result.then((raw) => {
              raws[phase] = raw;
            }, (error) => this.#fail(i, boundary, error)),
          );
        } else {
          raws[phase] = result;
        }
      } catch (error) {
        this.#fail(i, boundary, error);
      }
    }
    if (pending !== undefined) return Promise.all(pending).then(() => {});
  }

  /** Calls every source's `join()`; failures are reported, not thrown. */
  async join(): Promise<void> {
    if (this.#spreads !== undefined && this.#boundary > 0) {
      const spreads = [...this.#spreads.subarray(0, this.#boundary)].sort((a, b) => a - b);
      const median = spreads[spreads.length >> 1]!;
      this.#debug!(
        `reading all ${this.#sources.length} sources at a boundary took ` +
          `median ${(median / 1000).toFixed(1)} µs, max ${
            (spreads.at(-1)! / 1000).toFixed(1)
          } µs ` +
          `(first to last read, ${spreads.length} boundaries)`,
      );
    }
    await Promise.all(this.#sources.map(async (source) => {
      try {
        await source.join?.();
      } catch (error) {
        this.#warn(asSourceError(source, error).message);
      }
    }));
  }

  /**
   * Converts every phase's raw data to metrics. Runs after the program has
   * exited; a conversion error marks that phase for that source only.
   *
   * @returns One entry per phase.
   */
  toPhaseMetrics(): PhaseMetrics[] {
    const phases: PhaseMetrics[] = [];
    for (let phase = 0; phase < this.phaseCount; phase++) phases.push(this.phaseMetrics(phase));
    return phases;
  }

  /**
   * Converts one phase's raw data to metrics (see {@linkcode toPhaseMetrics}),
   * so a long run's phases can be converted and stored one at a time.
   *
   * @param phase 0-based phase.
   * @param options `release`: drop the phase's raw data once converted (it
   *   cannot be converted again).
   * @returns The phase's metrics and failures.
   */
  phaseMetrics(phase: number, options: { release?: boolean } = {}): PhaseMetrics {
    const warned = this.#warnedConversions;
    {
      const metrics: Metric[] = [];
      const failures: SourceFailure[] = [];
      this.#sources.forEach((source, i) => {
        const failed = this.#failedBoundaries[i]!;
        const reason = failed.get(phase) ?? failed.get(phase + 1);
        if (reason !== undefined) {
          failures.push({ source: source.name, message: reason });
          return;
        }
        try {
          metrics.push(...source.toMetrics(this.#raws[i]![phase]));
          if (options.release) this.#raws[i]![phase] = undefined;
        } catch (error) {
          const message = asSourceError(source, error).message;
          failures.push({ source: source.name, message });
          if (failed.size === 0 && !warned.has(i)) {
            warned.add(i);
            this.#warn(`${message} (its affected phases are marked and left out)`);
          }
        }
      });
      metrics.sort((a, b) =>
        a.source === b.source ? compareNaturalNames(a.name, b.name) : a.source < b.source ? -1 : 1
      );
      // Phases with nothing to say share one entry: no two arrays per phase.
      return metrics.length === 0 && failures.length === 0 ? NOTHING : { metrics, failures };
    }
  }

  #fail(index: number, boundary: number, error: unknown): void {
    const source = this.#sources[index]!;
    const failed = this.#failedBoundaries[index]!;
    const message = asSourceError(source, error).message;
    if (failed.size === 0) this.#warn(`${message} (its affected phases are marked and left out)`);
    if (!failed.has(boundary)) failed.set(boundary, message);
  }
}

/** The entry of a phase with no metric and no failure (never modified). */
const NOTHING: PhaseMetrics = Object.freeze({
  metrics: Object.freeze([]) as unknown as Metric[],
  failures: Object.freeze([]) as unknown as SourceFailure[],
});

function asSourceError(source: Source, error: unknown): SourceError {
  if (error instanceof SourceError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new SourceError(source.name, message, { cause: error });
}
