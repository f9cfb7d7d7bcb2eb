/**
 * Cost of one boundary for the perf_event source: `measure()` + `retrieve()`
 * with 8 counters (8 `read(2)` calls into the snapshot store), on a program
 * that is busy on a CPU (each read asks that CPU for the current count) and
 * on one that sleeps. Run with `deno task bench`.
 *
 * @module
 */

import { sendSignal, SIGNALS } from "../../src/ffi/libc.ts";
import { PerfEventSource, resolvePerfEvents } from "../../sources/perf_event/mod.ts";

/** Eight software events: every Linux machine has them, VMs included. */
const EVENTS = resolvePerfEvents([
  "cpu-clock",
  "task-clock",
  "page-faults",
  "context-switches",
  "cpu-migrations",
  "minor-faults",
  "major-faults",
  "alignment-faults",
]);

async function waitStopped(pid: number): Promise<void> {
  for (;;) {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("T")) return;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Starts `script` held like the profiler does, with the source's counters on it. */
async function attach(
  script: string,
): Promise<{ source: PerfEventSource; child: Deno.ChildProcess }> {
  const child = new Deno.Command("/bin/sh", {
    args: ["-c", `kill -STOP $$; exec sh -c '${script}'`],
    stdout: "null",
  }).spawn();
  await waitStopped(child.pid);
  const source = new PerfEventSource({ events: EVENTS, warn: () => {} });
  source.init(child.pid);
  source.measure();
  sendSignal(child.pid, SIGNALS.SIGCONT);
  return { source, child };
}

const busy = await attach("while :; do :; done");
const asleep = await attach("exec sleep 3600"); // exec: the SIGKILL at unload reaches sleep itself

globalThis.addEventListener("unload", () => {
  for (const { source, child } of [busy, asleep]) {
    source.join();
    child.kill("SIGKILL");
  }
});

Deno.bench(
  "perf_event boundary, 8 counters, program busy on a CPU",
  { group: "perf_event" },
  () => {
    busy.source.measure();
    busy.source.retrieve();
  },
);

Deno.bench("perf_event boundary, 8 counters, program asleep", { group: "perf_event" }, () => {
  asleep.source.measure();
  asleep.source.retrieve();
});
