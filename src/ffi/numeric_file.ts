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
   * Reads the number, which must be below 2^53 to be a `number`.
   *
   * @returns The value.
   * @throws {SyscallError} When the read fails, or the file does not hold
   * exactly one plain non-negative decimal integer (`EINVAL`), or it is
   * 2^53 or more (`ERANGE`: read it with {@linkcode NumericFile.readExact}).
   */
  read(): number {
    const value = this.readExact();
    if (typeof value === "bigint") {
      throw new SyscallError("pread", 34, /* ERANGE */ `${this.path}: ${value} is 2^53 or more`);
    }
    return value;
  }

  /**
   * Reads the number exactly: a `number` below 2^53, a `bigint` from there.
   *
   * The content must be digits, optionally followed by one newline; any
   * other byte (a sign, a space, a second number, a unit) makes the read
   * fail rather than yield the number it starts with.
   *
   * @returns The value.
   * @throws {SyscallError} When the read fails or the content is not a
   * plain non-negative decimal integer (`EINVAL`).
   */
  readExact(): number | bigint {
    const got = Number(libc().pread(this.#fd, buffer, BigInt(READ_SIZE), 0n));
    if (got < 0) throw new SyscallError("pread", errno(), this.path);
    const end = got > 0 && buffer[got - 1] === 10 ? got - 1 : got;
    // A full buffer may be the start of something longer.
    if (end === 0 || got === READ_SIZE) throw this.#invalid(got);
    let value = 0;
    for (let i = 0; i < end; i++) {
      const digit = buffer[i]! - 48;
      if (digit < 0 || digit > 9) throw this.#invalid(got);
      value = value * 10 + digit;
    }
    if (value <= Number.MAX_SAFE_INTEGER) return value;
    return BigInt(new TextDecoder().decode(buffer.subarray(0, end)));
  }

  #invalid(got: number): SyscallError {
    const shown = JSON.stringify(new TextDecoder().decode(buffer.subarray(0, got)));
    return new SyscallError(
      "pread",
      22, /* EINVAL */
      `${this.path}: ${shown} is not a plain non-negative decimal integer`,
    );
  }

  /** Closes the file (idempotent). */
  close(): void {
    if (this.#fd < 0) return;
    libc().close(this.#fd);
    this.#fd = -1;
  }
}
