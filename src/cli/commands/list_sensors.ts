/**
 * `joule-profiler list-sensors`: what the enabled sources can measure on
 * this machine.
 *
 * @module
 */

import { JouleProfiler } from "../../profiler.ts";
import { Logger } from "../../logger.ts";
import { invokingUser } from "../../process/invoking_user.ts";
import type { Sensor } from "../../source.ts";
import { buildSources } from "../sources.ts";
import { type OutputTarget, prepareListOutput } from "../output_target.ts";
import { emit, type GlobalFlags, LABELS, verbosityOf } from "../command_context.ts";
import { loadLazily } from "../../lazy_module.ts";

async function renderSensors(
  target: OutputTarget,
  sensors: Sensor[],
  csvRaw?: boolean,
): Promise<string> {
  switch (target.format) {
    case "json":
      return (await loadLazily<typeof import("../../output/json.ts")>(
        "../../output/json.ts",
        import.meta.url,
      )).formatSensorsJson(sensors);
    case "csv":
      return (await loadLazily<typeof import("../../output/csv.ts")>(
        "../../output/csv.ts",
        import.meta.url,
      )).formatSensorsCsv(sensors, { rawCells: csvRaw });
    case "terminal":
      return (await loadLazily<typeof import("../../output/terminal.ts")>(
        "../../output/terminal.ts",
        import.meta.url,
      )).formatSensorsTerminal(sensors, {
        color: target.destination === "stdout" ? undefined : false,
      });
  }
}

/**
 * Runs `list-sensors`.
 *
 * @param global The global flags.
 * @returns The exit status (0).
 *
 * @example Usage
 * ```ts ignore
 * import { listSensorsCommand } from "./list_sensors.ts";
 * await listSensorsCommand({ verbose: 0 });
 * ```
 */
export async function listSensorsCommand(global: GlobalFlags): Promise<number> {
  const logger = new Logger(verbosityOf(global));
  const target = prepareListOutput(global);
  try {
    const profiler = new JouleProfiler();
    for (const source of await buildSources(global, logger, "list-sensors")) {
      profiler.addSource(source);
    }
    const sensors = await profiler.listSensors();
    emit(target, await renderSensors(target, sensors, global.csvRaw), {
      logger,
      label: LABELS[target.format],
      owner: invokingUser(),
    });
    return 0;
  } catch (error) {
    if (target.destination !== "stdout") target.destination.discard();
    throw error;
  }
}
