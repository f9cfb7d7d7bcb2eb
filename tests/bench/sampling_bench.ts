/**
 * Cost of one sampling tick: every powercap zone of a two-socket fake tree,
 * and the process-tree CPU/RSS read of `/proc`. Run with `deno task bench`.
 *
 * @module
 */

import { ProcessUsageSampler } from "../../src/sampling/process_usage.ts";
import { twoSocketPowercapSource } from "./fake_rapl_sources.ts";

const root = await Deno.makeTempDir();
const powercap = await twoSocketPowercapSource(root);
powercap.init();
const usage = new ProcessUsageSampler(Deno.pid);

Deno.bench("sampling: powercap sample() of 7 zones", { group: "sampling" }, () => {
  powercap.sample();
});

Deno.bench("sampling: /proc CPU and RSS of a process", { group: "sampling" }, () => {
  usage.sample();
});
