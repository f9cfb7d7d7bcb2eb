/**
 * Defaults of a model fit (light: the option table shows them in help).
 *
 * @module
 */

/** Phases shorter than this (ms) are left out of a fit by default. */
export const DEFAULT_MIN_PHASE_MS = 10;
/** Default folds of the cross-validation. */
export const DEFAULT_FOLDS = 5;
