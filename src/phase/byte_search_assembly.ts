/**
 * The byte search's WebAssembly module, assembled instruction by instruction
 * (opcodes from the WebAssembly specification, core and 128-bit SIMD).
 * `byte_search.ts` ships the bytes this makes, not this code: a test checks
 * they match, and prints the new bytes when they do not.
 *
 * @module
 */

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
 *
 * - `count(from, to, byte)`: how many times `byte` occurs in `[from, to)`;
 * - `find(from, to, byte)`: the first position of `byte` in `[from, to)`, or -1;
 * - `findPair(from, to, first, second)`: the first position of `first`
 *   followed by `second`, both before `to`, or -1.
 *
 * @returns The module's bytes.
 *
 * @example Usage
 * ```ts
 * import { assembleByteSearchModule } from "./byte_search_assembly.ts";
 * console.log(WebAssembly.validate(assembleByteSearchModule())); // true
 * ```
 */
export function assembleByteSearchModule(): Uint8Array<ArrayBuffer> {
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
