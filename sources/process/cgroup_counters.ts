/**
 * Reads the counters the kernel keeps for the program's cgroup: CPU time
 * (v1 `cpuacct`, or v2 `cpu.stat`), and page faults, resident anonymous
 * and mapped-file memory and swap (v1 or v2 `memory`). Processes that exited
 * still count: the kernel charges the cgroup, not the process.
 *
 * @module
 */

import { cString, libc } from "../../src/ffi/libc.ts";
import type { ProgramCgroup } from "../../src/process/program_cgroup.ts";

const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;
const buffer = new Uint8Array(8192);
const BUFFER_SIZE = BigInt(buffer.length);
const encoder = new TextEncoder();

/** What one read gives (NaN: not available). */
export interface CgroupReading {
  /** User + system, exact to the ns where the kernel counts it so. */
  cpuNs: number;
  userNs: number;
  systemNs: number;
  /** All page faults (minor + major). */
  faults: number;
  majorFaults: number;
  rssBytes: number;
  swapBytes: number;
}

/** An open cgroup file and the keys read from it. */
interface KeyedFile {
  fd: number;
  keys: Uint8Array[];
  /** Multiplier per key (e.g. µs → ns). */
  scales: number[];
  /** Where each key's value goes. */
  targets: (keyof CgroupReading)[];
}

/**
 * The cgroup's counters.
 *
 * @example Usage
 * ```ts
 * import { CgroupCounters } from "./cgroup_counters.ts";
 * import { ProgramCgroup } from "../../src/process/program_cgroup.ts";
 * const cgroup = ProgramCgroup.create();
 * const counters = new CgroupCounters(cgroup);
 * console.log(counters.cpuVia, counters.read().userNs);
 * counters.close();
 * cgroup.remove();
 * ```
 */
export class CgroupCounters {
  /** How CPU time is read, e.g. `cgroup v1 cpuacct`. */
  readonly cpuVia: string;
  /** How memory counters are read, or `undefined` when the cgroup has no memory controller. */
  readonly memoryVia: string | undefined;
  /** `true` when swap is counted (v1 with memsw accounting, or v2 `memory.swap.current`). */
  readonly swap: boolean;
  readonly #files: KeyedFile[] = [];
  /** v1 `cpuacct.usage_user`/`usage_sys` (plain numbers, ns). */
  #usage = -1;
  #usageUser = -1;
  #usageSystem = -1;
  #swapCurrent = -1;
  readonly #reading: CgroupReading = {
    cpuNs: NaN,
    userNs: NaN,
    systemNs: NaN,
    faults: NaN,
    majorFaults: NaN,
    rssBytes: NaN,
    swapBytes: NaN,
  };

  /**
   * Opens the counter files of a cgroup.
   *
   * @param cgroup The program's cgroup.
   * @throws {Error} When it offers no CPU time.
   */
  constructor(cgroup: ProgramCgroup) {
    const cpuacct = cgroup.folder("cpuacct");
    const unified = cgroup.folder("unified");
    if (cpuacct !== undefined) {
      this.#usage = openFile(`${cpuacct.path}/cpuacct.usage`);
      this.#usageUser = openFile(`${cpuacct.path}/cpuacct.usage_user`);
      this.#usageSystem = openFile(`${cpuacct.path}/cpuacct.usage_sys`);
    }
    if (this.#usage >= 0 && this.#usageUser >= 0 && this.#usageSystem >= 0) {
      this.cpuVia = "cgroup v1 cpuacct";
    } else if (unified !== undefined) {
      this.#add(`${unified.path}/cpu.stat`, [
        ["usage_usec", 1000, "cpuNs"],
        ["user_usec", 1000, "userNs"],
        ["system_usec", 1000, "systemNs"],
      ]);
      this.cpuVia = "cgroup v2 cpu.stat";
    } else {
      throw new Error("the cgroup has no CPU accounting (no v1 cpuacct, no v2 hierarchy)");
    }
    const memory = cgroup.folder("memory");
    let swap = false;
    if (memory?.version === 1) {
      this.#add(`${memory.path}/memory.stat`, [
        ["total_pgfault", 1, "faults"],
        ["total_pgmajfault", 1, "majorFaults"],
        ["total_rss", 1, "rssBytes"],
        ["total_mapped_file", 1, "rssBytes"],
        ["total_swap", 1, "swapBytes"],
      ]);
      swap = exists(`${memory.path}/memory.memsw.usage_in_bytes`);
      this.memoryVia = "cgroup v1 memory";
    } else if (memory?.version === 2) {
      this.#add(`${memory.path}/memory.stat`, [
        ["pgfault", 1, "faults"],
        ["pgmajfault", 1, "majorFaults"],
        ["anon", 1, "rssBytes"],
        ["file_mapped", 1, "rssBytes"],
      ]);
      this.#swapCurrent = openFile(`${memory.path}/memory.swap.current`);
      swap = this.#swapCurrent >= 0;
      this.memoryVia = "cgroup v2 memory";
    }
    this.swap = swap;
  }

  /**
   * Reads every counter.
   *
   * @returns The values (the same object each time).
   */
  read(): CgroupReading {
    const reading = this.#reading;
    reading.rssBytes = 0;
    reading.swapBytes = 0;
    if (this.#usage >= 0) {
      reading.cpuNs = readNumber(this.#usage);
      reading.userNs = readNumber(this.#usageUser);
      reading.systemNs = readNumber(this.#usageSystem);
    }
    for (const file of this.#files) {
      const length = Number(libc().pread(file.fd, buffer, BUFFER_SIZE, 0n));
      if (length <= 0) continue;
      for (let k = 0; k < file.keys.length; k++) {
        const value = valueOf(file.keys[k]!, length);
        if (Number.isNaN(value)) continue;
        const target = file.targets[k]!;
        // Two keys may add up into one value (anonymous + mapped-file memory).
        if (target === "rssBytes" || target === "swapBytes") reading[target] += value;
        else reading[target] = value * file.scales[k]!;
      }
    }
    if (this.#swapCurrent >= 0) reading.swapBytes = readNumber(this.#swapCurrent);
    return reading;
  }

  /** Closes the files. */
  close(): void {
    for (const fd of [this.#usage, this.#usageUser, this.#usageSystem, this.#swapCurrent]) {
      if (fd >= 0) libc().close(fd);
    }
    for (const file of this.#files) libc().close(file.fd);
    this.#files.length = 0;
    this.#usage =
      this.#usageUser =
      this.#usageSystem =
      this.#swapCurrent =
        -1;
  }

  #add(path: string, keys: [string, number, keyof CgroupReading][]): void {
    const fd = openFile(path);
    if (fd < 0) throw new Error(`cannot open ${path}`);
    this.#files.push({
      fd,
      // Each key starts a line: "\n<key> ".
      keys: keys.map(([key]) => encoder.encode(`\n${key} `)),
      scales: keys.map(([, scale]) => scale),
      targets: keys.map(([, , target]) => target),
    });
  }
}

function openFile(path: string): number {
  return libc().open(cString(path), O_RDONLY | O_CLOEXEC, 0);
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function readNumber(fd: number): number {
  const length = Number(libc().pread(fd, buffer, BUFFER_SIZE, 0n));
  let value = 0;
  let digits = 0;
  for (let i = 0; i < length; i++) {
    const digit = buffer[i]! - 48;
    if (digit < 0 || digit > 9) break;
    value = value * 10 + digit;
    digits++;
  }
  return digits === 0 ? NaN : value;
}

/** The number after `key` (which starts with a newline) or at the very start. */
function valueOf(key: Uint8Array, length: number): number {
  let at = -1;
  // The first line has no newline before it.
  if (startsWith(key, 1, 0, length)) at = key.length - 1;
  for (let i = 0; at < 0 && i + key.length <= length; i++) {
    if (buffer[i] === 10 && startsWith(key, 0, i, length)) at = i + key.length;
  }
  if (at < 0) return NaN;
  let value = 0;
  let digits = 0;
  for (let i = at; i < length; i++) {
    const digit = buffer[i]! - 48;
    if (digit < 0 || digit > 9) break;
    value = value * 10 + digit;
    digits++;
  }
  return digits === 0 ? NaN : value;
}

function startsWith(key: Uint8Array, from: number, at: number, length: number): boolean {
  if (at + key.length - from > length) return false;
  for (let k = from; k < key.length; k++) if (buffer[at + k - from] !== key[k]) return false;
  return true;
}
