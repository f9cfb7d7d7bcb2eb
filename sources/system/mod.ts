/**
 * The `system` source: machine-wide CPU time and utilisation (overall and
 * per logical CPU) and network traffic.
 *
 * @module
 */

export type { MaybePromise, Metric, SampleSeries, Sensor, Source } from "../../src/source.ts";
export { SYSTEM_SOURCE, SystemSource, type SystemSourceOptions } from "./system_source.ts";
