/**
 * Mark phases for joule-profiler through its phase channel, from Deno or
 * Node.js:
 *
 * ```js
 * import { joulePhase } from "./joule_phase.mjs";
 * joulePhase("__WORK__");
 * ```
 *
 * Writes the token as one line to the channel the profiler offers
 * (`JOULE_PROFILER_PHASE_FD`, else `JOULE_PROFILER_PHASE_FIFO`). Without the
 * profiler the variables are absent and the call does nothing. Deno needs
 * `--allow-env` (and `--allow-write` for the FIFO form).
 *
 * @module
 */

import { closeSync, constants, fstatSync, openSync, writeSync } from "node:fs";
import process from "node:process";

/** @type {number | undefined | null} undefined: not looked up yet; null: no channel. */
let channel;

/** @type {boolean} */
let openedByPath = false;

function openChannel() {
  const inherited = process.env.JOULE_PROFILER_PHASE_FD ?? "";
  const path = process.env.JOULE_PROFILER_PHASE_FIFO ?? "";
  if (/^\d+$/.test(inherited)) {
    try {
      // Node.js can write to the inherited descriptor directly; Deno cannot
      // address raw descriptors and falls through to the FIFO path.
      const fd = Number(inherited);
      fstatSync(fd);
      return fd;
    } catch {
      // Fall back to the path.
    }
  }
  if (path !== "") {
    try {
      const fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
      openedByPath = true;
      return fd;
    } catch {
      // No usable channel (or no permission): marking is a no-op.
    }
  }
  return null;
}

/**
 * Marks a phase boundary named `token` (a no-op when not profiled).
 *
 * @param {string} token The phase token, e.g. `"__WORK__"`.
 * @returns {void}
 */
export function joulePhase(token) {
  if (channel === undefined) channel = openChannel();
  if (channel !== null) writeSync(channel, `${token}\n`);
}

/**
 * Closes a channel opened by path (the inherited descriptor is left alone).
 *
 * @returns {void}
 */
export function closeJoulePhase() {
  if (typeof channel === "number" && openedByPath) closeSync(channel);
  channel = null;
}
