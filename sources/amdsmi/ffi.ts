/**
 * The AMD SMI symbols the profiler calls through FFI: one table for
 * `libamd_smi.so`, each parameter commented with its C type, and the enum
 * values and struct sizes it relies on. Written against AMD SMI library
 * version 24.7.0 (ROCm 6.2); docs/AMD_SMI_ABI.md documents every layout.
 *
 * @module
 */

/**
 * Symbol table of `libamd_smi.so`. Handles (`amdsmi_socket_handle`,
 * `amdsmi_processor_handle`) are opaque pointers; enums are 32-bit.
 */
export const AMDSMI_SYMBOLS = {
  amdsmi_init: {
    parameters: ["u64" /* uint64_t init_flags */],
    result: "u32", /* amdsmi_status_t */
  },
  amdsmi_shut_down: {
    parameters: [],
    result: "u32", /* amdsmi_status_t */
  },
  amdsmi_status_code_to_string: {
    parameters: [
      "u32", /* amdsmi_status_t status */
      "buffer", /* const char **status_string */
    ],
    result: "u32", /* amdsmi_status_t */
  },
  amdsmi_get_socket_handles: {
    parameters: [
      "buffer", /* uint32_t *socket_count */
      "buffer", /* amdsmi_socket_handle *socket_handles (NULL: count only) */
    ],
    result: "u32", /* amdsmi_status_t */
  },
  amdsmi_get_processor_handles: {
    parameters: [
      "pointer", /* amdsmi_socket_handle socket_handle */
      "buffer", /* uint32_t *processor_count */
      "buffer", /* amdsmi_processor_handle *processor_handles (NULL: count only) */
    ],
    result: "u32", /* amdsmi_status_t */
  },
  amdsmi_get_processor_type: {
    parameters: [
      "pointer", /* amdsmi_processor_handle processor_handle */
      "buffer", /* processor_type_t *processor_type */
    ],
    result: "u32", /* amdsmi_status_t */
  },
  amdsmi_get_gpu_asic_info: {
    parameters: [
      "pointer", /* amdsmi_processor_handle processor_handle */
      "buffer", /* amdsmi_asic_info_t *info */
    ],
    result: "u32", /* amdsmi_status_t */
  },
  amdsmi_get_gpu_device_bdf: {
    parameters: [
      "pointer", /* amdsmi_processor_handle processor_handle */
      "buffer", /* amdsmi_bdf_t *bdf (a union over uint64_t) */
    ],
    result: "u32", /* amdsmi_status_t */
  },
  amdsmi_get_energy_count: {
    parameters: [
      "pointer", /* amdsmi_processor_handle processor_handle */
      "buffer", /* uint64_t *energy_accumulator (counts) */
      "buffer", /* float *counter_resolution (µJ per count) */
      "buffer", /* uint64_t *timestamp (ns) */
    ],
    result: "u32", /* amdsmi_status_t */
  },
  amdsmi_get_power_info: {
    parameters: [
      "pointer", /* amdsmi_processor_handle processor_handle */
      "buffer", /* amdsmi_power_info_t *info */
    ],
    result: "u32", /* amdsmi_status_t */
  },
  amdsmi_get_gpu_activity: {
    parameters: [
      "pointer", /* amdsmi_processor_handle processor_handle */
      "buffer", /* amdsmi_engine_usage_t *info */
    ],
    result: "u32", /* amdsmi_status_t */
  },
  amdsmi_get_gpu_memory_usage: {
    parameters: [
      "pointer", /* amdsmi_processor_handle processor_handle */
      "u32", /* amdsmi_memory_type_t mem_type */
      "buffer", /* uint64_t *used (bytes) */
    ],
    result: "u32", /* amdsmi_status_t */
  },
  amdsmi_get_temp_metric: {
    parameters: [
      "pointer", /* amdsmi_processor_handle processor_handle */
      "u32", /* amdsmi_temperature_type_t sensor_type */
      "u32", /* amdsmi_temperature_metric_t metric */
      "buffer", /* int64_t *temperature (°C) */
    ],
    result: "u32", /* amdsmi_status_t */
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** The typed AMD SMI symbols, as returned by `Deno.dlopen`. */
export type AmdSmiSymbols = Deno.DynamicLibrary<typeof AMDSMI_SYMBOLS>["symbols"];

/** The `amdsmi_status_t` values the profiler tells apart. */
export const AMDSMI_STATUS = {
  SUCCESS: 0,
  INVAL: 1,
  NOT_SUPPORTED: 2,
  NOT_YET_IMPLEMENTED: 3,
  NO_PERM: 10,
  INIT_ERROR: 18,
  NOT_FOUND: 31,
  NOT_INIT: 32,
  DRIVER_NOT_LOADED: 34,
} as const;

/** `AMDSMI_INIT_AMD_GPUS`: initialise for AMD GPUs only (`1 << 1`). */
export const AMDSMI_INIT_AMD_GPUS = 2n;

/** `processor_type_t` values. */
export const PROCESSOR_TYPE = {
  UNKNOWN: 0,
  AMD_GPU: 1,
  AMD_CPU: 2,
  NON_AMD_GPU: 3,
  NON_AMD_CPU: 4,
  AMD_CPU_CORE: 5,
  AMD_APU: 6,
} as const;

/** `AMDSMI_MEM_TYPE_VRAM` of `amdsmi_memory_type_t`. */
export const MEMORY_TYPE_VRAM = 0;

/** `amdsmi_temperature_type_t`: edge sensor, and junction (hotspot). */
export const TEMPERATURE_TYPE = { EDGE: 0, JUNCTION: 1 } as const;

/** `AMDSMI_TEMP_CURRENT` of `amdsmi_temperature_metric_t`. */
export const TEMPERATURE_CURRENT = 0;

/**
 * Bytes allocated for `amdsmi_asic_info_t` (456 in 24.7.0; more, so a
 * library with a larger struct cannot write past the buffer).
 * `market_name`, `char[256]`, is at offset 0.
 */
export const ASIC_INFO_SIZE = 1024;
/** Length of `market_name` (`AMDSMI_256_LENGTH`). */
export const MARKET_NAME_LENGTH = 256;

/**
 * `amdsmi_power_info_t`: six `uint32_t` then `reserved[11]` (68 bytes).
 * Word offsets of the fields read; `WORDS` is what is allocated (more than
 * 17, so a larger struct in another release cannot write past it).
 */
export const POWER_INFO = {
  WORDS: 64,
  CURRENT_SOCKET_POWER: 0,
  AVERAGE_SOCKET_POWER: 1,
} as const;

/**
 * `amdsmi_engine_usage_t`: `gfx_activity`, `umc_activity`, `mm_activity`
 * then `reserved[13]` (64 bytes); `WORDS` allocated, with room to spare.
 */
export const ENGINE_USAGE = { WORDS: 64, GFX_ACTIVITY: 0 } as const;

/** The value AMD SMI puts in a `uint32_t` field it could not read. */
export const UNREADABLE_U32 = 0xffff;

/** The library's name as ROCm installs it (in `/opt/rocm/lib`). */
export const AMDSMI_LIBRARY_NAME = "libamd_smi.so";

/** Where ROCm puts the library; tried when the dynamic linker does not find it. */
export const AMDSMI_ROCM_PATH = "/opt/rocm/lib/libamd_smi.so";

/** Environment variable that overrides where the library is loaded from. */
export const AMDSMI_PATH_ENV = "JOULE_PROFILER_AMDSMI_PATH";
