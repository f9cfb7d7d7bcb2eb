/**
 * What the profiler does when it is sent SIGINT, SIGTERM, SIGHUP or SIGQUIT
 * while a program runs.
 *
 * @module
 */

import { signalNumber, SIGNALS } from "../ffi/libc.ts";

const RELAYED: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"];
/** Signals a terminal sends to its whole foreground process group. */
const TERMINAL_SIGNALS = new Set<Deno.Signal>(["SIGINT", "SIGQUIT"]);
/** After this many interrupts the program is killed outright. */
const KILL_AFTER = 3;

/** The program the relay forwards to. */
export interface RelayTarget {
  /** Sends a signal; returns `false` when the program is gone. */
  signal(signal: number): boolean;
}

/**
 * Forwards termination signals to the profiled program exactly once, and
 * remembers that the run was interrupted so results are still written.
 *
 * The program shares the profiler's process group (like under `time` or
 * `perf stat`), so a Ctrl-C typed in the terminal already reaches it:
 * SIGINT/SIGQUIT are forwarded only when the profiler is not the
 * terminal's foreground job (i.e. the signal came from `kill`, not the
 * keyboard). SIGTERM and SIGHUP are always forwarded. A third interrupt
 * kills the program with SIGKILL, for programs that ignore SIGINT.
 *
 * @example Usage
 * ```ts
 * import { SignalRelay } from "./signal_relay.ts";
 * const relay = new SignalRelay();
 * relay.install();
 * relay.target = { signal: (n) => (console.log("forward", n), true) };
 * // ... run ...
 * relay.dispose();
 * console.log(relay.interrupted); // false unless a signal came
 * ```
 */
export class SignalRelay {
  /** The program signals go to; may change between iterations. */
  target: RelayTarget | undefined;
  /** Name of the first signal received, if any. */
  received: Deno.Signal | undefined;
  #count = 0;
  readonly #listeners = new Map<Deno.Signal, () => void>();
  readonly #isForeground: () => boolean;
  readonly #onKill: (() => void) | undefined;

  /**
   * Creates a relay; call `install()` to start listening.
   *
   * @param options `isForeground` decides whether the terminal already
   * delivered SIGINT/SIGQUIT (default: read from `/proc/self/stat`);
   * `onKill` is called when the relay resorts to SIGKILL.
   */
  constructor(options: { isForeground?: () => boolean; onKill?: () => void } = {}) {
    this.#isForeground = options.isForeground ?? isForegroundJob;
    this.#onKill = options.onKill;
  }

  /** `true` once any relayed signal was received. */
  get interrupted(): boolean {
    return this.received !== undefined;
  }

  /** Starts listening. */
  install(): void {
    for (const name of RELAYED) {
      const listener = () => this.handle(name);
      try {
        Deno.addSignalListener(name, listener);
        this.#listeners.set(name, listener);
      } catch {
        // A signal the platform cannot listen to is simply not relayed.
      }
    }
  }

  /** Stops listening; default signal behaviour returns. */
  dispose(): void {
    for (const [name, listener] of this.#listeners) Deno.removeSignalListener(name, listener);
    this.#listeners.clear();
  }

  /**
   * Reacts to one signal (called by the listeners; public for tests).
   *
   * @param name The signal received.
   */
  handle(name: Deno.Signal): void {
    this.received ??= name;
    this.#count++;
    const target = this.target;
    if (target === undefined) return;
    if (this.#count >= KILL_AFTER) {
      if (target.signal(SIGNALS.SIGKILL)) this.#onKill?.();
      return;
    }
    if (TERMINAL_SIGNALS.has(name) && this.#isForeground()) return;
    target.signal(signalNumber(name) ?? SIGNALS.SIGTERM);
  }
}

/**
 * Whether this process is in the foreground process group of its
 * controlling terminal (so a typed Ctrl-C reaches its whole group).
 *
 * @returns `true` when a terminal's foreground job.
 *
 * @example Usage
 * ```ts
 * import { isForegroundJob } from "./signal_relay.ts";
 * console.log(isForegroundJob());
 * ```
 */
export function isForegroundJob(): boolean {
  try {
    const stat = Deno.readTextFileSync("/proc/self/stat");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // After the command name: state ppid pgrp session tty_nr tpgid ...
    const pgrp = Number(fields[2]);
    const ttyNr = Number(fields[4]);
    const tpgid = Number(fields[5]);
    return ttyNr !== 0 && tpgid === pgrp;
  } catch {
    return false;
  }
}
