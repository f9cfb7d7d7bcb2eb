/**
 * A phase channel beside stdout: a FIFO the program writes token lines to,
 * either through an inherited file descriptor (`JOULE_PROFILER_PHASE_FD`)
 * or by path (`JOULE_PROFILER_PHASE_FIFO`). Tokens there do not depend on
 * stdout buffering and do not mix with the program's output.
 *
 * @module
 */

import { cString, errno, libc, SyscallError, unwrap } from "../ffi/libc.ts";

/** Environment variable holding the inherited write descriptor. */
export const PHASE_FD_ENV = "JOULE_PROFILER_PHASE_FD";
/** Environment variable holding the FIFO's path. */
export const PHASE_FIFO_ENV = "JOULE_PROFILER_PHASE_FIFO";

const O_RDONLY = 0;
const O_WRONLY = 1;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
const FIONREAD = 0x541bn;

/**
 * An open phase channel for one run.
 *
 * The profiler holds the FIFO open for reading *and* writing, so writers
 * never block on open and reading never sees end-of-file; `stop()` ends
 * reading once what the program wrote has been consumed.
 *
 * @example Usage
 * ```ts
 * import { PhaseChannel } from "./phase_channel.ts";
 * const channel = await PhaseChannel.open();
 * console.log(channel.env()); // { JOULE_PROFILER_PHASE_FD: "…", JOULE_PROFILER_PHASE_FIFO: "…" }
 * channel.closeInheritedEnd();
 * await channel.close();
 * ```
 */
export class PhaseChannel {
  /** The FIFO's path. */
  readonly path: string;
  /** What the profiler reads. */
  readonly file: Deno.FsFile;
  readonly #directory: string;
  /** Write end the program inherits (not close-on-exec); -1 once closed here. */
  #inheritedFd: number;
  /** A non-blocking read end used only to ask how many bytes wait unread. */
  #probeFd: number;
  readonly #pending = new Int32Array(1);

  private constructor(
    directory: string,
    path: string,
    file: Deno.FsFile,
    inheritedFd: number,
    probeFd: number,
  ) {
    this.#directory = directory;
    this.path = path;
    this.file = file;
    this.#inheritedFd = inheritedFd;
    this.#probeFd = probeFd;
  }

  /**
   * Creates the FIFO in a private temporary folder and opens its ends.
   *
   * @returns The channel.
   */
  static async open(): Promise<PhaseChannel> {
    const directory = await Deno.makeTempDir({ prefix: "joule-profiler-" });
    const path = `${directory}/phases`;
    try {
      unwrap(libc().mkfifo(cString(path), 0o622), "mkfifo", path);
      const file = await Deno.open(path, { read: true, write: true });
      const probeFd = libc().open(cString(path), O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0);
      if (probeFd < 0) throw new SyscallError("open", errno(), path);
      // Blocking writes for the program, like its stdout: a reader always exists.
      const inheritedFd = libc().open(cString(path), O_WRONLY, 0);
      if (inheritedFd < 0) throw new SyscallError("open", errno(), path);
      return new PhaseChannel(directory, path, file, inheritedFd, probeFd);
    } catch (error) {
      await Deno.remove(directory, { recursive: true }).catch(() => {});
      throw error;
    }
  }

  /**
   * The variables that tell the program where to write.
   *
   * @returns `JOULE_PROFILER_PHASE_FD` and `JOULE_PROFILER_PHASE_FIFO`.
   */
  env(): Record<string, string> {
    return { [PHASE_FD_ENV]: String(this.#inheritedFd), [PHASE_FIFO_ENV]: this.path };
  }

  /** Closes the profiler's copy of the inherited end (after the program was spawned). */
  closeInheritedEnd(): void {
    if (this.#inheritedFd < 0) return;
    libc().close(this.#inheritedFd);
    this.#inheritedFd = -1;
  }

  /**
   * Bytes written to the channel that nobody has read yet.
   *
   * @returns The count.
   */
  unread(): number {
    const address = Deno.UnsafePointer.value(Deno.UnsafePointer.of(this.#pending));
    if (libc().ioctl(this.#probeFd, FIONREAD, BigInt(address)) === -1) return 0;
    return this.#pending[0]!;
  }

  /**
   * Wakes a read blocked on the empty channel with an empty line (which is
   * not a token), so the reader can stop.
   */
  wake(): void {
    try {
      this.file.writeSync(new Uint8Array([10]));
    } catch {
      // Closed already: nothing is blocked.
    }
  }

  /** Closes every end and removes the FIFO. */
  async close(): Promise<void> {
    this.closeInheritedEnd();
    if (this.#probeFd >= 0) libc().close(this.#probeFd);
    this.#probeFd = -1;
    try {
      this.file.close();
    } catch {
      // Already closed by the reader's cancel.
    }
    await Deno.remove(this.#directory, { recursive: true }).catch(() => {});
  }
}
