/**
 * Cost of one boundary's RAPL read: every powercap zone of a two-socket
 * fake tree, and the perf backend's counters on a fake PMU (real
 * perf_event_open counters). Run with `deno task bench`.
 *
 * @module
 */

import { standInPerfRaplSource, twoSocketPowercapSource } from "./fake_rapl_sources.ts";

const root = await Deno.makeTempDir();
const powercap = await twoSocketPowercapSource(root);
powercap.init();

const perf = await standInPerfRaplSource(root);
perf.init();

Deno.bench("RAPL powercap: measure 7 zones (2 sockets + psys)", { group: "rapl" }, () => {
  powercap.measure();
});

Deno.bench("RAPL perf_event: measure 4 counters", { group: "rapl" }, () => {
  perf.measure();
});
