/**
 * Produces the README's sample output for machines this one is not: the
 * real CLI profiles a real program, but reads a fake powercap tree whose
 * counters follow this machine's CPU load through a simple power model
 * (idle watts + watts per busy core). The layout is exactly what the CLI
 * prints; the figures are only plausible, not measured.
 *
 *     deno run -A docs/samples/simulated_rapl.ts laptop -- profile -- python3 examples/programs/phases.py
 *     deno run -A docs/samples/simulated_rapl.ts server -- profile -n 5 -- python3 examples/programs/phases.py
 *
 * @module
 */

import {
  energyText,
  type FakeZone,
  writeFakePowercap,
} from "../../tests/fixtures/fake_powercap.ts";

/** Watts of one zone: at rest, and added per busy core. */
interface ZoneModel {
  id: string;
  idleW: number;
  perBusyCoreW: number;
}

interface Machine {
  zones: FakeZone[];
  model: ZoneModel[];
}

const MACHINES: Record<string, Machine> = {
  // One package with core and uncore (integrated GPU) subzones, and the platform (PSYS).
  laptop: {
    zones: [
      {
        id: "intel-rapl:0",
        name: "package-0",
        subzones: [
          { id: "intel-rapl:0:0", name: "core" },
          { id: "intel-rapl:0:1", name: "uncore" },
        ],
      },
      { id: "intel-rapl:1", name: "psys" },
    ],
    model: [
      { id: "intel-rapl:0", idleW: 2.1, perBusyCoreW: 9.5 },
      { id: "intel-rapl:0:0", idleW: 0.6, perBusyCoreW: 8.2 },
      { id: "intel-rapl:0:1", idleW: 0.2, perBusyCoreW: 0.1 },
      { id: "intel-rapl:1", idleW: 6.4, perBusyCoreW: 11.0 },
    ],
  },
  // Two packages with core and DRAM subzones.
  server: {
    zones: [0, 1].map((socket) => ({
      id: `intel-rapl:${socket}`,
      name: `package-${socket}`,
      subzones: [
        { id: `intel-rapl:${socket}:0`, name: "core" },
        { id: `intel-rapl:${socket}:1`, name: "dram" },
      ],
    })),
    model: [
      { id: "intel-rapl:0", idleW: 48, perBusyCoreW: 6.5 },
      { id: "intel-rapl:0:0", idleW: 21, perBusyCoreW: 5.8 },
      { id: "intel-rapl:0:1", idleW: 9, perBusyCoreW: 0.9 },
      { id: "intel-rapl:1", idleW: 46, perBusyCoreW: 0.4 },
      { id: "intel-rapl:1:0", idleW: 20, perBusyCoreW: 0.2 },
      { id: "intel-rapl:1:1", idleW: 9, perBusyCoreW: 0.1 },
    ],
  },
};

/** Busy jiffies and total jiffies of the whole machine, from /proc/stat. */
function cpuTimes(): { busy: number; total: number } {
  const line = Deno.readTextFileSync("/proc/stat").split("\n")[0]!;
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  const total = fields.reduce((sum, value) => sum + value, 0);
  return { busy: total - idle, total };
}

const [kind, separator, ...cliArgs] = Deno.args;
const machine = MACHINES[kind ?? ""];
if (machine === undefined || separator !== "--" || cliArgs.length === 0) {
  console.error("usage: simulated_rapl.ts laptop|server -- <joule-profiler arguments>");
  Deno.exit(2);
}
const root = await Deno.makeTempDir({ prefix: "jp-simulated-rapl-" });
const files = await writeFakePowercap(root, machine.zones);
const cores = navigator.hardwareConcurrency;
const energyUj = new Map(machine.model.map((zone) => [zone.id, 1_000_000_000]));
const encoder = new TextEncoder();
const handles = new Map(
  machine.model.map((zone) => [zone.id, Deno.openSync(files.get(zone.id)!, { write: true })]),
);
let previous = cpuTimes();
let previousAt = performance.now();
const tick = () => {
  const now = cpuTimes();
  const at = performance.now();
  const seconds = (at - previousAt) / 1000;
  const share = now.total > previous.total
    ? (now.busy - previous.busy) / (now.total - previous.total)
    : 0;
  const busyCores = share * cores;
  for (const zone of machine.model) {
    const watts = zone.idleW + zone.perBusyCoreW * busyCores;
    const value = energyUj.get(zone.id)! + Math.round(watts * seconds * 1e6);
    energyUj.set(zone.id, value);
    // Rewritten in place at a fixed width: the profiler's pread never sees a truncated file.
    const file = handles.get(zone.id)!;
    file.seekSync(0, Deno.SeekMode.Start);
    file.writeSync(encoder.encode(energyText(value)));
  }
  previous = now;
  previousAt = at;
};
tick();
const timer = setInterval(tick, 2);
const output = await new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", new URL("../../main.ts", import.meta.url).pathname, ...cliArgs],
  env: {
    NO_COLOR: "1",
    JOULE_PROFILER_RAPL_PATH: `${root}/intel-rapl`,
    JOULE_PROFILER_EVENT_SOURCE_PATH: root,
  },
  stdout: "inherit",
  stderr: "inherit",
}).output();
clearInterval(timer);
for (const file of handles.values()) file.close();
await Deno.remove(root, { recursive: true });
Deno.exit(output.code);
