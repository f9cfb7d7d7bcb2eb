/**
 * Waits for a descriptor in `poll(2)` on the main thread, for a short while,
 * without starving the runtime's event loop.
 *
 * Why: the runtime delivers a pipe's bytes to JavaScript through its event
 * loop, which adds tens of µs to every token on these VMs against a reader
 * asleep in the kernel (docs/PERFORMANCE.md, token latency). A main thread
 * asleep in `poll(2)` wakes as a C reader does. Meanwhile nothing else of
 * the event loop runs, so the same `poll(2)` also watches the runtime's own
 * epoll descriptor (tokio's I/O driver): when the runtime has an event of
 * its own (a signal, a socket, the program's exit, a new timer), the wait
 * returns `"runtime"` and the caller goes back to waiting through the event
 * loop. What the epoll descriptor does not show, measured with Deno 2.9.6:
 * the runtime's timers falling due, and, not always, the end of a job on its
 * thread pool (a file read, a FIFO read). So callers sleep in short slices
 * with one turn of the event loop between them ({@linkcode EventLoopTurn}).
 *
 * @module
 */

import { bindNow, EINTR, errno, libc, POLL } from "../ffi/libc.ts";
import { openKeptFile, readKeptFile } from "../ffi/kept_file.ts";

const POLLFD_BYTES = POLL.FD_BYTES;
/**
 * Microtask hops after a turn's own resolution: the turn's other callbacks
 * (a stream read's resolution takes a few promise hops to reach its reader)
 * run before the thread blocks again.
 */
const SETTLE_HOPS = 8;

/** What ended a {@linkcode MainThreadWait.wait}. */
export type WaitOutcome = "readable" | "runtime" | "timeout";

/** Cached per process: the runtime's driver keeps one epoll instance for its life. */
let runtimeEpoll: number | null | undefined;

/** Descriptors looked at for the runtime's epoll set (it is among the first a process opens). */
const EPOLL_SEARCH_LIMIT = 256;

/**
 * The descriptor of the runtime's epoll instance (its I/O driver), found
 * as the epoll instance that watches `watched`, a descriptor the runtime
 * reads (a child's stdout pipe); `undefined` when there is none (another
 * runtime, another OS): callers then wait through the event loop only.
 * An epoll descriptor's `/proc/self/fdinfo` lists what it watches
 * (`tfd: <fd> ...` lines); other descriptors' list none. Read through the
 * FFI, lowest descriptor first: the runtime opens its epoll set early, so
 * this is a few system calls, against 0.2–0.3 ms through the runtime's
 * directory listing.
 *
 * @param watched A descriptor registered with the runtime.
 * @returns The epoll descriptor, or `undefined`.
 *
 * @example Usage
 * ```ts ignore
 * import { findRuntimeEpoll } from "./main_thread_wait.ts";
 * const epoll = findRuntimeEpoll(9); // e.g. 3
 * ```
 */
export function findRuntimeEpoll(watched: number): number | undefined {
  if (runtimeEpoll !== undefined) return runtimeEpoll ?? undefined;
  runtimeEpoll = null;
  const marker = new RegExp(`^tfd:\\s+${watched}\\s`, "m");
  const buffer = new Uint8Array(4096);
  const decoder = new TextDecoder();
  for (let fd = 0; fd < EPOLL_SEARCH_LIMIT; fd++) {
    if (fd === watched) continue;
    const info = openKeptFile(`/proc/self/fdinfo/${fd}`);
    if (info < 0) continue; // not open (or no /proc)
    const length = readKeptFile(info, buffer);
    libc().close(info);
    if (length > 0 && marker.test(decoder.decode(buffer.subarray(0, length)))) {
      runtimeEpoll = fd;
      break;
    }
  }
  return runtimeEpoll ?? undefined;
}

/**
 * One turn of the event loop on demand: `Atomics.waitAsync` on a cell that
 * is notified at once, whose promise V8 resolves in a task of the isolate's
 * own; running it, the runtime runs JavaScript's pending work, polls the
 * operations started since, fires due timers and delivers finished jobs of
 * its pool (it does not run its I/O driver). 4–6 µs a turn here, its first
 * 0.1 ms, where a `MessageChannel`'s first message took 2.5 ms (the
 * runtime's message port code, run for the first time). The turn is pending
 * work the runtime does not count: something else must keep the process
 * alive meanwhile (the program being read, here).
 *
 * @example Usage
 * ```ts
 * import { EventLoopTurn } from "./main_thread_wait.ts";
 * const turn = new EventLoopTurn();
 * const timer = setTimeout(() => {}, 1000); // keeps the process alive meanwhile
 * await turn.next();
 * clearTimeout(timer);
 * ```
 */
export class EventLoopTurn {
  readonly #cell = new Int32Array(new SharedArrayBuffer(4));

  /**
   * Lets one turn of the event loop run.
   *
   * @returns When the turn has run.
   */
  async next(): Promise<void> {
    const waiting = Atomics.waitAsync(this.#cell, 0, 0);
    Atomics.notify(this.#cell, 0);
    if (waiting.async) await waiting.value;
    for (let i = 0; i < SETTLE_HOPS; i++) await undefined;
  }
}

/** Options of {@linkcode MainThreadWait}. */
export interface MainThreadWaitOptions {
  /** The runtime's epoll descriptor ({@linkcode findRuntimeEpoll}). */
  epoll: number;
  /** The turns yielded between waits (closed by its owner). */
  turn: EventLoopTurn;
  /**
   * Descriptors whose unread bytes the runtime reads on a thread of its
   * pool (a FIFO): their readability ends a wait too, since such a read is
   * not in the epoll set.
   */
  alsoWatch?: readonly number[];
  /**
   * Asked before each sleep: `true` when bytes wait unread somewhere the
   * runtime reads (a socket whose readiness it has already taken in), so
   * the event loop must have them first.
   */
  runtimeHasInput?: () => boolean;
}

/**
 * A short wait for one descriptor on the main thread, woken by the
 * runtime's events too.
 *
 * @example Usage
 * ```ts ignore
 * import { EventLoopTurn, MainThreadWait } from "./main_thread_wait.ts";
 * const turn = new EventLoopTurn();
 * const wait = new MainThreadWait({ epoll: 3, turn });
 * await wait.yieldTurn();
 * if (wait.wait(9, 1) === "readable") {
 *   // read fd 9 now
 * }
 * ```
 */
export class MainThreadWait {
  readonly #fds: Uint8Array;
  readonly #view: DataView;
  readonly #count: bigint;
  readonly #turn: EventLoopTurn;
  readonly #runtimeHasInput: (() => boolean) | undefined;

  /**
   * Prepares the wait.
   *
   * @param options The runtime's descriptors and the turns to yield.
   */
  constructor(options: MainThreadWaitOptions) {
    const watched = [options.epoll, ...(options.alsoWatch ?? [])];
    this.#fds = new Uint8Array((1 + watched.length) * POLLFD_BYTES);
    this.#view = new DataView(this.#fds.buffer);
    this.#count = BigInt(1 + watched.length);
    watched.forEach((fd, i) => {
      this.#view.setInt32((i + 1) * POLLFD_BYTES, fd, true);
      this.#view.setInt16((i + 1) * POLLFD_BYTES + 4, POLL.IN, true);
    });
    this.#turn = options.turn;
    this.#runtimeHasInput = options.runtimeHasInput;
    bindNow("poll"); // not at the first wait, which may be a token's
  }

  /**
   * Sleeps in `poll(2)` until `fd` is readable (or at its end), the runtime
   * has an event, a signal arrives, or `timeoutMs` passed. Call it right
   * after {@linkcode MainThreadWait.yieldTurn}.
   *
   * @param fd The descriptor to wait for.
   * @param timeoutMs Longest wait, ms (rounded up).
   * @returns What ended the wait.
   */
  wait(fd: number, timeoutMs: number): WaitOutcome {
    if (this.#runtimeHasInput?.() === true) return "runtime";
    const view = this.#view;
    view.setInt32(0, fd, true);
    view.setInt16(4, POLL.IN, true);
    for (let offset = 6; offset < this.#fds.length; offset += POLLFD_BYTES) {
      view.setInt16(offset, 0, true);
    }
    const ready = libc().poll(this.#fds, this.#count, Math.max(0, Math.ceil(timeoutMs)));
    if (ready === 0) return "timeout";
    if (ready < 0) {
      // A signal: its handler is the runtime's.
      if (errno() === EINTR) return "runtime";
      return "timeout";
    }
    if ((view.getInt16(6, true) & (POLL.IN | POLL.HUP | POLL.ERR | POLL.NVAL)) !== 0) {
      return "readable";
    }
    return "runtime";
  }

  /**
   * Lets one turn of the event loop run ({@linkcode EventLoopTurn.next}).
   *
   * @returns When the turn has run.
   */
  yieldTurn(): Promise<void> {
    return this.#turn.next();
  }
}
