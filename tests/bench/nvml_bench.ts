/**
 * Cost of the NVML source's hot path, against the stub library
 * (`tests/fixtures/nvml_stub.c`, whose calls cost a `clock_gettime`): what
 * the FFI round trip and the source's bookkeeping add to each boundary.
 * Real NVML calls go to the driver and may cost more: on a GPU machine,
 * `NVML_BENCH_REAL=1 deno bench -A tests/bench/nvml_bench.ts` measures the
 * real library (`$JOULE_PROFILER_NVML_PATH`, else `libnvidia-ml.so.1`).
 * Run with `deno task bench`.
 *
 * @module
 */

import { NvmlLibrary, NvmlSource } from "../../sources/nvml/mod.ts";
import { freshNvmlStub, setStubEnv } from "../nvml_stub.ts";

const realNvml = Deno.env.get("NVML_BENCH_REAL") === "1";
const path = realNvml ? undefined : await freshNvmlStub();
if (!realNvml) setStubEnv({ NVML_STUB_DEVICES: "2" });

const nvml = NvmlLibrary.open({ path });
const device = nvml.device(0);
const words = new Float64Array(2);

Deno.bench("NvmlDevice.readTotalEnergy (one GPU)", { group: "call" }, () => {
  device.readTotalEnergy(words, 0);
});

Deno.bench("NvmlDevice.powerMilliwatts (one GPU)", { group: "call" }, () => {
  device.powerMilliwatts();
});

Deno.bench("await of a resolved promise (what an async read would add)", {
  group: "call",
  baseline: true,
}, async () => {
  await Promise.resolve();
});

const source = NvmlSource.open({ path });
// init() learns the energy counter's update rhythm before the first boundary.
await source.init();
source.measure();
Deno.bench(`NvmlSource boundary: measure + retrieve (${source.gpus.length} GPUs)`, {
  group: "boundary",
  // A fixed count keeps one run's store bounded (init() is async and cannot restart it here).
  n: 5000,
  warmup: 100,
}, () => {
  source.measure();
  source.retrieve();
});
