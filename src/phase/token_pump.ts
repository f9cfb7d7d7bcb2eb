/**
 * Reads a byte stream from the program (its stdout, or the phase channel),
 * finds tokens, takes a boundary for each, and passes the bytes on.
 *
 * @module
 */

import type { ByteSink } from "../process/byte_sink.ts";
import type { TokenScanner } from "./token_scanner.ts";
import { readNonBlocking } from "../ffi/libc.ts";
import { afterMs } from "../one_shot_timer.ts";
import type { MainThreadWait } from "./main_thread_wait.ts";

/**
 * Bytes asked for per read: a read returns what the pipe holds, so a
 * buffer as large as the (grown) pipe lets one read take all of it when
 * the program writes faster than the profiler wakes up.
 */
const READ_BUFFER_BYTES = 1 << 20;

/**
 * Takes one boundary; returns a promise only when some source is
 * asynchronous. `read` numbers the read the token came in (see
 * {@linkcode nextReadNumber}): tokens of one read reached the profiler at
 * one instant. -1 for a boundary of no read (END).
 */
export type BoundaryFn = (token: string, line: number, read: number) => void | Promise<void>;

/** Reads numbered across every pump of the process, so no two reads share a number. */
let readCount = 0;

/**
 * A number for the next read's tokens, unique in the process.
 *
 * @returns The number.
 *
 * @example Usage
 * ```ts
 * import { nextReadNumber } from "./token_pump.ts";
 * console.log(nextReadNumber() !== nextReadNumber()); // true
 * ```
 */
export function nextReadNumber(): number {
  return ++readCount;
}

/** How a pump waits on the main thread (see {@linkcode TokenPumpOptions.linger}). */
export interface PumpLinger {
  /** The wait. */
  wait: MainThreadWait;
  /** How long to wait for more bytes after the pipe ran empty, ms. */
  ms: number;
  /**
   * When given, the pump reads nothing before it settles and then begins
   * with a linger rather than a stream read (the program's start: its first
   * bytes and an early exit are seen at once).
   */
  from?: Promise<void>;
}

/** Options of {@linkcode TokenPump}. */
export interface TokenPumpOptions {
  /** The stream to read (BYOB, so one buffer is reused). */
  reader: ReadableStreamBYOBReader;
  /** Finds tokens in the bytes. */
  scanner: TokenScanner;
  /** Takes a boundary for each token. */
  boundary: BoundaryFn;
  /** Where the bytes go after their boundaries (none for the phase channel). */
  sink?: ByteSink;
  /** Report the token's line number (stdout) or -1 (the phase channel). */
  reportLines: boolean;
  /** Bytes asked for per read (default 1 MiB). */
  readBufferBytes?: number;
  /**
   * The non-blocking descriptor the stream reads, when known: after each
   * read through the stream, the bytes already waiting are read from it
   * directly (see `ProgramProcess.stdoutFd`, `PhaseChannel.socketFd`).
   */
  fd?: number;
  /**
   * With `fd`: after it ran empty, wait for more on the main thread
   * this long before going back to the stream (see {@linkcode MainThreadWait}).
   */
  linger?: PumpLinger;
}

/**
 * One reader of program output. Bytes are passed on after the chunk's
 * boundaries are taken, so passing output on never delays a measurement.
 *
 * @example Usage
 * ```ts
 * import { TokenPump } from "./token_pump.ts";
 * import { TokenScanner } from "./token_scanner.ts";
 * const bytes = new ReadableStream({
 *   type: "bytes",
 *   start(controller) {
 *     controller.enqueue(new TextEncoder().encode("__A__\n"));
 *     controller.close();
 *   },
 * });
 * const pump = new TokenPump({
 *   reader: bytes.getReader({ mode: "byob" }),
 *   scanner: new TokenScanner("__[A-Z]+__"),
 *   boundary: (token, line) => console.log(token, line),
 *   reportLines: true,
 * });
 * await pump.run(); // logs "__A__ 0"
 * ```
 */
export class TokenPump {
  readonly #options: TokenPumpOptions;
  #done = false;
  #cancelled = false;
  #stopping = false;
  #sinkBroken = false;
  #bytes = 0;
  #tokens = 0;
  /** Waiters of `activity()`, woken once a chunk was handled or reading ended. */
  #waiters: (() => void)[] = [];

  /**
   * Creates a pump; `run()` starts it.
   *
   * @param options Stream, scanner, boundary and sink.
   */
  constructor(options: TokenPumpOptions) {
    this.#options = options;
  }

  /** `true` when the sink reported a broken pipe and reading stopped. */
  get sinkBroken(): boolean {
    return this.#sinkBroken;
  }

  /** Bytes read so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Tokens found so far (those of the last line without a newline included once read). */
  get tokens(): number {
    return this.#tokens;
  }

  /** `true` once reading has ended. */
  get done(): boolean {
    return this.#done;
  }

  /**
   * Reads until the end of the stream, `stop()` or `cancel()`.
   *
   * @returns When reading ended and the last line's tokens were taken.
   */
  async run(): Promise<void> {
    const { reader, scanner } = this.#options;
    const readBytes = this.#options.readBufferBytes ?? READ_BUFFER_BYTES;
    let buffer = new ArrayBuffer(readBytes);
    let directFd = this.#options.fd;
    const linger = directFd === undefined ? undefined : this.#options.linger;
    // With a linger from the start, the first wait is on the main thread too.
    let viaStream = linger?.from === undefined;
    try {
      if (!viaStream) await linger!.from;
      reading: for (;;) {
        if (viaStream) {
          const { value, done } = await reader.read(new Uint8Array(buffer));
          if (done || value === undefined) break;
          if (!(await this.#handle(value))) break;
          buffer = value.buffer;
        }
        viaStream = true;
        // The runtime's read costs a wake-up and a trip through the stream for every
        // chunk; what else the pipe holds already is taken with read(2) at once.
        // (Never after cancel(): the stream has closed the descriptor, its number may be reused.)
        while (directFd !== undefined && !this.#cancelled) {
          // Read where the scanner searches (the stream's buffer cannot be: a stream read
          // takes its buffer over), so most bytes of fast output are never copied in memory.
          const view = scanner.inputSpace(readBytes);
          const got = readNonBlocking(directFd, view);
          if (got === "empty") {
            if (linger !== undefined && await this.#lingerFor(directFd, linger)) continue;
            break;
          }
          if (got === 0) {
            if (linger === undefined) break; // the end is left for the stream to report
            // Seen here first, so the run ends now; closing the stream (`cancel()`, about
            // 80 µs) is left to the caller, after END.
            break reading;
          }
          if (got === "failed") {
            directFd = undefined;
            break;
          }
          if (!(await this.#handle(view.subarray(0, got)))) break reading;
        }
      }
    } catch (error) {
      if (!this.#cancelled) throw error;
    } finally {
      this.#done = true;
      this.#notify();
    }
    // The last line, when it had no newline (usually there is none: no wait on the way to END).
    const found = scanner.finish();
    this.#tokens += found;
    if (found > 0) await this.#takeBoundaries(found, nextReadNumber());
  }

  /**
   * Waits for more bytes on the main thread (shared with the run's other
   * readers that linger); `false` when the linger's time is up, reading
   * stops, or the runtime must read something first (its loop then waits,
   * through the stream).
   */
  #lingerFor(fd: number, linger: PumpLinger): Promise<boolean> {
    return linger.wait.linger(fd, linger.ms, () => this.#cancelled || this.#stopping);
  }

  /** Takes a chunk's boundaries, passes it on; `false` when reading must stop. */
  async #handle(chunk: Uint8Array): Promise<boolean> {
    const { scanner, sink } = this.#options;
    const found = scanner.push(chunk);
    this.#bytes += chunk.length;
    this.#tokens += found;
    if (found > 0) await this.#takeBoundaries(found, nextReadNumber());
    if (sink !== undefined) {
      sink.write(chunk);
      if (sink.broken) {
        // Like a shell pipeline: once nobody reads our output, close the
        // program's stdout so its next write fails with SIGPIPE/EPIPE.
        this.#sinkBroken = true;
        await this.cancel();
        return false;
      }
    }
    this.#notify();
    return !this.#stopping;
  }

  async #takeBoundaries(found: number, read: number): Promise<void> {
    const { scanner, boundary, reportLines } = this.#options;
    for (let i = 0; i < found; i++) {
      const pending = boundary(scanner.tokens[i]!, reportLines ? scanner.lines[i]! : -1, read);
      if (pending) await pending;
    }
  }

  /** Ends reading after the chunk being read (the caller wakes the read). */
  stop(): void {
    this.#stopping = true;
    this.#endLinger();
  }

  /** Stops reading at once and closes the stream. */
  async cancel(): Promise<void> {
    this.#cancelled = true;
    this.#endLinger();
    await this.#options.reader.cancel().catch(() => {});
  }

  /**
   * Ends a linger in progress now, not at its next turn: the turn is work
   * the runtime does not count, so once the program is gone nothing else
   * may keep the event loop alive until then (the stream's read does).
   */
  #endLinger(): void {
    const { fd, linger } = this.#options;
    if (fd !== undefined && linger !== undefined) linger.wait.end(fd);
  }

  /**
   * Waits for the end of the stream once the program has exited.
   *
   * @param quietMs Silence after which the stream is considered held open.
   * @param maxMs Longest wait.
   * @returns `false` when the stream stayed open (a descendant holds it).
   */
  async drain(quietMs: number, maxMs: number): Promise<boolean> {
    const deadline = performance.now() + maxMs;
    while (!this.#done) {
      const wait = Math.min(quietMs, deadline - performance.now());
      if (wait <= 0 || !(await this.activity(wait))) return this.#done;
    }
    return true;
  }

  /**
   * Waits until the next chunk was handled (its boundaries taken, its bytes
   * passed on) or reading ended: woken by the reader itself, so no timer
   * tick is added. The timer only bounds the wait.
   *
   * @param timeoutMs Longest wait.
   * @returns `true` when woken by the reader, `false` on time-out.
   */
  activity(timeoutMs: number): Promise<boolean> {
    if (this.#done) return Promise.resolve(true);
    return new Promise((resolve) => {
      let settled = false;
      const wake = () => {
        if (settled) return;
        settled = true;
        resolve(true);
      };
      afterMs(timeoutMs, () => {
        if (settled) return;
        settled = true;
        this.#waiters = this.#waiters.filter((waiter) => waiter !== wake);
        resolve(false);
      });
      this.#waiters.push(wake);
    });
  }

  #notify(): void {
    if (this.#waiters.length === 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
