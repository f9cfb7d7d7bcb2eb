/**
 * `joule-profiler doctor`: check every source on this machine, say why one
 * does not work and which command fixes it.
 *
 * @module
 */

import { Logger } from "../../logger.ts";
import { invokingUser } from "../../process/invoking_user.ts";
import { eventSourcePath, raplPath } from "../sources.ts";
import { prepareListOutput } from "../output_target.ts";
import { emit, type GlobalFlags, verbosityOf } from "../command_context.ts";
import { loadLazily } from "../../lazy_module.ts";

/**
 * Runs `doctor`.
 *
 * @param global The global flags.
 * @returns The exit status (0).
 *
 * @example Usage
 * ```ts ignore
 * import { doctorCommand } from "./doctor.ts";
 * await doctorCommand({ verbose: 0 });
 * ```
 */
export async function doctorCommand(global: GlobalFlags): Promise<number> {
  const logger = new Logger(verbosityOf(global));
  const target = prepareListOutput(global);
  try {
    const { diagnose, formatDoctorReport } = await loadLazily<typeof import("../doctor.ts")>(
      "../doctor.ts",
      import.meta.url,
    );
    const report = await diagnose({
      powercapPath: raplPath(global),
      eventSourcePath: eventSourcePath(),
      cpuSysfsPath: Deno.env.get("JOULE_PROFILER_CPU_SYSFS_PATH"),
      binaryPath: Deno.build.standalone ? Deno.execPath() : "<path to joule-profiler>",
    });
    const text = target.format === "json"
      ? `${JSON.stringify(report, null, 2)}\n`
      : formatDoctorReport(report);
    emit(target, text, { logger, label: "Report", owner: invokingUser() });
    return 0;
  } catch (error) {
    if (target.destination !== "stdout") target.destination.discard();
    throw error;
  }
}
