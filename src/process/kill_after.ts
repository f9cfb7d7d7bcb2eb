/**
 * The default of `--kill-after`, in a module of its own so that the option
 * table (loaded at every start) does not load the signal machinery and libc.
 *
 * @module
 */

/** Default of `--kill-after`: seconds from the first signal to SIGKILL. */
export const DEFAULT_KILL_AFTER_SECONDS = 5;
