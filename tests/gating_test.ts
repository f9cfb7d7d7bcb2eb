import assert from "node:assert/strict";
import { JouleProfiler } from "../src/profiler.ts";
import type { Metric, Sensor, Source } from "../src/source.ts";
import { WriterSink } from "../src/process/byte_sink.ts";

interface Observation {
  state: string;
  exe: string;
  marker: boolean;
}

/** A source that looks at the program while the profiler holds it. */
class GateProbe implements Source<number> {
  readonly name = "gate probe";
  readonly seen: Observation[] = [];
  #pid = 0;
  constructor(readonly marker: string) {}
  async init(pid: number): Promise<void> {
    this.#pid = pid;
    // A slow source: the program must stay held until this resolves.
    await new Promise((resolve) => setTimeout(resolve, 200));
    this.#observe();
  }
  measure(): void {
    if (this.seen.length === 1) this.#observe(); // the baseline
  }
  retrieve(): number {
    return 0;
  }
  sensors(): Sensor[] {
    return [];
  }
  toMetrics(): Metric[] {
    return [];
  }
  #observe(): void {
    const stat = Deno.readTextFileSync(`/proc/${this.#pid}/stat`);
    this.seen.push({
      state: stat.charAt(stat.lastIndexOf(")") + 2),
      exe: Deno.readLinkSync(`/proc/${this.#pid}/exe`),
      marker: (() => {
        try {
          Deno.statSync(this.marker);
          return true;
        } catch {
          return false;
        }
      })(),
    });
  }
}

Deno.test("the program runs no instruction before every source's init and the baseline", async () => {
  const directory = await Deno.makeTempDir();
  const marker = `${directory}/marker`;
  const probe = new GateProbe(marker);
  const profiler = new JouleProfiler().addSource(probe);
  const result = await profiler.profile({ command: ["touch", marker], handleSignals: false });
  assert.equal(result.exitCode, 0);
  assert.equal(probe.seen.length, 2);
  for (const seen of probe.seen) {
    assert.equal(seen.state, "T", "held (stopped) during init and baseline");
    assert.ok(!seen.exe.endsWith("/touch"), `still the launcher, not the program: ${seen.exe}`);
    assert.equal(seen.marker, false, "the program's first effect has not happened");
  }
  assert.ok(Deno.statSync(marker).isFile, "the program ran after the gate");
});

Deno.test("a source that fails to attach stops the run and leaves no stopped or orphaned child", async () => {
  const directory = await Deno.makeTempDir();
  let pid = 0;
  const failing: Source = {
    name: "failing",
    init: (p) => {
      pid = p;
      throw new Error("cannot attach");
    },
    measure: () => {},
    retrieve: () => 0,
    sensors: () => [],
    toMetrics: () => [],
  };
  const profiler = new JouleProfiler().addSource(failing);
  await assert.rejects(
    profiler.profile({ command: ["touch", `${directory}/marker`], handleSignals: false }),
    /failing: cannot attach/,
  );
  assert.ok(pid > 0);
  assert.throws(() => Deno.statSync(`/proc/${pid}`), Deno.errors.NotFound, "child reaped");
  assert.throws(() => Deno.statSync(`${directory}/marker`), Deno.errors.NotFound, "never ran");
});

Deno.test("JouleProfiler.profile() passes the program's stdout to a custom sink unchanged", async () => {
  const chunks: Uint8Array[] = [];
  const sink = new WriterSink({
    writeSync: (bytes) => {
      chunks.push(bytes.slice());
      return bytes.length;
    },
  });
  const result = await new JouleProfiler().profile({
    command: ["printf", "a\\n__X__\\nb"],
    stdout: sink,
    handleSignals: false,
  });
  const text = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
  assert.equal(text, "a\n__X__\nb");
  assert.deepEqual(result.runs[0]!.phases.map((p) => p.name), ["START -> __X__", "__X__ -> END"]);
});
