/**
 * `perf_event_open(2)` through FFI: the attribute struct, a counter that
 * owns its file descriptor, and the permission facts needed to explain
 * failures.
 *
 * @module
 */

import { errno, libc, SyscallError } from "./libc.ts";

/** `perf_event_attr.type` values. */
export const PERF_TYPE = {
  HARDWARE: 0,
  SOFTWARE: 1,
  TRACEPOINT: 2,
  HW_CACHE: 3,
  RAW: 4,
} as const;

/** `perf_event_attr.read_format` bits. */
export const PERF_FORMAT = {
  TOTAL_TIME_ENABLED: 1,
  TOTAL_TIME_RUNNING: 2,
  ID: 4,
  GROUP: 8,
} as const;

/** Size we pass in `perf_event_attr.size` (PERF_ATTR_SIZE_VER8); older kernels accept the zero tail. */
export const PERF_ATTR_SIZE = 136;

const PERF_FLAG_FD_CLOEXEC = 8n;
const IOC_ENABLE = 0x2400n;
const IOC_DISABLE = 0x2401n;
const IOC_RESET = 0x2403n;

/** `flags` bit positions in the attribute's bit-field word (offset 40). */
const FLAG_BITS = {
  disabled: 0,
  inherit: 1,
  excludeUser: 4,
  excludeKernel: 5,
  excludeHv: 6,
  enableOnExec: 12,
} as const;

/** The `perf_event_attr` fields the profiler sets. */
export interface PerfEventAttr {
  /** Event type (`PERF_TYPE.*` or a dynamic PMU's `type`). */
  type: number;
  /** Event config. */
  config: bigint;
  /** `read_format` bits (default 0: the value only). */
  readFormat?: number;
  /** Start disabled. */
  disabled?: boolean;
  /** Count descendants (threads and children created after opening). */
  inherit?: boolean;
  /** Enable at the next `exec` of the target. */
  enableOnExec?: boolean;
  /** Do not count user space. */
  excludeUser?: boolean;
  /** Do not count kernel space. */
  excludeKernel?: boolean;
  /** Do not count the hypervisor. */
  excludeHv?: boolean;
}

/**
 * Encodes a `perf_event_attr` (little-endian, 136 bytes, unused fields 0).
 *
 * @param attr The fields to set.
 * @returns The struct bytes.
 *
 * @example Usage
 * ```ts
 * import { encodePerfEventAttr, PERF_TYPE } from "./perf_event.ts";
 * const bytes = encodePerfEventAttr({ type: PERF_TYPE.SOFTWARE, config: 1n });
 * console.log(bytes.length); // 136
 * ```
 */
export function encodePerfEventAttr(attr: PerfEventAttr): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(PERF_ATTR_SIZE);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, attr.type, true);
  view.setUint32(4, PERF_ATTR_SIZE, true);
  view.setBigUint64(8, attr.config, true);
  view.setBigUint64(32, BigInt(attr.readFormat ?? 0), true);
  let flags = 0n;
  for (const [name, bit] of Object.entries(FLAG_BITS)) {
    if (attr[name as keyof typeof FLAG_BITS]) flags |= 1n << BigInt(bit);
  }
  view.setBigUint64(40, flags, true);
  return bytes;
}

/** `perf_event_open` syscall number for this architecture. */
function syscallNumber(): bigint {
  switch (Deno.build.arch) {
    case "x86_64":
      return 298n;
    case "aarch64":
      return 241n;
    default:
      throw new Error(`perf_event_open: unsupported architecture ${Deno.build.arch}`);
  }
}

/** Where and for whom a counter counts. */
export interface PerfTarget {
  /** Process to count (-1: every process on `cpu`). */
  pid: number;
  /** CPU to count on (-1: wherever `pid` runs). */
  cpu: number;
}

/**
 * A failed `perf_event_open`, with the errno and a hint of what it means.
 *
 * @example Usage
 * ```ts
 * import { PerfEventOpenError } from "./perf_event.ts";
 * const err = new PerfEventOpenError("cycles", 2);
 * console.log(err.unsupported); // true
 * ```
 */
export class PerfEventOpenError extends SyscallError {
  /** The event that failed to open. */
  readonly event: string;

  /**
   * Creates the error.
   *
   * @param event Name of the event, for the message.
   * @param code The errno `perf_event_open` left.
   */
  constructor(event: string, code: number) {
    super("perf_event_open", code, event);
    this.name = "PerfEventOpenError";
    this.event = event;
  }

  /** `true` when the machine (or VM) lacks the event. */
  get unsupported(): boolean {
    return this.code === "ENOENT" || this.code === "EOPNOTSUPP" || this.code === "ENODEV" ||
      this.code === "EINVAL";
  }

  /** `true` when permissions (perf_event_paranoid, capabilities) refused it. */
  get denied(): boolean {
    return this.code === "EACCES" || this.code === "EPERM";
  }
}

/**
 * One perf counter. Owns its file descriptor; `close()` releases it.
 * Reads go into a buffer owned by the counter, so the hot path allocates
 * nothing.
 *
 * @example Usage
 * ```ts
 * import { PerfCounter, PERF_FORMAT, PERF_TYPE } from "./perf_event.ts";
 * const counter = PerfCounter.open("task-clock", {
 *   type: PERF_TYPE.SOFTWARE,
 *   config: 1n,
 *   readFormat: PERF_FORMAT.TOTAL_TIME_ENABLED | PERF_FORMAT.TOTAL_TIME_RUNNING,
 * }, { pid: 0, cpu: -1 });
 * counter.read();
 * console.log(counter.value, counter.enabled, counter.running);
 * counter.close();
 * ```
 */
export class PerfCounter {
  /** Name given at open, for messages. */
  readonly name: string;
  #fd: number;
  readonly #buffer: BigUint64Array<ArrayBuffer>;
  readonly #words: Uint32Array;
  readonly #size: bigint;
  readonly #hasTimes: boolean;

  private constructor(name: string, fd: number, readFormat: number) {
    this.name = name;
    this.#fd = fd;
    this.#hasTimes =
      (readFormat & (PERF_FORMAT.TOTAL_TIME_ENABLED | PERF_FORMAT.TOTAL_TIME_RUNNING)) ===
        (PERF_FORMAT.TOTAL_TIME_ENABLED | PERF_FORMAT.TOTAL_TIME_RUNNING);
    this.#buffer = new BigUint64Array(this.#hasTimes ? 3 : 1);
    this.#words = new Uint32Array(this.#buffer.buffer);
    this.#size = BigInt(this.#buffer.byteLength);
  }

  /**
   * Opens a counter.
   *
   * @param name Event name, for messages.
   * @param attr The event.
   * @param target Process and CPU.
   * @returns The open counter.
   * @throws {PerfEventOpenError} When the kernel refuses it.
   */
  static open(name: string, attr: PerfEventAttr, target: PerfTarget): PerfCounter {
    const readFormat = attr.readFormat ?? 0;
    if ((readFormat & PERF_FORMAT.GROUP) !== 0 || (readFormat & PERF_FORMAT.ID) !== 0) {
      throw new Error("PerfCounter reads single values: GROUP and ID formats are not supported");
    }
    return new PerfCounter(name, openEvent(name, attr, target, -1), readFormat);
  }

  /** The file descriptor (-1 once closed). */
  get fd(): number {
    return this.#fd;
  }

  /**
   * Reads the counter into its buffer (one `read(2)`, no allocation).
   *
   * @throws {SyscallError} When the read fails or is short.
   */
  read(): void {
    const got = libc().read(this.#fd, this.#buffer, this.#size);
    if (got !== this.#size) {
      throw new SyscallError("read", got < 0n ? errno() : 5, `${this.name}: got ${got} bytes`);
    }
  }

  /** The last read's raw count (exact below 2^53). */
  get value(): number {
    return this.#words[1]! * 4294967296 + this.#words[0]!;
  }

  /** The last read's time enabled, ns (0 without the times format). */
  get enabled(): number {
    return this.#hasTimes ? this.#words[3]! * 4294967296 + this.#words[2]! : 0;
  }

  /** The last read's time running, ns (0 without the times format). */
  get running(): number {
    return this.#hasTimes ? this.#words[5]! * 4294967296 + this.#words[4]! : 0;
  }

  /** Starts counting. */
  enable(): void {
    this.#ioctl(IOC_ENABLE, "enable");
  }

  /** Stops counting. */
  disable(): void {
    this.#ioctl(IOC_DISABLE, "disable");
  }

  /** Sets the count to zero. */
  reset(): void {
    this.#ioctl(IOC_RESET, "reset");
  }

  /** Closes the file descriptor (idempotent). */
  close(): void {
    if (this.#fd < 0) return;
    libc().close(this.#fd);
    this.#fd = -1;
  }

  #ioctl(request: bigint, what: string): void {
    if (libc().ioctl(this.#fd, request, 0n) === -1) {
      throw new SyscallError("ioctl", errno(), `${what} ${this.name}`);
    }
  }
}

/** Opens one event (`group` -1: its own group) and returns its descriptor. */
function openEvent(name: string, attr: PerfEventAttr, target: PerfTarget, group: number): number {
  const fd = Number(
    libc().syscall6(
      syscallNumber(),
      encodePerfEventAttr(attr),
      target.pid,
      target.cpu,
      group,
      PERF_FLAG_FD_CLOEXEC,
    ),
  );
  if (fd < 0) throw new PerfEventOpenError(name, errno());
  return fd;
}

/** One event of a {@linkcode PerfCounterGroup}. */
export interface PerfGroupEvent {
  /** Event name, for messages. */
  name: string;
  /** The event (its `readFormat` is the group's and is ignored). */
  attr: PerfEventAttr;
}

/**
 * Counters opened as one perf group on one target (the first is the
 * leader) and read together: one `read(2)` of `PERF_FORMAT_GROUP` returns
 * every count, read by the kernel in one pass (one cross-CPU call at most,
 * where separate counters on another CPU cost one each), so the values
 * belong to one instant and a boundary makes one system call per group.
 * Reads go into a buffer owned by the group: the hot path allocates
 * nothing.
 *
 * Not every mix of events counts in one group: a group of hardware events
 * is scheduled on the PMU all or nothing (one larger than its counters
 * never counts), and on Linux 6.18 a `cpu-clock` and a `task-clock` of one
 * process in one group left the member at 0, as did `page-faults` after a
 * `cpu-clock` leader (by hand, 2026-12-07). The RAPL perf counters (one PMU
 * whose counters are always readable) are what this is used for.
 *
 * @example Usage
 * ```ts
 * import { PerfCounterGroup, PERF_TYPE } from "./perf_event.ts";
 * const group = PerfCounterGroup.open([
 *   { name: "cpu-clock", attr: { type: PERF_TYPE.SOFTWARE, config: 0n } },
 *   { name: "cpu-clock again", attr: { type: PERF_TYPE.SOFTWARE, config: 0n } },
 * ], { pid: 0, cpu: -1 });
 * group.read();
 * console.log(group.value(0), group.value(1));
 * group.close();
 * ```
 */
export class PerfCounterGroup {
  /** Event names, in reading order, for messages. */
  readonly names: readonly string[];
  #fds: number[];
  readonly #buffer: BigUint64Array<ArrayBuffer>;
  readonly #words: Uint32Array;
  readonly #size: bigint;

  private constructor(names: string[], fds: number[]) {
    this.names = names;
    this.#fds = fds;
    // { u64 nr; u64 values[nr]; }
    this.#buffer = new BigUint64Array(1 + fds.length);
    this.#words = new Uint32Array(this.#buffer.buffer);
    this.#size = BigInt(this.#buffer.byteLength);
  }

  /**
   * Opens the events as one group (closing what it opened if one fails).
   *
   * @param events The events; the first leads the group.
   * @param target Process and CPU, the same for every event.
   * @returns The open group.
   * @throws {PerfEventOpenError} When the kernel refuses an event, alone
   * or in this group.
   */
  static open(events: readonly PerfGroupEvent[], target: PerfTarget): PerfCounterGroup {
    if (events.length === 0) throw new Error("PerfCounterGroup: no events");
    const fds: number[] = [];
    try {
      for (const { name, attr } of events) {
        const leader = fds.length === 0;
        fds.push(openEvent(
          name,
          {
            ...attr,
            readFormat: leader ? PERF_FORMAT.GROUP : 0,
          },
          target,
          leader ? -1 : fds[0]!,
        ));
      }
    } catch (error) {
      // Members first: the leader's close would otherwise orphan them into groups of their own.
      for (const fd of fds.reverse()) libc().close(fd);
      throw error;
    }
    return new PerfCounterGroup(events.map((event) => event.name), fds);
  }

  /** Number of counters. */
  get size(): number {
    return this.names.length;
  }

  /**
   * Reads every counter of the group into its buffer (one `read(2)`).
   *
   * @throws {SyscallError} When the read fails or is short.
   */
  read(): void {
    const got = libc().read(this.#fds[0] ?? -1, this.#buffer, this.#size);
    if (got !== this.#size || this.#words[0] !== this.#fds.length) {
      throw new SyscallError(
        "read",
        got < 0n ? errno() : 5,
        `${this.names[0]} and its group: got ${got} bytes`,
      );
    }
  }

  /**
   * The last read's raw count of one counter (exact below 2^53).
   *
   * @param index The counter's position in `open()`'s list.
   * @returns The count.
   */
  value(index: number): number {
    const word = 2 + 2 * index;
    return this.#words[word + 1]! * 4294967296 + this.#words[word]!;
  }

  /** Closes the descriptors, members first (idempotent). */
  close(): void {
    for (const fd of this.#fds.reverse()) libc().close(fd);
    this.#fds = [];
  }
}

/** Default path of the paranoia setting. */
export const PERF_EVENT_PARANOID_PATH = "/proc/sys/kernel/perf_event_paranoid";

/**
 * Reads `kernel.perf_event_paranoid`.
 *
 * @param path Where to read it (for tests).
 * @returns Its value, or `undefined` when unreadable.
 *
 * @example Usage
 * ```ts
 * import { readPerfEventParanoid } from "./perf_event.ts";
 * console.log(readPerfEventParanoid()); // e.g. 2
 * ```
 */
export function readPerfEventParanoid(path = PERF_EVENT_PARANOID_PATH): number | undefined {
  try {
    // The whole content, not a prefix: "2abc" is no setting.
    const text = Deno.readTextFileSync(path).replace(/\n$/, "");
    return /^-?\d{1,9}$/.test(text) ? Number(text) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether this process runs as root (effective uid 0).
 *
 * @returns `true` for root.
 *
 * @example Usage
 * ```ts
 * import { isRoot } from "./perf_event.ts";
 * console.log(isRoot());
 * ```
 */
export function isRoot(): boolean {
  return Deno.uid() === 0;
}
