/**
 * A one-shot timer that costs no start-up: the runtime's global
 * `setTimeout` loads Deno's Node.js timers module at its first use (3–5 ms
 * measured here, 2026-12-05).
 *
 * @module
 */

/**
 * Calls `fn` after `ms` milliseconds. `AbortSignal.timeout` rather than the
 * global `setTimeout`, whose first use loads Deno's Node.js timers module
 * (about 5 ms of start-up); the timer cannot be cancelled, so `fn` must
 * tolerate coming late, and a pending one keeps the process alive until it
 * fires.
 *
 * @param ms Delay in milliseconds.
 * @param fn What to call.
 *
 * @example Usage
 * ```ts
 * import { afterMs } from "./one_shot_timer.ts";
 * afterMs(10, () => console.log("10 ms later"));
 * ```
 */
export function afterMs(ms: number, fn: () => void): void {
  AbortSignal.timeout(Math.max(0, Math.ceil(ms))).addEventListener("abort", fn, { once: true });
}
