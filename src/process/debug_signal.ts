/**
 * Keeps SIGUSR1 from opening a debugger in the profiler.
 *
 * Since 2.9.2, Deno (like Node.js) starts the V8 inspector on
 * 127.0.0.1:9229 when the process receives SIGUSR1, about 500 ms after
 * start-up; there is no flag to turn this off. Whoever can signal the
 * profiler (its own user, or root) could then run code in a process that
 * is root or holds the capabilities `--grant-access` gives. See
 * docs/SECURITY.md.
 *
 * The runtime hooks a signal process-wide once, on its first listener, and
 * later listeners (the inspector's among them) only join that hook. So a
 * listener is added and removed at once, to make the runtime hook SIGUSR1
 * now, and the process's handler is then replaced by one that does
 * nothing. That handler is libc's `getpid` (async-signal-safe, touches no
 * state): unlike `SIG_IGN`, a caught signal goes back to its default at
 * `exec`, so the profiled program gets SIGUSR1 as it would without us.
 *
 * `deno run` also honours `--inspect` in `NODE_OPTIONS` (Deno ≥ 2.8), and
 * opens the inspector before any script code runs; such an inspector is
 * closed here at once, unless `--inspect` was given on deno's own command
 * line. (`--inspect-brk` or `--inspect-wait` in `NODE_OPTIONS` stop before
 * any script code: nothing in the script can close those; see
 * docs/SECURITY.md.)
 *
 * @module
 */

import { cString, errno, libc, SIGNALS, SyscallError } from "../ffi/libc.ts";
import { loadLazily } from "../lazy_module.ts";

let handler: Deno.PointerValue | undefined;

/**
 * Makes SIGUSR1 do nothing in this process (and never open the inspector);
 * programs it starts still get the default SIGUSR1. Call it first thing.
 *
 * @throws {SyscallError} When the handler cannot be installed.
 * @throws {Deno.errors.NotCapable} Without FFI permission.
 *
 * @example Usage
 * ```ts
 * import { closeDebugSignal } from "./debug_signal.ts";
 * closeDebugSignal();
 * ```
 */
export function closeDebugSignal(): void {
  const noop = () => {};
  Deno.addSignalListener("SIGUSR1", noop);
  Deno.removeSignalListener("SIGUSR1", noop);
  handler ??= libc().dlsym(null, cString("getpid"));
  if (handler === null) throw new Error("cannot find getpid in the C library");
  const previous = libc().signal(SIGNALS.SIGUSR1, handler);
  if (Deno.UnsafePointer.value(previous) === -1n) {
    throw new SyscallError("signal", errno(), "SIGUSR1");
  }
}

/**
 * Whether SIGUSR1 is still handled by {@linkcode closeDebugSignal}'s
 * handler, i.e. nothing has replaced it since.
 *
 * @returns `true` while the debug signal is closed.
 *
 * @example Usage
 * ```ts
 * import { closeDebugSignal, debugSignalClosed } from "./debug_signal.ts";
 * closeDebugSignal();
 * console.log(debugSignalClosed()); // true
 * ```
 */
export function debugSignalClosed(): boolean {
  if (handler === undefined || handler === null) return false;
  const current = libc().signal(SIGNALS.SIGUSR1, handler);
  return Deno.UnsafePointer.equals(current, handler);
}

/**
 * Closes an inspector that `NODE_OPTIONS` opened, unless deno's own command
 * line asked for one (`deno run --inspect …`, read from `/proc/self/cmdline`).
 *
 * @param nodeOptions The `NODE_OPTIONS` value (default: the process's).
 * @returns `true` when an inspector was open and has been closed.
 *
 * @example Usage
 * ```ts
 * import { closeEnvironmentInspector } from "./debug_signal.ts";
 * if (await closeEnvironmentInspector()) console.error("closed the inspector NODE_OPTIONS opened");
 * ```
 */
export async function closeEnvironmentInspector(
  nodeOptions: string | undefined = environmentNodeOptions(),
): Promise<boolean> {
  if (nodeOptions === undefined || !/--inspect/.test(nodeOptions)) return false;
  if (inspectOnCommandLine()) return false;
  // Loaded only here, and not a literal import: the Node layer costs start-up time.
  const inspector = await loadLazily<typeof import("node:inspector")>(
    "node:inspector",
    import.meta.url,
  );
  if (inspector.url() === undefined) return false;
  inspector.close();
  return true;
}

function environmentNodeOptions(): string | undefined {
  try {
    return Deno.env.get("NODE_OPTIONS");
  } catch {
    return undefined; // no env permission: the runtime read it anyway, so look no further
  }
}

/** Whether deno's arguments before the script include an `--inspect*` flag. */
function inspectOnCommandLine(): boolean {
  try {
    const args = Deno.readTextFileSync("/proc/self/cmdline").split("\0");
    const script = args.findIndex((arg) => /\.(ts|js|mjs)$/.test(arg));
    return args.slice(0, script < 0 ? args.length : script).some((arg) =>
      arg.startsWith("--inspect")
    );
  } catch {
    return false;
  }
}
