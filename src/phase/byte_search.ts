/**
 * Byte searches over one chunk of program output, 16 bytes at a time:
 * counting newlines and finding a token pattern's first bytes are most of
 * the cost of scanning output, and `Uint8Array.prototype.indexOf` goes one
 * byte at a time (0.26 ns a byte on the 2-core VM the report ran on, about
 * a quarter of a `| cat` pipe's whole budget).
 *
 * The searches run in a tiny WebAssembly module with 128-bit SIMD, written
 * below instruction by instruction; a plain JavaScript version with the same
 * results stands in where WebAssembly cannot be compiled.
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

// WebAssembly opcodes used below (core and SIMD, from the WebAssembly specification).
// deno-fmt-ignore
const BLOCK = 0x02, LOOP = 0x03, IF = 0x04, END = 0x0b, BR = 0x0c, BR_IF = 0x0d, RETURN = 0x0f;
const VOID = 0x40, I32 = 0x7f, V128 = 0x7b;
const SELECT = 0x1b, GET = 0x20, SET = 0x21, TEE = 0x22;
const I32_LOAD8_U = 0x2d, I32_CONST = 0x41, I32_EQ = 0x46, I32_LT_S = 0x48, I32_GT_S = 0x4a;
const I32_GE_S = 0x4e, I32_CTZ = 0x68, I32_POPCNT = 0x69, I32_ADD = 0x6a, I32_SUB = 0x6b;
const SIMD = 0xfd, V128_LOAD = 0x00, I8X16_SPLAT = 0x0f, I8X16_EQ = 0x23, V128_AND = 0x4e;
const I8X16_BITMASK = 0x64;
/** memarg: alignment 2^0, offset 0 (or 1). */
const AT_0 = [0x00, 0x00], AT_1 = [0x00, 0x01];

/** Locals of a function body: `[count, type]` groups. */
function body(locals: [number, number][], code: number[]): number[] {
  const bytes = [locals.length, ...locals.flat(), ...code, END];
  return [...leb(bytes.length), ...bytes];
}

function leb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

function section(id: number, content: number[]): number[] {
  return [id, ...leb(content.length), ...content];
}

function name(text: string): number[] {
  return [text.length, ...[...text].map((char) => char.charCodeAt(0))];
}

/** `p += step` */
function advance(p: number, step: number): number[] {
  return [GET, p, I32_CONST, step, I32_ADD, SET, p];
}

/**
 * The module: one growable memory and three functions over it.
 * Parameters are local 0, 1, 2(, 3); positions are signed 32-bit.
 */
function simdModuleBytes(): Uint8Array<ArrayBuffer> {
  // count(from, to, byte): locals 3 = n (i32), 4 = needle (v128).
  // deno-fmt-ignore
  const count = body([[1, I32], [1, V128]], [
    GET, 2, SIMD, I8X16_SPLAT, SET, 4,
    // 16 bytes at a time while a whole vector fits before `to`.
    BLOCK, VOID, LOOP, VOID,
    GET, 0, I32_CONST, 16, I32_ADD, GET, 1, I32_GT_S, BR_IF, 1,
    GET, 3, GET, 0, SIMD, V128_LOAD, ...AT_0, GET, 4, SIMD, I8X16_EQ,
    SIMD, I8X16_BITMASK, I32_POPCNT, I32_ADD, SET, 3,
    ...advance(0, 16), BR, 0,
    END, END,
    // The rest, byte by byte.
    BLOCK, VOID, LOOP, VOID,
    GET, 0, GET, 1, I32_GE_S, BR_IF, 1,
    GET, 3, GET, 0, I32_LOAD8_U, ...AT_0, GET, 2, I32_EQ, I32_ADD, SET, 3,
    ...advance(0, 1), BR, 0,
    END, END,
    GET, 3,
  ]);
  // find(from, to, byte): locals 3 = mask, then position (i32), 4 = needle (v128).
  // Reads up to 15 bytes past `to`; a hit there is reported as -1.
  // deno-fmt-ignore
  const find = body([[1, I32], [1, V128]], [
    GET, 2, SIMD, I8X16_SPLAT, SET, 4,
    BLOCK, VOID, LOOP, VOID,
    GET, 0, GET, 1, I32_GE_S, BR_IF, 1,
    GET, 0, SIMD, V128_LOAD, ...AT_0, GET, 4, SIMD, I8X16_EQ, SIMD, I8X16_BITMASK, TEE, 3,
    IF, VOID,
    GET, 0, GET, 3, I32_CTZ, I32_ADD, TEE, 3,
    I32_CONST, 0x7f, GET, 3, GET, 1, I32_LT_S, SELECT, RETURN,
    END,
    ...advance(0, 16), BR, 0,
    END, END,
    I32_CONST, 0x7f,
  ]);
  // findPair(from, to, first, second): locals 4 = mask/position, 5 = last (to - 1),
  // 6 = first needle, 7 = second needle.
  // deno-fmt-ignore
  const findPair = body([[2, I32], [2, V128]], [
    GET, 2, SIMD, I8X16_SPLAT, SET, 6,
    GET, 3, SIMD, I8X16_SPLAT, SET, 7,
    GET, 1, I32_CONST, 1, I32_SUB, SET, 5,
    BLOCK, VOID, LOOP, VOID,
    GET, 0, GET, 5, I32_GE_S, BR_IF, 1,
    GET, 0, SIMD, V128_LOAD, ...AT_0, GET, 6, SIMD, I8X16_EQ,
    GET, 0, SIMD, V128_LOAD, ...AT_1, GET, 7, SIMD, I8X16_EQ,
    SIMD, V128_AND, SIMD, I8X16_BITMASK, TEE, 4,
    IF, VOID,
    GET, 0, GET, 4, I32_CTZ, I32_ADD, TEE, 4,
    I32_CONST, 0x7f, GET, 4, GET, 5, I32_LT_S, SELECT, RETURN,
    END,
    ...advance(0, 16), BR, 0,
    END, END,
    I32_CONST, 0x7f,
  ]);
  const type3 = [0x60, 3, I32, I32, I32, 1, I32];
  const type4 = [0x60, 4, I32, I32, I32, I32, 1, I32];
  // deno-fmt-ignore
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    ...section(1, [2, ...type3, ...type4]), // types
    ...section(3, [3, 0, 0, 1]), // functions: count, find (type 0), findPair (type 1)
    ...section(5, [1, 0x00, 1]), // memory: one, 1 page to start, growable
    ...section(7, [
      4,
      ...name("memory"), 0x02, 0,
      ...name("count"), 0x00, 0,
      ...name("find"), 0x00, 1,
      ...name("findPair"), 0x00, 2,
    ]),
    ...section(10, [3, ...count, ...find, ...findPair]),
  ]);
}
