/**
 * Cost of one sampling tick: every powercap zone of a two-socket fake tree,
 * the process-tree CPU/RSS read of `/proc`, and a sample buffer's append with
 * and without thinning. Run with `deno task bench`.
 *
 * @module
 */

import { ProcessUsageSampler } from "../../src/sampling/process_usage.ts";
import { SampleBuffer, setMaxSamplesPerSeries } from "../../src/sampling/sample_buffer.ts";
import { DEFAULT_MAX_SAMPLES } from "../../src/setting_defaults.ts";
import { twoSocketPowercapSource } from "./fake_rapl_sources.ts";

const root = await Deno.makeTempDir();
const powercap = await twoSocketPowercapSource(root);
powercap.init();
const usage = new ProcessUsageSampler(Deno.pid);

Deno.bench("sampling: powercap sample() of 7 zones", { group: "sampling" }, () => {
  powercap.sample();
});

Deno.bench("sampling: /proc CPU and RSS of a process", { group: "sampling" }, () => {
  usage.sample();
});

// A long run's append: past the limit the buffer thins its older rows once per `limit` samples;
// the amortized cost per sample against a buffer that never reaches its limit. Rows as wide as
// the system source's on 2 CPUs (10 values and the time).
const THINNED_LIMIT = 1_000;
const whole = new SampleBuffer(10);
const thinned = new SampleBuffer(10);
let sampleValue = 0;

Deno.bench("sampling: append, every sample kept", { group: "sample limit", baseline: true }, () => {
  setMaxSamplesPerSeries(DEFAULT_MAX_SAMPLES);
  if (whole.rows >= DEFAULT_MAX_SAMPLES) whole.clear();
  whole.values[whole.append()] = sampleValue++;
});

Deno.bench("sampling: append, thinned past 1,000 samples", { group: "sample limit" }, () => {
  setMaxSamplesPerSeries(THINNED_LIMIT);
  thinned.values[thinned.append()] = sampleValue++;
  setMaxSamplesPerSeries(DEFAULT_MAX_SAMPLES);
});
