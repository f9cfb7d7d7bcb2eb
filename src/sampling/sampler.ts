/**
 * The sampling scheduler: calls a tick on an absolute-deadline schedule
 * (`start + k × interval`), skipping and counting deadlines it missed.
 *
 * Deno's timers fire about 1 ms late and drift when chained, so each timer
 * is aimed at the next deadline computed from the start, never at "now +
 * interval"; each source stamps its own samples with `CLOCK_MONOTONIC`.
 * Timers are unref'd: sampling never keeps the process alive.
 *
 * @module
 */

import { stampMonotonic } from "../clock.ts";

/** Mean lateness of a Deno timer, ms: timers are aimed this much early. */
const TIMER_LATENESS_MS = 1;

/** Options of {@linkcode Sampler}. */
export interface SamplerOptions {
  /** Milliseconds between deadlines (≥ 1). */
  intervalMs: number;
  /**
   * Takes one sample. A returned promise is awaited before the next
   * deadline is planned; an error stops nothing (report it yourself).
   */
  tick: () => void | Promise<void>;
}

/**
 * Calls `tick` at `start + k × interval` for k = 1, 2, … until `stop()`.
 *
 * @example Usage
 * ```ts
 * import { Sampler } from "./sampler.ts";
 * let count = 0;
 * const sampler = new Sampler({ intervalMs: 10, tick: () => void count++ });
 * sampler.start();
 * await new Promise((resolve) => setTimeout(resolve, 100));
 * await sampler.stop();
 * console.log(count, sampler.ticks, sampler.missed); // about 10, 10, 0
 * ```
 */
export class Sampler {
  /** Milliseconds between deadlines. */
  readonly intervalMs: number;
  readonly #tick: () => void | Promise<void>;
  readonly #clock = new Float64Array(2);
  #startMs = 0;
  /** Index of the next deadline. */
  #next = 1;
  #ticks = 0;
  #missed = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running = false;
  #inFlight: Promise<void> | undefined;

  /**
   * Creates a stopped sampler.
   *
   * @param options Interval and tick.
   */
  constructor(options: SamplerOptions) {
    if (!(options.intervalMs > 0)) throw new RangeError("intervalMs must be positive");
    this.intervalMs = options.intervalMs;
    this.#tick = options.tick;
  }

  /** Ticks taken. */
  get ticks(): number {
    return this.#ticks;
  }

  /** Deadlines skipped because a tick came too late to take them. */
  get missed(): number {
    return this.#missed;
  }

  /** Starts the schedule now: the first tick is due one interval from now. */
  start(): void {
    this.#startMs = this.#nowMs();
    this.#next = 1;
    this.#ticks = 0;
    this.#missed = 0;
    this.#running = true;
    this.#schedule(this.#startMs);
  }

  /** Stops the schedule and waits for a tick in progress (if asynchronous). */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#inFlight;
  }

  #nowMs(): number {
    stampMonotonic(this.#clock, 0);
    return this.#clock[0]! * 1e3 + this.#clock[1]! / 1e6;
  }

  #schedule(nowMs: number): void {
    const deadline = this.#startMs + this.#next * this.intervalMs;
    const timer = setTimeout(this.#fire, Math.max(0, deadline - nowMs - TIMER_LATENESS_MS));
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    if (!this.#running) return;
    this.#ticks++;
    let pending: void | Promise<void> = undefined;
    try {
      pending = this.#tick();
    } catch {
      // The tick reports its own errors; the schedule goes on.
    }
    if (pending instanceof Promise) {
      this.#inFlight = pending.catch(() => {}).then(() => {
        this.#inFlight = undefined;
        this.#plan();
      });
    } else {
      this.#plan();
    }
  };

  /** Moves to the first deadline still ahead, counting the ones skipped. */
  #plan(): void {
    if (!this.#running) return;
    const now = this.#nowMs();
    // A timer aimed early may fire just before its own deadline: it counts as that one.
    const due = Math.floor((now - this.#startMs) / this.intervalMs + 0.5);
    const next = Math.max(this.#next + 1, due + 1);
    this.#missed += next - this.#next - 1;
    this.#next = next;
    this.#schedule(now);
  }
}
