/**
 * A thin wrapper over AMD SMI: {@linkcode AmdSmiLibrary} owns the loaded
 * library and its initialisation, {@linkcode AmdSmiGpu} owns a processor
 * handle, and every `amdsmi_status_t` other than success becomes an
 * {@linkcode AmdSmiError} carrying AMD SMI's own status string.
 *
 * @module
 */

import {
  AMDSMI_INIT_AMD_GPUS,
  AMDSMI_LIBRARY_NAME,
  AMDSMI_PATH_ENV,
  AMDSMI_ROCM_PATH,
  AMDSMI_STATUS,
  AMDSMI_SYMBOLS,
  type AmdSmiSymbols,
  ASIC_INFO_SIZE,
  ENGINE_USAGE,
  MARKET_NAME_LENGTH,
  MEMORY_TYPE_VRAM,
  POWER_INFO,
  PROCESSOR_TYPE,
  TEMPERATURE_CURRENT,
  TEMPERATURE_TYPE,
  UNREADABLE_U32,
} from "./ffi.ts";

/**
 * What to do when AMD SMI cannot be used: the driver, ROCm and the groups
 * that open `/dev/kfd` and `/dev/dri/renderD*`.
 */
export const AMDSMI_FIX: string =
  "check that the amdgpu driver is loaded and 'amd-smi list' works, " +
  "and that this user is in the 'render' and 'video' groups " +
  "(sudo usermod -aG render,video $USER, then log in again)";

/**
 * An AMD SMI call returned an error status.
 *
 * @example Usage
 * ```ts
 * import { AmdSmiError } from "./amdsmi_library.ts";
 * const error = new AmdSmiError("amdsmi_init", 10, "AMDSMI_STATUS_NO_PERM - Permission Denied");
 * console.log(error.message); // "amdsmi_init failed: AMDSMI_STATUS_NO_PERM - Permission Denied"
 * ```
 */
export class AmdSmiError extends Error {
  /** The AMD SMI function that failed. */
  readonly call: string;
  /** Its `amdsmi_status_t` value. */
  readonly code: number;
  /** The library that answered, when known (set for `amdsmi_init` failures). */
  libraryPath?: string;

  /**
   * Creates the error.
   *
   * @param call The AMD SMI function that failed.
   * @param code Its status.
   * @param description AMD SMI's text for the status (`amdsmi_status_code_to_string`).
   * @param options The standard `cause`.
   */
  constructor(call: string, code: number, description: string, options: ErrorOptions = {}) {
    super(`${call} failed: ${description}`, options);
    this.name = "AmdSmiError";
    this.call = call;
    this.code = code;
  }

  /** The call is not supported by this GPU (`AMDSMI_STATUS_NOT_SUPPORTED`). */
  get notSupported(): boolean {
    return this.code === AMDSMI_STATUS.NOT_SUPPORTED ||
      this.code === AMDSMI_STATUS.NOT_YET_IMPLEMENTED;
  }
}

/**
 * `libamd_smi.so` could not be loaded (no ROCm, or a library missing a
 * required symbol).
 *
 * @example Usage
 * ```ts
 * import { AmdSmiLoadError } from "./amdsmi_library.ts";
 * const error = new AmdSmiLoadError(["libamd_smi.so"], "cannot open shared object file");
 * console.log(error.paths); // [ "libamd_smi.so" ]
 * ```
 */
export class AmdSmiLoadError extends Error {
  /** The paths or names given to `dlopen`, in order. */
  readonly paths: readonly string[];

  /**
   * Creates the error; the message says where the library comes from and
   * how to point the profiler at it.
   *
   * @param paths The paths or names given to `dlopen`.
   * @param reason What `dlopen` reported for the last one.
   * @param options The standard `cause`.
   */
  constructor(paths: readonly string[], reason: string, options: ErrorOptions = {}) {
    super(
      `cannot load ${paths.join(" or ")}: ${reason}; ${AMDSMI_LIBRARY_NAME} comes with ROCm ` +
        `(the amd-smi-lib package, in /opt/rocm/lib; set ${AMDSMI_PATH_ENV} to load it ` +
        `from elsewhere)`,
      options,
    );
    this.name = "AmdSmiLoadError";
    this.paths = paths;
  }
}

/** Options of {@linkcode AmdSmiLibrary.open}. */
export interface AmdSmiOpenOptions {
  /**
   * Library to load. Default: `$JOULE_PROFILER_AMDSMI_PATH` when set, else
   * `libamd_smi.so` from the dynamic linker's search path, else
   * `/opt/rocm/lib/libamd_smi.so`.
   */
  path?: string;
}

/** The library paths to try, in order. */
function candidatePaths(path: string | undefined): string[] {
  if (path !== undefined) return [path];
  try {
    const fromEnv = Deno.env.get(AMDSMI_PATH_ENV);
    if (fromEnv !== undefined && fromEnv !== "") return [fromEnv];
  } catch (error) {
    // Without env permission the default library is still usable.
    if (!(error instanceof Deno.errors.NotCapable)) throw error;
  }
  return [AMDSMI_LIBRARY_NAME, AMDSMI_ROCM_PATH];
}

const decoder = new TextDecoder();

/** The symbols of a library, for {@linkcode AmdSmiGpu} only (set in a static block). */
let symbolsOf: (library: AmdSmiLibrary) => AmdSmiSymbols;

/** An `amdsmi_processor_handle` with the position AMD SMI enumerated it at. */
interface ProcessorHandle {
  handle: Deno.PointerValue;
}

/**
 * The loaded and initialised AMD SMI library.
 *
 * Every successful `amdsmi_init` this object makes is matched by one
 * `amdsmi_shut_down` in {@linkcode AmdSmiLibrary.shutdown}.
 *
 * @example Usage
 * ```ts
 * import { AmdSmiLibrary } from "./amdsmi_library.ts";
 * const amdsmi = AmdSmiLibrary.open();
 * for (const gpu of amdsmi.gpus()) console.log(gpu.index, gpu.marketName(), gpu.pciBusId());
 * amdsmi.close();
 * ```
 */
export class AmdSmiLibrary {
  readonly #library: Deno.DynamicLibrary<typeof AMDSMI_SYMBOLS>;
  readonly #symbols: AmdSmiSymbols;
  /** Where the library was loaded from. */
  readonly path: string;
  #initialized = false;
  #closed = false;
  readonly #count = new Uint32Array(1);
  readonly #type = new Uint32Array(1);
  readonly #string = new BigUint64Array(1);

  private constructor(library: Deno.DynamicLibrary<typeof AMDSMI_SYMBOLS>, path: string) {
    this.#library = library;
    this.#symbols = library.symbols;
    this.path = path;
  }

  /**
   * Loads the library and initialises it for AMD GPUs
   * (`amdsmi_init(AMDSMI_INIT_AMD_GPUS)`).
   *
   * @param options Which library to load.
   * @returns The initialised library.
   * @throws {AmdSmiLoadError} When the library cannot be loaded.
   * @throws {AmdSmiError} When `amdsmi_init` fails.
   */
  static open(options: AmdSmiOpenOptions = {}): AmdSmiLibrary {
    const paths = candidatePaths(options.path);
    let library: Deno.DynamicLibrary<typeof AMDSMI_SYMBOLS> | undefined;
    let path = paths[0]!;
    let reason = "";
    let cause: unknown;
    for (const candidate of paths) {
      try {
        library = Deno.dlopen(candidate, AMDSMI_SYMBOLS);
        path = candidate;
        break;
      } catch (error) {
        if (error instanceof Deno.errors.NotCapable) throw error;
        cause = error;
        // Deno says "Could not open library: " (twice in 2.9) before dlerror's "<path>: <reason>".
        reason = (error as Error).message
          .replace(/^(Could not open library: )+/, "")
          .replace(`${candidate}: `, "");
      }
    }
    if (library === undefined) throw new AmdSmiLoadError(paths, reason, { cause });
    const amdsmi = new AmdSmiLibrary(library, path);
    try {
      amdsmi.init();
    } catch (error) {
      library.close();
      if (error instanceof AmdSmiError) error.libraryPath = path;
      throw error;
    }
    return amdsmi;
  }

  static {
    symbolsOf = (library) => library.#symbols;
  }

  /** Whether AMD SMI is initialised by this object (between `init` and `shutdown`). */
  get initialized(): boolean {
    return this.#initialized;
  }

  /**
   * Initialises AMD SMI again after {@linkcode AmdSmiLibrary.shutdown};
   * does nothing when already initialised.
   *
   * @throws {AmdSmiError} When `amdsmi_init` fails.
   */
  init(): void {
    if (this.#initialized) return;
    if (this.#closed) throw new Error("AMD SMI library already closed");
    this.unwrap(this.#symbols.amdsmi_init(AMDSMI_INIT_AMD_GPUS), "amdsmi_init");
    this.#initialized = true;
  }

  /**
   * AMD SMI's description of a status (`amdsmi_status_code_to_string`).
   *
   * @param code An `amdsmi_status_t` value.
   * @returns The text, e.g. "AMDSMI_STATUS_NO_PERM - Permission Denied".
   */
  statusString(code: number): string {
    this.#string[0] = 0n;
    const status = this.#symbols.amdsmi_status_code_to_string(code, this.#string);
    const pointer = Deno.UnsafePointer.create(this.#string[0]!);
    return status !== AMDSMI_STATUS.SUCCESS || pointer === null
      ? `AMD SMI status ${code}`
      : Deno.UnsafePointerView.getCString(pointer);
  }

  /**
   * Throws an {@linkcode AmdSmiError} unless `code` is `AMDSMI_STATUS_SUCCESS`.
   *
   * @param code The call's status.
   * @param call The AMD SMI function, for the message.
   */
  unwrap(code: number, call: string): void {
    if (code !== AMDSMI_STATUS.SUCCESS) {
      throw new AmdSmiError(call, code, this.statusString(code));
    }
  }

  /**
   * The AMD GPUs, in AMD SMI's order (sockets, then the processors of each
   * socket): the order `amd-smi list` numbers them in. Handles are valid
   * until {@linkcode AmdSmiLibrary.shutdown}.
   *
   * @returns One {@linkcode AmdSmiGpu} per GPU, indexed from 0.
   */
  gpus(): AmdSmiGpu[] {
    const gpus: AmdSmiGpu[] = [];
    for (const socket of this.#handles(null)) {
      for (const processor of this.#handles(socket.handle)) {
        const code = this.#symbols.amdsmi_get_processor_type(processor.handle, this.#type);
        this.unwrap(code, "amdsmi_get_processor_type");
        if (this.#type[0] === PROCESSOR_TYPE.AMD_GPU) {
          gpus.push(new AmdSmiGpu(this, gpus.length, processor.handle));
        }
      }
    }
    return gpus;
  }

  /** Socket handles (`socket` null) or the processor handles of a socket. */
  #handles(socket: Deno.PointerValue | null): ProcessorHandle[] {
    const call = socket === null ? "amdsmi_get_socket_handles" : "amdsmi_get_processor_handles";
    const list = (handles: BigUint64Array<ArrayBuffer> | null) =>
      socket === null
        ? this.#symbols.amdsmi_get_socket_handles(this.#count, handles)
        : this.#symbols.amdsmi_get_processor_handles(socket, this.#count, handles);
    this.#count[0] = 0;
    this.unwrap(list(null), call);
    if (this.#count[0] === 0) return [];
    const handles = new BigUint64Array(this.#count[0]!);
    this.unwrap(list(handles), call);
    return Array.from(
      handles.subarray(0, Math.min(handles.length, this.#count[0]!)),
      (value) => ({ handle: Deno.UnsafePointer.create(value) }),
    );
  }

  /** Ends this object's AMD SMI initialisation (`amdsmi_shut_down`); idempotent. */
  shutdown(): void {
    if (!this.#initialized) return;
    this.#initialized = false;
    this.unwrap(this.#symbols.amdsmi_shut_down(), "amdsmi_shut_down");
  }

  /** Shuts AMD SMI down and unloads the library; idempotent. */
  close(): void {
    if (this.#closed) return;
    try {
      this.shutdown();
    } finally {
      this.#closed = true;
      this.#library.close();
    }
  }
}

/** Out-parameters, reused: 64-bit values are read as two 32-bit words, without BigInt. */
const energyOut = new BigUint64Array(1);
const energyWords = new Uint32Array(energyOut.buffer);
const resolutionOut = new Float32Array(1);
const timestampOut = new BigUint64Array(1);
const timestampWords = new Uint32Array(timestampOut.buffer);
const powerInfo = new Uint32Array(POWER_INFO.WORDS);
const engineUsage = new Uint32Array(ENGINE_USAGE.WORDS);
const memoryOut = new BigUint64Array(1);
const memoryWords = new Uint32Array(memoryOut.buffer);
const temperatureOut = new BigInt64Array(1);
const temperatureWords = new Int32Array(temperatureOut.buffer);

/** Width of one energy reading in the `target` of {@linkcode AmdSmiGpu.readEnergy}. */
export const ENERGY_READING_WIDTH = 4;

/**
 * One AMD GPU, by its processor handle. The reading methods allocate
 * nothing unless they fail.
 *
 * @example Usage
 * ```ts
 * import { AmdSmiLibrary } from "./amdsmi_library.ts";
 * const amdsmi = AmdSmiLibrary.open();
 * const gpu = amdsmi.gpus()[0]!;
 * const reading = new Float64Array(4);
 * gpu.readEnergy(reading, 0); // counts (low, high word), µJ per count, timestamp ns
 * console.log(gpu.marketName(), (reading[1]! * 2 ** 32 + reading[0]!) * reading[2]!, "µJ");
 * amdsmi.close();
 * ```
 */
export class AmdSmiGpu {
  /** Its position among the AMD GPUs (as `amd-smi list` numbers them). */
  readonly index: number;
  readonly #library: AmdSmiLibrary;
  readonly #symbols: AmdSmiSymbols;
  readonly #handle: Deno.PointerValue;

  /**
   * Wraps a handle; use {@linkcode AmdSmiLibrary.gpus} to get one.
   *
   * @param library The library the handle belongs to.
   * @param index The GPU's position among the AMD GPUs.
   * @param handle Its `amdsmi_processor_handle`.
   */
  constructor(library: AmdSmiLibrary, index: number, handle: Deno.PointerValue) {
    this.#library = library;
    this.#symbols = symbolsOf(library);
    this.index = index;
    this.#handle = handle;
  }

  /**
   * The product name (`market_name` of `amdsmi_get_gpu_asic_info`), e.g.
   * "AMD Instinct MI300X".
   *
   * @returns The name.
   */
  marketName(): string {
    const info = new Uint8Array(ASIC_INFO_SIZE);
    this.#library.unwrap(
      this.#symbols.amdsmi_get_gpu_asic_info(this.#handle, info),
      "amdsmi_get_gpu_asic_info",
    );
    const name = info.subarray(0, MARKET_NAME_LENGTH);
    const end = name.indexOf(0);
    return decoder.decode(name.subarray(0, end === -1 ? name.length : end)).trim();
  }

  /**
   * The PCI address (`amdsmi_get_gpu_device_bdf`), e.g. "0000:c1:00.0".
   *
   * @returns domain:bus:device.function, in hexadecimal.
   */
  pciBusId(): string {
    const bdf = new BigUint64Array(1);
    this.#library.unwrap(
      this.#symbols.amdsmi_get_gpu_device_bdf(this.#handle, bdf),
      "amdsmi_get_gpu_device_bdf",
    );
    return formatBdf(bdf[0]!);
  }

  /**
   * Whether the GPU reports its energy accumulator: the call does not
   * answer `AMDSMI_STATUS_NOT_SUPPORTED` (as on virtual machine guests).
   *
   * @returns `true` when {@linkcode AmdSmiGpu.readEnergy} works.
   * @throws {AmdSmiError} For errors other than "not supported".
   */
  hasEnergyCounter(): boolean {
    const code = this.#symbols.amdsmi_get_energy_count(
      this.#handle,
      energyOut,
      resolutionOut,
      timestampOut,
    );
    if (code === AMDSMI_STATUS.NOT_SUPPORTED || code === AMDSMI_STATUS.NOT_YET_IMPLEMENTED) {
      return false;
    }
    this.#library.unwrap(code, "amdsmi_get_energy_count");
    return true;
  }

  /**
   * Reads the energy accumulator (`amdsmi_get_energy_count`) into
   * `target[offset…offset + 3]`: the count's low and high 32-bit words
   * (exact), the counter resolution in µJ per count, and the reading's
   * timestamp in ns.
   *
   * @param target Storage for the four numbers.
   * @param offset Index of the first.
   * @throws {AmdSmiError} When the read fails.
   */
  readEnergy(target: Float64Array, offset: number): void {
    const code = this.#symbols.amdsmi_get_energy_count(
      this.#handle,
      energyOut,
      resolutionOut,
      timestampOut,
    );
    if (code !== AMDSMI_STATUS.SUCCESS) this.#library.unwrap(code, "amdsmi_get_energy_count");
    target[offset] = energyWords[0]!;
    target[offset + 1] = energyWords[1]!;
    target[offset + 2] = resolutionOut[0]!;
    target[offset + 3] = timestampWords[1]! * 2 ** 32 + timestampWords[0]!;
  }

  /**
   * The socket power in W (`amdsmi_get_power_info`): `current_socket_power`
   * where the GPU reports it (MI300 and later), else `average_socket_power`.
   *
   * @returns Watts (whole watts: the library's resolution).
   * @throws {AmdSmiError} When the read fails or neither field is readable.
   */
  powerWatts(): number {
    const code = this.#symbols.amdsmi_get_power_info(this.#handle, powerInfo);
    if (code !== AMDSMI_STATUS.SUCCESS) this.#library.unwrap(code, "amdsmi_get_power_info");
    const current = powerInfo[POWER_INFO.CURRENT_SOCKET_POWER]!;
    if (current !== UNREADABLE_U32 && current !== 0) return current;
    const average = powerInfo[POWER_INFO.AVERAGE_SOCKET_POWER]!;
    if (average !== UNREADABLE_U32) return average;
    throw new AmdSmiError(
      "amdsmi_get_power_info",
      AMDSMI_STATUS.NOT_SUPPORTED,
      "neither current_socket_power nor average_socket_power is readable",
    );
  }

  /**
   * Graphics engine activity in % (`gfx_activity` of `amdsmi_get_gpu_activity`).
   *
   * @returns Percent busy.
   * @throws {AmdSmiError} When the read fails.
   */
  gfxActivity(): number {
    const code = this.#symbols.amdsmi_get_gpu_activity(this.#handle, engineUsage);
    if (code !== AMDSMI_STATUS.SUCCESS) this.#library.unwrap(code, "amdsmi_get_gpu_activity");
    return engineUsage[ENGINE_USAGE.GFX_ACTIVITY]!;
  }

  /**
   * VRAM in use, in bytes (`amdsmi_get_gpu_memory_usage(…, VRAM, …)`).
   *
   * @returns Bytes.
   * @throws {AmdSmiError} When the read fails.
   */
  vramUsedBytes(): number {
    const code = this.#symbols.amdsmi_get_gpu_memory_usage(
      this.#handle,
      MEMORY_TYPE_VRAM,
      memoryOut,
    );
    if (code !== AMDSMI_STATUS.SUCCESS) {
      this.#library.unwrap(code, "amdsmi_get_gpu_memory_usage");
    }
    return memoryWords[1]! * 2 ** 32 + memoryWords[0]!;
  }

  /**
   * The current temperature of a sensor in °C (`amdsmi_get_temp_metric`).
   *
   * @param sensor `TEMPERATURE_TYPE.EDGE` (default) or `TEMPERATURE_TYPE.JUNCTION`.
   * @returns Degrees Celsius.
   * @throws {AmdSmiError} When the sensor cannot be read.
   */
  temperatureCelsius(sensor: number = TEMPERATURE_TYPE.EDGE): number {
    const code = this.#symbols.amdsmi_get_temp_metric(
      this.#handle,
      sensor,
      TEMPERATURE_CURRENT,
      temperatureOut,
    );
    if (code !== AMDSMI_STATUS.SUCCESS) this.#library.unwrap(code, "amdsmi_get_temp_metric");
    // int64_t °C: the low word, signed, holds every real temperature.
    return temperatureWords[0]!;
  }
}

/**
 * Formats an `amdsmi_bdf_t` (function bits 0–2, device 3–7, bus 8–15,
 * domain 16–63) as `domain:bus:device.function`.
 *
 * @param bdf The union's `as_uint`.
 * @returns E.g. "0000:c1:00.0".
 *
 * @example Usage
 * ```ts
 * import { formatBdf } from "./amdsmi_library.ts";
 * console.log(formatBdf(0xc100n)); // "0000:c1:00.0"
 * ```
 */
export function formatBdf(bdf: bigint): string {
  const hex = (value: bigint, width: number) => value.toString(16).padStart(width, "0");
  return `${hex(bdf >> 16n, 4)}:${hex((bdf >> 8n) & 0xffn, 2)}:${hex((bdf >> 3n) & 0x1fn, 2)}.${
    hex(bdf & 7n, 1)
  }`;
}
