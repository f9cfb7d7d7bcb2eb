/**
 * Loads a module on first use, through a computed specifier.
 *
 * `deno run` prepares the module graph of every literal `import("…")`
 * reachable from what it loads (reads, analyses and resolves each file, and
 * resolves npm packages) before it runs it, even when the import is never
 * taken: output formats, estimators or GPU sources a run does not use cost
 * start-up time all the same. A specifier built at run time is resolved
 * only when the import runs. Each call takes a literal specifier (or a
 * template over one folder's files) and `import.meta.url`: scripts/bundle.ts
 * turns it into an `import()` that the bundler splits into a file of its own,
 * and the release binary is compiled from that bundle (deno.json's `compile`
 * task, the release workflow).
 *
 * @module
 */

/**
 * Imports a module relative to `base` when called.
 *
 * @typeParam Module The module's type: `typeof import("./path.ts")`.
 * @param specifier The path, relative to `base`.
 * @param base The importing module's `import.meta.url`.
 * @returns The module's namespace.
 *
 * @example Usage
 * ```ts
 * import { loadLazily } from "./lazy_module.ts";
 * const { groupDigits } = await loadLazily<typeof import("./text/digit_grouping.ts")>(
 *   "./text/digit_grouping.ts",
 *   import.meta.url,
 * );
 * console.log(groupDigits(1234)); // "1,234"
 * ```
 */
export function loadLazily<Module>(specifier: string, base: string): Promise<Module> {
  return import(new URL(specifier, base).href);
}
