/**
 * A thin wrapper over NVML: {@linkcode NvmlLibrary} owns the loaded library
 * and its initialisation, {@linkcode NvmlDevice} owns a device handle, and
 * every `nvmlReturn_t` other than success becomes an {@linkcode NvmlError}
 * carrying NVML's own message.
 *
 * @module
 */

import {
  NVML_LIBRARY_NAME,
  NVML_PATH_ENV,
  NVML_RETURN,
  NVML_STRING_BUFFER_SIZE,
  NVML_SYMBOLS,
  type NvmlSymbols,
} from "./ffi.ts";

/**
 * An NVML call returned an error code.
 *
 * @example Usage
 * ```ts
 * import { NvmlError } from "./nvml_library.ts";
 * const error = new NvmlError("nvmlInit_v2", 9, "Driver Not Loaded");
 * console.log(error.message); // "nvmlInit_v2 failed: Driver Not Loaded"
 * ```
 */
export class NvmlError extends Error {
  /** The NVML function that failed. */
  readonly call: string;
  /** Its `nvmlReturn_t` value. */
  readonly code: number;

  /**
   * Creates the error.
   *
   * @param call The NVML function that failed.
   * @param code Its return code.
   * @param description NVML's text for the code (`nvmlErrorString`).
   * @param options The standard `cause`.
   */
  constructor(call: string, code: number, description: string, options: ErrorOptions = {}) {
    super(`${call} failed: ${description}`, options);
    this.name = "NvmlError";
    this.call = call;
    this.code = code;
  }

  /** The call is not supported by this device (`NVML_ERROR_NOT_SUPPORTED`). */
  get notSupported(): boolean {
    return this.code === NVML_RETURN.NOT_SUPPORTED;
  }
}

/**
 * `libnvidia-ml.so.1` could not be loaded (no NVIDIA driver, or a library
 * missing a required symbol).
 *
 * @example Usage
 * ```ts
 * import { NvmlLoadError } from "./nvml_library.ts";
 * const error = new NvmlLoadError("libnvidia-ml.so.1", "cannot open shared object file");
 * console.log(error.path); // "libnvidia-ml.so.1"
 * ```
 */
export class NvmlLoadError extends Error {
  /** The path or name given to `dlopen`. */
  readonly path: string;

  /**
   * Creates the error; the message says where the library comes from and
   * how to point the profiler at it.
   *
   * @param path The path or name given to `dlopen`.
   * @param reason What `dlopen` reported.
   * @param options The standard `cause`.
   */
  constructor(path: string, reason: string, options: ErrorOptions = {}) {
    super(
      `cannot load ${path}: ${reason}; ${NVML_LIBRARY_NAME} comes with the NVIDIA driver ` +
        `(set ${NVML_PATH_ENV} to load it from elsewhere)`,
      options,
    );
    this.name = "NvmlLoadError";
    this.path = path;
  }
}

/** Options of {@linkcode NvmlLibrary.open}. */
export interface NvmlOpenOptions {
  /**
   * Library to load. Default: `$JOULE_PROFILER_NVML_PATH` when set, else
   * `libnvidia-ml.so.1` from the dynamic linker's search path.
   */
  path?: string;
}

/** The library path the environment asks for, or the default name. */
function defaultPath(): string {
  try {
    const path = Deno.env.get(NVML_PATH_ENV);
    if (path !== undefined && path !== "") return path;
  } catch (error) {
    // Without env permission the default library is still usable.
    if (!(error instanceof Deno.errors.NotCapable)) throw error;
  }
  return NVML_LIBRARY_NAME;
}

const decoder = new TextDecoder();

/** The symbols of a library, for {@linkcode NvmlDevice} only (set in a static block). */
let symbolsOf: (nvml: NvmlLibrary) => NvmlSymbols;

/**
 * The loaded and initialised NVML library.
 *
 * NVML counts initialisations: every successful `nvmlInit_v2` this object
 * makes is matched by one `nvmlShutdown` in {@linkcode NvmlLibrary.shutdown}.
 *
 * @example Usage
 * ```ts
 * import { NvmlLibrary } from "./nvml_library.ts";
 * const nvml = NvmlLibrary.open();
 * for (let index = 0; index < nvml.deviceCount(); index++) {
 *   const device = nvml.device(index);
 *   console.log(index, device.name(), device.uuid());
 * }
 * nvml.close();
 * ```
 */
export class NvmlLibrary {
  readonly #library: Deno.DynamicLibrary<typeof NVML_SYMBOLS>;
  readonly #symbols: NvmlSymbols;
  /** Where the library was loaded from. */
  readonly path: string;
  #initialized = false;
  #closed = false;
  readonly #count = new Uint32Array(1);
  readonly #handle = new BigUint64Array(1);

  private constructor(library: Deno.DynamicLibrary<typeof NVML_SYMBOLS>, path: string) {
    this.#library = library;
    this.#symbols = library.symbols;
    this.path = path;
  }

  /**
   * Loads the library and initialises NVML (`nvmlInit_v2`).
   *
   * @param options Which library to load.
   * @returns The initialised library.
   * @throws {NvmlLoadError} When the library cannot be loaded.
   * @throws {NvmlError} When `nvmlInit_v2` fails (e.g. "Driver Not Loaded").
   */
  static open(options: NvmlOpenOptions = {}): NvmlLibrary {
    const path = options.path ?? defaultPath();
    let library: Deno.DynamicLibrary<typeof NVML_SYMBOLS>;
    try {
      library = Deno.dlopen(path, NVML_SYMBOLS);
    } catch (error) {
      if (error instanceof Deno.errors.NotCapable) throw error;
      // Deno says "Could not open library: " (twice in 2.9) before dlerror's "<path>: <reason>".
      const reason = (error as Error).message
        .replace(/^(Could not open library: )+/, "")
        .replace(`${path}: `, "");
      throw new NvmlLoadError(path, reason, { cause: error });
    }
    const nvml = new NvmlLibrary(library, path);
    try {
      nvml.init();
    } catch (error) {
      library.close();
      throw error;
    }
    return nvml;
  }

  /** Whether NVML is initialised by this object (between `init` and `shutdown`). */
  get initialized(): boolean {
    return this.#initialized;
  }

  static {
    symbolsOf = (nvml) => nvml.#symbols;
  }

  /**
   * Initialises NVML again after {@linkcode NvmlLibrary.shutdown}; does
   * nothing when already initialised.
   *
   * @throws {NvmlError} When `nvmlInit_v2` fails.
   */
  init(): void {
    if (this.#initialized) return;
    if (this.#closed) throw new Error("NVML library already closed");
    this.unwrap(this.#symbols.nvmlInit_v2(), "nvmlInit_v2");
    this.#initialized = true;
  }

  /**
   * NVML's description of a return code (`nvmlErrorString`).
   *
   * @param code An `nvmlReturn_t` value.
   * @returns The text, e.g. "Driver Not Loaded".
   */
  errorString(code: number): string {
    const pointer = this.#symbols.nvmlErrorString(code);
    return pointer === null ? `NVML error ${code}` : Deno.UnsafePointerView.getCString(pointer);
  }

  /**
   * Throws an {@linkcode NvmlError} unless `code` is `NVML_SUCCESS`.
   *
   * @param code The call's return value.
   * @param call The NVML function, for the message.
   */
  unwrap(code: number, call: string): void {
    if (code !== NVML_RETURN.SUCCESS) throw new NvmlError(call, code, this.errorString(code));
  }

  /**
   * Number of GPUs NVML sees (`nvmlDeviceGetCount_v2`), including those the
   * current user may not access.
   *
   * @returns The count.
   */
  deviceCount(): number {
    this.unwrap(this.#symbols.nvmlDeviceGetCount_v2(this.#count), "nvmlDeviceGetCount_v2");
    return this.#count[0]!;
  }

  /**
   * The handle of GPU `index` (`nvmlDeviceGetHandleByIndex_v2`). Handles
   * are valid until {@linkcode NvmlLibrary.shutdown}.
   *
   * @param index NVML index (PCI bus order, not CUDA's default order).
   * @returns The device.
   */
  device(index: number): NvmlDevice {
    this.unwrap(
      this.#symbols.nvmlDeviceGetHandleByIndex_v2(index, this.#handle),
      "nvmlDeviceGetHandleByIndex_v2",
    );
    return new NvmlDevice(this, index, Deno.UnsafePointer.create(this.#handle[0]!));
  }

  /** Ends this object's NVML initialisation (`nvmlShutdown`); idempotent. */
  shutdown(): void {
    if (!this.#initialized) return;
    this.#initialized = false;
    this.unwrap(this.#symbols.nvmlShutdown(), "nvmlShutdown");
  }

  /** Shuts NVML down and unloads the library; idempotent. */
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

/** Out-parameter of the energy call, reused: its two 32-bit words are read without BigInt. */
const energyOut = new BigUint64Array(1);
const energyWords = new Uint32Array(energyOut.buffer);
/** Out-parameter of the power call, reused. */
const powerOut = new Uint32Array(1);

/**
 * One GPU, by its NVML handle. The reading methods allocate nothing unless
 * they fail.
 *
 * @example Usage
 * ```ts
 * import { NvmlLibrary } from "./nvml_library.ts";
 * const nvml = NvmlLibrary.open();
 * const device = nvml.device(0);
 * const counter = new Float64Array(2);
 * device.readTotalEnergy(counter, 0); // mJ: low word, high word
 * console.log(device.name(), counter[1]! * 2 ** 32 + counter[0]!, "mJ since driver load");
 * nvml.close();
 * ```
 */
export class NvmlDevice {
  /** Its NVML index. */
  readonly index: number;
  readonly #nvml: NvmlLibrary;
  readonly #symbols: NvmlSymbols;
  readonly #handle: Deno.PointerValue;

  /**
   * Wraps a handle; use {@linkcode NvmlLibrary.device} to get one.
   *
   * @param nvml The library the handle belongs to.
   * @param index The device's NVML index.
   * @param handle Its `nvmlDevice_t`.
   */
  constructor(nvml: NvmlLibrary, index: number, handle: Deno.PointerValue) {
    this.#nvml = nvml;
    this.#symbols = symbolsOf(nvml);
    this.index = index;
    this.#handle = handle;
  }

  /**
   * The product name (`nvmlDeviceGetName`), e.g. "NVIDIA H100 80GB HBM3".
   *
   * @returns The name.
   */
  name(): string {
    return this.#string(
      (buffer) => this.#symbols.nvmlDeviceGetName(this.#handle, buffer, buffer.length),
      "nvmlDeviceGetName",
    );
  }

  /**
   * The globally unique id (`nvmlDeviceGetUUID`), e.g. "GPU-5ab2…".
   *
   * @returns The UUID.
   */
  uuid(): string {
    return this.#string(
      (buffer) => this.#symbols.nvmlDeviceGetUUID(this.#handle, buffer, buffer.length),
      "nvmlDeviceGetUUID",
    );
  }

  #string(call: (buffer: Uint8Array) => number, name: string): string {
    const buffer = new Uint8Array(NVML_STRING_BUFFER_SIZE);
    this.#nvml.unwrap(call(buffer), name);
    const end = buffer.indexOf(0);
    return decoder.decode(buffer.subarray(0, end === -1 ? buffer.length : end));
  }

  /**
   * Whether the device has the total-energy counter (Volta and later): the
   * symbol exists and the call does not answer `NVML_ERROR_NOT_SUPPORTED`.
   *
   * @returns `true` when {@linkcode NvmlDevice.readTotalEnergy} works.
   * @throws {NvmlError} For errors other than "Not Supported".
   */
  hasEnergyCounter(): boolean {
    const call = this.#symbols.nvmlDeviceGetTotalEnergyConsumption;
    if (call === null) return false;
    const code = call(this.#handle, energyOut);
    if (code === NVML_RETURN.NOT_SUPPORTED) return false;
    this.#nvml.unwrap(code, "nvmlDeviceGetTotalEnergyConsumption");
    return true;
  }

  /**
   * Reads the energy counter (mJ since the driver was loaded, an unsigned
   * 64-bit value) into `target[offset]` (low 32 bits) and
   * `target[offset + 1]` (high 32 bits), exactly.
   *
   * @param target Storage for the two words.
   * @param offset Index of the low word.
   * @throws {NvmlError} When the read fails.
   */
  readTotalEnergy(target: Float64Array, offset: number): void {
    const code = this.#symbols.nvmlDeviceGetTotalEnergyConsumption!(this.#handle, energyOut);
    if (code !== NVML_RETURN.SUCCESS) {
      this.#nvml.unwrap(code, "nvmlDeviceGetTotalEnergyConsumption");
    }
    target[offset] = energyWords[0]!;
    target[offset + 1] = energyWords[1]!;
  }

  /**
   * Starts reading the energy counter on a worker thread and returns at
   * once; the promise settles with the counter's low and high 32-bit words
   * in `target` once NVML answers. The real call takes milliseconds, so a
   * boundary never waits for it.
   *
   * @param target Receives the counter (two 32-bit words, little-endian);
   * keep it alive until the promise settles.
   * @returns Settles when `target` holds the reading.
   * @throws {NvmlError} (through the promise) When the read fails.
   */
  readTotalEnergyOffThread(target: Uint32Array<ArrayBuffer>): Promise<void> {
    const call = this.#symbols.nvmlDeviceGetTotalEnergyConsumptionOffThread;
    if (call === null) {
      return Promise.reject(
        new Error("nvmlDeviceGetTotalEnergyConsumption is missing from this NVML"),
      );
    }
    return call(this.#handle, target).then((code) => {
      if (code !== NVML_RETURN.SUCCESS) {
        this.#nvml.unwrap(code, "nvmlDeviceGetTotalEnergyConsumption");
      }
    });
  }

  /**
   * The power draw in mW (`nvmlDeviceGetPowerUsage`). How it is averaged
   * depends on the GPU generation.
   *
   * @returns Milliwatts.
   * @throws {NvmlError} When the read fails.
   */
  powerMilliwatts(): number {
    const code = this.#symbols.nvmlDeviceGetPowerUsage(this.#handle, powerOut);
    if (code !== NVML_RETURN.SUCCESS) this.#nvml.unwrap(code, "nvmlDeviceGetPowerUsage");
    return powerOut[0]!;
  }
}
