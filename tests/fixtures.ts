/**
 * Hand-built results for the output tests.
 *
 * @module
 */

import type { PhaseResult, ProfileResult, RunResult } from "../src/result.ts";

/** A phase with two metrics. */
export function phase(
  index: number,
  start: string,
  end: string,
  extra: Partial<PhaseResult> = {},
): PhaseResult {
  const startNs = 1_000_000_000n + BigInt(index) * 10_000_000n;
  return {
    index,
    name: `${start} -> ${end}`,
    startToken: start,
    endToken: end,
    startNs,
    endNs: startNs + 10_000_000n,
    timestamp: 1_769_987_854_341 + index * 10,
    durationMs: 10,
    metrics: [
      { name: "CORE-0", value: 1000 + index, unit: "µJ", source: "RAPL (Powercap)" },
      { name: "PACKAGE-0", value: 2000 + index, unit: "µJ", source: "RAPL (Powercap)" },
    ],
    failures: [],
    ...extra,
  };
}

/** A run with phases START -> __A__ -> END. */
export function run(index: number, exitCode = 0): RunResult {
  return {
    index,
    exitCode,
    signal: null,
    interrupted: false,
    startNs: 1_000_000_000n,
    endNs: 1_020_000_000n,
    timestamp: 1_769_987_854_341,
    durationMs: 20,
    phases: [
      phase(0, "START", "__A__", { endLine: 0 }),
      phase(1, "__A__", "END", { startLine: 0 }),
    ],
  };
}

/** A result of `runs` runs of a command that contains `;` and `"`. */
export function result(runs = 1, command = ["sh", "-c", 'echo "a;b"; echo __A__']): ProfileResult {
  const list = Array.from({ length: runs }, (_, i) => run(i));
  return {
    command,
    tokenPattern: "__[A-Z0-9_]+__",
    exitCode: 0,
    durationMs: 20 * runs,
    interrupted: false,
    runs: list,
  };
}
