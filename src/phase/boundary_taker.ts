/**
 * Takes a boundary: stamps the clock and reads every source, or, for a
 * token that came in the same read as the last boundary taken, records
 * that boundary's time and readings again (`Source.repeat`): the profiler
 * saw both tokens at one instant, and reading again would only time its
 * own reads.
 *
 * @module
 */

import type { SourceOrchestrator } from "../orchestrator.ts";
import type { BoundaryLog } from "./boundary_log.ts";

/**
 * Stamps and measures boundaries into a run's log and orchestrator.
 *
 * @example Usage
 * ```ts
 * import { BoundaryTaker } from "./boundary_taker.ts";
 * import { BoundaryLog } from "./boundary_log.ts";
 * import { SourceOrchestrator } from "../orchestrator.ts";
 * const log = new BoundaryLog();
 * const orchestrator = new SourceOrchestrator([]);
 * orchestrator.measure(); // baseline
 * log.record("START", -1);
 * const taker = new BoundaryTaker(log, orchestrator);
 * taker.take("__A__", 0, 1);
 * taker.take("__B__", 1, 1); // same read: __A__'s time and readings
 * console.log(log.nsAt(1) === log.nsAt(2)); // true
 * ```
 */
export class BoundaryTaker {
  readonly #log: BoundaryLog;
  readonly #orchestrator: SourceOrchestrator;
  /** The read of the last boundary taken (-1: none, or not from a read). */
  #lastRead = -1;

  /**
   * Creates a taker for one run.
   *
   * @param log Where boundary times and tokens go.
   * @param orchestrator The run's sources.
   */
  constructor(log: BoundaryLog, orchestrator: SourceOrchestrator) {
    this.#log = log;
    this.#orchestrator = orchestrator;
  }

  /**
   * Takes one boundary.
   *
   * @param token The boundary's name.
   * @param line 0-based stdout line, or -1.
   * @param read The number of the read the token came in (`nextReadNumber`), or -1 (END).
   * @returns Nothing, or a promise when some source is asynchronous.
   */
  take(token: string, line: number, read: number): void | Promise<void> {
    const orchestrator = this.#orchestrator;
    const sameRead = read >= 0 && read === this.#lastRead;
    this.#lastRead = read;
    if (sameRead) this.#log.recordRepeat(token, line);
    else this.#log.record(token, line);
    const measured = sameRead ? orchestrator.repeat() : orchestrator.measure();
    if (measured) return measured.then(() => orchestrator.retrieve());
    return orchestrator.retrieve();
  }
}
