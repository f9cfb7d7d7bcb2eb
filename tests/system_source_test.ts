/**
 * The `system` source: parsing of `/proc/stat` and `/proc/net/dev` (a fake
 * folder the real code reads), and the machine's busy time next to a real
 * program's CPU time.
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { Logger } from "../src/logger.ts";
import { JouleProfiler } from "../src/profiler.ts";
import type { Metric } from "../src/source.ts";
import { ProcessSource } from "../sources/process/mod.ts";
import { SystemSource } from "../sources/system/mod.ts";

function value(metrics: Metric[], name: string): number {
  const metric = metrics.find((entry) => entry.name === name);
  assert.ok(metric, `no metric ${name}`);
  return metric.value;
}

/** `/proc/stat` with the given per-CPU [user, system, idle] ticks and a long interrupt line. */
function statText(cpus: [number, number, number][]): string {
  const line = (name: string, [user, system, idle]: [number, number, number]) =>
    `${name} ${user} 0 ${system} ${idle} 0 0 0 0 0 0\n`;
  const sum = cpus.reduce<[number, number, number]>(
    (acc, cpu) => [acc[0] + cpu[0], acc[1] + cpu[1], acc[2] + cpu[2]],
    [0, 0, 0],
  );
  return line("cpu ", sum).replace("cpu  ", "cpu  ") +
    cpus.map((cpu, i) => line(`cpu${i}`, cpu)).join("") +
    `intr 1234 ${"0 ".repeat(3000)}\nctxt 99\nbtime 1\n`;
}

function netText(rows: [string, number, number, number, number][]): string {
  return "Inter-|   Receive |  Transmit\n face |bytes packets|bytes packets\n" +
    rows.map(([name, rxBytes, rxPackets, txBytes, txPackets]) =>
      `${
        name.padStart(6)
      }: ${rxBytes} ${rxPackets} 0 0 0 0 0 0 ${txBytes} ${txPackets} 0 0 0 0 0 0\n`
    ).join("");
}

Deno.test("system source: machine busy time, per-CPU utilisation and traffic from /proc files", async () => {
  const proc = await Deno.makeTempDir({ prefix: "jp-fake-proc-" });
  try {
    await Deno.mkdir(`${proc}/net`);
    await Deno.writeTextFile(`${proc}/stat`, statText([[100, 50, 1000], [10, 10, 2000]]));
    await Deno.writeTextFile(
      `${proc}/net/dev`,
      netText([["lo", 5000, 50, 5000, 50], ["eth0", 1000, 10, 2000, 20]]),
    );
    const source = new SystemSource({ procPath: proc });
    assert.equal(source.cpus, 2);
    source.init();
    source.measure();
    // CPU 0: 30 busy ticks of 40; CPU 1: 0 of 40. Loopback traffic is left out.
    await Deno.writeTextFile(`${proc}/stat`, statText([[120, 60, 1010], [10, 10, 2040]]));
    await Deno.writeTextFile(
      `${proc}/net/dev`,
      netText([["lo", 9000, 90, 9000, 90], ["eth0", 4000, 13, 2500, 25]]),
    );
    source.measure();
    const phase = source.retrieve();
    source.join();
    const metrics = source.toMetrics(phase);
    const tick = 1e9 / 100;
    assert.equal(value(metrics, "SYSTEM_CPU_BUSY_TIME"), 30 * tick);
    assert.equal(value(metrics, "SYSTEM_CPU_TIME"), 80 * tick);
    assert.equal(value(metrics, "SYSTEM_CPU_UTILIZATION"), 37.5);
    assert.equal(value(metrics, "CPU0_UTILIZATION"), 75);
    assert.equal(value(metrics, "CPU1_UTILIZATION"), 0);
    assert.equal(value(metrics, "NET_RX_BYTES"), 3000);
    assert.equal(value(metrics, "NET_RX_PACKETS"), 3);
    assert.equal(value(metrics, "NET_TX_BYTES"), 500);
    assert.equal(value(metrics, "NET_TX_PACKETS"), 5);
    for (const metric of metrics) {
      assert.equal(metric.source, "system");
      assert.equal(metric.details?.scope, "machine");
    }
    assert.deepEqual(
      (await source.sensors()).map((sensor) => sensor.name).slice(0, 5),
      [
        "SYSTEM_CPU_BUSY_TIME",
        "SYSTEM_CPU_TIME",
        "SYSTEM_CPU_UTILIZATION",
        "CPU0_UTILIZATION",
        "CPU1_UTILIZATION",
      ],
    );
  } finally {
    await Deno.remove(proc, { recursive: true });
  }
});

Deno.test("system source: the machine was at least as busy as the program", async () => {
  const result = await new JouleProfiler()
    .addSource(new ProcessSource())
    .addSource(new SystemSource())
    .profile({
      command: ["awk", "BEGIN { for (i = 0; i < 30000000; i++); }"],
      logger: new Logger(0, () => {}),
      sampleIntervalMs: 20,
    });
  const run = result.runs[0]!;
  const metrics = run.phases[0]!.metrics;
  const program = metrics.find((m) => m.source === "process" && m.name === "CPU_TIME")!.value;
  const machine = value(metrics, "SYSTEM_CPU_BUSY_TIME");
  // /proc/stat counts whole ticks: allow two per CPU of rounding.
  const slack = 2 * 10e6 * navigator.hardwareConcurrency;
  assert.ok(machine + slack >= program, `machine ${machine / 1e6} ms, program ${program / 1e6} ms`);
  const names = run.samples!.filter((s) => s.source === "system").map((s) => s.name);
  assert.ok(names.includes("SYSTEM_CPU_UTILIZATION") && names.includes("CPU0_UTILIZATION"));
  assert.ok(names.includes("NET_RX") && names.includes("NET_TX"));
});

/** A fake `/proc` folder with the given files, removed after `body`. */
async function withFakeProc(
  files: { stat: string; net?: string },
  body: (proc: string) => Promise<void> | void,
): Promise<void> {
  const proc = await Deno.makeTempDir({ prefix: "jp-fake-proc-" });
  try {
    await Deno.mkdir(`${proc}/net`);
    await Deno.writeTextFile(`${proc}/stat`, files.stat);
    await Deno.writeTextFile(`${proc}/net/dev`, files.net ?? netText([]));
    await body(proc);
  } finally {
    await Deno.remove(proc, { recursive: true });
  }
}

/** One phase of `source`: a boundary, `between`, a boundary; its metrics. */
async function onePhase(source: SystemSource, between: () => Promise<unknown>): Promise<Metric[]> {
  source.init();
  source.measure();
  await between();
  source.measure();
  const metrics = source.toMetrics(source.retrieve());
  source.join();
  return metrics;
}

/** `/proc/stat` of CPUs with the given kernel numbers and [user, system, idle] ticks. */
function numberedStatText(cpus: [number, [number, number, number]][]): string {
  const line = (name: string, [user, system, idle]: [number, number, number]) =>
    `${name} ${user} 0 ${system} ${idle} 0 0 0 0 0 0\n`;
  return line("cpu ", [0, 0, 0]).replace("cpu  ", "cpu  ") +
    cpus.map(([id, ticks]) => line(`cpu${id}`, ticks)).join("") + "intr 1 0 0\nctxt 9\n";
}

Deno.test("system source: per-CPU metrics are named after the kernel's CPU numbers, gaps included", async () => {
  await withFakeProc({
    stat: numberedStatText([[0, [10, 0, 100]], [2, [10, 0, 100]], [5, [10, 0, 100]]]),
  }, async (proc) => {
    const source = new SystemSource({ procPath: proc });
    assert.equal(source.cpus, 3);
    assert.deepEqual(
      source.sensors().map((sensor) => sensor.name).filter((name) => /^CPU\d/.test(name)),
      ["CPU0_UTILIZATION", "CPU2_UTILIZATION", "CPU5_UTILIZATION"],
    );
    const metrics = await onePhase(source, async () => {
      // cpu2 went offline: missing from the file, it shows 0 %; the others keep their numbers.
      await Deno.writeTextFile(
        `${proc}/stat`,
        numberedStatText([[0, [30, 0, 100]], [5, [10, 10, 110]]]),
      );
    });
    assert.equal(value(metrics, "CPU0_UTILIZATION"), 100);
    assert.equal(value(metrics, "CPU2_UTILIZATION"), 0);
    assert.equal(value(metrics, "CPU5_UTILIZATION"), 50);
  });
});

Deno.test("system source: the cpu lines of thousands of CPUs are read whole (the read buffer grows)", async () => {
  const cpus = 5000; // about 190 KB of cpu lines, past the first 64 KiB buffer
  const ticks = (
    id: number,
    step: number,
  ): [number, [number, number, number]] => [id, [
    1_000_000_000 + id + step * (id % 7),
    0,
    4_000_000_000 + step * 10,
  ]];
  await withFakeProc({
    stat: numberedStatText(Array.from({ length: cpus }, (_, id) => ticks(id, 0))),
  }, async (proc) => {
    const source = new SystemSource({ procPath: proc });
    assert.equal(source.cpus, cpus);
    const metrics = await onePhase(source, async () => {
      await Deno.writeTextFile(
        `${proc}/stat`,
        numberedStatText(Array.from({ length: cpus }, (_, id) => ticks(id, 1))),
      );
    });
    // CPU n: (n mod 7) busy ticks of (n mod 7) + 10.
    for (const id of [0, 1, 4095, 4999]) {
      const busy = id % 7;
      assert.equal(
        value(metrics, `CPU${id}_UTILIZATION`),
        Math.round(busy / (busy + 10) * 1e4) / 100,
        `CPU${id}`,
      );
    }
  });
});

Deno.test("system source: /proc/net/dev with more interfaces than the first buffer holds is summed whole", async () => {
  const rows: [string, number, number, number, number][] = Array.from(
    { length: 1500 }, // about 150 KB
    (_, i) => [`veth${i}`, 1000 + i, 10, 2000, 20],
  );
  await withFakeProc({ stat: statText([[1, 1, 1]]), net: netText(rows) }, async (proc) => {
    const source = new SystemSource({ procPath: proc });
    const metrics = await onePhase(source, async () => {
      await Deno.writeTextFile(
        `${proc}/net/dev`,
        netText(rows.map(([name, rx, rxp, tx, txp]) => [name, rx + 1, rxp, tx + 2, txp + 1])),
      );
    });
    assert.equal(value(metrics, "NET_RX_BYTES"), 1500);
    assert.equal(value(metrics, "NET_TX_BYTES"), 3000);
    assert.equal(value(metrics, "NET_TX_PACKETS"), 1500);
  });
});

Deno.test("system source: the one-pass parse agrees with splitting the lines, on random /proc/stat files", async () => {
  // Counters up to 2^50 (exact as doubles), 4 to 10 fields (older kernels have fewer), gaps in the
  // CPU numbers, and the lines after the cpu block of a real file.
  const cpuLine = fc.record({
    gap: fc.integer({ min: 1, max: 3 }),
    fields: fc.array(fc.integer({ min: 0, max: 2 ** 50 }), { minLength: 4, maxLength: 10 }),
  });
  const file = fc.record({
    machine: fc.array(fc.integer({ min: 0, max: 2 ** 50 }), { minLength: 8, maxLength: 10 }),
    cpus: fc.array(cpuLine, { minLength: 1, maxLength: 40 }),
  });
  const proc = await Deno.makeTempDir({ prefix: "jp-fake-proc-" });
  try {
    await Deno.mkdir(`${proc}/net`);
    await Deno.writeTextFile(`${proc}/net/dev`, netText([]));
    await fc.assert(
      fc.asyncProperty(file, file, async (before, after) => {
        // The same CPUs at both boundaries: `after` lends its counters to `before`'s numbers.
        const ids: number[] = [];
        before.cpus.reduce((id, cpu) => (ids.push(id + cpu.gap), id + cpu.gap), -1);
        const texts = [before, after].map(({ machine, cpus }) =>
          `cpu  ${machine.join(" ")}\n` +
          ids.map((id, i) => `cpu${id} ${(cpus[i] ?? before.cpus[i]!).fields.join(" ")}\n`)
            .join("") +
          "intr 5 0 1\nctxt 7\nbtime 1\n"
        );
        await Deno.writeTextFile(`${proc}/stat`, texts[0]!);
        const source = new SystemSource({ procPath: proc });
        const metrics = await onePhase(source, async () => {
          await Deno.writeTextFile(`${proc}/stat`, texts[1]!);
        });
        // The reference: split each line, sum the fields by name.
        const times = (text: string) =>
          new Map(
            text.split("\n").filter((line) => line.startsWith("cpu")).map((line) => {
              const [name, ...rest] = line.split(/ +/);
              const n = rest.map(Number);
              const at = (k: number) => n[k] ?? 0;
              const busy = at(0) + at(1) + at(2) + at(5) + at(6);
              return [name!, [busy, busy + at(3) + at(4) + at(7)]] as const;
            }),
          );
        const [start, end] = texts.map(times);
        const percent = (name: string) => {
          const busy = Math.max(0, end!.get(name)![0] - start!.get(name)![0]);
          const total = Math.max(0, end!.get(name)![1] - start!.get(name)![1]);
          return total > 0 ? Math.round(busy / total * 1e4) / 100 : 0;
        };
        assert.equal(value(metrics, "SYSTEM_CPU_UTILIZATION"), percent("cpu"));
        for (const id of ids) {
          assert.equal(value(metrics, `CPU${id}_UTILIZATION`), percent(`cpu${id}`), `cpu${id}`);
        }
      }),
      { numRuns: 300 },
    );
  } finally {
    await Deno.remove(proc, { recursive: true });
  }
});

Deno.test("system source: /proc/net/dev of many interfaces, given a page per read by the kernel, is summed whole", async () => {
  // A network namespace with 81 interfaces (about 10 KB of /proc/net/dev, where one read gives a
  // page): traffic goes out of the last one made, whose line is past the first page.
  const id = `jp-net-${Deno.pid}`;
  const ip = async (...args: string[]) => {
    const { code, stderr } = await new Deno.Command("ip", { args, stderr: "piped" }).output();
    if (code !== 0) throw new Error(`ip ${args.join(" ")}: ${new TextDecoder().decode(stderr)}`);
  };
  const [here, there] = [`${id}-a`, `${id}-b`];
  await ip("netns", "add", here);
  await ip("netns", "add", there);
  const proc = await Deno.makeTempDir({ prefix: "jp-fake-proc-" });
  let holder: Deno.ChildProcess | undefined;
  try {
    const batch = Array.from({ length: 40 }, (_, i) => `link add v${i} type veth peer name p${i}`);
    await Deno.writeTextFile(`${proc}/links`, batch.join("\n") + "\n");
    await ip("-n", here, "-batch", `${proc}/links`);
    await ip("-n", here, "link", "set", "p39", "netns", there);
    await ip("-n", here, "addr", "add", "10.77.0.1/24", "dev", "v39");
    await ip("-n", there, "addr", "add", "10.77.0.2/24", "dev", "p39");
    await ip("-n", here, "link", "set", "v39", "up");
    await ip("-n", there, "link", "set", "p39", "up");
    // A process in the namespace lends its /proc/<pid>/net; /proc/stat is the machine's.
    holder = new Deno.Command("ip", { args: ["netns", "exec", here, "sleep", "60"] }).spawn();
    for (let i = 0; i < 200; i++) {
      const net = await Deno.readTextFile(`/proc/${holder.pid}/net/dev`).catch(() => "");
      if (net.includes("v39:")) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const devText = await Deno.readTextFile(`/proc/${holder.pid}/net/dev`);
    assert.ok(devText.length > 8192, `${devText.length} bytes of /proc/net/dev`);
    await Deno.symlink("/proc/stat", `${proc}/stat`);
    await Deno.symlink(`/proc/${holder.pid}/net`, `${proc}/net`);
    const source = new SystemSource({ procPath: proc });
    const metrics = await onePhase(source, async () => {
      const send = await new Deno.Command("ip", {
        args: [
          "netns",
          "exec",
          here,
          "python3",
          "-c",
          "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n" +
          "for _ in range(20): s.sendto(b'x' * 1000, ('10.77.0.2', 9))",
        ],
      }).output();
      assert.equal(send.code, 0);
    });
    // 20 datagrams of 1,000 bytes (and their headers) left through v39, besides ARP and IPv6's own.
    assert.ok(
      value(metrics, "NET_TX_PACKETS") >= 20,
      `${value(metrics, "NET_TX_PACKETS")} packets`,
    );
    assert.ok(
      value(metrics, "NET_TX_BYTES") >= 20 * 1000,
      `${value(metrics, "NET_TX_BYTES")} bytes`,
    );
  } finally {
    holder?.kill("SIGKILL");
    await holder?.status;
    await Deno.remove(proc, { recursive: true });
    await ip("netns", "del", here).catch(() => {});
    await ip("netns", "del", there).catch(() => {});
  }
});
