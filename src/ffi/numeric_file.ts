/**
 * A file holding one decimal number (a sysfs counter such as powercap's
 * `energy_uj`), kept open and re-read with `pread(2)` into a reused buffer:
 * no path lookup, no allocation per read.
 *
 * @module
 */

import { cString, errno, libc, SyscallError } from "./libc.ts";

const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;

/** Bytes read per call: enough for any 64-bit decimal number. */
const READ_SIZE = 32;
const buffer = new Uint8Array(READ_SIZE);

/**
 * An open numeric file.
 *
 * @example Usage
 * ```ts
 * import { NumericFile } from "./numeric_file.ts";
 * const file = NumericFile.open("/proc/sys/kernel/pid_max");
 * console.log(file.read()); // e.g. 4194304
 * file.close();
 * ```
 */
export class NumericFile {
  /** Path, for messages. */
  readonly path: string;
  #fd: number;

  private constructor(path: string, fd: number) {
    this.path = path;
    this.#fd = fd;
  }

  /**
   * Opens a file for repeated reads.
   *
   * @param path The file.
   * @returns The open file.
   * @throws {SyscallError} When it cannot be opened (e.g. `EACCES`).
   */
  static open(path: string): NumericFile {
    const fd = libc().open(cString(path), O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) throw new SyscallError("open", errno(), path);
    return new NumericFile(path, fd);
  }

  /**
   * Reads the number from the start of the file.
   *
   * @returns The value (exact below 2^53).
   * @throws {SyscallError} When the read fails or holds no number.
   */
  read(): number {
    const got = Number(libc().pread(this.#fd, buffer, BigInt(READ_SIZE), 0n));
    if (got < 0) throw new SyscallError("pread", errno(), this.path);
    let value = 0;
    let digits = 0;
    for (let i = 0; i < got; i++) {
      const digit = buffer[i]! - 48;
      if (digit < 0 || digit > 9) {
        if (digits > 0) break;
        continue;
      }
      value = value * 10 + digit;
      digits++;
    }
    if (digits === 0) throw new SyscallError("pread", 61, /* ENODATA */ `${this.path}: no number`);
    return value;
  }

  /** Closes the file (idempotent). */
  close(): void {
    if (this.#fd < 0) return;
    libc().close(this.#fd);
    this.#fd = -1;
  }
}
