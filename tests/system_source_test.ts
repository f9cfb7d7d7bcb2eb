/**
 * The `system` source: parsing of `/proc/stat` and `/proc/net/dev` (a fake
 * folder the real code reads), and the machine's busy time next to a real
 * program's CPU time.
 *
 * @module
 */

import assert from "node:assert/strict";
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
