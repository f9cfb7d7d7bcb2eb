/**
 * Where the profiled program's stdout bytes go: passed on unchanged.
 *
 * @module
 */

/** A destination for raw bytes, written synchronously in order. */
export interface ByteSink {
  /** Writes all of `bytes` (a no-op once the reader side is gone). */
  write(bytes: Uint8Array): void;
  /** Flushes and releases the destination. */
  close(): void;
  /** `true` once the destination reported a broken pipe. */
  readonly broken: boolean;
  /** `true` when nothing was written yet or the last byte written was `\n`. */
  readonly atLineStart: boolean;
  /**
   * Where a program may write these bytes itself instead, when they need no
   * reading on the way (`profile --no-stdout-tokens`): a descriptor of this
   * process, `"null"` for nowhere, or `undefined` when the destination has
   * no descriptor.
   */
  readonly descriptor?: number | "null";
}

/** Something with a synchronous `write` like `Deno.stdout` or a `Deno.FsFile`. */
export interface SyncWriter {
  /** Writes some of `bytes`, returning how many. */
  writeSync(bytes: Uint8Array): number;
  /** Its descriptor, when it has one the runtime shows (the profiler's own files do). */
  readonly fd?: number;
}

/**
 * A {@linkcode ByteSink} over a synchronous writer. Partial writes are
 * retried; a broken pipe (the reader went away, as with `| head`) turns
 * the sink into a no-op and is reported through `broken`.
 *
 * @example Usage
 * ```ts
 * import { WriterSink } from "./byte_sink.ts";
 * const sink = new WriterSink(Deno.stdout);
 * sink.write(new TextEncoder().encode("passed through\n"));
 * ```
 */
export class WriterSink implements ByteSink {
  readonly #writer: SyncWriter;
  readonly #onClose: (() => void) | undefined;
  readonly #onError: ((error: Error) => void) | undefined;
  #broken = false;
  #failed = false;
  #atLineStart = true;

  /**
   * Wraps a writer.
   *
   * @param writer The destination.
   * @param onClose Called by `close()` (e.g. to close a file).
   * @param onError When given, a failed write (a full disk, an I/O error)
   * is reported to it once and the sink stops copying instead of throwing:
   * the program and the measurement go on.
   */
  constructor(writer: SyncWriter, onClose?: () => void, onError?: (error: Error) => void) {
    this.#writer = writer;
    this.#onClose = onClose;
    this.#onError = onError;
  }

  /** `true` once a write hit a broken pipe. */
  get broken(): boolean {
    return this.#broken;
  }

  /** `true` when nothing was written yet or the last byte written was `\n`. */
  get atLineStart(): boolean {
    return this.#atLineStart;
  }

  /** The writer's descriptor: 1 for `Deno.stdout`, 2 for `Deno.stderr`, or its `fd`. */
  get descriptor(): number | undefined {
    if (this.#writer === Deno.stdout) return 1;
    if (this.#writer === Deno.stderr) return 2;
    return this.#writer.fd;
  }

  /**
   * Writes all of `bytes`, retrying partial writes.
   *
   * @param bytes Bytes to pass on.
   */
  write(bytes: Uint8Array): void {
    // After a failed write (full disk) output is dropped but, unlike a broken
    // pipe, the program keeps its stdout: its tokens are still read.
    if (this.#broken || this.#failed || bytes.length === 0) return;
    this.#atLineStart = bytes[bytes.length - 1] === 10;
    let offset = 0;
    try {
      while (offset < bytes.length) {
        offset += this.#writer.writeSync(offset === 0 ? bytes : bytes.subarray(offset));
      }
    } catch (error) {
      if (error instanceof Deno.errors.BrokenPipe) {
        this.#broken = true;
        return;
      }
      if (this.#onError === undefined) throw error;
      this.#failed = true;
      this.#onError(error as Error);
    }
  }

  /** Releases the destination. */
  close(): void {
    this.#onClose?.();
  }
}

/**
 * A {@linkcode ByteSink} that drops everything, e.g. for the output of the
 * idle measurement's helper.
 *
 * @example Usage
 * ```ts
 * import { DiscardSink } from "./byte_sink.ts";
 * new DiscardSink().write(new Uint8Array([1, 2, 3])); // gone
 * ```
 */
export class DiscardSink implements ByteSink {
  /** Always `false`: there is no reader to go away. */
  readonly broken = false;
  /** A program writing directly writes to nowhere (`/dev/null`). */
  readonly descriptor = "null";
  #atLineStart = true;

  /** `true` when nothing was written yet or the last byte written was `\n`. */
  get atLineStart(): boolean {
    return this.#atLineStart;
  }

  /**
   * Drops the bytes.
   *
   * @param bytes Anything.
   */
  write(bytes: Uint8Array): void {
    if (bytes.length > 0) this.#atLineStart = bytes[bytes.length - 1] === 10;
  }

  /** Nothing to release. */
  close(): void {}
}
