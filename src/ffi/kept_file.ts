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

/** Bound on {@linkcode readWholeKeptFile}'s buffers: 16 MiB. */
export const MAX_WHOLE_READ_BYTES = 16 << 20;

/**
 * A read at least this long may have stopped at the kernel's page of output rather than at the
 * end of the file (see {@linkcode readWholeKeptFile}).
 */
const FULL_READ_BYTES = 2048;

/**
 * Reads a kept file whole from its start, for files whose length has no
 * bound worth fixing in advance: a list of pids (`cgroup.procs`, a task's
 * `children`), one line per network interface (`/proc/net/dev`). Files
 * like these are written one line at a time into a page (`seq_file`), and
 * one read gives at most that page, however large the buffer: 4,095 bytes
 * of a 6,010-byte `children`, 4,013 of a 10,163-byte `/proc/net/dev`. So
 * reading goes on from where the last read ended while reads come back
 * long (a read well short of a page is the end, as these lines are short),
 * and the buffer is replaced by one twice as large (its bytes copied) when
 * it fills, up to {@linkcode MAX_WHOLE_READ_BYTES}. A short file costs one
 * read, as with {@linkcode readKeptFile}.
 *
 * @param fd A descriptor from {@linkcode openKeptFile} (negative: nothing to read).
 * @param buffer The caller's current buffer.
 * @param grow Makes (and keeps, for the next reads) a buffer of the given size.
 * @returns The number of bytes read into the last buffer `grow` made (or
 * `buffer`), or -1 when the file cannot be read.
 *
 * @example Usage
 * ```ts
 * import { openKeptFile, readWholeKeptFile } from "./kept_file.ts";
 * let buffer = new Uint8Array(16);
 * const fd = openKeptFile("/proc/self/status");
 * const length = readWholeKeptFile(fd, buffer, (bytes) => buffer = new Uint8Array(bytes));
 * console.log(length > 16); // true: the whole file is in `buffer`
 * ```
 */
export function readWholeKeptFile(
  fd: number,
  buffer: Uint8Array,
  grow: (bytes: number) => Uint8Array,
): number {
  if (fd < 0) return -1;
  let length = 0;
  for (;;) {
    if (length === buffer.length) {
      if (length >= MAX_WHOLE_READ_BYTES) return length;
      const larger = grow(Math.min(MAX_WHOLE_READ_BYTES, length * 2));
      larger.set(buffer);
      buffer = larger;
    }
    const into = length === 0 ? buffer : buffer.subarray(length);
    const got = Number(libc().pread(fd, into, BigInt(into.length), BigInt(length)));
    if (got < 0) return length > 0 ? length : -1;
    length += got;
    // Short of both the room it had and a page's worth: the end of the file.
    if (got < into.length && got < FULL_READ_BYTES) return length;
  }
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
