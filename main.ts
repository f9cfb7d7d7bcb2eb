/**
 * Entry point of the `joule-profiler` CLI:
 * `deno run -A main.ts [global flags] <profile|list-sensors> ...`.
 *
 * @module
 */

import { main } from "./src/cli/main.ts";
import { closeDebugSignal } from "./src/process/debug_signal.ts";

if (import.meta.main) {
  // Before anything else: SIGUSR1 would otherwise open the V8 inspector (docs/SECURITY.md).
  closeDebugSignal();
  Deno.exit(await main(Deno.args));
}
