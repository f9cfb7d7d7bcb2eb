/**
 * NVIDIA GPU energy through NVML, loaded with `Deno.dlopen` from
 * `libnvidia-ml.so.1` (installed with the NVIDIA driver; no CUDA toolkit).
 *
 * ```ts
 * import { JouleProfiler } from "../../src/mod.ts";
 * import { NvmlSource } from "./mod.ts";
 *
 * const profiler = new JouleProfiler().addSource(NvmlSource.open());
 * const result = await profiler.profile({ command: ["python3", "train.py"] });
 * ```
 *
 * @module
 */

export {
  DEFAULT_POWER_SAMPLE_PERIOD_MS,
  GpuSelectionError,
  integratePower,
  NVML_SOURCE_NAME,
  type NvmlEnergyMethod,
  type NvmlGpu,
  NvmlSource,
  type NvmlSourceOptions,
  wrappingDelta,
} from "./nvml_source.ts";
export {
  NvmlDevice,
  NvmlError,
  NvmlLibrary,
  NvmlLoadError,
  type NvmlOpenOptions,
} from "./nvml_library.ts";
export { NVML_LIBRARY_NAME, NVML_PATH_ENV, NVML_RETURN } from "./ffi.ts";
