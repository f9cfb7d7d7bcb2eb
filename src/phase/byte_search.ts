/**
 * Byte searches over one chunk of program output, 16 bytes at a time:
 * counting newlines and finding a token pattern's first bytes are most of
 * the cost of scanning output, and `Uint8Array.prototype.indexOf` goes one
 * byte at a time (0.26 ns a byte on the 2-core VM the report ran on, about
 * a quarter of a `| cat` pipe's whole budget).
 *
 * The searches run in a tiny WebAssembly module with 128-bit SIMD, assembled
 * instruction by instruction in `byte_search_assembly.ts`; a plain JavaScript
 * version with the same results stands in where WebAssembly cannot be
 * compiled.
 *
 * @module
 */

/** Searches over the chunk last given to {@linkcode ByteSearch.load}. */
export interface ByteSearch {
  /**
   * Makes `bytes` the chunk the other methods search (indices are positions in it).
   *
   * @param bytes The chunk.
   */
  load(bytes: Uint8Array): void;
  /**
   * A place to put the next chunk so that {@linkcode ByteSearch.load} of
   * `space.subarray(0, n)` searches it where it lies, without a copy. Valid
   * until the next call of `space` (a larger one may move it).
   *
   * @param length Bytes it must hold.
   * @returns A view of at least `length` bytes.
   */
  space(length: number): Uint8Array;
  /**
   * How many times `byte` occurs in `[from, to)`.
   *
   * @param byte The byte value.
   * @param from First position.
   * @param to End position (exclusive).
   * @returns The count.
   */
  count(byte: number, from: number, to: number): number;
  /**
   * First position of `byte` in `[from, to)`.
   *
   * @param byte The byte value.
   * @param from First position.
   * @param to End position (exclusive).
   * @returns Its position, or -1.
   */
  indexOf(byte: number, from: number, to: number): number;
  /**
   * First position `i` in `[from, to - 1)` where `first` is followed by `second`.
   *
   * @param first The byte at `i`.
   * @param second The byte at `i + 1`.
   * @param from First position.
   * @param to End position (exclusive): both bytes lie before it.
   * @returns The position, or -1.
   */
  indexOfPair(first: number, second: number, from: number, to: number): number;
}

/**
 * Creates a byte search: SIMD WebAssembly when the runtime compiles it,
 * otherwise plain JavaScript. Each instance owns its memory.
 *
 * @returns A search with nothing loaded.
 *
 * @example Usage
 * ```ts
 * import { createByteSearch } from "./byte_search.ts";
 * const search = createByteSearch();
 * const bytes = new TextEncoder().encode("a\nb __X__\n");
 * search.load(bytes);
 * console.log(search.count(10, 0, bytes.length), search.indexOfPair(95, 95, 0, bytes.length)); // 2 4
 * ```
 */
export function createByteSearch(): ByteSearch {
  const module = simdModule();
  return module === undefined ? new PlainByteSearch() : new SimdByteSearch(module);
}

/** Searches in plain JavaScript, on the loaded chunk itself. */
export class PlainByteSearch implements ByteSearch {
  #bytes: Uint8Array = new Uint8Array(0);
  #space: Uint8Array = new Uint8Array(0);

  /**
   * Makes `bytes` the chunk to search (kept by reference, not copied).
   *
   * @param bytes The chunk.
   */
  load(bytes: Uint8Array): void {
    this.#bytes = bytes;
  }

  /**
   * A buffer of its own (the chunk is searched in place wherever it lies).
   *
   * @param length Bytes it must hold.
   * @returns A view of `length` bytes.
   */
  space(length: number): Uint8Array {
    if (this.#space.length < length) this.#space = new Uint8Array(length);
    return this.#space.subarray(0, length);
  }

  /**
   * Counts `byte` in `[from, to)`.
   *
   * @param byte The byte value.
   * @param from First position.
   * @param to End position (exclusive).
   * @returns The count.
   */
  count(byte: number, from: number, to: number): number {
    const bytes = this.#bytes;
    let count = 0;
    for (let i = bytes.indexOf(byte, from); i !== -1 && i < to; i = bytes.indexOf(byte, i + 1)) {
      count++;
    }
    return count;
  }

  /**
   * Finds `byte` in `[from, to)`.
   *
   * @param byte The byte value.
   * @param from First position.
   * @param to End position (exclusive).
   * @returns Its position, or -1.
   */
  indexOf(byte: number, from: number, to: number): number {
    const at = this.#bytes.indexOf(byte, from);
    return at < to ? at : -1;
  }

  /**
   * Finds `first` followed by `second` in `[from, to - 1)`.
   *
   * @param first The byte at the position.
   * @param second The byte after it.
   * @param from First position.
   * @param to End position (exclusive).
   * @returns The position, or -1.
   */
  indexOfPair(first: number, second: number, from: number, to: number): number {
    const bytes = this.#bytes;
    for (
      let at = bytes.indexOf(first, from);
      at !== -1 && at < to - 1;
      at = bytes.indexOf(first, at + 1)
    ) {
      if (bytes[at + 1] === second) return at;
    }
    return -1;
  }
}

interface SimdExports {
  memory: WebAssembly.Memory;
  count(from: number, to: number, byte: number): number;
  find(from: number, to: number, byte: number): number;
  findPair(from: number, to: number, first: number, second: number): number;
}

/** Bytes the SIMD loops may read past the end of the chunk (their last 16-byte load). */
const SLACK = 32;
const PAGE = 65536;

/**
 * Searches with WebAssembly SIMD in the module's memory: on a copy of the
 * chunk, or on the chunk itself when it was read into {@linkcode space}.
 */
class SimdByteSearch implements ByteSearch {
  readonly #exports: SimdExports;
  #view: Uint8Array;

  constructor(module: WebAssembly.Module) {
    this.#exports = new WebAssembly.Instance(module).exports as unknown as SimdExports;
    this.#view = new Uint8Array(this.#exports.memory.buffer);
  }

  load(bytes: Uint8Array): void {
    const needed = bytes.length + SLACK;
    // Read into space() already: the copy would be a 1 MiB memmove per read of fast output.
    const inPlace = bytes.buffer === this.#view.buffer && bytes.byteOffset === 0;
    if (!inPlace) {
      this.#grow(needed);
      this.#view.set(bytes);
    }
    // Bytes past the chunk are never reported (the loops check `to`); zero them anyway so a
    // stale chunk's bytes cannot be read back.
    this.#view.fill(0, bytes.length, needed);
  }

  space(length: number): Uint8Array {
    this.#grow(length + SLACK);
    return this.#view.subarray(0, length);
  }

  /** Grows the memory to hold `needed` bytes (growing moves it: views made before go stale). */
  #grow(needed: number): void {
    if (needed <= this.#view.length) return;
    const memory = this.#exports.memory;
    memory.grow(Math.ceil((needed - memory.buffer.byteLength) / PAGE));
    this.#view = new Uint8Array(memory.buffer);
  }

  count(byte: number, from: number, to: number): number {
    return from >= to ? 0 : this.#exports.count(from, to, byte);
  }

  indexOf(byte: number, from: number, to: number): number {
    return from >= to ? -1 : this.#exports.find(from, to, byte);
  }

  indexOfPair(first: number, second: number, from: number, to: number): number {
    return from >= to - 1 ? -1 : this.#exports.findPair(from, to, first, second);
  }
}

let compiled: WebAssembly.Module | null | undefined;
let compiling: Promise<void> | undefined;

/**
 * Starts compiling the search module on V8's background threads, so that
 * the first {@linkcode createByteSearch} finds it ready: compiled there, on
 * the profiler's main thread, it cost 1–4 ms of start-up here (the
 * process's first WebAssembly compile), against about 0.9 ms of main-thread
 * time this way. Does nothing once started; a failure leaves the
 * synchronous compile (or plain JavaScript) to `createByteSearch`.
 *
 * @returns When the compile has ended, compiled or not.
 *
 * @example Usage
 * ```ts
 * import { compileByteSearchInBackground, createByteSearch } from "./byte_search.ts";
 * compileByteSearchInBackground(); // while other start-up work runs
 * await compileByteSearchInBackground(); // the same compile, ended
 * console.log(createByteSearch().indexOf(10, 0, 0)); // -1
 * ```
 */
export function compileByteSearchInBackground(): Promise<void> {
  compiling ??= WebAssembly.compile(simdModuleBytes()).then(
    (module) => {
      compiled ??= module;
    },
    () => {},
  );
  return compiling;
}

/** The compiled module, once per process; `undefined` where it cannot be compiled. */
function simdModule(): WebAssembly.Module | undefined {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(simdModuleBytes());
    } catch {
      compiled = null;
    }
  }
  return compiled ?? undefined;
}

/**
 * The module's bytes: one growable memory and three functions over it,
 * assembled instruction by instruction in `byte_search_assembly.ts` (a test
 * checks that these are its output). Kept as bytes because assembling them
 * took 1–3 ms of the profiler's start-up on the 2-vCPU VM (2026-12-06).
 */
export const SIMD_MODULE_BASE64 =
  "AGFzbQEAAAABEAJgA39/fwF/YAR/f39/AX8DBAMAAAEFAwEAAQckBAZtZW1vcnkCAAVjb3VudAAABGZpbmQAAQhmaW5kUGFpcgACCoUCA1wCAX8BeyAC/Q8hBAJAA0AgAEEQaiABSg0BIAMgAP0AAAAgBP0j/WRpaiEDIABBEGohAAwACwsCQANAIAAgAU4NASADIAAtAAAgAkZqIQMgAEEBaiEADAALCyADC0YCAX8BeyAC/Q8hBAJAA0AgACABTg0BIAD9AAAAIAT9I/1kIgMEQCAAIANoaiIDQX8gAyABSBsPCyAAQRBqIQAMAAsLQX8LXwICfwJ7IAL9DyEGIAP9DyEHIAFBAWshBQJAA0AgACAFTg0BIAD9AAAAIAb9IyAA/QAAASAH/SP9Tv1kIgQEQCAAIARoaiIEQX8gBCAFSBsPCyAAQRBqIQAMAAsLQX8L";

function simdModuleBytes(): Uint8Array<ArrayBuffer> {
  return Uint8Array.fromBase64(SIMD_MODULE_BASE64) as Uint8Array<ArrayBuffer>;
}
