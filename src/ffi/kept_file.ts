/**
 * Files kept open for the whole run and re-read from their start with
 * pread(2) at every boundary or sample (`/proc` and cgroup counters): no
 * open, close or string decoding on the hot path.
 *
 * @module
 */

import { cString, libc } from "./libc.ts";

const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;

/**
 * Opens a file for reading, close-on-exec (the profiled program never
 * inherits it).
 *
 * @param path The file.
 * @returns Its descriptor, or a negative number when it cannot be opened.
 *
 * @example Usage
 * ```ts ignore
 * import { openKeptFile } from "./kept_file.ts";
 * const fd = openKeptFile("/proc/self/stat");
 * ```
 */
export function openKeptFile(path: string): number {
  return libc().open(cString(path), O_RDONLY | O_CLOEXEC, 0);
}

/**
 * Reads a kept file from its start into `buffer`.
 *
 * @param fd A descriptor from {@linkcode openKeptFile} (negative: nothing to read).
 * @param buffer Where the bytes go; a longer file is cut at its size.
 * @returns The number of bytes read, or -1 when the file cannot be read.
 *
 * @example Usage
 * ```ts ignore
 * import { openKeptFile, readKeptFile } from "./kept_file.ts";
 * const buffer = new Uint8Array(4096);
 * const length = readKeptFile(openKeptFile("/proc/self/stat"), buffer);
 * ```
 */
export function readKeptFile(fd: number, buffer: Uint8Array): number {
  return fd < 0 ? -1 : Number(libc().pread(fd, buffer, BigInt(buffer.length), 0n));
}

/**
 * Appends the decimal numbers of a kept file's text (`cgroup.procs`, a
 * task's `children`: pids separated by spaces or newlines) to `into`,
 * without decoding the bytes to a string.
 *
 * @param bytes The bytes read.
 * @param length How many of them are the file's.
 * @param into Where the numbers go, in order.
 *
 * @example Usage
 * ```ts
 * import { appendNumberList } from "./kept_file.ts";
 * const pids: number[] = [];
 * appendNumberList(new TextEncoder().encode("12 345\n"), 7, pids);
 * console.log(pids); // [ 12, 345 ]
 * ```
 */
export function appendNumberList(bytes: Uint8Array, length: number, into: number[]): void {
  let value = 0;
  let digits = 0;
  for (let i = 0; i < length; i++) {
    const byte = bytes[i]!;
    if (byte >= 48 && byte <= 57) {
      value = value * 10 + byte - 48;
      digits++;
    } else if (digits > 0) {
      into.push(value);
      value = 0;
      digits = 0;
    }
  }
  if (digits > 0) into.push(value);
}
