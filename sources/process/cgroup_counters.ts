/**
 * Reads the CPU time the kernel keeps for the program's cgroup (v1
 * `cpuacct`, exact to the ns, or v2 `cpu.stat`, to the µs). Processes that
 * exited, and orphans, still count: the kernel charges the cgroup, not the
 * process. (Memory-cgroup statistics are not used: the kernel batches them
 * per CPU, so a small program's pages and faults can read 0.)
 *
 * @module
 */

import { libc } from "../../src/ffi/libc.ts";
import { openKeptFile, readKeptFile } from "../../src/ffi/kept_file.ts";
import type { ProgramCgroup } from "../../src/process/program_cgroup.ts";

const buffer = new Uint8Array(8192);
const encoder = new TextEncoder();

/** What one read gives (NaN: not available). */
export interface CgroupReading {
  /** User + system, exact to the ns where the kernel counts it so. */
  cpuNs: number;
  /** User time (the kernel splits by sampling at clock ticks). */
  userNs: number;
  /** System time (likewise). */
  systemNs: number;
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
  /**
   * Whether `cpuNs` is exact to the ns (v1 `cpuacct.usage`): then an unchanged
   * value means no process of the cgroup ran in between. v2's `cpu.stat` is
   * in µs, which a short wake-up may not move.
   */
  readonly exactNs: boolean;
  readonly #files: KeyedFile[] = [];
  /** v1 `cpuacct.usage_user`/`usage_sys` (plain numbers, ns). */
  #usage = -1;
  #usageUser = -1;
  #usageSystem = -1;
  readonly #reading: CgroupReading = { cpuNs: NaN, userNs: NaN, systemNs: NaN };

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
      this.exactNs = true;
    } else if (unified !== undefined) {
      this.#add(`${unified.path}/cpu.stat`, [
        ["usage_usec", 1000, "cpuNs"],
        ["user_usec", 1000, "userNs"],
        ["system_usec", 1000, "systemNs"],
      ]);
      this.cpuVia = "cgroup v2 cpu.stat";
      this.exactNs = false;
    } else {
      throw new Error("the cgroup has no CPU accounting (no v1 cpuacct, no v2 hierarchy)");
    }
  }

  /**
   * Reads every counter.
   *
   * @returns The values (the same object each time).
   */
  read(): CgroupReading {
    const reading = this.#reading;
    if (this.#usage >= 0) {
      reading.cpuNs = readNumber(this.#usage);
      reading.userNs = readNumber(this.#usageUser);
      reading.systemNs = readNumber(this.#usageSystem);
    }
    for (const file of this.#files) {
      const length = readKeptFile(file.fd, buffer);
      if (length <= 0) continue;
      for (let k = 0; k < file.keys.length; k++) {
        const value = valueOf(file.keys[k]!, length);
        if (Number.isNaN(value)) continue;
        reading[file.targets[k]!] = value * file.scales[k]!;
      }
    }
    return reading;
  }

  /** Closes the files. */
  close(): void {
    for (const fd of [this.#usage, this.#usageUser, this.#usageSystem]) {
      if (fd >= 0) libc().close(fd);
    }
    for (const file of this.#files) libc().close(file.fd);
    this.#files.length = 0;
    this.#usage = this.#usageUser = this.#usageSystem = -1;
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

const openFile = openKeptFile;

function readNumber(fd: number): number {
  const length = readKeptFile(fd, buffer);
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
