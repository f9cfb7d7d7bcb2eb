/**
 * Start-up of the CLI against Deno's own, for the performance report: the
 * wall time of `--version`, `--help` and `profile -- true` (terminal and
 * JSON output) as ratios to `deno run -A empty.ts`, all in one interleaved
 * loop so that machine load hits every command alike. Run alone with
 * `deno run -A tests/bench/startup_figures.ts [runs]`.
 *
 * @module
 */

import { REPO_ROOT } from "../helpers.ts";
import { type Figure, median } from "./figure.ts";

const V8_FLAGS = "--v8-flags=--max-semi-space-size=4,--no-lazy";

async function wallMs(command: string[], env: Record<string, string>): Promise<number> {
  const start = performance.now();
  const output = await new Deno.Command(command[0]!, {
    args: command.slice(1),
    stdout: "null",
    stderr: "null",
    env,
  }).output();
  const elapsed = performance.now() - start;
  if (!output.success) throw new Error(`${command.join(" ")} failed (${output.code})`);
  return elapsed;
}

/**
 * Measures the start-up figures.
 *
 * @param runs Interleaved runs of each command.
 * @returns The figures, each with its same-run yardstick.
 */
export async function startupFigures(runs = 20): Promise<Figure[]> {
  const empty = await Deno.makeTempDir();
  // No RAPL: the sources' own start-up is not the CLI's.
  const env = { JOULE_PROFILER_EVENT_SOURCE_PATH: empty, JOULE_PROFILER_RAPL_PATH: empty };
  const deno = [Deno.execPath(), "run", "-A", V8_FLAGS];
  const main = `${REPO_ROOT}main.ts`;
  const commands: Record<string, string[]> = {
    empty: [...deno, `${REPO_ROOT}tests/bench/empty.ts`],
    version: [...deno, main, "--version"],
    help: [...deno, main, "--help"],
    profile: [...deno, main, "profile", "--", "true"],
    json: [...deno, main, "--json", "-o", "/dev/null", "profile", "--", "true"],
  };
  const times: Record<string, number[]> = Object.fromEntries(
    Object.keys(commands).map((name) => [name, []]),
  );
  for (let i = 0; i < runs; i++) {
    for (const [name, command] of Object.entries(commands)) {
      times[name]!.push(await wallMs(command, env));
    }
  }
  const ms = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
  const ratio = (name: string) => ms[name]! / ms.empty!;
  const how = `wall time, medians of ${runs} interleaved runs of each command and of ` +
    "`deno run -A empty.ts` (same V8 flags), without RAPL sources";
  return [
    {
      name: "start-up: --version, --help",
      measured: `--version ${ms.version!.toFixed(1)} ms (${ratio("version").toFixed(2)} ×), ` +
        `--help ${ms.help!.toFixed(1)} ms (${ratio("help").toFixed(2)} ×); ` +
        `deno run empty.ts ${ms.empty!.toFixed(1)} ms`,
      target: "≤ 1.25 × deno run empty.ts",
      met: ratio("version") <= 1.25 && ratio("help") <= 1.25,
      how,
      note: "The option table, parser and help renderer are plain ES modules; no npm " +
        "package and no node: module loads (node:util alone starts Deno's Node layer, " +
        "about 5 ms). Command modules load through a computed specifier, so `deno run` " +
        "does not build their module graph for --version and --help.",
    },
    {
      name: "start-up: profile -- true",
      measured:
        `terminal output ${ms.profile!.toFixed(1)} ms (${ratio("profile").toFixed(2)} ×), ` +
        `--json ${ms.json!.toFixed(1)} ms (${ratio("json").toFixed(2)} ×); ` +
        `deno run empty.ts ${ms.empty!.toFixed(1)} ms`,
      target: "≤ 1.6 × deno run empty.ts (terminal output)",
      met: ratio("profile") <= 1.6,
      how,
    },
  ];
}

if (import.meta.main) {
  for (const figure of await startupFigures(Number(Deno.args[0] ?? 20))) {
    console.log(`${figure.met ? "✓" : "✗"} ${figure.name}: ${figure.measured}`);
  }
}
