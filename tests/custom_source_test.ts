import assert from "node:assert/strict";
import { JouleProfiler } from "../src/mod.ts";
import { SystemCpuSource } from "../examples/custom_source.ts";
import { REPO_ROOT } from "./helpers.ts";

Deno.test("examples/custom_source.ts profiles a command with a user-defined source", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${REPO_ROOT}examples/custom_source.ts`,
      "--",
      "sh",
      "-c",
      "echo __BUSY__; i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; echo __IDLE__; sleep 0.2",
    ],
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  assert.match(text, /Phase: __BUSY__ -> __IDLE__/);
  assert.match(text, /system CPU \(\/proc\/stat\)/);
  assert.match(text, /CPU_BUSY +[\d.]+ m?s\n/);
});

Deno.test("a user-defined source registered through the API reports per-phase metrics", async () => {
  const profiler = new JouleProfiler().addSource(new SystemCpuSource());
  assert.deepEqual((await profiler.listSensors()).map((s) => s.name), ["CPU_BUSY", "CPU_IDLE"]);
  const result = await profiler.profile({
    command: ["sh", "-c", "echo __SLEEP__; sleep 0.3"],
    stdout: "stderr",
    handleSignals: false,
  });
  const sleep = result.runs[0]!.phases[1]!;
  assert.equal(sleep.name, "__SLEEP__ -> END");
  const idle = sleep.metrics.find((m) => m.name === "CPU_IDLE")!;
  const busy = sleep.metrics.find((m) => m.name === "CPU_BUSY")!;
  // Two cores × ~300 ms, mostly idle; /proc/stat ticks are 10 ms.
  assert.ok(idle.value + busy.value >= 400, `idle ${idle.value} + busy ${busy.value}`);
  assert.equal(idle.unit, "ms");
  assert.equal(idle.source, "system CPU (/proc/stat)");
});
