/**
 * RAPL sources over fake trees, for the benchmarks: the real reading code,
 * on counters that exist on any machine.
 *
 * @module
 */

import { PowercapSource } from "../../sources/rapl/powercap_source.ts";
import { discoverPowercapZones } from "../../sources/rapl/powercap_zones.ts";
import { twoSocketZones, writeFakePowercap } from "../fixtures/fake_powercap.ts";

/**
 * A powercap source over a fresh fake two-socket tree (7 zones) in `root`,
 * polling off, not yet initialised.
 *
 * @param root Folder to create the tree in.
 * @returns The source.
 */
export async function twoSocketPowercapSource(root: string): Promise<PowercapSource> {
  await writeFakePowercap(root, twoSocketZones());
  return new PowercapSource({
    zones: discoverPowercapZones(`${root}/intel-rapl`).zones,
    pollingSeconds: 0,
  });
}
