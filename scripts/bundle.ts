/**
 * Bundles the CLI into a folder of minified JavaScript (`dist/bundle/` by
 * default), which the release binary is compiled from (`deno task compile`).
 *
 * Why: `deno run` of the TypeScript source loads each module's emit, which
 * keeps every comment and appends an inline source map holding the whole
 * file again; for `profile -- true` that is about 2.2 MB of JavaScript over
 * some 90 modules, and loading it was the largest part of the start-up
 * (docs/PERFORMANCE.md, "start-up"). A code-split, minified bundle loads the
 * same code in a fraction of that time.
 *
 * How: the source is copied to a private staging folder, where each
 * `loadLazily("./x.ts", import.meta.url)` (src/lazy_module.ts: a computed
 * specifier, so that `deno run` of the source does not prepare the graphs of
 * imports it may never take) becomes `import("./x.ts")`, which the bundler
 * sees and splits into a chunk of its own. `deno bundle --code-splitting
 * --minify` then bundles `main.ts`, and in its output each chunk import is
 * made computed again (`import(new URL("./chunk.js", import.meta.url).href)`)
 * for the same reason: `deno run` would otherwise read and parse every chunk
 * at start. The result is written next to the destination and renamed onto
 * it, so a failed build leaves the previous bundle as it was.
 *
 * Usage: `deno task bundle [--outdir DIR]`, then
 * `deno run -A --v8-flags=--max-semi-space-size=4,--no-lazy DIR/main.js --help`.
 *
 * @module
 */

import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Where the repository's root is (this file is scripts/bundle.ts). */
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** What is copied into the staging folder: the CLI's entry point and all it can load. */
export const BUNDLED_PATHS: readonly string[] = [
  "main.ts",
  "deno.json",
  "deno.lock",
  "src",
  "sources",
];

/**
 * A `loadLazily` call with a literal specifier (a string, or a template that
 * the bundler expands over a folder's files) and `import.meta.url` as base;
 * a type argument may span lines.
 */
const LAZY_CALL =
  /\bloadLazily\s*(?:<[^>]*>)?\(\s*("[^"\n]+"|`[^`\n]+`)\s*,\s*import\.meta\.url\s*,?\s*\)/g;

/** Any call of `loadLazily` (after the rewrite, one that it did not match). */
const ANY_LAZY_CALL = /\bloadLazily\s*[<(]/;

/** A chunk import in the bundler's output. */
const CHUNK_IMPORT = /\bimport\("(\.\/[^"\\]+\.js)"\)/g;

/** A build that cannot be trusted: the message says what was wrong. */
export class BundleError extends Error {
  /**
   * Creates the error.
   *
   * @param message What was wrong.
   */
  constructor(message: string) {
    super(message);
    this.name = "BundleError";
  }
}

/**
 * Turns each `loadLazily(LITERAL, import.meta.url)` of a module's text into
 * `import(LITERAL)`.
 *
 * @param text A module's source.
 * @param path Its path, for the error message.
 * @returns The text and how many calls were rewritten.
 * @throws {BundleError} When a `loadLazily` call is left that is not of that
 * form (its specifier computed): the bundle would miss its module.
 *
 * @example Usage
 * ```ts
 * import { rewriteLazyImports } from "./bundle.ts";
 * const { text } = rewriteLazyImports(
 *   'await loadLazily<typeof import("./a.ts")>("./a.ts", import.meta.url);',
 *   "x.ts",
 * );
 * console.log(text); // 'await import("./a.ts");'
 * ```
 */
export function rewriteLazyImports(text: string, path: string): { text: string; count: number } {
  let count = 0;
  const rewritten = text.replace(LAZY_CALL, (_call, specifier: string) => {
    count++;
    return `import(${specifier})`;
  });
  const lines = rewritten.split("\n");
  for (const [index, line] of lines.entries()) {
    const code = line.trimStart();
    // Documentation mentions it, and lazy_module.ts defines it.
    if (code.startsWith("*") || code.startsWith("/*") || code.startsWith("//")) continue;
    if (code.startsWith("export function loadLazily")) continue;
    if (ANY_LAZY_CALL.test(code)) {
      throw new BundleError(
        `${path}:${index + 1}: loadLazily needs a literal specifier and import.meta.url for ` +
          `the bundle to include its module: ${code}`,
      );
    }
  }
  return { text: rewritten, count };
}

/**
 * Makes each chunk import of a bundled file computed, so that `deno run` does
 * not load every chunk's graph before it starts.
 *
 * @param text A file of the bundler's output.
 * @returns The text and how many imports were changed.
 *
 * @example Usage
 * ```ts
 * import { computeChunkImports } from "./bundle.ts";
 * console.log(computeChunkImports('import("./c-1.js")').text);
 * // 'import(new URL("./c-1.js",import.meta.url).href)'
 * ```
 */
export function computeChunkImports(text: string): { text: string; count: number } {
  let count = 0;
  const computed = text.replace(CHUNK_IMPORT, (_import, file: string) => {
    count++;
    return `import(new URL("${file}",import.meta.url).href)`;
  });
  return { text: computed, count };
}

/** What {@linkcode bundleCli} made. */
export interface BundleReport {
  /** The folder written. */
  outdir: string;
  /** Files in it. */
  files: number;
  /** Their bytes. */
  bytes: number;
  /** `loadLazily` calls turned into imports. */
  lazyImports: number;
  /** Chunk imports made computed. */
  chunkImports: number;
}

/** Options of {@linkcode bundleCli}. */
export interface BundleOptions {
  /** The destination folder (replaced as a whole). Default: `dist/bundle` in the repository. */
  outdir?: string;
  /** The repository to bundle. Default: this script's. */
  root?: string;
}

/**
 * Bundles `main.ts` and everything it can load into `outdir`.
 *
 * @param options Where from and where to.
 * @returns What was written.
 * @throws {BundleError} When the source has a lazy import the bundle would
 * miss, or the bundler failed.
 *
 * @example Usage
 * ```ts ignore
 * import { bundleCli } from "./bundle.ts";
 * const report = await bundleCli({ outdir: "/tmp/joule-profiler-bundle" });
 * console.log(report.files > 1); // true
 * ```
 */
export async function bundleCli(options: BundleOptions = {}): Promise<BundleReport> {
  const root = options.root ?? REPO_ROOT;
  const outdir = resolve(options.outdir ?? join(root, "dist", "bundle"));
  const staging = await Deno.makeTempDir({ prefix: "joule-profiler-bundle-" });
  // Beside the destination, so that the final rename stays on one file system.
  await Deno.mkdir(dirname(outdir), { recursive: true });
  const building = await Deno.makeTempDir({ dir: dirname(outdir), prefix: ".bundle-" });
  try {
    let lazyImports = 0;
    for (const path of BUNDLED_PATHS) {
      lazyImports += await stage(join(root, path), join(staging, path), root);
    }
    const bundler = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--quiet",
        "--code-splitting",
        "--minify",
        "--platform",
        "deno",
        "--config",
        join(staging, "deno.json"),
        "--outdir",
        building,
        join(staging, "main.ts"),
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!bundler.success) {
      const said = new TextDecoder().decode(bundler.stderr).trim() ||
        new TextDecoder().decode(bundler.stdout).trim();
      throw new BundleError(`deno bundle failed (exit ${bundler.code}): ${said}`);
    }
    let files = 0;
    let bytes = 0;
    let chunkImports = 0;
    let entryPoint = false;
    for await (const entry of Deno.readDir(building)) {
      if (!entry.isFile) continue;
      entryPoint ||= entry.name === "main.js";
      const path = join(building, entry.name);
      if (entry.name.endsWith(".js")) {
        const { text, count } = computeChunkImports(await Deno.readTextFile(path));
        chunkImports += count;
        await Deno.writeTextFile(path, text);
      }
      files++;
      bytes += (await Deno.stat(path)).size;
    }
    if (!entryPoint) {
      throw new BundleError(`deno bundle wrote no main.js into ${building}`);
    }
    // Readable by all, as a build output is (the temporary folder was private).
    await Deno.chmod(building, 0o755);
    await Deno.remove(outdir, { recursive: true }).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
    await Deno.rename(building, outdir);
    return { outdir, files, bytes, lazyImports, chunkImports };
  } finally {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    await Deno.remove(building, { recursive: true }).catch(() => {});
  }
}

/** Copies `from` to `to` (a folder recursively), rewriting TypeScript modules; returns the rewrites. */
async function stage(from: string, to: string, root: string): Promise<number> {
  const info = await Deno.lstat(from).catch((error) => {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  });
  if (info === undefined) return 0;
  if (info.isDirectory) {
    await Deno.mkdir(to);
    let count = 0;
    for await (const entry of Deno.readDir(from)) {
      count += await stage(join(from, entry.name), join(to, entry.name), root);
    }
    return count;
  }
  if (!info.isFile) return 0;
  if (!from.endsWith(".ts")) {
    await Deno.copyFile(from, to);
    return 0;
  }
  const { text, count } = rewriteLazyImports(await Deno.readTextFile(from), relative(root, from));
  await Deno.writeTextFile(to, text);
  return count;
}

const USAGE = `Usage: deno task bundle [--outdir DIR]

Bundles the joule-profiler CLI into DIR (default: dist/bundle), as the release
binary is built: minified JavaScript, one file per lazily loaded part. Run it with
  deno run -A --v8-flags=--max-semi-space-size=4,--no-lazy DIR/main.js --help

Options:
  --outdir DIR  where the bundle goes (replaced as a whole)
  -h, --help    this text`;

async function main(args: string[]): Promise<number> {
  let outdir: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "-h" || arg === "--help") {
      console.log(USAGE);
      return 0;
    }
    if (arg === "--outdir" && i + 1 < args.length) {
      outdir = args[++i];
    } else if (arg.startsWith("--outdir=")) {
      outdir = arg.slice("--outdir=".length);
    } else {
      console.error(`bundle: unexpected argument '${arg}' (try --help)`);
      return 2;
    }
  }
  if (outdir === "") {
    console.error("bundle: --outdir needs a folder");
    return 2;
  }
  const began = performance.now();
  try {
    const report = await bundleCli({ outdir });
    console.log(
      `bundled main.ts into ${report.outdir}: ${report.files} files, ` +
        `${(report.bytes / 1024).toFixed(0)} KiB (${report.lazyImports} lazy imports, ` +
        `${report.chunkImports} chunk imports made computed) in ` +
        `${((performance.now() - began) / 1000).toFixed(1)} s`,
    );
    return 0;
  } catch (error) {
    console.error(`bundle: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
