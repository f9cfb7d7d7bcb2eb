import assert from "node:assert/strict";
import { ProfilerError } from "../src/errors.ts";
import { Logger } from "../src/logger.ts";
import { trainEnergyModel } from "../src/energy/calibration.ts";
import { featureKey, formatModelFile, parseModelFile } from "../src/energy/energy_model.ts";
import { fitEnergyModel } from "../src/energy/model_fit.ts";
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
      const fit = `${keys.map((key, i) => `${key} ${domain!.weights[i]}`).join(", ")}; R² ` +
        `${domain!.r2}`;
      // The default features include some that move with CPU time (page faults, machine-wide
      // CPU), so the fit can share the CPU's energy among them (once in CI, under the suite's
      // load: 16 J per CPU second on CPU_TIME and 4.1 W idle, at R² 0.999): the default fit is
      // held to its accuracy, and the known relation is checked on a fit of the same phases with
      // CPU time alone (the counter follows only the workloads, so other load cannot move it).
      assert.ok(domain!.r2 > 0.9, fit);
      assert.ok(domain!.cvMape < 0.2, `CV MAPE ${domain!.cvMape}`);
      const single = fitEnergyModel([profile], { features: ["process/CPU_TIME"], minPhaseMs: 100 });
      const [only] = single.model.domains;
      const idle = only!.weights[0]!;
      const perCpuSecond = only!.weights[1]! * 1e9;
      const known = `idle ${idle} W, ${perCpuSecond} J per CPU second, R² ${only!.r2}`;
      assert.ok(Math.abs(idle / IDLE_W - 1) < 0.2, known);
      assert.ok(Math.abs(perCpuSecond / J_PER_CPU_S - 1) < 0.2, known);
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
