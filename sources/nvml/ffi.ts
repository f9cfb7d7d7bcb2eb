/**
 * The NVML symbols the profiler calls through FFI: one table for
 * `libnvidia-ml.so.1`, each parameter commented with its C type, and the
 * `nvmlReturn_t` codes it tests for.
 *
 * @module
 */

/** Symbol table of `libnvidia-ml.so.1`. `nvmlDevice_t` is an opaque pointer. */
export const NVML_SYMBOLS = {
  nvmlInit_v2: {
    parameters: [],
    result: "i32", /* nvmlReturn_t */
  },
  nvmlShutdown: {
    parameters: [],
    result: "i32", /* nvmlReturn_t */
  },
  nvmlErrorString: {
    parameters: ["i32" /* nvmlReturn_t result */],
    result: "pointer", /* const char * */
  },
  nvmlDeviceGetCount_v2: {
    parameters: ["buffer" /* unsigned int *deviceCount */],
    result: "i32", /* nvmlReturn_t */
  },
  nvmlDeviceGetHandleByIndex_v2: {
    parameters: [
      "u32", /* unsigned int index */
      "buffer", /* nvmlDevice_t *device */
    ],
    result: "i32", /* nvmlReturn_t */
  },
  nvmlDeviceGetName: {
    parameters: [
      "pointer", /* nvmlDevice_t device */
      "buffer", /* char *name */
      "u32", /* unsigned int length */
    ],
    result: "i32", /* nvmlReturn_t */
  },
  nvmlDeviceGetUUID: {
    parameters: [
      "pointer", /* nvmlDevice_t device */
      "buffer", /* char *uuid */
      "u32", /* unsigned int length */
    ],
    result: "i32", /* nvmlReturn_t */
  },
  // Volta and later, drivers since 2017: older libraries lack the symbol,
  // and the source then integrates power instead.
  nvmlDeviceGetTotalEnergyConsumption: {
    parameters: [
      "pointer", /* nvmlDevice_t device */
      "buffer", /* unsigned long long *energy (mJ) */
    ],
    result: "i32", /* nvmlReturn_t */
    optional: true,
  },
  /**
   * The same call on a worker thread: on an H100 it takes 3–5 ms (measured
   * with the real driver), far too long for the boundary's hot path.
   */
  nvmlDeviceGetTotalEnergyConsumptionOffThread: {
    name: "nvmlDeviceGetTotalEnergyConsumption",
    parameters: [
      "pointer", /* nvmlDevice_t device */
      "buffer", /* unsigned long long *energy (mJ) */
    ],
    result: "i32", /* nvmlReturn_t */
    nonblocking: true,
    optional: true,
  },
  nvmlDeviceGetPowerUsage: {
    parameters: [
      "pointer", /* nvmlDevice_t device */
      "buffer", /* unsigned int *power (mW) */
    ],
    result: "i32", /* nvmlReturn_t */
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** The typed NVML symbols, as returned by `Deno.dlopen`. */
export type NvmlSymbols = Deno.DynamicLibrary<typeof NVML_SYMBOLS>["symbols"];

/** The `nvmlReturn_t` values the profiler tells apart. */
export const NVML_RETURN = {
  SUCCESS: 0,
  UNINITIALIZED: 1,
  INVALID_ARGUMENT: 2,
  NOT_SUPPORTED: 3,
  NO_PERMISSION: 4,
  NOT_FOUND: 6,
  INSUFFICIENT_SIZE: 7,
  DRIVER_NOT_LOADED: 9,
} as const;

/** `NVML_DEVICE_NAME_V2_BUFFER_SIZE` and `NVML_DEVICE_UUID_V2_BUFFER_SIZE`. */
export const NVML_STRING_BUFFER_SIZE = 96;

/** The library's name as the NVIDIA driver installs it. */
export const NVML_LIBRARY_NAME = "libnvidia-ml.so.1";

/** Environment variable that overrides where the library is loaded from. */
export const NVML_PATH_ENV = "JOULE_PROFILER_NVML_PATH";
