/**
 * AMD GPU energy through AMD SMI, loaded with `Deno.dlopen` from
 * `libamd_smi.so` (installed with ROCm, in `/opt/rocm/lib`). Written
 * against AMD SMI 24.7.0; docs/AMD_SMI_ABI.md lists the ABI it relies on.
 *
 * ```ts
 * import { JouleProfiler } from "../../src/mod.ts";
 * import { AmdSmiSource } from "./mod.ts";
 *
 * const profiler = new JouleProfiler().addSource(AmdSmiSource.open());
 * const result = await profiler.profile({ command: ["python3", "train.py"] });
 * ```
 *
 * @module
 */

export {
  type AmdGpu,
  AmdGpuSelectionError,
  AMDSMI_SOURCE_NAME,
  type AmdSmiEnergyReading,
  AmdSmiSource,
  type AmdSmiSourceOptions,
  countDelta,
  DEFAULT_POWER_SAMPLE_PERIOD_MS,
  GPU_POWER_CEILING_WATTS,
  integratePowerWatts,
  NoAmdGpuError,
} from "./amdsmi_source.ts";
export {
  AMDSMI_FIX,
  AmdSmiError,
  AmdSmiGpu,
  AmdSmiLibrary,
  AmdSmiLoadError,
  type AmdSmiOpenOptions,
  formatBdf,
} from "./amdsmi_library.ts";
export { AMDSMI_LIBRARY_NAME, AMDSMI_PATH_ENV, AMDSMI_STATUS } from "./ffi.ts";
