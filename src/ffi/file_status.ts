/**
 * `statx(2)` of an open descriptor (or a name relative to a directory
 * descriptor), read through FFI: the runtime's `statSync` costs tens of µs
 * and cannot take a directory descriptor.
 *
 * @module
 */

import { cString, errno, libc, SyscallError } from "./libc.ts";

const AT_EMPTY_PATH = 0x1000;
const AT_SYMLINK_NOFOLLOW = 0x100;
const STATX_BASIC_STATS = 0x7ff;

/** What `statx(2)` says about one file (the fields the profiler uses). */
export interface FileStatus {
  /** Owner. */
  uid: number;
  /** Group. */
  gid: number;
  /** Type and permission bits (`st_mode`). */
  mode: number;
  /** Inode number. */
  ino: bigint;
  /** Device, as `major:minor`. */
  dev: string;
  /** Last modification time, ns since the epoch. */
  mtimeNs: bigint;
}

/**
 * Reads a file's status.
 *
 * @param fd An open descriptor; with `name`, the directory `name` is in.
 * @param name A name in that directory, not followed if a link (default: `fd` itself).
 * @returns The status.
 * @throws {SyscallError} When `statx` fails.
 *
 * @example Usage
 * ```ts
 * import { fileStatus } from "./file_status.ts";
 * import { openKeptFile } from "./kept_file.ts";
 * const fd = openKeptFile("/proc/self/status");
 * console.log((fileStatus(fd).mode & 0o170000) === 0o100000); // true: a regular file
 * ```
 */
export function fileStatus(fd: number, name = ""): FileStatus {
  const buffer = new Uint8Array(256);
  const flags = name === "" ? AT_EMPTY_PATH : AT_SYMLINK_NOFOLLOW;
  if (libc().statx(fd, cString(name), flags, STATX_BASIC_STATS, buffer) !== 0) {
    throw new SyscallError("statx", errno());
  }
  // struct statx: uid @20, gid @24, mode @28, ino @32, mtime @112 (i64 s, u32 ns), dev @136/140.
  const view = new DataView(buffer.buffer);
  return {
    uid: view.getUint32(20, true),
    gid: view.getUint32(24, true),
    mode: view.getUint16(28, true),
    ino: view.getBigUint64(32, true),
    dev: `${view.getUint32(136, true)}:${view.getUint32(140, true)}`,
    mtimeNs: view.getBigInt64(112, true) * 1_000_000_000n + BigInt(view.getUint32(120, true)),
  };
}

const AT_FDCWD = -100;
const STATX_TYPE_AND_MODE = 0x3;
/** Kept for {@linkcode pathMode}: the command search calls it once per `PATH` entry. */
const modeBuffer = new Uint8Array(256);
const modeView = new DataView(modeBuffer.buffer);

/**
 * The type and permission bits (`st_mode`) of the file at `path`, links
 * followed as `stat(2)` does; or, when it cannot be read, the error number
 * negated. A miss costs one `statx(2)` and no exception: a `PATH` search
 * misses in most folders, and the runtime's `statSync` throws an error
 * object for each (about 0.15 ms apiece, 1 ms for the first).
 *
 * @param path The file (relative names: to the working directory).
 * @returns `st_mode` (≥ 0), or `-errno` (e.g. -2 for ENOENT).
 *
 * @example Usage
 * ```ts
 * import { pathMode } from "./file_status.ts";
 * console.log((pathMode("/bin/sh") & 0o170000) === 0o100000); // true: a regular file
 * console.log(pathMode("/no/such/file")); // -2 (ENOENT)
 * ```
 */
export function pathMode(path: string): number {
  if (libc().statx(AT_FDCWD, cString(path), 0, STATX_TYPE_AND_MODE, modeBuffer) !== 0) {
    return -errno();
  }
  // struct statx: stx_mode at 28 (u16).
  return modeView.getUint16(28, true);
}

const STATX_MTIME = 0x40;
const EMPTY_NAME = cString("");
/** Kept for {@linkcode modifiedAtEpoch}: it is called on the way to END, where allocations show. */
const mtimeBuffer = new Uint8Array(256);
const mtimeView = new DataView(mtimeBuffer.buffer);

/**
 * Whether an open file's modification time is the epoch (0 s, 0 ns): one
 * `statx(2)` asking for the modification time only, into a kept buffer.
 *
 * @param fd An open descriptor.
 * @returns `true` at the epoch.
 * @throws {SyscallError} When `statx` fails.
 *
 * @example Usage
 * ```ts
 * import { modifiedAtEpoch } from "./file_status.ts";
 * import { openKeptFile } from "./kept_file.ts";
 * console.log(modifiedAtEpoch(openKeptFile("/proc/self/status"))); // false
 * ```
 */
export function modifiedAtEpoch(fd: number): boolean {
  if (libc().statx(fd, EMPTY_NAME, AT_EMPTY_PATH, STATX_MTIME, mtimeBuffer) !== 0) {
    throw new SyscallError("statx", errno());
  }
  // struct statx: stx_mtime at 112 (i64 seconds, u32 nanoseconds).
  return mtimeView.getBigInt64(112, true) === 0n && mtimeView.getUint32(120, true) === 0;
}
