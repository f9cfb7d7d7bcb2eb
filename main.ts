/**
 * Entry point of the `joule-profiler` CLI:
 * `deno run -A main.ts [global flags] <profile|list-sensors> ...`.
 *
 * @module
 */

import { main } from "./src/cli/main.ts";
import { closeDebugSignal, closeEnvironmentInspector } from "./src/process/debug_signal.ts";

if (import.meta.main) {
  // Before anything else: SIGUSR1 would otherwise open the V8 inspector (docs/SECURITY.md).
  try {
    closeDebugSignal();
  } catch (error) {
    console.error(
      `warning: SIGUSR1 could open a debugger in this process (${(error as Error).message}); ` +
        "run with -A (the profiler needs --allow-ffi)",
    );
  }
  if (await closeEnvironmentInspector()) {
    console.error(
      "warning: NODE_OPTIONS opened a debugger (--inspect); closed it: the profiler opens no " +
        "debugger entry unless asked on deno's own command line (docs/SECURITY.md)",
    );
  }
  Deno.exit(await main(Deno.args));
}
