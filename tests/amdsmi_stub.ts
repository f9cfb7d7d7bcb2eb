/**
 * Builds the stub AMD SMI library (`tests/fixtures/amdsmi_stub.c`) with gcc, as
 * `libamd_smi.so` in a temporary directory, for the AMD SMI tests.
 *
 * @module
 */

import { REPO_ROOT } from "./helpers.ts";

let built: Promise<string> | undefined;

/**
 * Compiles the stub once per test process.
 *
 * @returns Path of the compiled `libamd_smi.so`.
 */
export function buildAmdSmiStub(): Promise<string> {
  built ??= (async () => {
    const directory = await Deno.makeTempDir({ prefix: "jp-amdsmi-" });
    const output = `${directory}/libamd_smi.so`;
    const gcc = await new Deno.Command("gcc", {
      args: [
        "-shared",
        "-fPIC",
        "-O2",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-o",
        output,
        `${REPO_ROOT}tests/fixtures/amdsmi_stub.c`,
      ],
      stderr: "piped",
    }).output();
    if (!gcc.success) throw new Error(`gcc failed: ${new TextDecoder().decode(gcc.stderr)}`);
    return output;
  })();
  return built;
}

/**
 * A private copy of the stub, for tests that load it in this process: a
 * fresh path is a fresh `dlopen`, so no state leaks from an earlier test.
 *
 * @returns Path of the copy.
 */
export async function freshAmdSmiStub(): Promise<string> {
  const directory = await Deno.makeTempDir({ prefix: "jp-amdsmi-" });
  const path = `${directory}/libamd_smi.so`;
  await Deno.copyFile(await buildAmdSmiStub(), path);
  return path;
}

/** `AMDSMI_STUB_*` variables a test sets; all others are cleared. */
export type AmdSmiStubEnv = Partial<
  Record<
    | "AMDSMI_STUB_GPUS"
    | "AMDSMI_STUB_POWER_W"
    | "AMDSMI_STUB_FAIL_INIT"
    | "AMDSMI_STUB_NO_ENERGY"
    | "AMDSMI_STUB_FAIL_GPU"
    | "AMDSMI_STUB_START_COUNTS"
    | "AMDSMI_STUB_COUNTER_BITS"
    | "AMDSMI_STUB_RESOLUTION_UJ"
    | "AMDSMI_STUB_UPDATE_MS"
    | "AMDSMI_STUB_LOG",
    string
  >
>;

const STUB_VARIABLES = [
  "AMDSMI_STUB_GPUS",
  "AMDSMI_STUB_POWER_W",
  "AMDSMI_STUB_FAIL_INIT",
  "AMDSMI_STUB_NO_ENERGY",
  "AMDSMI_STUB_FAIL_GPU",
  "AMDSMI_STUB_START_COUNTS",
  "AMDSMI_STUB_COUNTER_BITS",
  "AMDSMI_STUB_RESOLUTION_UJ",
  "AMDSMI_STUB_UPDATE_MS",
  "AMDSMI_STUB_LOG",
] as const;

/**
 * The environment of a child process using the stub: every stub variable is
 * given, empty when not in `env`, so none is inherited from this process
 * (the in-process tests set them, and test files may share a process).
 *
 * @param env The variables to set.
 * @returns Variables for `Deno.Command`'s `env`.
 */
export function amdSmiStubChildEnv(env: AmdSmiStubEnv): Record<string, string> {
  const result: Record<string, string> = {};
  for (const name of STUB_VARIABLES) result[name] = env[name] ?? "";
  return result;
}

/**
 * Sets this process's stub variables (the stub reads them with `getenv`
 * when first initialised), clearing the others.
 *
 * @param env The variables to set.
 */
export function setAmdSmiStubEnv(env: AmdSmiStubEnv): void {
  for (const name of STUB_VARIABLES) {
    const value = env[name];
    if (value === undefined) Deno.env.delete(name);
    else Deno.env.set(name, value);
  }
}
