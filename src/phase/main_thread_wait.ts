/**
 * Waits for descriptors in `poll(2)` on the main thread, for a short while,
 * without starving the runtime's event loop.
 *
 * Why: the runtime delivers a pipe's or a socket's bytes to JavaScript
 * through its event loop, which adds tens of µs to every token on these VMs
 * against a reader asleep in the kernel (docs/PERFORMANCE.md, token
 * latency). A main thread asleep in `poll(2)` wakes as a C reader does.
 * Meanwhile nothing else of the event loop runs, so the same `poll(2)` also
 * watches the runtime's own epoll descriptor (tokio's I/O driver): when the
 * runtime has an event of its own (a signal, a socket, the program's exit),
 * the wait returns `"runtime"`, and a linger lets the driver run once
 * ({@linkcode MainThreadWait.driverTurn}) before it sleeps again. What the
 * epoll descriptor does not show, measured with Deno 2.9.6: the runtime's
 * timers falling due, and, not always, the end of a job on its thread pool
 * (a file read, a FIFO read). So lingers sleep in short slices with one
 * turn of the event loop between them ({@linkcode EventLoopTurn}).
 *
 * A socket the runtime watches is reported by its epoll descriptor from the
 * moment bytes arrive until its driver takes the event, even once the
 * bytes were read here: a connected socket stays writable, and the runtime
 * asks for that too (a pipe's read end is dropped from the report once it
 * is empty). Ending the linger there instead would send every other marker
 * of the phase socket through the runtime's stream (measured: 199 of 400).
 *
 * All the readers of a run linger in one {@linkcode MainThreadWait}, so one
 * `poll(2)` watches them all. With a wait each, a reader's bytes woke the
 * other's wait only through the runtime's report, which the driver then
 * took in, and the reader's own wait often came a slice later: in a program
 * alternating stdout tokens and markers 0.5 ms apart, stdout's p90 was
 * 0.57–0.58 ms, against 42–77 µs with one wait (2026-12-08).
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

/**
 * What ended a {@linkcode MainThreadWait.wait}: the descriptor is
 * readable; the runtime has an event of its own (or a signal came); the
 * time was up; or bytes wait unread where the runtime reads them
 * ({@linkcode MainThreadWaitOptions.runtimeHasInput}: no wait was made).
 */
export type WaitOutcome = "readable" | "runtime" | "timeout" | "unread";

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
  /** The turns yielded between waits. */
  turn: EventLoopTurn;
  /**
   * Descriptors whose unread bytes the runtime reads on a thread of its
   * pool (a FIFO): their readability ends a wait too, since such a read is
   * not in the epoll set.
   */
  alsoWatch?: readonly number[];
  /**
   * Asked before each sleep, with the descriptors waited for: `true` when
   * bytes wait unread somewhere the runtime reads (a socket whose readiness
   * it has already taken in), so the event loop must have them first (the
   * wait returns `"unread"`).
   */
  runtimeHasInput?: (waitedFor: readonly number[]) => boolean;
}

/**
 * Longest sleep of a linger between two turns of the event loop, ms: the
 * runtime's timers are not in its epoll set, so one that falls due during a
 * linger runs at most this late (the runtime's own timer resolution).
 */
const LINGER_SLICE_MS = 1;

/** One descriptor lingered on ({@linkcode MainThreadWait.linger}). */
interface Lingerer {
  fd: number;
  deadline: number;
  ended: (() => boolean) | undefined;
  settle: (readable: boolean) => void;
}

/**
 * Waits for descriptors on the main thread, woken by the runtime's events
 * too: one `poll(2)` at a time, shared by every reader of a run that
 * lingers ({@linkcode MainThreadWait.linger}), so bytes on any of them wake
 * the thread at once.
 *
 * @example Usage
 * ```ts ignore
 * import { EventLoopTurn, MainThreadWait } from "./main_thread_wait.ts";
 * const wait = new MainThreadWait({ epoll: 3, turn: new EventLoopTurn() });
 * if (await wait.linger(9, 2)) {
 *   // read fd 9 now
 * }
 * ```
 */
export class MainThreadWait {
  readonly #epoll: number;
  readonly #alsoWatch: readonly number[];
  readonly #turn: EventLoopTurn;
  readonly #runtimeHasInput: ((waitedFor: readonly number[]) => boolean) | undefined;
  #fds: Uint8Array;
  #view: DataView;
  #lingerers: Lingerer[] = [];
  #serving = false;

  /**
   * Prepares the wait.
   *
   * @param options The runtime's descriptors and the turns to yield.
   */
  constructor(options: MainThreadWaitOptions) {
    this.#epoll = options.epoll;
    this.#alsoWatch = options.alsoWatch ?? [];
    this.#turn = options.turn;
    this.#runtimeHasInput = options.runtimeHasInput;
    // Room for two descriptors waited for (stdout and the phase socket); grown on demand.
    this.#fds = new Uint8Array(0);
    this.#view = new DataView(this.#fds.buffer);
    this.#layout(2);
    bindNow("poll", "poll_blocking"); // not at the first wait, which may be a token's
  }

  /** Sizes the poll(2) array for `count` descriptors waited for, the runtime's after them. */
  #layout(count: number): void {
    const watched = [this.#epoll, ...this.#alsoWatch];
    this.#fds = new Uint8Array((count + watched.length) * POLLFD_BYTES);
    this.#view = new DataView(this.#fds.buffer);
    watched.forEach((fd, i) => {
      this.#view.setInt32((count + i) * POLLFD_BYTES, fd, true);
      this.#view.setInt16((count + i) * POLLFD_BYTES + 4, POLL.IN, true);
    });
  }

  /**
   * Sleeps in `poll(2)` until one of `fds` is readable (or at its end), the
   * runtime has an event, a signal arrives, or `timeoutMs` passed. Call it
   * right after {@linkcode MainThreadWait.yieldTurn}.
   *
   * @param fds The descriptors to wait for.
   * @param timeoutMs Longest wait, ms (rounded up).
   * @param readable Where given, set to 1 for each of `fds[i]` that is readable, 0 elsewhere.
   * @returns What ended the wait.
   */
  wait(
    fds: readonly number[],
    timeoutMs: number,
    readable: Uint8Array = new Uint8Array(fds.length),
  ): WaitOutcome {
    readable.fill(0);
    if (this.#runtimeHasInput?.(fds) === true) return "unread";
    const count = fds.length;
    if (this.#fds.length < (count + 1 + this.#alsoWatch.length) * POLLFD_BYTES) {
      this.#layout(count);
    }
    const view = this.#view;
    // Unused slots ahead of the runtime's are skipped by poll(2) (a negative descriptor).
    const slots = this.#fds.length / POLLFD_BYTES - 1 - this.#alsoWatch.length;
    for (let i = 0; i < slots; i++) {
      view.setInt32(i * POLLFD_BYTES, i < count ? fds[i]! : -1, true);
      view.setInt16(i * POLLFD_BYTES + 4, POLL.IN, true);
    }
    for (let offset = 6; offset < this.#fds.length; offset += POLLFD_BYTES) {
      view.setInt16(offset, 0, true);
    }
    const total = BigInt(this.#fds.length / POLLFD_BYTES);
    const ready = libc().poll(this.#fds, total, Math.max(0, Math.ceil(timeoutMs)));
    if (ready === 0) return "timeout";
    if (ready < 0) {
      // A signal: its handler is the runtime's.
      if (errno() === EINTR) return "runtime";
      return "timeout";
    }
    let any = false;
    for (let i = 0; i < count; i++) {
      if ((view.getInt16(i * POLLFD_BYTES + 6, true) & READABLE) !== 0) {
        readable[i] = 1;
        any = true;
      }
    }
    return any ? "readable" : "runtime";
  }

  /**
   * Waits up to `ms` for `fd` to be readable, sleeping in `poll(2)` in
   * slices of at most 1 ms with a turn of the event loop before each (due
   * timers fire, operations started meanwhile are polled). Every linger
   * of this wait shares one `poll(2)`. When the runtime has an event of its
   * own, its I/O driver runs once ({@linkcode MainThreadWait.driverTurn})
   * and the linger goes on.
   *
   * @param fd The descriptor (non-blocking, read directly by the caller).
   * @param ms Longest wait, ms.
   * @param ended Asked at each turn: `true` ends the linger (a reader stopped).
   * @returns `true` when `fd` is readable; `false` when the time was up, the
   * linger ended, or bytes wait where the runtime reads them.
   */
  linger(fd: number, ms: number, ended?: () => boolean): Promise<boolean> {
    return new Promise<boolean>((settle, reject) => {
      this.#lingerers.push({ fd, deadline: performance.now() + ms, ended, settle });
      if (this.#serving) return;
      this.#serve().catch((error) => {
        const lingerers = this.#lingerers;
        this.#lingerers = [];
        reject(error);
        for (const lingerer of lingerers) lingerer.settle(false);
      });
    });
  }

  /**
   * Ends the linger on `fd` now, as if its time were up (its promise
   * resolves `false`); nothing when none is in progress.
   *
   * @param fd The descriptor lingered on.
   */
  end(fd: number): void {
    this.#release((lingerer) => lingerer.fd === fd ? false : undefined);
  }

  /** The shared waits, while anything lingers. */
  async #serve(): Promise<void> {
    this.#serving = true;
    let readable = new Uint8Array(2);
    try {
      while (this.#lingerers.length > 0) {
        // Ops the readers' work started are polled, timers due run, before the thread sleeps.
        await this.yieldTurn();
        const now = performance.now();
        this.#release((lingerer) =>
          lingerer.ended?.() === true || now >= lingerer.deadline ? false : undefined
        );
        const lingerers = this.#lingerers;
        if (lingerers.length === 0) break;
        let timeout = LINGER_SLICE_MS;
        for (const { deadline } of lingerers) timeout = Math.min(timeout, deadline - now);
        const fds = lingerers.map(({ fd }) => fd);
        if (readable.length < fds.length) readable = new Uint8Array(fds.length);
        const outcome = this.wait(fds, timeout, readable);
        if (outcome === "readable") {
          // The token's path: with one reader lingering (the usual case), nothing is built.
          const only = lingerers.length === 1 ? lingerers[0]! : undefined;
          if (only !== undefined && this.#lingerers.length === 1 && this.#lingerers[0] === only) {
            this.#lingerers = [];
            only.settle(true);
          } else {
            // By descriptor: a linger may have been ended meanwhile (end()).
            const ready = new Set(fds.filter((_, i) => readable[i] === 1));
            this.#release((lingerer) => ready.has(lingerer.fd) ? true : undefined);
          }
        } else if (outcome === "unread") {
          // The runtime's loop must have the thread: every reader waits through it.
          this.#release(() => false);
        } else if (outcome === "runtime") {
          // A turn yielded from here runs JavaScript but not the runtime's I/O driver: let it
          // take its events (a signal, the program's exit, a socket's arrival), then wait on.
          await this.driverTurn();
        }
      }
    } finally {
      this.#serving = false;
    }
  }

  /** Settles the lingerers `verdict` decides on, keeps the rest. */
  #release(verdict: (lingerer: Lingerer) => boolean | undefined): void {
    const kept: Lingerer[] = [];
    const settled: [Lingerer, boolean][] = [];
    this.#lingerers.forEach((lingerer) => {
      const outcome = verdict(lingerer);
      if (outcome === undefined) kept.push(lingerer);
      else settled.push([lingerer, outcome]);
    });
    this.#lingerers = kept;
    for (const [lingerer, outcome] of settled) lingerer.settle(outcome);
  }

  /**
   * Lets one turn of the event loop run ({@linkcode EventLoopTurn.next}).
   *
   * @returns When the turn has run.
   */
  yieldTurn(): Promise<void> {
    return this.#turn.next();
  }

  /**
   * Lets the runtime's I/O driver run once: awaits a job of its pool that
   * does nothing (`poll(2)` of no descriptors), so the event loop waits in
   * its driver until the job's end wakes it, and takes in every event
   * pending meanwhile. 30–50 µs of wall time here, little of it CPU. After
   * a `"runtime"` outcome caused by a socket being read here (see the
   * module's doc), the next wait sleeps again.
   *
   * @returns When the driver has run.
   */
  async driverTurn(): Promise<void> {
    await libc().poll_blocking(NO_DESCRIPTORS, 0n, 0);
  }
}

/** What `poll(2)` reports for a descriptor to read now (its end and errors included). */
const READABLE = POLL.IN | POLL.HUP | POLL.ERR | POLL.NVAL;

/** `poll(2)`'s array when it watches nothing (a pointer it never reads). */
const NO_DESCRIPTORS = new Uint8Array(POLLFD_BYTES);
