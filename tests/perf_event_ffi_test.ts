import assert from "node:assert/strict";
import {
  encodePerfEventAttr,
  PERF_FORMAT,
  PERF_TYPE,
  PerfCounter,
  PerfEventOpenError,
  readPerfEventParanoid,
} from "../src/ffi/perf_event.ts";

Deno.test("encodePerfEventAttr() lays out type, size, config, read_format and flag bits", () => {
  const bytes = encodePerfEventAttr({
    type: 7,
    config: 0x1234_5678_9abcn,
    readFormat: PERF_FORMAT.TOTAL_TIME_ENABLED | PERF_FORMAT.TOTAL_TIME_RUNNING,
    disabled: true,
    inherit: true,
    excludeHv: true,
    enableOnExec: true,
  });
  const view = new DataView(bytes.buffer);
  assert.equal(bytes.length, 136);
  assert.equal(view.getUint32(0, true), 7);
  assert.equal(view.getUint32(4, true), 136);
  assert.equal(view.getBigUint64(8, true), 0x1234_5678_9abcn);
  assert.equal(view.getBigUint64(32, true), 3n);
  assert.equal(view.getBigUint64(40, true), (1n << 0n) | (1n << 1n) | (1n << 6n) | (1n << 12n));
  assert.ok(bytes.slice(48).every((byte) => byte === 0));
});

/** What an fd of this process refers to, or null when it is closed. Test modules run in
 * parallel in one process, so counting all fds would race with the others' pipes and sockets. */
function fdTarget(fd: number): string | null {
  try {
    return Deno.readLinkSync(`/proc/self/fd/${fd}`);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

Deno.test("PerfCounter counts a real software event and releases its fd", () => {
  const start = performance.now();
  const counter = PerfCounter.open("task-clock", {
    type: PERF_TYPE.SOFTWARE,
    config: 1n,
    readFormat: PERF_FORMAT.TOTAL_TIME_ENABLED | PERF_FORMAT.TOTAL_TIME_RUNNING,
  }, { pid: 0, cpu: -1 });
  const fd = counter.fd;
  assert.equal(fdTarget(fd), "anon_inode:[perf_event]");
  // Burn CPU until the counter has seen 15 ms of it: on a loaded machine the thread gets less
  // CPU than wall time, so only the wall time allowed is bounded (generously).
  do {
    const slice = performance.now();
    while (performance.now() - slice < 5) {
      // burn this thread's CPU time
    }
    counter.read();
  } while (counter.value < 15e6 && performance.now() - start < 10_000);
  const wallNs = (performance.now() - start) * 1e6;
  assert.ok(counter.value >= 15e6, `task-clock ${counter.value} ns`);
  // One thread cannot run for longer than the wall time.
  assert.ok(counter.value <= wallNs, `task-clock ${counter.value} ns > wall ${wallNs} ns`);
  assert.ok(counter.enabled >= counter.running && counter.running > 0);
  counter.disable();
  counter.reset();
  counter.read();
  assert.equal(counter.value, 0);
  counter.close();
  counter.close();
  assert.equal(counter.fd, -1);
  assert.notEqual(fdTarget(fd), "anon_inode:[perf_event]");
});

Deno.test("PerfCounter.open() reports a missing event as unsupported with its errno", () => {
  try {
    // A software event number far past the last one the kernel knows.
    PerfCounter.open("bogus", { type: PERF_TYPE.SOFTWARE, config: 999n }, { pid: 0, cpu: -1 });
    assert.fail("the kernel accepted a bogus software event");
  } catch (error) {
    assert.ok(error instanceof PerfEventOpenError);
    assert.ok(error.unsupported, error.message);
    assert.match(error.message, /perf_event_open \(bogus\): .*\(E[A-Z]+\)/);
  }
});

Deno.test("readPerfEventParanoid() reads the sysctl, or undefined when absent", async () => {
  assert.equal(typeof readPerfEventParanoid(), "number");
  const file = await Deno.makeTempFile();
  await Deno.writeTextFile(file, "-1\n");
  assert.equal(readPerfEventParanoid(file), -1);
  assert.equal(readPerfEventParanoid(`${file}.missing`), undefined);
});
