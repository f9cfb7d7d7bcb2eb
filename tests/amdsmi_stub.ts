/**
 * The stub AMD SMI library (`tests/fixtures/amdsmi_stub.c`), built with gcc
 * as `libamd_smi.so` in a temporary directory, for the AMD SMI tests.
 *
 * @module
 */

import { StubLibrary } from "./stub_library.ts";

const VARIABLES = [
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

/** `AMDSMI_STUB_*` variables a test sets; all others are cleared. */
export type AmdSmiStubEnv = Partial<Record<(typeof VARIABLES)[number], string>>;

const stub = new StubLibrary({
  source: "tests/fixtures/amdsmi_stub.c",
  fileName: "libamd_smi.so",
  prefix: "jp-amdsmi-",
  variables: VARIABLES,
});

/**
 * Compiles the stub once per test process.
 *
 * @returns Path of the compiled `libamd_smi.so`.
 */
export function buildAmdSmiStub(): Promise<string> {
  return stub.build();
}

/**
 * A private copy of the stub, for tests that load it in this process.
 *
 * @returns Path of the copy.
 */
export function freshAmdSmiStub(): Promise<string> {
  return stub.fresh();
}

/**
 * The environment of a child process using the stub (every stub variable given).
 *
 * @param env The variables to set.
 * @returns Variables for `Deno.Command`'s `env`.
 */
export function amdSmiStubChildEnv(env: AmdSmiStubEnv): Record<string, string> {
  return stub.childEnv(env);
}

/**
 * Sets this process's stub variables, clearing the others.
 *
 * @param env The variables to set.
 */
export function setAmdSmiStubEnv(env: AmdSmiStubEnv): void {
  stub.setEnv(env);
}
