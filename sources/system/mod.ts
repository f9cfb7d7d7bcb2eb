/**
 * The `system` source: machine-wide CPU time and utilisation (overall and
 * per logical CPU) and network traffic.
 *
 * @module
 */

export { SYSTEM_SOURCE, SystemSource, type SystemSourceOptions } from "./system_source.ts";
