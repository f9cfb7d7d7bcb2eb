/**
 * The libc symbols the profiler calls through FFI, and thin wrappers that
 * turn `-1` + `errno` into {@linkcode SyscallError}.
 *
 * Each symbol is bound on its first use: `Deno.dlopen` compiles a call
 * stub for every symbol it is given (about 0.1–0.3 ms each here, 3–6 ms for
 * the whole table), and most commands call a handful (`--version` two).
 * Only the symbols called during a run over and over get that stub; the
 * others are bound without one (`bindWithoutFastCall`).
 *
 * @module
 */

/** Symbol table: one entry per C function, parameters commented with C types. */
const symbols = {
  syscall6: {
    name: "syscall",
    parameters: [
      "i64", /* long number */
      "buffer", /* void *arg1 (struct perf_event_attr *) */
      "i32", /* pid_t pid */
      "i32", /* int cpu */
      "i32", /* int group_fd */
      "u64", /* unsigned long flags */
    ],
    result: "i64", /* long */
  },
  ioctl: {
    parameters: [
      "i32", /* int fd */
      "u64", /* unsigned long request */
      "u64", /* unsigned long arg */
    ],
    result: "i32", /* int */
  },
  read: {
    parameters: [
      "i32", /* int fd */
      "buffer", /* void *buf */
      "usize", /* size_t count */
    ],
    result: "isize", /* ssize_t */
  },
  write: {
    parameters: [
      "i32", /* int fd */
      "buffer", /* const void *buf */
      "usize", /* size_t count */
    ],
    result: "isize", /* ssize_t */
  },
  /** `write(2)` on a runtime thread: for writes that may block in the kernel (cgroup moves). */
  writeOffThread: {
    name: "write",
    parameters: [
      "i32", /* int fd */
      "buffer", /* const void *buf */
      "usize", /* size_t count */
    ],
    result: "isize", /* ssize_t */
    nonblocking: true,
  },
  socket: {
    parameters: [
      "i32", /* int domain */
      "i32", /* int type */
      "i32", /* int protocol */
    ],
    result: "i32", /* int */
  },
  getsockname: {
    parameters: [
      "i32", /* int sockfd */
      "buffer", /* struct sockaddr *addr */
      "buffer", /* socklen_t *addrlen */
    ],
    result: "i32", /* int */
  },
  connect: {
    parameters: [
      "i32", /* int sockfd */
      "buffer", /* const struct sockaddr *addr */
      "u32", /* socklen_t addrlen */
    ],
    result: "i32", /* int */
  },
  fcntl: {
    parameters: [
      "i32", /* int fd */
      "i32", /* int cmd */
      "i32", /* int arg (the variadic third argument, an int for the commands used) */
    ],
    result: "i32", /* int */
  },
  dup: {
    parameters: [
      "i32", /* int oldfd */
    ],
    result: "i32", /* int */
  },
  pread: {
    name: "pread64",
    parameters: [
      "i32", /* int fd */
      "buffer", /* void *buf */
      "usize", /* size_t count */
      "i64", /* off_t offset */
    ],
    result: "isize", /* ssize_t */
  },
  open: {
    parameters: [
      "buffer", /* const char *pathname */
      "i32", /* int flags */
      "u32", /* mode_t mode */
    ],
    result: "i32", /* int */
  },
  mkfifo: {
    parameters: [
      "buffer", /* const char *pathname */
      "u32", /* mode_t mode */
    ],
    result: "i32", /* int */
  },
  access: {
    parameters: [
      "buffer", /* const char *pathname */
      "i32", /* int mode */
    ],
    result: "i32", /* int */
  },
  close: {
    parameters: ["i32" /* int fd */],
    result: "i32", /* int */
  },
  sysconf: {
    parameters: ["i32" /* int name */],
    result: "i64", /* long */
  },
  kill: {
    parameters: [
      "i32", /* pid_t pid */
      "i32", /* int sig */
    ],
    result: "i32", /* int */
  },
  getrusage: {
    parameters: [
      "i32", /* int who */
      "buffer", /* struct rusage *usage */
    ],
    result: "i32", /* int */
  },
  clock_gettime: {
    parameters: [
      "i32", /* clockid_t clockid */
      "buffer", /* struct timespec *tp */
    ],
    result: "i32", /* int */
  },
  nanosleep: {
    parameters: [
      "buffer", /* const struct timespec *req */
      "buffer", /* struct timespec *rem (may be NULL) */
    ],
    result: "i32", /* int */
  },
  openat: {
    parameters: [
      "i32", /* int dirfd */
      "buffer", /* const char *pathname */
      "i32", /* int flags */
      "u32", /* mode_t mode */
    ],
    result: "i32", /* int */
  },
  renameat: {
    parameters: [
      "i32", /* int olddirfd */
      "buffer", /* const char *oldpath */
      "i32", /* int newdirfd */
      "buffer", /* const char *newpath */
    ],
    result: "i32", /* int */
  },
  unlinkat: {
    parameters: [
      "i32", /* int dirfd */
      "buffer", /* const char *pathname */
      "i32", /* int flags */
    ],
    result: "i32", /* int */
  },
  readlinkat: {
    parameters: [
      "i32", /* int dirfd */
      "buffer", /* const char *pathname */
      "buffer", /* char *buf */
      "usize", /* size_t bufsiz */
    ],
    result: "isize", /* ssize_t */
  },
  statx: {
    parameters: [
      "i32", /* int dirfd */
      "buffer", /* const char *pathname */
      "i32", /* int flags */
      "u32", /* unsigned int mask */
      "buffer", /* struct statx *statxbuf */
    ],
    result: "i32", /* int */
  },
  fchown: {
    parameters: [
      "i32", /* int fd */
      "u32", /* uid_t owner */
      "u32", /* gid_t group */
    ],
    result: "i32", /* int */
  },
  fchmod: {
    parameters: [
      "i32", /* int fd */
      "u32", /* mode_t mode */
    ],
    result: "i32", /* int */
  },
  fsync: {
    parameters: ["i32" /* int fd */],
    result: "i32", /* int */
  },
  signal: {
    parameters: [
      "i32", /* int signum */
      "pointer", /* sighandler_t handler */
    ],
    result: "pointer", /* sighandler_t */
  },
  dlsym: {
    parameters: [
      "pointer", /* void *handle (RTLD_DEFAULT = NULL) */
      "buffer", /* const char *symbol */
    ],
    result: "pointer", /* void * */
  },
  pidfd_open: {
    name: "syscall",
    parameters: [
      "i64", /* long number (SYS_pidfd_open, 434 on every architecture) */
      "i32", /* pid_t pid */
      "u32", /* unsigned int flags */
    ],
    result: "i64", /* long: a descriptor, or -1 */
  },
  sched_getattr: {
    name: "syscall",
    parameters: [
      "i64", /* long number (SYS_sched_getattr: 315 on x86-64, 275 on AArch64) */
      "i32", /* pid_t pid (0: the calling thread) */
      "buffer", /* struct sched_attr *attr */
      "u32", /* unsigned int size */
      "u32", /* unsigned int flags */
    ],
    result: "i64", /* long: 0, or -1 */
  },
  sched_setattr: {
    name: "syscall",
    parameters: [
      "i64", /* long number (SYS_sched_setattr: 314 on x86-64, 274 on AArch64) */
      "i32", /* pid_t pid (0: the calling thread) */
      "buffer", /* struct sched_attr *attr */
      "u32", /* unsigned int flags */
    ],
    result: "i64", /* long: 0, or -1 */
  },
  sched_getaffinity: {
    parameters: [
      "i32", /* pid_t pid (a thread ID; 0: the calling thread) */
      "usize", /* size_t cpusetsize */
      "buffer", /* cpu_set_t *mask */
    ],
    result: "i32", /* int: 0, or -1 */
  },
  sched_setaffinity: {
    parameters: [
      "i32", /* pid_t pid (a thread ID; 0: the calling thread) */
      "usize", /* size_t cpusetsize */
      "buffer", /* const cpu_set_t *mask */
    ],
    result: "i32", /* int: 0, or -1 */
  },
  eventfd: {
    parameters: [
      "u32", /* unsigned int initval */
      "i32", /* int flags */
    ],
    result: "i32", /* int */
  },
  poll: {
    parameters: [
      "buffer", /* struct pollfd *fds */
      "u64", /* nfds_t nfds */
      "i32", /* int timeout (ms; -1 waits forever) */
    ],
    result: "i32", /* int */
    // Sleeps on the calling thread (see src/phase/main_thread_wait.ts).
  },
  poll_blocking: {
    name: "poll",
    parameters: [
      "buffer", /* struct pollfd *fds */
      "u64", /* nfds_t nfds */
      "i32", /* int timeout (ms; -1 waits forever) */
    ],
    result: "i32", /* int */
    // Waits in the runtime's blocking pool: the event loop goes on meanwhile.
    nonblocking: true,
  },
  waitid_blocking: {
    name: "waitid",
    parameters: [
      "i32", /* idtype_t idtype */
      "u32", /* id_t id */
      "buffer", /* siginfo_t *infop */
      "i32", /* int options */
    ],
    result: "i32", /* int */
    // Waits in the runtime's blocking pool: the event loop goes on meanwhile.
    nonblocking: true,
  },
  pipe2: {
    parameters: [
      "buffer", /* int pipefd[2] */
      "i32", /* int flags */
    ],
    result: "i32", /* int */
  },
  posix_spawn: {
    parameters: [
      "buffer", /* pid_t *pid */
      "buffer", /* const char *path */
      "buffer", /* const posix_spawn_file_actions_t *file_actions */
      "buffer", /* const posix_spawnattr_t *attrp */
      "buffer", /* char *const argv[] */
      "buffer", /* char *const envp[] */
    ],
    result: "i32", /* int (an error number, not -1 and errno) */
  },
  posix_spawn_file_actions_init: {
    parameters: ["buffer" /* posix_spawn_file_actions_t *file_actions */],
    result: "i32", /* int */
  },
  posix_spawn_file_actions_destroy: {
    parameters: ["buffer" /* posix_spawn_file_actions_t *file_actions */],
    result: "i32", /* int */
  },
  posix_spawn_file_actions_adddup2: {
    parameters: [
      "buffer", /* posix_spawn_file_actions_t *file_actions */
      "i32", /* int fildes */
      "i32", /* int newfildes */
    ],
    result: "i32", /* int */
  },
  posix_spawn_file_actions_addopen: {
    parameters: [
      "buffer", /* posix_spawn_file_actions_t *file_actions */
      "i32", /* int fildes */
      "buffer", /* const char *path */
      "i32", /* int oflag */
      "u32", /* mode_t mode */
    ],
    result: "i32", /* int */
  },
  posix_spawnattr_init: {
    parameters: ["buffer" /* posix_spawnattr_t *attr */],
    result: "i32", /* int */
  },
  posix_spawnattr_destroy: {
    parameters: ["buffer" /* posix_spawnattr_t *attr */],
    result: "i32", /* int */
  },
  posix_spawnattr_setflags: {
    parameters: [
      "buffer", /* posix_spawnattr_t *attr */
      "i16", /* short flags */
    ],
    result: "i32", /* int */
  },
  posix_spawnattr_setsigmask: {
    parameters: [
      "buffer", /* posix_spawnattr_t *attr */
      "buffer", /* const sigset_t *sigmask */
    ],
    result: "i32", /* int */
  },
  posix_spawnattr_setsigdefault: {
    parameters: [
      "buffer", /* posix_spawnattr_t *attr */
      "buffer", /* const sigset_t *sigdefault */
    ],
    result: "i32", /* int */
  },
  __errno_location: {
    parameters: [],
    result: "pointer", /* int * */
  },
  strerror: {
    parameters: ["i32" /* int errnum */],
    result: "pointer", /* char * */
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** The typed symbols of libc, as returned by `Deno.dlopen`. */
export type LibcSymbols = Deno.DynamicLibrary<typeof symbols>["symbols"];

const LIBC_CANDIDATES = ["libc.so.6", "libc.so", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1"];

type SymbolName = keyof typeof symbols;

/** The library's file name, found on the first bind. */
let libraryName: string | undefined;
/** Every library handle opened, one per bound symbol; kept so the symbols stay valid. */
const libraries: Deno.DynamicLibrary<Deno.ForeignLibraryInterface>[] = [];
let errnoView: Deno.UnsafePointerView | undefined;
let lazySymbols: LibcSymbols | undefined;

/**
 * The symbols called often during a run (passthrough, boundaries, samples): they get Deno's
 * fast-call stub. Every other one is bound without it (`bindWithoutFastCall`).
 */
const FAST_CALL_SYMBOLS: ReadonlySet<SymbolName> = new Set<SymbolName>([
  "read",
  "write",
  "pread",
  "clock_gettime",
  "ioctl",
]);

/** The results {@linkcode bindWithoutFastCall} can return through a one-scalar struct. */
type ScalarResult = "i32" | "i64" | "isize" | "pointer";
const SCALAR_RESULTS: ReadonlySet<unknown> = new Set<ScalarResult>([
  "i32",
  "i64",
  "isize",
  "pointer",
]);

/** Opens libc (already mapped in the process, so `dlopen` only counts a reference) with one symbol. */
function bind<Name extends SymbolName>(name: Name): LibcSymbols[Name] {
  const definition: Deno.ForeignFunction = symbols[name];
  if (
    FAST_CALL_SYMBOLS.has(name) || definition.nonblocking === true ||
    !SCALAR_RESULTS.has(definition.result)
  ) {
    const library = openLibc({ [name]: definition });
    return library.symbols[name] as LibcSymbols[Name];
  }
  return bindWithoutFastCall(name, definition) as LibcSymbols[Name];
}

/**
 * Binds a symbol called a few times per run without the fast-call stub that
 * `Deno.dlopen` compiles (Cranelift) for every symbol whose signature allows
 * one: measured with Deno 2.9.6, 0.1–0.3 ms per symbol at bind against about
 * 20 µs without (its calls take the generic path: well under a microsecond
 * more, against a system call's). Deno compiles none for a symbol that
 * returns a struct, so the result is declared as a struct of its one scalar:
 * the same register at the ABI level (x86-64 System V: a struct of 8 bytes or
 * less of integer class comes back in `rax`; AArch64: one of 16 bytes or less
 * in `x0`), converted back to what the plain declaration returns.
 */
function bindWithoutFastCall(name: SymbolName, definition: Deno.ForeignFunction): unknown {
  const result = definition.result as ScalarResult;
  const library = openLibc({
    [name]: { ...definition, result: { struct: [result] } },
  });
  const call = library.symbols[name] as (...args: unknown[]) => Uint8Array;
  switch (result) {
    case "i32":
      return (...args: unknown[]) => structScalar(call(...args)).getInt32(0, LITTLE_ENDIAN);
    case "i64":
    case "isize":
      // A bigint, as Deno's generic path returns a 64-bit integer.
      return (...args: unknown[]) => structScalar(call(...args)).getBigInt64(0, LITTLE_ENDIAN);
    case "pointer":
      return (...args: unknown[]) =>
        Deno.UnsafePointer.create(structScalar(call(...args)).getBigUint64(0, LITTLE_ENDIAN));
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function structScalar(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function openLibc<Table extends Deno.ForeignLibraryInterface>(
  table: Table,
): Deno.DynamicLibrary<Table> {
  if (libraryName !== undefined) {
    const library = Deno.dlopen(libraryName, table);
    libraries.push(library);
    return library;
  }
  const failures: string[] = [];
  for (const candidate of LIBC_CANDIDATES) {
    try {
      const library = Deno.dlopen(candidate, table);
      libraryName = candidate;
      libraries.push(library);
      return library;
    } catch (error) {
      if (error instanceof Deno.errors.NotCapable) throw error;
      failures.push(`${candidate}: ${(error as Error).message}`);
    }
  }
  throw new Error(`cannot load the C library (${failures.join("; ")})`);
}

/**
 * Returns libc's symbols; each is bound on its first use (then a plain
 * property, so later calls cost nothing extra).
 *
 * @returns The typed libc symbols.
 * @throws {Error} When the C library cannot be opened (on the first use of a symbol).
 * @throws {Deno.errors.NotCapable} Without FFI permission.
 *
 * @example Usage
 * ```ts
 * import { libc } from "./libc.ts";
 * console.log(libc().kill(Deno.pid, 0)); // 0
 * ```
 */
export function libc(): LibcSymbols {
  if (lazySymbols !== undefined) return lazySymbols;
  const table = {} as LibcSymbols;
  for (const name of Object.keys(symbols) as SymbolName[]) {
    Object.defineProperty(table, name, {
      configurable: true,
      enumerable: true,
      get() {
        const symbol = bind(name);
        Object.defineProperty(table, name, { value: symbol, enumerable: true });
        return symbol;
      },
    });
  }
  lazySymbols = table;
  return table;
}

/**
 * Binds libc symbols now rather than at their first call: for a path that is
 * timed and calls one for the first time (a run's START resumes the program
 * with `kill`, bound there it cost 0.15–0.2 ms inside the measured window).
 *
 * @param names The symbols to bind.
 *
 * @example Usage
 * ```ts
 * import { bindNow, libc } from "./libc.ts";
 * bindNow("kill");
 * console.log(libc().kill(Deno.pid, 0)); // 0
 * ```
 */
export function bindNow(...names: SymbolName[]): void {
  const table = libc();
  for (const name of names) void table[name];
}

/** Symbolic names of the errno values the profiler reports or tests for. */
const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  4: "EINTR",
  5: "EIO",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  16: "EBUSY",
  17: "EEXIST",
  18: "EXDEV",
  19: "ENODEV",
  20: "ENOTDIR",
  21: "EISDIR",
  22: "EINVAL",
  34: "ERANGE",
  24: "EMFILE",
  27: "EFBIG",
  28: "ENOSPC",
  30: "EROFS",
  32: "EPIPE",
  36: "ENAMETOOLONG",
  40: "ELOOP",
  122: "EDQUOT",
  38: "ENOSYS",
  95: "EOPNOTSUPP",
};

/**
 * A failed C call: carries the function name and `errno`.
 *
 * @example Usage
 * ```ts
 * import { SyscallError } from "./libc.ts";
 * const err = new SyscallError("perf_event_open", 13);
 * console.log(err.code); // "EACCES"
 * ```
 */
export class SyscallError extends Error {
  /** The C function that failed. */
  readonly call: string;
  /** The raw errno value. */
  readonly errno: number;
  /** Symbolic errno name such as `EACCES` (or `E<number>`). */
  readonly code: string;

  /**
   * Creates the error; the message includes `strerror(errno)`.
   *
   * @param call The C function that failed.
   * @param errno The errno it left.
   * @param detail Optional context appended to the message.
   */
  constructor(call: string, errno: number, detail?: string) {
    const code = ERRNO_NAMES[errno] ?? `E${errno}`;
    super(`${call}${detail ? ` (${detail})` : ""}: ${strerror(errno)} (${code})`);
    this.name = "SyscallError";
    this.call = call;
    this.errno = errno;
    this.code = code;
  }
}

/**
 * Reads the calling thread's `errno`. Call it right after the failed call:
 * FFI calls run on the JS thread, so nothing in between can change it.
 *
 * @returns The current errno value.
 *
 * @example Usage
 * ```ts
 * import { errno, libc } from "./libc.ts";
 * if (libc().kill(999_999_999, 0) === -1) console.log(errno()); // 3 (ESRCH)
 * ```
 */
export function errno(): number {
  if (!errnoView) {
    const pointer = libc().__errno_location();
    if (pointer === null) return 0;
    errnoView = new Deno.UnsafePointerView(pointer);
  }
  return errnoView.getInt32(0);
}

/**
 * `strerror(3)` as a JS string.
 *
 * @param code An errno value.
 * @returns The C library's description of it.
 *
 * @example Usage
 * ```ts
 * import { strerror } from "./libc.ts";
 * console.log(strerror(13)); // "Permission denied"
 * ```
 */
export function strerror(code: number): string {
  try {
    const pointer = libc().strerror(code);
    return pointer === null ? `errno ${code}` : Deno.UnsafePointerView.getCString(pointer);
  } catch {
    return `errno ${code}`;
  }
}

/**
 * Throws a {@linkcode SyscallError} when a C call returned -1.
 *
 * @param rc The call's return value.
 * @param call Name of the call, for the message.
 * @param detail Optional context for the message.
 * @returns `rc` as a number when it is not an error.
 *
 * @example Usage
 * ```ts
 * import { libc, unwrap } from "./libc.ts";
 * unwrap(libc().kill(Deno.pid, 0), "kill");
 * ```
 */
export function unwrap(rc: number | bigint, call: string, detail?: string): number {
  const value = Number(rc);
  if (value === -1) throw new SyscallError(call, errno(), detail);
  return value;
}

/**
 * Sends a signal through `kill(2)`.
 *
 * @param pid Target process (or -pgid).
 * @param signal Signal number.
 * @returns `true` when sent, `false` when the process no longer exists.
 *
 * @example Usage
 * ```ts
 * import { sendSignal } from "./libc.ts";
 * sendSignal(Deno.pid, 0); // true: we exist
 * ```
 */
export function sendSignal(pid: number, signal: number): boolean {
  if (libc().kill(pid, signal) === 0) return true;
  const code = errno();
  if (code === 3) return false;
  throw new SyscallError("kill", code, `pid ${pid}, signal ${signal}`);
}

/** `F_SETPIPE_SZ` from `<fcntl.h>` (Linux). */
const F_SETPIPE_SZ = 1031;

/**
 * Sets a pipe's capacity (`fcntl(F_SETPIPE_SZ)`); the kernel rounds it up
 * to a power of two pages and refuses more than `/proc/sys/fs/pipe-max-size`
 * to unprivileged users.
 *
 * @param fd Either end of the pipe.
 * @param bytes The capacity wanted.
 * @returns The capacity now, or `undefined` when refused.
 *
 * @example Usage
 * ```ts ignore
 * import { setPipeSize } from "./libc.ts";
 * setPipeSize(3, 1 << 20); // 1048576, or undefined when refused
 * ```
 */
export function setPipeSize(fd: number, bytes: number): number | undefined {
  const size = libc().fcntl(fd, F_SETPIPE_SZ, bytes);
  return size === -1 ? undefined : size;
}

/** `F_GETFL` and `O_NONBLOCK` from `<fcntl.h>` (Linux, x86_64 and aarch64). */
const F_GETFL = 3;
const O_NONBLOCK = 0o4000;
const EAGAIN = 11;
/** `errno` of a system call a signal interrupted. */
export const EINTR = 4;

/**
 * Whether a descriptor is in non-blocking mode, so reading it can never
 * stall the thread.
 *
 * @param fd The descriptor.
 * @returns `true` when `O_NONBLOCK` is set.
 *
 * @example Usage
 * ```ts ignore
 * import { isNonBlocking } from "./libc.ts";
 * isNonBlocking(0); // usually false for a terminal
 * ```
 */
export function isNonBlocking(fd: number): boolean {
  const flags = libc().fcntl(fd, F_GETFL, 0);
  return flags !== -1 && (flags & O_NONBLOCK) !== 0;
}

/**
 * One `read(2)` of a non-blocking descriptor.
 *
 * @param fd A descriptor in non-blocking mode (see {@linkcode isNonBlocking}).
 * @param into Where the bytes go.
 * @returns The number of bytes read (0 at the end), `"empty"` when nothing
 * waits (`EAGAIN`), or `"failed"` on any other error.
 *
 * @example Usage
 * ```ts ignore
 * import { readNonBlocking } from "./libc.ts";
 * const got = readNonBlocking(3, new Uint8Array(65536));
 * ```
 */
export function readNonBlocking(fd: number, into: Uint8Array): number | "empty" | "failed" {
  for (;;) {
    const got = Number(libc().read(fd, into, BigInt(into.length)));
    if (got >= 0) return got;
    const code = errno();
    if (code === EAGAIN) return "empty";
    if (code !== EINTR) return "failed";
  }
}

const sleepRequest = new BigInt64Array(2);

/**
 * Blocks the JS thread for a short, precise time (`nanosleep(2)`); for
 * start-up polling only, where a 1 ms timer would be too coarse.
 *
 * @param microseconds How long to sleep.
 *
 * @example Usage
 * ```ts
 * import { sleepMicros } from "./libc.ts";
 * sleepMicros(50);
 * ```
 */
export function sleepMicros(microseconds: number): void {
  sleepRequest[0] = BigInt(Math.floor(microseconds / 1e6));
  sleepRequest[1] = BigInt(Math.round((microseconds % 1e6) * 1000));
  libc().nanosleep(sleepRequest, null);
}

const encoder = new TextEncoder();

/**
 * A NUL-terminated copy of a string, for `const char *` parameters.
 *
 * @param text The string.
 * @returns Its UTF-8 bytes followed by a NUL byte.
 *
 * @example Usage
 * ```ts
 * import { cString, libc } from "./libc.ts";
 * libc().access(cString("/bin/sh"), 1);
 * ```
 */
export function cString(text: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(`${text}\0`);
}

/**
 * `poll(2)`'s layout and flags (Linux): a `struct pollfd` is an `int fd`,
 * a `short events` and a `short revents`.
 *
 * @example Usage
 * ```ts
 * import { POLL } from "./libc.ts";
 * const set = new Uint8Array(POLL.FD_BYTES);
 * new DataView(set.buffer).setInt16(4, POLL.IN, true);
 * ```
 */
export const POLL = {
  /** Bytes of one `struct pollfd`. */
  FD_BYTES: 8,
  /** Data to read (in `events` and `revents`). */
  IN: 0x1,
  /** An error (`revents` only). */
  ERR: 0x8,
  /** Hung up: the other end is closed (`revents` only). */
  HUP: 0x10,
  /** Not an open descriptor (`revents` only). */
  NVAL: 0x20,
} as const;

/**
 * `waitid(2)` arguments (`<sys/wait.h>`, Linux) and `sizeof(siginfo_t)`, for
 * `waitid_blocking`.
 *
 * @example Usage
 * ```ts
 * import { libc, WAITID } from "./libc.ts";
 * const info = new Uint8Array(WAITID.SIGINFO_BYTES);
 * // Our own pid is no child of ours: the wait fails at once.
 * console.log(await libc().waitid_blocking(WAITID.P_PID, Deno.pid, info, WAITID.WEXITED)); // -1
 * ```
 */
export const WAITID = {
  /** Wait for the one process whose pid is given. */
  P_PID: 1,
  /** For a stop. */
  WSTOPPED: 2,
  /** For an exit (reaping it, unless with `WNOWAIT`). */
  WEXITED: 4,
  /** Leave the child to be reaped later. */
  WNOWAIT: 0x01000000,
  /** `sizeof(siginfo_t)` on Linux. */
  SIGINFO_BYTES: 128,
} as const;

/** Signal numbers on Linux (x86_64 and aarch64 agree on these). */
export const SIGNALS = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGPIPE: 13,
  SIGTERM: 15,
  SIGCONT: 18,
  SIGSTOP: 19,
} as const;

const SIGNAL_NAMES: Record<number, string> = {
  1: "SIGHUP",
  2: "SIGINT",
  3: "SIGQUIT",
  4: "SIGILL",
  5: "SIGTRAP",
  6: "SIGABRT",
  7: "SIGBUS",
  8: "SIGFPE",
  9: "SIGKILL",
  10: "SIGUSR1",
  11: "SIGSEGV",
  12: "SIGUSR2",
  13: "SIGPIPE",
  14: "SIGALRM",
  15: "SIGTERM",
  24: "SIGXCPU",
  25: "SIGXFSZ",
};

/**
 * The conventional name of a signal number.
 *
 * @param signal A Linux signal number.
 * @returns A name like `SIGINT`, or `SIG<n>`.
 *
 * @example Usage
 * ```ts
 * import { signalName } from "./libc.ts";
 * console.log(signalName(9)); // "SIGKILL"
 * ```
 */
export function signalName(signal: number): string {
  return SIGNAL_NAMES[signal] ?? `SIG${signal}`;
}

/**
 * The number of a signal name as Deno reports it.
 *
 * @param name A name like `SIGTERM`.
 * @returns Its Linux number, or `undefined` when unknown.
 *
 * @example Usage
 * ```ts
 * import { signalNumber } from "./libc.ts";
 * console.log(signalNumber("SIGTERM")); // 15
 * ```
 */
export function signalNumber(name: string): number | undefined {
  for (const [number, known] of Object.entries(SIGNAL_NAMES)) {
    if (known === name) return Number(number);
  }
  return undefined;
}
