import assert from "node:assert/strict";
import { parse } from "csv-parse/sync";
import { compileC, listDir, runCli } from "./helpers.ts";
import { writeFakePowercap } from "./fixtures/fake_powercap.ts";
import { findChromium, HeadlessPage } from "./headless_chromium.ts";

const PROGRAM = [
  "sh",
  "-c",
  "echo __LOAD__; sleep 0.25; echo __SPIN__; i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; " +
  "echo __IDLE__; sleep 0.2",
];

interface JsonSeries {
  name: string;
  unit: string;
  source: string;
  time_ms: number[];
  values: number[];
}

interface JsonDocument {
  phases: { metrics: { name: string; unit: string; source: string; value: number }[] }[];
  sampling?: { interval_ms: number; ticks: number; missed: number };
  samples?: JsonSeries[];
  iterations?: { samples?: JsonSeries[] }[];
}

/** A fake powercap tree whose counters a C writer moves at 20 W and 8 W. */
async function movingPowercap(): Promise<
  { env: Record<string, string>; writer: Deno.ChildProcess }
> {
  const root = await Deno.makeTempDir({ prefix: "jp-timeline-" });
  const files = await writeFakePowercap(root, [{
    id: "intel-rapl:0",
    name: "package-0",
    subzones: [{ id: "intel-rapl:0:0", name: "core" }],
  }]);
  const writer = new Deno.Command(await compileC("tests/fixtures/fake_rapl_writer.c"), {
    args: [
      "2000",
      "20",
      files.get("intel-rapl:0")!,
      "20",
      "262143328850",
      files.get("intel-rapl:0:0")!,
      "8",
      "262143328850",
    ],
    stdout: "piped",
  }).spawn();
  const reader = writer.stdout.getReader();
  await reader.read(); // the writer has started moving the counters
  reader.releaseLock();
  await writer.stdout.cancel();
  return {
    env: { JOULE_PROFILER_RAPL_PATH: `${root}/intel-rapl`, JOULE_PROFILER_EVENT_SOURCE_PATH: root },
    writer,
  };
}

/** One sampled run (JSON, HTML, SVG-less) and one plain run, against the same moving tree. */
const fixture = (async () => {
  const { env, writer } = await movingPowercap();
  try {
    const cwd = await Deno.makeTempDir({ prefix: "jp-timeline-out-" });
    const sampled = await runCli([
      "--json",
      "-o",
      "sampled.json",
      "profile",
      "--sample-interval",
      "10",
      "--timeline",
      "timeline.html",
      "--samples-csv",
      "samples.csv",
      "--",
      ...PROGRAM,
    ], { cwd, env });
    assert.equal(sampled.code, 0, sampled.stderr);
    const svg = await runCli(
      ["--json", "-o", "svg.json", "profile", "--timeline", "timeline.svg", "--", ...PROGRAM],
      { cwd, env },
    );
    assert.equal(svg.code, 0, svg.stderr);
    const plain = await runCli(["--json", "-o", "plain.json", "profile", "--", ...PROGRAM], {
      cwd,
      env,
    });
    assert.equal(plain.code, 0, plain.stderr);
    const read = async (name: string): Promise<JsonDocument> =>
      JSON.parse(await Deno.readTextFile(`${cwd}/${name}`));
    return {
      cwd,
      sampled: await read("sampled.json"),
      svgJson: await read("svg.json"),
      plain: await read("plain.json"),
    };
  } finally {
    writer.kill();
    await writer.status;
  }
})();
// A failed fixture is reported by the tests that await it, not as an unhandled rejection.
fixture.catch(() => {});

Deno.test("--sample-interval puts power, CPU and RSS series in the JSON", async () => {
  const { sampled } = await fixture;
  assert.equal(sampled.sampling?.interval_ms, 10);
  const samples = sampled.samples!;
  const cpus = navigator.hardwareConcurrency;
  assert.deepEqual(samples.map((s) => `${s.source}/${s.name} ${s.unit}`).sort(), [
    "RAPL (Powercap)/CORE-0 W",
    "RAPL (Powercap)/PACKAGE-0 W",
    "process/CPU %",
    "process/DISK_READ MB/s",
    "process/DISK_WRITE MB/s",
    "process/RSS MiB",
    ...Array.from({ length: cpus }, (_, cpu) => `system/CPU${cpu}_UTILIZATION %`).sort(),
    "system/NET_RX MB/s",
    "system/NET_TX MB/s",
    "system/SYSTEM_CPU_UTILIZATION %",
  ]);
  for (const series of samples) {
    assert.equal(series.time_ms.length, series.values.length);
    assert.ok(series.time_ms.length >= 30, `${series.name}: ${series.time_ms.length} points`);
    // Times increase and stay within the run.
    for (let i = 1; i < series.time_ms.length; i++) {
      assert.ok(series.time_ms[i]! > series.time_ms[i - 1]!);
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
  const power = (name: string) => samples.find((s) => s.name === name)!.values;
  // The writer moves the counters at 20 W and 8 W.
  assert.ok(Math.abs(median(power("PACKAGE-0")) - 20) < 3, `${median(power("PACKAGE-0"))}`);
  assert.ok(Math.abs(median(power("CORE-0")) - 8) < 1.5, `${median(power("CORE-0"))}`);
  assert.ok(Math.max(...power("RSS")) > 0);
});

Deno.test("sampling leaves the per-phase metrics as they are", async () => {
  const { sampled, plain } = await fixture;
  assert.equal(plain.samples, undefined);
  assert.equal(plain.sampling, undefined);
  const shape = (document: JsonDocument) =>
    document.phases.map((phase) => phase.metrics.map((m) => `${m.source}/${m.name} ${m.unit}`));
  assert.deepEqual(shape(sampled), shape(plain));
  // Energies still come from the boundary reads: about 20 W × each phase's duration.
  for (
    const phase of sampled.phases as unknown as {
      duration_ms: number;
      metrics: { name: string; value: number }[];
    }[]
  ) {
    const pkg = phase.metrics.find((m) => m.name === "PACKAGE-0")!.value;
    if (phase.duration_ms > 50) {
      assert.ok(Math.abs(pkg / (phase.duration_ms * 1e3) - 20) < 3, `${pkg} µJ`);
    }
  }
});

Deno.test("--samples-csv writes one row per point, matching the JSON", async () => {
  const { cwd, sampled } = await fixture;
  const text = await Deno.readTextFile(`${cwd}/samples.csv`);
  const rows: string[][] = parse(text, { delimiter: ";" });
  assert.deepEqual(rows[0], ["run", "time_ms", "series", "value", "unit", "source"]);
  const points = sampled.samples!.reduce((total, s) => total + s.values.length, 0);
  assert.equal(rows.length - 1, points);
  const firstCpu = rows.find((row) => row[2] === "CPU")!;
  const cpu = sampled.samples!.find((s) => s.name === "CPU")!;
  assert.deepEqual(firstCpu, [
    "0",
    String(cpu.time_ms[0]),
    "CPU",
    String(cpu.values[0]),
    "%",
    "process",
  ]);
});

Deno.test("--timeline FILE.svg writes a well-formed SVG with every phase and series", async () => {
  const { cwd, svgJson } = await fixture;
  assert.equal(svgJson.sampling?.interval_ms, 10, "--timeline alone samples every 10 ms");
  const svg = await Deno.readTextFile(`${cwd}/timeline.svg`);
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  assertWellFormed(svg);
  assert.equal(count(svg, /<rect data-phase="/g), svgJson.phases.length);
  assert.equal(count(svg, /<polyline data-series="/g), svgJson.samples!.length);
  assert.ok(!/https?:\/\/(?!www\.w3\.org\/2000\/svg)/.test(svg), "no external references");
});

Deno.test("--timeline FILE.html is self-contained", async () => {
  const { cwd, sampled } = await fixture;
  const html = await Deno.readTextFile(`${cwd}/timeline.html`);
  assert.ok(html.startsWith("<!DOCTYPE html>"));
  assert.ok(!/<(script|link|img)[^>]+(src|href)=/i.test(html), "no external resources");
  assert.equal(count(html, /<rect data-phase="/g), sampled.phases.length);
  assert.equal(count(html, /<polyline data-series="/g), sampled.samples!.length);
  assert.equal(count(html, /<tr><td>/g), sampled.phases.length, "the phase table");
});

const chromium = findChromium();

Deno.test({
  name: "the HTML timeline loads in headless Chromium without errors",
  // Locally Chromium may be missing; in CI (.ci/run installs it) its absence is a failure.
  ignore: chromium === undefined && Deno.env.get("CI") === undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    assert.ok(chromium !== undefined, "Chromium not found (apt-get install chromium)");
    const { cwd, sampled } = await fixture;
    const page = await HeadlessPage.launch(chromium);
    try {
      await page.navigate(`file://${cwd}/timeline.html`);
      const visible = "section.run:not([hidden]) [data-phase]";
      assert.equal(
        await page.evaluate<number>(`document.querySelectorAll('${visible}').length`),
        sampled.phases.length,
      );
      assert.equal(
        await page.evaluate<number>(
          `document.querySelectorAll('section.run:not([hidden]) [data-series]').length`,
        ),
        sampled.samples!.length,
      );
      // Hovering the middle of the plot shows the values there.
      const box = await page.evaluate<{ x: number; y: number }>(
        `(() => { const r = document.querySelector("section.run svg .panel rect")` +
          `.getBoundingClientRect(); return { x: r.x + r.width / 2, y: r.y + r.height / 2 }; })()`,
      );
      await page.moveMouse(box.x, box.y);
      const tip = await page.evaluate<{ hidden: boolean; text: string }>(
        `({ hidden: document.getElementById("tip").hidden, ` +
          `text: document.getElementById("tip").textContent })`,
      );
      assert.equal(tip.hidden, false);
      assert.match(tip.text, /PACKAGE-0: [\d.]+ W/);
      assert.match(tip.text, /CPU: [\d.]+ %/);
      assert.deepEqual(page.errors, []);
    } finally {
      await page.close();
    }
  },
});

Deno.test("bad sampling flags: one line, exit 2, nothing run", async (t) => {
  const cases: [string, string[], RegExp][] = [
    ["interval 0", ["--sample-interval", "0"], /--sample-interval must be .* ≥ 1, got '0'/],
    ["interval not a number", ["--sample-interval", "fast"], /got 'fast'/],
    ["interval below 1 ms", ["--sample-interval", "0.5"], /got '0.5'/],
    ["timeline extension", ["--timeline", "chart.png"], /\.html or \.svg/],
  ];
  for (const [name, flags, message] of cases) {
    await t.step(name, async () => {
      const cwd = await Deno.makeTempDir({ prefix: "jp-timeline-bad-" });
      const out = await runCli(["profile", ...flags, "--", "touch", "spawned"], { cwd });
      assert.equal(out.code, 2);
      assert.equal(out.stderr.trim().split("\n").length, 1, out.stderr);
      assert.match(out.stderr, message);
      assert.deepEqual(await listDir(cwd), []);
    });
  }
});

Deno.test("a sampled run with several iterations has samples per run; HTML selects the run", async () => {
  const cwd = await Deno.makeTempDir({ prefix: "jp-timeline-n-" });
  const out = await runCli([
    "--json",
    "-o",
    "runs.json",
    "profile",
    "-n",
    "2",
    "--timeline",
    "runs.html",
    "--",
    "sh",
    "-c",
    "echo __A__; sleep 0.05",
  ], { cwd, env: { JOULE_PROFILER_RAPL_PATH: cwd, JOULE_PROFILER_EVENT_SOURCE_PATH: cwd } });
  assert.equal(out.code, 0, out.stderr);
  const document: JsonDocument = JSON.parse(await Deno.readTextFile(`${cwd}/runs.json`));
  assert.equal(document.iterations!.length, 2);
  for (const run of document.iterations!) {
    const tree = run.samples!.filter((s) => s.source === "process").map((s) => s.name);
    assert.deepEqual(tree, ["CPU", "RSS", "DISK_READ", "DISK_WRITE"]);
  }
  const html = await Deno.readTextFile(`${cwd}/runs.html`);
  assert.equal(count(html, /<section class="run"/g), 2);
  assert.equal(count(html, /<option value=/g), 2);
});

function count(text: string, pattern: RegExp): number {
  return (text.match(pattern) ?? []).length;
}

/** Checks tags balance and attributes are quoted: enough to catch broken markup. */
function assertWellFormed(xml: string): void {
  const stack: string[] = [];
  const tag = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|<!--[\s\S]*?-->/g;
  let last = 0;
  for (const match of xml.matchAll(tag)) {
    const between = xml.slice(last, match.index);
    assert.ok(!/[<>]/.test(between), `stray markup near: ${between.slice(0, 80)}`);
    assert.ok(!/&(?!(amp|lt|gt|quot|#\d+);)/.test(between), `bad entity: ${between.slice(0, 80)}`);
    last = match.index + match[0].length;
    if (match[0].startsWith("<!--")) continue;
    const [, closing, name, , selfClosing] = match;
    if (closing) assert.equal(stack.pop(), name, `</${name}> closes the wrong element`);
    else if (!selfClosing) stack.push(name!);
  }
  assert.equal(xml.slice(last).trim(), "");
  assert.deepEqual(stack, [], "every element is closed");
}
