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
