import assert from "node:assert/strict";
import { ProfilerError } from "../src/errors.ts";
import { Logger } from "../src/logger.ts";
import { trainEnergyModel } from "../src/energy/calibration.ts";
import { featureKey, formatModelFile, parseModelFile } from "../src/energy/energy_model.ts";
import { ProcessSource } from "../sources/process/mod.ts";
import { SystemSource } from "../sources/system/mod.ts";
import { discoverPowercapZones, PowercapSource } from "../sources/rapl/mod.ts";
import { writeFakePowercap } from "./fixtures/fake_powercap.ts";
import { startFakeRaplLoadWriter } from "./helpers.ts";

const IDLE_W = 5;
const J_PER_CPU_S = 20;

Deno.test("model train without an energy source fails with a clear message and runs nothing", async () => {
  await assert.rejects(
    trainEnergyModel({ sources: [new ProcessSource(), new SystemSource()] }),
    (error: unknown) => {
      assert.ok(error instanceof ProfilerError);
      assert.match(error.message, /model train needs measured energy, and no energy source works/);
      assert.match(error.message, /profile --tdp WATTS/);
      return true;
    },
  );
});

Deno.test({
  name:
    "model train fits the calibration workloads on a fake RAPL counter driven by their CPU time",
  // The writer keeps the counter file open; the sources close theirs in join().
  sanitizeResources: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "jp-train-" });
    const files = await writeFakePowercap(root, [{ id: "intel-rapl:0", name: "package-0" }]);
    const writer = await startFakeRaplLoadWriter(
      files.get("intel-rapl:0")!,
      Deno.pid,
      IDLE_W,
      J_PER_CPU_S,
    );
    try {
      const { zones } = discoverPowercapZones(`${root}/intel-rapl`);
      const powercap = new PowercapSource({ zones });
      const { model, profile, notes } = await trainEnergyModel({
        sources: [powercap, new ProcessSource(), new SystemSource()],
        seconds: 0.8,
        rounds: 2,
        logger: new Logger(0, () => {}),
      });
      const tokens = profile.runs[0]!.phases.map((phase) => phase.endToken);
      for (
        const token of ["__IDLE__", "__CPU_EVERY_CORE__", "__MEMORY__", "__DISK__", "__MIXED__"]
      ) {
        assert.ok(tokens.includes(token), `${token} in ${tokens.join(" ")}`);
      }
      const keys = model.features.map(featureKey);
      assert.equal(keys[0], "DURATION");
      assert.ok(keys.includes("process/CPU_TIME"), `${keys.join(", ")}; ${notes.join("; ")}`);
      const [domain] = model.domains;
      assert.equal(domain!.name, "PACKAGE-0");
      const weight = (key: string) => domain!.weights[keys.indexOf(key)]!;
      const idle = weight("DURATION");
      const perCpuSecond = weight("process/CPU_TIME") * 1e9;
      const fit = `idle ${idle} W, ${perCpuSecond} J per CPU second, R² ${domain!.r2}`;
      assert.ok(Math.abs(idle / IDLE_W - 1) < 0.2, fit);
      assert.ok(Math.abs(perCpuSecond / J_PER_CPU_S - 1) < 0.2, fit);
      assert.ok(domain!.r2 > 0.9, fit);
      assert.ok(domain!.cvMape < 0.2, `CV MAPE ${domain!.cvMape}`);
      // What train writes, model show and --energy-model read.
      assert.deepEqual(parseModelFile(formatModelFile(model), "m.json"), model);
    } finally {
      writer.kill();
      await writer.status;
      await writer.stdout.cancel();
      await Deno.remove(root, { recursive: true });
    }
  },
});
