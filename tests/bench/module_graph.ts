/**
 * The start-up yardstick for module loading: the modules a command's code
 * imports (its runtime graph, `import type` left out), and the same code
 * bundled into one file, so that a report can time importing each.
 *
 * @module
 */

/** A module graph's size and two scripts that import it. */
export interface ModuleGraph {
  /** Local modules the runtime loads (type-only imports excluded). */
  modules: number;
  /** Their source bytes. */
  bytes: number;
  /** A script that imports the entry from the source. */
  fromSource: string;
  /** A script that imports the same code bundled by `deno bundle`, or `undefined` without it. */
  fromBundle: string | undefined;
}

interface InfoDependency {
  code?: { specifier?: string };
}

interface InfoModule {
  specifier: string;
  size?: number;
  dependencies?: InfoDependency[];
}

/**
 * The local modules (`file:` specifiers) the runtime loads when it imports
 * `entry`: its static graph from `deno info --json`, `import type` left out
 * (it leaves no code edge), with each one's size in bytes.
 *
 * @param entry Absolute path of the module.
 * @returns Specifier → source bytes, for every local module of the graph.
 */
export async function runtimeModules(entry: string): Promise<Map<string, number>> {
  const info = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!info.success) {
    throw new Error(`deno info ${entry}: ${new TextDecoder().decode(info.stderr)}`);
  }
  const document = JSON.parse(new TextDecoder().decode(info.stdout)) as {
    roots: string[];
    modules: InfoModule[];
  };
  const bySpecifier = new Map(document.modules.map((module) => [module.specifier, module]));
  const seen = new Set<string>();
  const pending = [...document.roots];
  while (pending.length > 0) {
    const specifier = pending.pop()!;
    const module = bySpecifier.get(specifier);
    if (seen.has(specifier) || module === undefined) continue;
    seen.add(specifier);
    for (const dependency of module.dependencies ?? []) {
      // `import type` leaves no `code` edge: the runtime never loads it.
      if (dependency.code?.specifier !== undefined) pending.push(dependency.code.specifier);
    }
  }
  return new Map(
    [...seen].filter((specifier) => specifier.startsWith("file://"))
      .map((specifier) => [specifier, bySpecifier.get(specifier)!.size ?? 0]),
  );
}

/**
 * Measures `entry`'s runtime graph ({@linkcode runtimeModules}) and writes
 * the two import scripts into a temporary folder.
 *
 * @param entry Absolute path of the module.
 * @returns The graph and the scripts.
 */
export async function moduleGraph(entry: string): Promise<ModuleGraph> {
  const local = await runtimeModules(entry);
  const dir = await Deno.makeTempDir({ prefix: "jp-graph-" });
  const fromSource = `${dir}/import_source.ts`;
  await Deno.writeTextFile(fromSource, `import ${JSON.stringify(entry)};\n`);
  let fromBundle: string | undefined;
  const bundle = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--platform",
      "deno",
      "--packages",
      "external",
      "--output",
      `${dir}/bundle.js`,
      entry,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (bundle.success) {
    fromBundle = `${dir}/import_bundle.ts`;
    await Deno.writeTextFile(fromBundle, `import "./bundle.js";\n`);
  }
  return {
    modules: local.size,
    bytes: [...local.values()].reduce((sum, size) => sum + size, 0),
    fromSource,
    fromBundle,
  };
}
