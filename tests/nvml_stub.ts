/**
 * The stub NVML library (`tests/fixtures/nvml_stub.c`), built with gcc as
 * `libnvidia-ml.so.1` in a temporary directory, for the NVML tests.
 *
 * @module
 */

import { StubLibrary } from "./stub_library.ts";

const VARIABLES = [
  "NVML_STUB_DEVICES",
  "NVML_STUB_POWER_MW",
  "NVML_STUB_FAIL_INIT",
  "NVML_STUB_NO_ENERGY",
  "NVML_STUB_NO_POWER",
  "NVML_STUB_ENERGY_START_MJ",
  "NVML_STUB_LOST_AFTER_MS",
  "NVML_STUB_UPDATE_MS",
  "NVML_STUB_POWER_PERIOD_MS",
  "NVML_STUB_CALL_US",
  "NVML_STUB_LOG",
] as const;

/** `NVML_STUB_*` variables a test sets; all others are cleared. */
export type StubEnv = Partial<Record<(typeof VARIABLES)[number], string>>;

const stub = new StubLibrary({
  source: "tests/fixtures/nvml_stub.c",
  fileName: "libnvidia-ml.so.1",
  prefix: "jp-nvml-",
  variables: VARIABLES,
});

/**
 * Compiles the stub once per test process.
 *
 * @returns Path of the compiled `libnvidia-ml.so.1`.
 */
export function buildNvmlStub(): Promise<string> {
  return stub.build();
}

/**
 * A private copy of the stub, for tests that load it in this process.
 *
 * @returns Path of the copy.
 */
export function freshNvmlStub(): Promise<string> {
  return stub.fresh();
}

/**
 * The environment of a child process using the stub (every stub variable given).
 *
 * @param env The variables to set.
 * @returns Variables for `Deno.Command`'s `env`.
 */
export function stubChildEnv(env: StubEnv): Record<string, string> {
  return stub.childEnv(env);
}

/**
 * Sets this process's stub variables, clearing the others.
 *
 * @param env The variables to set.
 */
export function setStubEnv(env: StubEnv): void {
  stub.setEnv(env);
}
