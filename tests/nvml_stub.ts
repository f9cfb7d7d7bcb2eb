/**
 * Builds the stub NVML library (`tests/fixtures/nvml_stub.c`) with gcc, as
 * `libnvidia-ml.so.1` in a temporary directory, for the NVML tests.
 *
 * @module
 */

import { REPO_ROOT } from "./helpers.ts";

let built: Promise<string> | undefined;

/**
 * Compiles the stub once per test process.
 *
 * @returns Path of the compiled `libnvidia-ml.so.1`.
 */
export function buildNvmlStub(): Promise<string> {
  built ??= (async () => {
    const directory = await Deno.makeTempDir({ prefix: "jp-nvml-" });
    const output = `${directory}/libnvidia-ml.so.1`;
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
        `${REPO_ROOT}tests/fixtures/nvml_stub.c`,
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
export async function freshNvmlStub(): Promise<string> {
  const directory = await Deno.makeTempDir({ prefix: "jp-nvml-" });
  const path = `${directory}/libnvidia-ml.so.1`;
  await Deno.copyFile(await buildNvmlStub(), path);
  return path;
}

/** `NVML_STUB_*` variables a test sets; all others are cleared. */
export type StubEnv = Partial<
  Record<
    | "NVML_STUB_DEVICES"
    | "NVML_STUB_POWER_MW"
    | "NVML_STUB_FAIL_INIT"
    | "NVML_STUB_NO_ENERGY"
    | "NVML_STUB_NO_POWER"
    | "NVML_STUB_ENERGY_START_MJ"
    | "NVML_STUB_LOST_AFTER_MS"
    | "NVML_STUB_UPDATE_MS"
    | "NVML_STUB_CALL_US"
    | "NVML_STUB_LOG",
    string
  >
>;

const STUB_VARIABLES = [
  "NVML_STUB_DEVICES",
  "NVML_STUB_POWER_MW",
  "NVML_STUB_FAIL_INIT",
  "NVML_STUB_NO_ENERGY",
  "NVML_STUB_NO_POWER",
  "NVML_STUB_ENERGY_START_MJ",
  "NVML_STUB_LOST_AFTER_MS",
  "NVML_STUB_UPDATE_MS",
  "NVML_STUB_CALL_US",
  "NVML_STUB_LOG",
] as const;

/**
 * The environment of a child process using the stub: every stub variable is
 * given, empty when not in `env`, so none is inherited from this process
 * (the in-process tests set them, and test files may share a process).
 *
 * @param env The variables to set.
 * @returns Variables for `Deno.Command`'s `env`.
 */
export function stubChildEnv(env: StubEnv): Record<string, string> {
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
export function setStubEnv(env: StubEnv): void {
  for (const name of STUB_VARIABLES) {
    const value = env[name];
    if (value === undefined) Deno.env.delete(name);
    else Deno.env.set(name, value);
  }
}
