/**
 * Run by `tests/perf_event_source_test.ts` as an unprivileged user: uses
 * the perf_event source where `kernel.perf_event_paranoid` refuses kernel
 * counting, and prints what happened as one JSON object on stdout.
 *
 * Usage: `deno run -A perf_unprivileged.ts <fake paranoid file>`
 *
 * @module
 */

import { JouleProfiler } from "../../src/profiler.ts";
import { PerfEventSource } from "../../sources/perf_event/mod.ts";

function openFds(): number {
  return [...Deno.readDirSync("/proc/self/fd")].length;
}

/** Opening counters on pid 1 (root's) must fail for permissions; returns the message. */
function refusal(paranoidPath?: string): string {
  const source = new PerfEventSource({ warn: () => {}, ...(paranoidPath ? { paranoidPath } : {}) });
  try {
    source.init(1);
    source.join();
    return "opened";
  } catch (error) {
    return (error as Error).message;
  }
}

const fdsBefore = openFds();
const warnings: string[] = [];
const source = new PerfEventSource({ warn: (message) => warnings.push(message) });
source.preflight();
const sensors = source.sensors();
const result = await new JouleProfiler().addSource(source).profile({
  command: ["sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"],
  stdout: "stderr",
  handleSignals: false,
});
console.log(JSON.stringify({
  uid: Deno.uid(),
  warnings,
  sensors,
  metrics: result.runs[0]!.phases[0]!.metrics,
  refusedReal: refusal(),
  refusedFake: refusal(Deno.args[0]),
  fdsLeaked: openFds() - fdsBefore,
}));
