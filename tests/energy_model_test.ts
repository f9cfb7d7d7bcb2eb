import assert from "node:assert/strict";
import { formatJson } from "../src/output/json.ts";
import { parseResultFile } from "../src/output/json_reader.ts";
import type { PhaseResult, ProfileResult } from "../src/result.ts";
import type { Metric } from "../src/source.ts";
import { UsageError } from "../src/errors.ts";
import {
  formatModelFile,
  MODEL_SCHEMA,
  parseModelFile,
  readModelFile,
} from "../src/energy/energy_model.ts";
import { leastSquares, nonNegativeLeastSquares } from "../src/energy/least_squares.ts";
import { fitEnergyModel, ModelFitError } from "../src/energy/model_fit.ts";
import { MODEL_ESTIMATE_SOURCE, ModelEstimator } from "../src/energy/model_estimator.ts";
import { normals } from "./random_samples.ts";

/** The relation the synthetic machine follows: J = 4.2·s + 15·CPU s + 30 nJ per byte written. */
const IDLE_W = 4.2;
const J_PER_CPU_S = 15;
const J_PER_BYTE = 3e-8;

interface SyntheticPhase {
  seconds: number;
  cpuSeconds: number;
  writeBytes: number;
}

function truth(phase: SyntheticPhase): number {
  return IDLE_W * phase.seconds + J_PER_CPU_S * phase.cpuSeconds + J_PER_BYTE * phase.writeBytes;
}

/** A phase with the process metrics a real profile has, and PACKAGE-0 with ±`noise` relative error. */
function phase(index: number, spec: SyntheticPhase, energyJ: number): PhaseResult {
  const ns = Math.round(spec.seconds * 1e9);
  const user = Math.round(spec.cpuSeconds * (0.6 + 0.03 * ((index * 7) % 10)) * 1e9);
  const system = Math.round(spec.cpuSeconds * 1e9) - user;
  const metrics: Metric[] = [
    { name: "PACKAGE-0", value: Math.round(energyJ * 1e6), unit: "µJ", source: "RAPL (Powercap)" },
    { name: "CPU_TIME", value: user + system, unit: "ns", source: "process" },
    { name: "CPU_USER_TIME", value: user, unit: "ns", source: "process" },
    { name: "CPU_SYSTEM_TIME", value: system, unit: "ns", source: "process" },
    { name: "DISK_WRITE_BYTES", value: spec.writeBytes, unit: "bytes", source: "process" },
    { name: "DISK_READ_BYTES", value: 0, unit: "bytes", source: "process" },
    { name: "RSS_PEAK", value: 50e6, unit: "bytes", source: "process" },
  ];
  return {
    index,
    name: `__P${index}__ -> __P${index + 1}__`,
    startToken: `__P${index}__`,
    endToken: `__P${index + 1}__`,
    startNs: 1_000_000n,
    endNs: 1_000_000n + BigInt(ns),
    timestamp: 0,
    durationMs: ns / 1e6,
    metrics,
    failures: [],
  };
}

function result(phases: PhaseResult[]): ProfileResult {
  return {
    command: ["./bench"],
    tokenPattern: "__[A-Z0-9_]+__",
    exitCode: 0,
    durationMs: phases.reduce((sum, p) => sum + p.durationMs, 0),
    interrupted: false,
    runs: [{
      index: 0,
      exitCode: 0,
      signal: null,
      interrupted: false,
      startNs: 0n,
      endNs: 0n,
      timestamp: 0,
      durationMs: 0,
      phases,
    }],
  };
}

function syntheticPhases(seed: number, count: number): SyntheticPhase[] {
  const draw = normals(seed);
  const uniform = () => 0.5 + Math.atan(draw()) / Math.PI; // in (0, 1)
  return Array.from({ length: count }, () => {
    const seconds = 0.5 + 4 * uniform();
    return {
      seconds,
      cpuSeconds: seconds * 2 * uniform(),
      writeBytes: Math.round(200e6 * uniform()),
    };
  });
}

/** A result file as `--json` writes it, read back as `model fit` reads it. */
function throughJson(profile: ProfileResult): ProfileResult[] {
  return parseResultFile(formatJson(profile), "synthetic.json");
}

Deno.test("model fit recovers a known linear relation within 2 % and estimates a new run within 5 %", () => {
  const noise = normals(7);
  // 60 phases measured with 0.3 % noise (RAPL's own is well below; phases of 0.5-4.5 s).
  const specs = syntheticPhases(1, 60);
  const phases = specs.map((spec, i) => phase(i, spec, truth(spec) * (1 + 0.003 * noise())));
  const { model, notes } = fitEnergyModel(throughJson(result(phases)), {
    inputs: ["synthetic.json"],
  });
  const keys = model.features.map((f) => f.source === "phase" ? f.name : `${f.source}/${f.name}`);
  // CPU_USER/SYSTEM_TIME (they add up to CPU_TIME) and RSS_PEAK (not cumulative) are not candidates;
  // DISK_READ_BYTES is always 0.
  assert.deepEqual(keys, ["DURATION", "process/CPU_TIME", "process/DISK_WRITE_BYTES"]);
  assert.ok(notes.some((note) => /DISK_READ_BYTES left out: the same in every phase/.test(note)));
  const [domain] = model.domains;
  assert.equal(domain!.name, "PACKAGE-0");
  const expected = [IDLE_W, J_PER_CPU_S / 1e9, J_PER_BYTE];
  domain!.weights.forEach((weight, j) => {
    const error = Math.abs(weight / expected[j]! - 1);
    assert.ok(error < 0.02, `${keys[j]}: weight ${weight} vs ${expected[j]} (${error})`);
  });
  assert.ok(domain!.r2 > 0.99, `R² ${domain!.r2}`);
  assert.ok(domain!.cvMape > 0 && domain!.cvMape < 0.02, `CV MAPE ${domain!.cvMape}`);

  // The model file round trip, then a new run the model has never seen.
  const estimator = new ModelEstimator(parseModelFile(formatModelFile(model), "m.json"), "m.json");
  for (const spec of syntheticPhases(99, 10)) {
    const fresh = phase(0, spec, truth(spec));
    const estimates = estimator.estimate(fresh);
    assert.ok(Array.isArray(estimates));
    const [estimate] = estimates;
    assert.equal(estimate!.source, MODEL_ESTIMATE_SOURCE);
    assert.equal(estimate!.details?.method, "estimated");
    const error = Math.abs(estimate!.value / 1e6 / truth(spec) - 1);
    assert.ok(error < 0.05, `estimate ${estimate!.value / 1e6} J vs ${truth(spec)} J`);
    const uncertainty = estimate!.details?.uncertainty as number;
    assert.ok(
      Math.abs(uncertainty - estimate!.value * domain!.cvMape) <= 1,
      "± is value × CV MAPE",
    );
  }
});

Deno.test("model fit with --features uses exactly those (DURATION always)", () => {
  const specs = syntheticPhases(2, 12);
  const phases = specs.map((spec, i) => phase(i, spec, truth(spec)));
  const { model } = fitEnergyModel([result(phases)], { features: ["CPU_TIME"] });
  assert.deepEqual(model.features.map((f) => f.name), ["DURATION", "CPU_TIME"]);
});

Deno.test("model fit refuses ill-posed fits", () => {
  const specs = syntheticPhases(3, 12);
  const good = specs.map((spec, i) => phase(i, spec, truth(spec)));
  const refuses = (pattern: RegExp, phases: PhaseResult[], features?: string[]) =>
    assert.throws(
      () => fitEnergyModel([result(phases)], { features, inputs: ["a.json"] }),
      (error: unknown) => {
        assert.ok(error instanceof ModelFitError && error instanceof UsageError);
        assert.equal(error.exitCode, 2);
        assert.match(error.message, pattern);
        return true;
      },
    );
  // No measured energy: none at all, or only attributed / estimated values.
  const withoutEnergy = good.map((p) => ({
    ...p,
    metrics: p.metrics.filter((m) => m.unit !== "µJ"),
  }));
  refuses(/no phase in a\.json has measured energy/, withoutEnergy);
  const notMeasured = good.map((p) => ({
    ...p,
    metrics: p.metrics.map((m) =>
      m.unit === "µJ" ? { ...m, details: { method: p.index % 2 ? "attributed" : "estimated" } } : m
    ),
  }));
  refuses(/no phase in a\.json has measured energy/, notMeasured);
  // A counter that never moved (a VM exposing RAPL zones) measured nothing.
  const frozen = good.map((p) => ({
    ...p,
    metrics: p.metrics.map((m) =>
      m.unit === "µJ" ? { ...m, value: 0, details: { not_updating: true } } : m
    ),
  }));
  refuses(/no phase in a\.json has measured energy/, frozen);
  const zeros = good.map((p) => ({
    ...p,
    metrics: p.metrics.map((m) => m.unit === "µJ" ? { ...m, value: 0 } : m),
  }));
  refuses(
    /no energy domain could be fitted: RAPL \(Powercap\)\/PACKAGE-0 skipped: 0 J measured/,
    zeros,
  );
  // Fewer phases than features.
  refuses(
    /3 phases with measured energy for 3 features .*more phases than features/,
    good.slice(0, 3),
    ["CPU_TIME", "DISK_WRITE_BYTES"],
  );
  refuses(/1 phase with measured energy/, good.slice(0, 1));
  // Constant features.
  refuses(/feature process\/DISK_READ_BYTES is the same \(0\) in every phase/, good, [
    "DISK_READ_BYTES",
  ]);
  const sameLength = good.map((p) => ({ ...p, durationMs: 1000 }));
  refuses(/every phase lasts the same time/, sameLength);
  // Collinear: user + system = CPU_TIME.
  refuses(
    /process\/CPU_SYSTEM_TIME is collinear with process\/CPU_TIME, process\/CPU_USER_TIME/,
    good,
    ["CPU_TIME", "CPU_USER_TIME", "CPU_SYSTEM_TIME"],
  );
  // Unknown and partly missing features.
  refuses(/feature INSTRUCTIONS is in no phase/, good, ["INSTRUCTIONS"]);
  const partly = good.map((p) => p.index === 4 ? { ...p, metrics: p.metrics.slice(0, 1) } : p);
  refuses(/process\/CPU_TIME is missing from 1 of the 12 phases/, partly, ["CPU_TIME"]);
});

Deno.test("NNLS: non-negative, optimal (KKT) and equal to least squares when that is non-negative", () => {
  const draw = normals(11);
  for (let trial = 0; trial < 50; trial++) {
    const m = 30;
    const n = 1 + (trial % 6);
    const columns = Array.from(
      { length: n },
      (_, j) => Float64Array.from({ length: m }, () => draw() * 10 ** (j - 2)),
    );
    const b = Float64Array.from({ length: m }, () => draw());
    const x = nonNegativeLeastSquares(columns, b);
    const residual = Float64Array.from(
      b,
      (value, i) => value - columns.reduce((sum, column, j) => sum + x[j]! * column[i]!, 0),
    );
    columns.forEach((column, j) => {
      assert.ok(x[j]! >= 0);
      const gradient = column.reduce((sum, value, i) => sum + value * residual[i]!, 0);
      const scale = Math.sqrt(column.reduce((sum, value) => sum + value * value, 0));
      // At the optimum: no free direction improves the fit.
      assert.ok(gradient / scale < 1e-8, `trial ${trial}: gradient ${gradient} at x${j} = ${x[j]}`);
      if (x[j]! > 0) assert.ok(Math.abs(gradient / scale) < 1e-8);
    });
    const { coefficients } = leastSquares(columns, b);
    if (coefficients.every((c) => c > 0)) {
      coefficients.forEach((c, j) => assert.ok(Math.abs(c - x[j]!) <= 1e-9 * Math.abs(c)));
    }
  }
});

Deno.test("model files: missing, truncated, foreign or inconsistent ones are refused with one clear line", async () => {
  const specs = syntheticPhases(4, 12);
  const { model } = fitEnergyModel([result(specs.map((spec, i) => phase(i, spec, truth(spec))))]);
  const text = formatModelFile(model);
  const dir = await Deno.makeTempDir();
  const refused = async (content: string | undefined, pattern: RegExp) => {
    const path = `${dir}/model.json`;
    await Deno.remove(path).catch(() => {});
    if (content !== undefined) await Deno.writeTextFile(path, content);
    await assert.rejects(readModelFile(path), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.match(error.message, pattern);
      assert.ok(!error.message.includes("\n"));
      return true;
    });
  };
  await refused(undefined, /cannot read energy model .*model\.json: no such file/);
  await refused(text.slice(0, text.length / 2), /not a complete JSON document \(truncated\?\)/);
  await refused(
    formatJson(result([phase(0, specs[0]!, 1)])),
    /is not a joule-profiler energy model \(no schema field/,
  );
  await refused(JSON.stringify({ schema: "other/thing" }), /schema 'other\/thing'/);
  const document = JSON.parse(text);
  await refused(
    JSON.stringify({ ...document, schema_version: 2 }),
    /schema version 2; this joule-profiler reads version 1/,
  );
  const otherFeatures = structuredClone(document);
  otherFeatures.domains[0].weights["process/INSTRUCTIONS"] = 1;
  await refused(
    JSON.stringify(otherFeatures),
    /weights for unlisted features: process\/INSTRUCTIONS/,
  );
  const missingWeight = structuredClone(document);
  delete missingWeight.domains[0].weights["process/CPU_TIME"];
  await refused(JSON.stringify(missingWeight), /weight of process\/CPU_TIME is not a number/);
  const negative = structuredClone(document);
  negative.domains[0].weights.DURATION = -1;
  await refused(JSON.stringify(negative), /weight of DURATION is not a number ≥ 0/);
  assert.equal(document.schema, MODEL_SCHEMA);
  // A good one reads back, and records machine and date.
  await Deno.writeTextFile(`${dir}/model.json`, text);
  const back = await readModelFile(`${dir}/model.json`);
  assert.deepEqual(back, model);
  assert.ok(
    document.machine.cpu_model && document.machine.logical_cpus > 0 && document.machine.kernel,
  );
  assert.ok(!Number.isNaN(Date.parse(document.created)));
});

Deno.test("a model needs the features it was fitted on; another CPU only warns", async () => {
  const specs = syntheticPhases(5, 12);
  const { model } = fitEnergyModel([result(specs.map((spec, i) => phase(i, spec, truth(spec))))]);
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/m.json`,
    formatModelFile({
      ...model,
      machine: { ...model.machine, cpuModel: "Imaginary CPU 9000" },
    }),
  );
  const warnings: string[] = [];
  const estimator = await ModelEstimator.open(`${dir}/m.json`, (w) => warnings.push(w));
  assert.equal(warnings.length, 1);
  assert.match(
    warnings[0]!,
    /fitted on another machine \(CPU 'Imaginary CPU 9000', this one '.*'\)/,
  );
  assert.throws(
    () => estimator.check([{ name: "PACKAGE-0", unit: "µJ", source: "RAPL (Powercap)" }]),
    /fitted on features this profile does not measure: process\/CPU_TIME, process\/DISK_WRITE_BYTES \(the process source is on by default: drop --no-process\)/,
  );
  estimator.check([
    { name: "CPU_TIME", unit: "ns", source: "process" },
    { name: "DISK_WRITE_BYTES", unit: "bytes", source: "process" },
  ]);
  // A phase where the source failed gets no estimate, and says why.
  const bare = phase(0, specs[0]!, 1);
  bare.metrics = bare.metrics.filter((m) => m.name !== "CPU_TIME");
  assert.equal(estimator.estimate(bare), "process/CPU_TIME not measured");
});

Deno.test("a default feature missing from some phases is left out with a note", () => {
  const specs = syntheticPhases(6, 12);
  const phases = specs.map((spec, i) => phase(i, spec, truth(spec)));
  phases[3]!.metrics = phases[3]!.metrics.filter((m) => m.name !== "DISK_WRITE_BYTES");
  const { model, notes } = fitEnergyModel([result(phases)]);
  assert.ok(!model.features.some((f) => f.name === "DISK_WRITE_BYTES"));
  assert.ok(
    notes.includes(
      "process/DISK_WRITE_BYTES left out: measured in 11 of the 12 phases (its source failed or " +
        "was off in the others)",
    ),
    notes.join("\n"),
  );
});

Deno.test("phases shorter than 10 ms are left out of a fit, with a note", () => {
  const specs = syntheticPhases(8, 12);
  const phases = specs.map((spec, i) => phase(i, spec, truth(spec)));
  const tiny = phase(12, { seconds: 0.004, cpuSeconds: 0.004, writeBytes: 0 }, 0.9);
  const { model, notes } = fitEnergyModel([result([...phases, tiny])]);
  assert.equal(model.training.phases, 12);
  assert.ok(
    notes.includes(
      "1 phase shorter than 10 ms left out: their energy is mostly the " +
        "counters' quantisation",
    ),
    notes.join("\n"),
  );
  assert.throws(
    () => fitEnergyModel([result([tiny])]),
    /0 phases with measured energy: .*\(1 phase shorter than 10 ms left out/,
  );
});
