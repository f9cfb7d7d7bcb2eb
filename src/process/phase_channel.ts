/**
 * A phase channel beside stdout: the program writes token lines either to
 * an inherited file descriptor (`JOULE_PROFILER_PHASE_FD`, a Unix socket)
 * or to a FIFO by path (`JOULE_PROFILER_PHASE_FIFO`). Tokens there do not
 * depend on stdout buffering and do not mix with the program's output.
 *
 * @module
 */

import { cString, errno, libc, SyscallError, unwrap } from "../ffi/libc.ts";
import { modifiedAtEpoch } from "../ffi/file_status.ts";
import { OrphanWatchdog } from "./orphan_watchdog.ts";

/** Environment variable holding the inherited write descriptor. */
export const PHASE_FD_ENV = "JOULE_PROFILER_PHASE_FD";
/** Environment variable holding the FIFO's path. */
export const PHASE_FIFO_ENV = "JOULE_PROFILER_PHASE_FIFO";

const O_RDONLY = 0;
const O_WRONLY = 1;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
const O_DIRECTORY = 0o200000;
const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
const FIONREAD = 0x541bn;
/** Bytes sent on a socket that its peer has not read yet (`SIOCOUTQ`). */
const TIOCOUTQ = 0x5411n;
/** `sizeof(struct sockaddr_un)`: a 2-byte family and a 108-byte path. */
const SOCKADDR_UN_SIZE = 110;

/**
 * An open phase channel for one run: two ways in, read side by side.
 *
 * - The descriptor in `JOULE_PROFILER_PHASE_FD` is a connected Unix
 *   socket: the runtime polls the profiler's end like stdout, so a token
 *   reaches the profiler with no extra thread hop, and the program's
 *   `write(2)` does not wait for a blocked reader thread to be woken. Like
 *   stdout's, its reader waits for the next marker on the main thread for
 *   a while after each read ({@linkcode PhaseChannel.socketFd}).
 * - `JOULE_PROFILER_PHASE_FIFO` names a FIFO, for programs that can only
 *   open a path (a shell script's `echo __X__ > "$JOULE_PROFILER_PHASE_FIFO"`).
 *   The profiler holds it open for reading *and* writing, so writers never
 *   block on open and reading never sees end-of-file.
 *
 * `stop()` of each reader ends reading once what the program wrote has
 * been consumed.
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
  /** The FIFO, as the profiler reads it. */
  readonly file: Deno.FsFile;
  /**
   * The profiler's end of the socket behind `JOULE_PROFILER_PHASE_FD`
   * (absent where no socket could be made: the descriptor is then the
   * FIFO's write end).
   */
  readonly socket: Deno.UnixConn | undefined;
  /**
   * The descriptor of {@linkcode PhaseChannel.socket} (non-blocking, the
   * runtime's own), or -1: its reader reads it directly while it waits on
   * the main thread (see src/phase/main_thread_wait.ts). Valid until the
   * reader's `cancel()` or `close()`.
   */
  readonly socketFd: number;
  readonly #directory: string;
  /** The socket's other end as the program inherits it (not close-on-exec); -1 once closed here. */
  #inheritedFd: number;
  /** The same socket end, close-on-exec, kept to ask what is unread and to wake the reader. */
  #writerFd: number;
  /** Whether the FIFO's modification time was set to the epoch (see `markFifoUnwritten`). */
  #fifoMarked = false;
  /** A non-blocking read end of the FIFO used only to ask how many bytes wait unread. */
  #probeFd: number;
  // An ArrayBuffer of its own: its memory is off the garbage-collected heap and never moves, so
  // its address is taken once (a small typed array made from a length may live on the heap).
  readonly #pending = new Int32Array(new ArrayBuffer(4));
  /** Its address, for ioctl's `unsigned long` argument (unread() is on the way to END). */
  readonly #pendingAddress = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(this.#pending)));

  private constructor(parts: {
    directory: string;
    path: string;
    file: Deno.FsFile;
    socket: Deno.UnixConn | undefined;
    socketFd: number;
    inheritedFd: number;
    writerFd: number;
    probeFd: number;
  }) {
    this.#directory = parts.directory;
    this.path = parts.path;
    this.file = parts.file;
    this.socket = parts.socket;
    this.socketFd = parts.socketFd;
    this.#inheritedFd = parts.inheritedFd;
    this.#writerFd = parts.writerFd;
    this.#probeFd = parts.probeFd;
  }

  /**
   * Creates the FIFO and the socket in a private temporary folder and opens
   * their ends.
   *
   * The folder is the profiler's (mode 0700). With `owner` (the program's
   * user under `sudo`), the folder becomes root's with that user's group and
   * mode 0710 (they may enter it, not list or change it) and the FIFO
   * theirs with mode 0600: that user can write to it, nobody else can.
   * Ownership is changed on descriptors, never by path.
   *
   * @param options `owner`: the user the program runs as, when not the profiler's.
   * @returns The channel.
   */
  static async open(options: { owner?: { uid: number; gid: number } } = {}): Promise<PhaseChannel> {
    const directory = guardedTemporaryFolder("joule-profiler-");
    const path = `${directory}/phases`;
    let file: Deno.FsFile | undefined;
    let probeFd = -1;
    try {
      unwrap(libc().mkfifo(cString(path), 0o622), "mkfifo", path);
      // Synchronously: a FIFO opened for reading and writing never waits for a peer, and the
      // runtime's asynchronous open goes through a pool thread (0.5–1 ms here, against 0.2).
      file = Deno.openSync(path, { read: true, write: true });
      probeFd = libc().open(cString(path), O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0);
      if (probeFd < 0) throw new SyscallError("open", errno(), path);
      if (options.owner !== undefined) shareWith(directory, probeFd, options.owner);
      const socket = await connectedSocket(`${directory}/phases.sock`);
      let inheritedFd: number;
      if (socket !== undefined) {
        inheritedFd = socket.inheritedFd;
      } else {
        // No socket here (e.g. a temporary folder too long for a socket path):
        // the descriptor is the FIFO's write end, read through the FIFO.
        inheritedFd = libc().open(cString(path), O_WRONLY, 0);
        if (inheritedFd < 0) throw new SyscallError("open", errno(), path);
      }
      return new PhaseChannel({
        directory,
        path,
        file,
        socket: socket?.conn,
        socketFd: socket?.connFd ?? -1,
        inheritedFd,
        writerFd: socket?.writerFd ?? -1,
        probeFd,
      });
    } catch (error) {
      if (probeFd >= 0) libc().close(probeFd);
      try {
        file?.close();
      } catch {
        // Already closed.
      }
      await Deno.remove(directory, { recursive: true }).catch(() => {});
      OrphanWatchdog.shared().release({ temporaryPath: directory });
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
   * A descriptor of the FIFO's that is readable while bytes wait in it
   * unread: the runtime reads the FIFO on a thread of its pool, outside
   * its epoll set, so a main-thread wait watches this (see
   * src/phase/main_thread_wait.ts). The profiler holds a write end, so it
   * never reports a hang-up.
   */
  get fifoProbeFd(): number {
    return this.#probeFd;
  }

  /**
   * Bytes written to the channel (socket or FIFO) that nobody has read yet.
   *
   * @returns The count.
   */
  unread(): number {
    return this.#ask(this.#probeFd, FIONREAD) + this.socketUnread();
  }

  /**
   * Bytes written to the socket that nobody has read yet.
   *
   * @returns The count (0 without a socket).
   */
  socketUnread(): number {
    return this.#ask(this.#writerFd, TIOCOUTQ);
  }

  #ask(fd: number, request: bigint): number {
    if (fd < 0) return 0;
    if (libc().ioctl(fd, request, this.#pendingAddress) === -1) return 0;
    return this.#pending[0]!;
  }

  /**
   * Marks the FIFO as not written since now: its modification time is set to
   * the epoch, and the kernel sets it to the current time on any write
   * (`pipe_write` updates the inode's times), which {@linkcode fifoWritten}
   * then sees. Costs one `futimens`; a failure only makes `fifoWritten()`
   * answer `true`.
   */
  markFifoUnwritten(): void {
    try {
      this.file.utimeSync(0, 0);
      this.#fifoMarked = true;
    } catch {
      this.#fifoMarked = false;
    }
  }

  /**
   * Whether anything was written to the FIFO since
   * {@linkcode markFifoUnwritten} (`true` when that cannot be known).
   *
   * @returns `false` only when the FIFO surely was not written.
   */
  fifoWritten(): boolean {
    if (!this.#fifoMarked || this.#probeFd < 0) return true;
    // statx(2) of the modification time only, through FFI: the runtime's statSync costs ~50 µs,
    // on the path to END.
    try {
      return !modifiedAtEpoch(this.#probeFd);
    } catch {
      return true;
    }
  }

  /**
   * Writes a line into the FIFO after whatever the program wrote there.
   *
   * @param line The text, ending with a newline.
   * @returns `false` when the FIFO is closed already.
   */
  send(line: string): boolean {
    try {
      const bytes = new TextEncoder().encode(line);
      let offset = 0;
      while (offset < bytes.length) offset += this.file.writeSync(bytes.subarray(offset));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Wakes reads waiting on the empty channel with an empty line (which is
   * not a token), so the readers can stop.
   */
  wake(): void {
    try {
      this.file.writeSync(NEWLINE);
    } catch {
      // Closed already: nothing is blocked.
    }
    if (this.#writerFd >= 0) libc().write(this.#writerFd, NEWLINE, 1n);
  }

  /**
   * Writes an empty line (not a token) where the first read completes
   * soonest: the socket, read through the runtime's I/O driver (the FIFO is
   * read on a thread of its pool, whose first read took about 3 ms more
   * here), or the FIFO when there is no socket. For the readers' warm-up.
   *
   * @returns Which way the line went, or `undefined` when it could not be written.
   */
  warmUpLine(): "socket" | "fifo" | undefined {
    if (this.#writerFd >= 0) {
      return Number(libc().write(this.#writerFd, NEWLINE, 1n)) === 1 ? "socket" : undefined;
    }
    return this.send("\n") ? "fifo" : undefined;
  }

  /** Closes every end and removes the FIFO and the socket. */
  async close(): Promise<void> {
    this.closeInheritedEnd();
    for (const fd of [this.#probeFd, this.#writerFd]) if (fd >= 0) libc().close(fd);
    this.#probeFd = -1;
    this.#writerFd = -1;
    for (const end of [this.file, this.socket]) {
      try {
        end?.close();
      } catch {
        // Already closed by the reader's cancel.
      }
    }
    await Deno.remove(this.#directory, { recursive: true }).catch(() => {});
    OrphanWatchdog.shared().release({ temporaryPath: this.#directory });
  }
}

const NEWLINE = new Uint8Array([10]);

/** Lets `owner` (and nobody else) reach and write the FIFO open as `fifoFd`. */
function shareWith(directory: string, fifoFd: number, owner: { uid: number; gid: number }) {
  unwrap(libc().fchown(fifoFd, owner.uid, owner.gid), "fchown", "phase FIFO");
  unwrap(libc().fchmod(fifoFd, 0o600), "fchmod", "phase FIFO");
  const directoryFd = libc().open(cString(directory), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (directoryFd < 0) throw new SyscallError("open", errno(), directory);
  try {
    unwrap(libc().fchown(directoryFd, Deno.uid() ?? 0, owner.gid), "fchown", directory);
    unwrap(libc().fchmod(directoryFd, 0o710), "fchmod", directory);
  } finally {
    libc().close(directoryFd);
  }
}

/**
 * A connected pair of Unix socket ends: the profiler's (polled by the
 * runtime, and its descriptor number) and the program's, plus a
 * close-on-exec copy of the program's end to ask what it sent that is
 * unread. `undefined` when the socket cannot be made.
 */
async function connectedSocket(
  path: string,
): Promise<
  { conn: Deno.UnixConn; connFd: number; inheritedFd: number; writerFd: number } | undefined
> {
  let listener: Deno.UnixListener;
  try {
    listener = Deno.listen({ transport: "unix", path });
  } catch {
    return undefined;
  }
  let listening = true;
  let writerFd = -1;
  try {
    writerFd = libc().socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (writerFd < 0) return undefined;
    // A listening Unix socket completes connect() at once (it is queued for accept).
    if (libc().connect(writerFd, socketAddress(path), SOCKADDR_UN_SIZE) !== 0) {
      libc().close(writerFd);
      return undefined;
    }
    const conn = await listener.accept();
    // Before the search below: the listener has the same address.
    listener.close();
    listening = false;
    // dup() clears close-on-exec: this copy is the one the program inherits.
    const inheritedFd = libc().dup(writerFd);
    if (inheritedFd < 0) {
      conn.close();
      libc().close(writerFd);
      return undefined;
    }
    return { conn, connFd: descriptorBoundTo(path), inheritedFd, writerFd };
  } finally {
    if (listening) listener.close();
  }
}

/** Descriptor numbers searched for the accepted end: it got the lowest one free. */
const MAX_DESCRIPTOR_SEARCHED = 1024;

/**
 * The descriptor of the one socket in this process bound to `path`, or -1.
 * The runtime does not say which descriptor an accepted connection got.
 * Once the listener is closed only that end has the path as its own
 * address (the program's end is unbound), so `getsockname(2)` on each
 * number finds it: a refused call (not a socket, no such descriptor)
 * costs well under a microsecond.
 */
function descriptorBoundTo(path: string): number {
  const wanted = socketAddress(path);
  const address = new Uint8Array(SOCKADDR_UN_SIZE);
  const length = new Uint32Array(1);
  for (let fd = 3; fd < MAX_DESCRIPTOR_SEARCHED; fd++) {
    length[0] = SOCKADDR_UN_SIZE;
    address.fill(0);
    if (libc().getsockname(fd, address, length) !== 0) continue;
    if (address.every((byte, i) => byte === wanted[i])) return fd;
  }
  return -1;
}

/** A `struct sockaddr_un` for `path`. */
function socketAddress(path: string): Uint8Array<ArrayBuffer> {
  const address = new Uint8Array(SOCKADDR_UN_SIZE);
  new DataView(address.buffer).setUint16(0, AF_UNIX, true);
  const bytes = new TextEncoder().encode(path);
  // Deno.listen() refused longer paths already.
  address.set(bytes.subarray(0, SOCKADDR_UN_SIZE - 3), 2);
  return address;
}

/** How many names {@linkcode guardedTemporaryFolder} tries before it gives up. */
const FOLDER_NAME_TRIES = 16;

/**
 * Makes a private (0700) folder under `TMPDIR` (or `/tmp`), guarded by the
 * watchdog before it exists: it is removed if the profiler is killed before
 * `close()`, even by a signal landing between its creation and the guard.
 * `mkdir` neither follows nor reuses what is already at the name: a name
 * taken (or planted) is given up for another.
 */
function guardedTemporaryFolder(prefix: string): string {
  const parent = (Deno.env.get("TMPDIR") || "/tmp").replace(/\/+$/, "");
  for (let tries = 0;; tries++) {
    const random = crypto.getRandomValues(new Uint32Array(2));
    const directory = `${parent}/${prefix}${random[0]!.toString(36)}${random[1]!.toString(36)}`;
    const guarded = { temporaryPath: directory };
    OrphanWatchdog.shared().guard(guarded);
    try {
      Deno.mkdirSync(directory, { mode: 0o700 });
      return directory;
    } catch (error) {
      OrphanWatchdog.shared().release(guarded);
      if (!(error instanceof Deno.errors.AlreadyExists) || tries + 1 >= FOLDER_NAME_TRIES) {
        throw error;
      }
    }
  }
}
