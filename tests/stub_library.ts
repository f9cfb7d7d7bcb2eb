/**
 * A stand-in shared library built from C with gcc for the tests (the NVML
 * and AMD SMI stubs): compiled once per test process into a temporary
 * directory under the real library's file name, copied for tests that need
 * a fresh `dlopen`, and configured through environment variables that the
 * stub reads with `getenv` when first initialised.
 *
 * @module
 */

import { REPO_ROOT } from "./helpers.ts";

/** What a stub is built from and how it is configured. */
export interface StubLibraryOptions<Variable extends string> {
  /** C source, relative to the repository root. */
  source: string;
  /** File name of the library it stands in for (`libnvidia-ml.so.1`). */
  fileName: string;
  /** Prefix of its temporary directories. */
  prefix: string;
  /** Every variable the stub reads. */
  variables: readonly Variable[];
}

/**
 * One stub library.
 *
 * @example Usage
 * ```ts
 * import { StubLibrary } from "./stub_library.ts";
 * const stub = new StubLibrary({
 *   source: "tests/fixtures/nvml_stub.c",
 *   fileName: "libnvidia-ml.so.1",
 *   prefix: "jp-nvml-",
 *   variables: ["NVML_STUB_DEVICES"],
 * });
 * console.log(await stub.build()); // /tmp/jp-nvml-…/libnvidia-ml.so.1
 * ```
 */
export class StubLibrary<Variable extends string> {
  readonly #options: StubLibraryOptions<Variable>;
  #built: Promise<string> | undefined;

  /**
   * Describes the stub; nothing is built yet.
   *
   * @param options Source, file name and variables.
   */
  constructor(options: StubLibraryOptions<Variable>) {
    this.#options = options;
  }

  /**
   * Compiles the stub once per test process.
   *
   * @returns Path of the compiled library.
   */
  build(): Promise<string> {
    this.#built ??= (async () => {
      const output = `${await this.#directory()}/${this.#options.fileName}`;
      const gcc = await new Deno.Command("gcc", {
        args: [
          "-shared",
          "-fPIC",
          "-O2",
          "-Wall",
          "-Wextra",
          "-Werror",
          "-o",
          output,
          `${REPO_ROOT}${this.#options.source}`,
        ],
        stderr: "piped",
      }).output();
      if (!gcc.success) throw new Error(`gcc failed: ${new TextDecoder().decode(gcc.stderr)}`);
      return output;
    })();
    return this.#built;
  }

  /**
   * A private copy of the stub, for tests that load it in this process: a
   * fresh path is a fresh `dlopen`, so no state leaks from an earlier test.
   *
   * @returns Path of the copy.
   */
  async fresh(): Promise<string> {
    const path = `${await this.#directory()}/${this.#options.fileName}`;
    await Deno.copyFile(await this.build(), path);
    return path;
  }

  /**
   * The environment of a child process using the stub: every stub variable
   * is given, empty when not in `env`, so none is inherited from this
   * process (the in-process tests set them, and test files may share a
   * process).
   *
   * @param env The variables to set.
   * @returns Variables for `Deno.Command`'s `env`.
   */
  childEnv(env: Partial<Record<Variable, string>>): Record<string, string> {
    const result: Record<string, string> = {};
    for (const name of this.#options.variables) result[name] = env[name] ?? "";
    return result;
  }

  /**
   * Sets this process's stub variables, clearing the others.
   *
   * @param env The variables to set.
   */
  setEnv(env: Partial<Record<Variable, string>>): void {
    for (const name of this.#options.variables) {
      const value = env[name];
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    }
  }

  #directory(): Promise<string> {
    return Deno.makeTempDir({ prefix: this.#options.prefix });
  }
}
