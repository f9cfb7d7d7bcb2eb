/**
 * What a fitted energy model records about the machine it was fitted on.
 *
 * @module
 */

/** The machine an energy model was fitted on. */
export interface MachineIdentity {
  /** CPU model name (`/proc/cpuinfo`), or `unknown`. */
  cpuModel: string;
  /** Logical CPUs online. */
  logicalCpus: number;
  /** Kernel release (`uname -r`). */
  kernel: string;
}

/**
 * Describes this machine: CPU model, logical CPUs, kernel.
 *
 * @param cpuinfoPath Where to read the CPU description (for tests).
 * @returns The identity; fields that cannot be read are `unknown` / 0.
 *
 * @example Usage
 * ```ts
 * import { thisMachine } from "./machine_identity.ts";
 * console.log(thisMachine().logicalCpus > 0); // true
 * ```
 */
export function thisMachine(cpuinfoPath = "/proc/cpuinfo"): MachineIdentity {
  let cpuinfo = "";
  try {
    cpuinfo = Deno.readTextFileSync(cpuinfoPath);
  } catch {
    // Left unknown: the model still works, the machine check just cannot warn.
  }
  const field = (name: string) =>
    new RegExp(`^${name}\\s*:\\s*(.+)$`, "m").exec(cpuinfo)?.[1]?.trim();
  // x86 names the model; arm64 only gives implementer and part numbers.
  const arm = field("CPU implementer") !== undefined
    ? `CPU implementer ${field("CPU implementer")} part ${field("CPU part") ?? "?"}`
    : undefined;
  const cpuModel = field("model name") ?? field("Hardware") ?? arm ?? "unknown";
  const processors = cpuinfo.match(/^processor\s*:/gm)?.length ?? 0;
  return {
    cpuModel,
    logicalCpus: processors > 0 ? processors : navigator.hardwareConcurrency,
    kernel: Deno.osRelease(),
  };
}
