/**
 * Entry point of the `joule-profiler` CLI:
 * `deno run -A main.ts [global flags] <profile|list-sensors> ...`.
 *
 * @module
 */

import { builtinAction, printBuiltin } from "./src/cli/builtin_options.ts";
import { loadLazily } from "./src/lazy_module.ts";
import type * as CliModule from "./src/cli/main.ts";
import type * as DebugSignalModule from "./src/process/debug_signal.ts";

/**
 * Before this many ms after the runtime's clock origin, Deno has not hooked
 * SIGUSR1 to its inspector yet: it does so after a 500 ms grace period
 * (denoland/deno#35738; tests/debug_signal_test.ts checks it). `--version`
 * and `--help` print and exit well before that, so they need not pay for
 * closing the hook (about 6 ms: the FFI's and the signal code's first use).
 */
export const DEBUG_HOOK_GRACE_MS = 400;

if (import.meta.main) {
  const builtin = builtinAction(Deno.args);
  if (builtin !== undefined) {
    Deno.exit(
      await printBuiltin(builtin, async () => {
        // If the grace period has not run out by now, the process exits before the runtime's
        // next turn of its event loop, where the hook would be installed.
        if (performance.now() >= DEBUG_HOOK_GRACE_MS || nodeOptionsMayInspect()) {
          await closeDebugEntries();
        }
      }),
    );
  }
  // The CLI loads only here: `--version` and `--help` are answered above without it.
  const cli = loadLazily<typeof CliModule>("./src/cli/main.ts", import.meta.url);
  // Awaited below; a failed load must not count as unhandled while the hook is closed.
  cli.catch(() => {});
  // Before anything runs: SIGUSR1 would otherwise open the V8 inspector (docs/SECURITY.md).
  await closeDebugEntries();
  Deno.exit(await (await cli).main(Deno.args));
}

/** Closes SIGUSR1's inspector hook and an inspector `NODE_OPTIONS` opened, warning when it cannot. */
async function closeDebugEntries(): Promise<void> {
  const { closeDebugSignal, closeEnvironmentInspector } = await loadLazily<
    typeof DebugSignalModule
  >("./src/process/debug_signal.ts", import.meta.url);
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
}

/** Whether `NODE_OPTIONS` may have opened an inspector at start-up (unreadable counts as yes). */
function nodeOptionsMayInspect(): boolean {
  try {
    return /--inspect/.test(Deno.env.get("NODE_OPTIONS") ?? "");
  } catch {
    return true;
  }
}
