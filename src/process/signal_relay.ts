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
export { DEFAULT_KILL_AFTER_SECONDS } from "../setting_defaults.ts";
import { DEFAULT_KILL_AFTER_SECONDS } from "../setting_defaults.ts";

/** The program the relay forwards to. */
export interface RelayTarget {
  /** Sends a signal; returns `false` when the program is gone. */
  signal(signal: number): boolean;
  /**
   * `true` when the program is outside the profiler's process group, so a
   * terminal's Ctrl-C reaches only the profiler and must be forwarded.
   */
  readonly ownProcessGroup?: boolean;
}

/** Options of {@linkcode SignalRelay}. */
export interface SignalRelayOptions {
  /**
   * Decides whether the terminal already delivered SIGINT/SIGQUIT
   * (default: read from `/proc/self/stat`).
   */
  isForeground?: () => boolean;
  /** Called when the relay resorts to SIGKILL after the third interrupt. */
  onKill?: () => void;
  /**
   * After the first signal, SIGKILL whatever of the program is left after
   * this many ms (default {@linkcode DEFAULT_KILL_AFTER_SECONDS} s).
   */
  killAfterMs?: number;
  /** Called when that SIGKILL was sent, with the signal that started the wait. */
  onKillAfter?: (received: Deno.Signal) => void;
}

/**
 * Forwards termination signals to the profiled program exactly once, and
 * remembers that the run was interrupted so results are still written.
 *
 * The target is the program's whole tree (its process group, cgroup) or
 * the program alone (`--keep-descendants`). A program sharing the
 * profiler's process group (a terminal's foreground job, like under
 * `time` or `perf stat`) already got a Ctrl-C typed in the terminal:
 * SIGINT/SIGQUIT are then forwarded only when they came from `kill`. A
 * program in a group of its own gets every signal forwarded. SIGTERM and
 * SIGHUP are always forwarded. `killAfterMs` after the first signal,
 * whatever of the program is left gets SIGKILL; a third interrupt kills it
 * at once, for programs that ignore SIGINT.
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
  /** Name of the first signal received, if any. */
  received: Deno.Signal | undefined;
  /** How long after the first signal whatever is left of the program is killed, ms. */
  readonly killAfterMs: number;
  #target: RelayTarget | undefined;
  #count = 0;
  #firstAt: number | undefined;
  #killTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #listeners = new Map<Deno.Signal, () => void>();
  readonly #isForeground: () => boolean;
  readonly #onKill: (() => void) | undefined;
  readonly #onKillAfter: ((received: Deno.Signal) => void) | undefined;

  /**
   * Creates a relay; call `install()` to start listening.
   *
   * @param options Foreground test, SIGKILL delay and notifications.
   */
  constructor(options: SignalRelayOptions = {}) {
    this.#isForeground = options.isForeground ?? isForegroundJob;
    this.#onKill = options.onKill;
    this.#onKillAfter = options.onKillAfter;
    this.killAfterMs = options.killAfterMs ?? DEFAULT_KILL_AFTER_SECONDS * 1000;
  }

  /** The program signals go to; may change between iterations. */
  get target(): RelayTarget | undefined {
    return this.#target;
  }

  set target(target: RelayTarget | undefined) {
    this.#target = target;
    this.#clearKillTimer();
    // A signal that came before this program started still gives it only the rest of the delay.
    if (target !== undefined && this.#firstAt !== undefined) this.#armKillTimer(target);
  }

  /**
   * When whatever is left of the program gets SIGKILL (a
   * `performance.now()` time), or `undefined` before any signal.
   */
  get killDeadline(): number | undefined {
    return this.#firstAt === undefined ? undefined : this.#firstAt + this.killAfterMs;
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
    this.#clearKillTimer();
  }

  /**
   * Reacts to one signal (called by the listeners; public for tests).
   *
   * @param name The signal received.
   */
  handle(name: Deno.Signal): void {
    this.received ??= name;
    this.#count++;
    this.#firstAt ??= performance.now();
    const target = this.#target;
    if (target === undefined) return;
    if (this.#killTimer === undefined) this.#armKillTimer(target);
    if (this.#count >= KILL_AFTER) {
      if (target.signal(SIGNALS.SIGKILL)) this.#onKill?.();
      return;
    }
    if (TERMINAL_SIGNALS.has(name) && !target.ownProcessGroup && this.#isForeground()) return;
    target.signal(signalNumber(name) ?? SIGNALS.SIGTERM);
  }

  #armKillTimer(target: RelayTarget): void {
    const delay = Math.max(0, this.killDeadline! - performance.now());
    const timer = setTimeout(() => {
      this.#killTimer = undefined;
      if (this.#target === target && target.signal(SIGNALS.SIGKILL)) {
        this.#onKillAfter?.(this.received!);
      }
    }, delay);
    // The run awaits the program's exit; this timer alone must not keep the profiler alive.
    Deno.unrefTimer(timer);
    this.#killTimer = timer;
  }

  #clearKillTimer(): void {
    if (this.#killTimer !== undefined) clearTimeout(this.#killTimer);
    this.#killTimer = undefined;
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
