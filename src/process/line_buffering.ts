/**
 * Asks the program to line-buffer its stdout (`--line-buffered`): most
 * runtimes block-buffer stdout when it is a pipe, which delays every token
 * to the buffer's flush.
 *
 * @module
 */

/** Where Debian, Fedora and Arch put coreutils' stdbuf preload library. */
const STDBUF_LIBRARIES = [
  "/usr/libexec/coreutils/libstdbuf.so",
  "/usr/lib/coreutils/libstdbuf.so",
  "/usr/lib64/coreutils/libstdbuf.so",
  "/usr/local/libexec/coreutils/libstdbuf.so",
];

/** The environment line buffering takes, and what could not be arranged. */
export interface LineBuffering {
  /** Variables to add to the program's environment. */
  env: Record<string, string>;
  /** `undefined`, or why C stdio buffering stays as it is (no libstdbuf.so). */
  missing?: string;
}

/**
 * The variables that make common runtimes line-buffer stdout:
 * `PYTHONUNBUFFERED=1` (Python), and coreutils' `stdbuf -oL` preload
 * (`LD_PRELOAD=libstdbuf.so`, `_STDBUF_O=L`) for programs using C stdio.
 * An existing `LD_PRELOAD` is kept after the library. Statically linked
 * programs and runtimes with their own buffers (Java, Go's bufio) are not
 * affected: they must flush themselves.
 *
 * @param options `env`: the environment the program would get (default:
 * this process's); `libraries`: candidate paths of libstdbuf.so.
 * @returns The variables to add.
 *
 * @example Usage
 * ```ts
 * import { lineBufferedEnv } from "./line_buffering.ts";
 * console.log(lineBufferedEnv().env.PYTHONUNBUFFERED); // "1"
 * ```
 */
export function lineBufferedEnv(
  options: { env?: Record<string, string>; libraries?: readonly string[] } = {},
): LineBuffering {
  const env: Record<string, string> = { PYTHONUNBUFFERED: "1" };
  const libraries = options.libraries ?? STDBUF_LIBRARIES;
  const library = libraries.find((path) => {
    try {
      return Deno.statSync(path).isFile;
    } catch {
      return false;
    }
  });
  if (library === undefined) {
    return {
      env,
      missing: `no libstdbuf.so (coreutils' stdbuf) in ${libraries.join(", ")}: only ` +
        "PYTHONUNBUFFERED is set",
    };
  }
  const preload = (options.env ?? Deno.env.toObject()).LD_PRELOAD;
  env.LD_PRELOAD = preload ? `${library}:${preload}` : library;
  env._STDBUF_O = "L";
  return { env };
}
