/**
 * RAPL energy (Intel and AMD CPUs): the powercap and perf_event backends.
 *
 * @module
 */

export type { MaybePromise, Metric, Sensor, Source } from "../../src/source.ts";
export {
  type DomainEnergy,
  markTotals,
  PACKAGE_TOTAL_NAME,
  PERF_RAPL_SOURCE_NAME,
  POWERCAP_SOURCE_NAME,
  RAPL_UNIT,
  type RaplDomain,
  type RaplMetricDetails,
} from "./rapl_domain.ts";
export {
  DEFAULT_POWERCAP_PATH,
  discoverPowercapZones,
  type PowercapDiscovery,
  type PowercapZone,
  type UnusableZone,
} from "./powercap_zones.ts";
export {
  defaultPollingPeriod,
  PowercapSource,
  type PowercapSourceOptions,
} from "./powercap_source.ts";
export {
  DEFAULT_EVENT_SOURCE_PATH,
  discoverPowerPmu,
  type PowerPmu,
  type PowerPmuEvent,
} from "./power_pmu.ts";
export {
  type PerfRaplCounterPlan,
  type PerfRaplPlanOptions,
  PerfRaplSource,
  planPerfRaplCounters,
} from "./perf_rapl_source.ts";
export {
  type RaplBackend,
  type RaplSetup,
  type RaplSetupOptions,
  setupRapl,
} from "./rapl_setup.ts";
