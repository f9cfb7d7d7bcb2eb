/**
 * Limits of the terminal layout, in a module of their own so the command
 * line's help can quote them without loading the formatter.
 *
 * @module
 */

/**
 * Runs with more phases than this are shown in the terminal as one table
 * per phase name (count, total and mean of every figure), unless
 * `allPhases` is set (`--all-phases`).
 */
export const PHASE_LIST_LIMIT = 50;
