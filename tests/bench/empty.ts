/**
 * Does nothing: the performance report times `deno run` of this file as the
 * floor of Deno's own start-up.
 *
 * @module
 */

export {};
