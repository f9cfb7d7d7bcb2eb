/**
 * Cost of one sampling tick: every powercap zone of a two-socket fake tree,
 * and the process-tree CPU/RSS read of `/proc`. Run with `deno task bench`.
 *
 * @module
 */

import { ProcessUsageSampler } from "../../src/sampling/process_usage.ts";
import { PowercapSource } from "../../sources/rapl/powercap_source.ts";
import { discoverPowercapZones } from "../../sources/rapl/powercap_zones.ts";
import { twoSocketZones, writeFakePowercap } from "../fixtures/fake_powercap.ts";

const root = await Deno.makeTempDir();
await writeFakePowercap(root, twoSocketZones());
const powercap = new PowercapSource({
  zones: discoverPowercapZones(`${root}/intel-rapl`).zones,
  pollingSeconds: 0,
});
powercap.init();
const usage = new ProcessUsageSampler(Deno.pid);

Deno.bench("sampling: powercap sample() of 7 zones", { group: "sampling" }, () => {
  powercap.sample();
});

Deno.bench("sampling: /proc CPU and RSS of a process", { group: "sampling" }, () => {
  usage.sample();
});
