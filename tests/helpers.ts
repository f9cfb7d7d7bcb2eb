/**
 * Shared helpers for the end-to-end tests: run the CLI, compile C programs,
 * make temporary directories.
 *
 * @module
 */

const ROOT = new URL("../", import.meta.url).pathname;

/** Absolute path of the repository root (with a trailing slash). */
export const REPO_ROOT: string = ROOT;

/**
 * The CLI's entry point the tests run: `main.ts`, or the file that
 * `JOULE_PROFILER_TEST_ENTRY` names, e.g. a bundle made by `deno task bundle`
 * (`JOULE_PROFILER_TEST_ENTRY=dist/bundle/main.js deno test -A tests/` runs
 * the CLI tests against it; a relative path is taken from the repository root).
 */
export const CLI_ENTRY: string = cliEntry(Deno.env.get("JOULE_PROFILER_TEST_ENTRY"));

/**
 * The V8 flags the profiler runs with, as `deno task start` gives them (the
 * `deno install` line and the release binary use the same): for tests about
 * its memory, which V8's default young generation would change.
 */
export const PROFILER_V8_FLAGS: string = v8FlagsOfStartTask();

function v8FlagsOfStartTask(): string {
  const config = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`));
  const flags = /--v8-flags=\S+/.exec(String(config.tasks?.start ?? ""));
  if (flags === null) throw new Error("deno.json's start task has no --v8-flags");
  return flags[0];
}

function cliEntry(named: string | undefined): string {
  if (named === undefined || named === "") return `${ROOT}main.ts`;
  return named.startsWith("/") ? named : `${ROOT}${named}`;
}

/** What a CLI run produced. */
export interface CliOutput {
  /** Exit status. */
  code: number;
  /** Signal that ended the CLI, if any. */
  signal: Deno.Signal | null;
  /** Raw stdout bytes. */
  stdout: Uint8Array;
  /** stdout decoded as UTF-8. */
  stdoutText: string;
  /** stderr decoded as UTF-8. */
  stderr: string;
}

/** Options of {@linkcode runCli}. */
export interface RunCliOptions {
  /** Working directory (default: a fresh temporary directory). */
  cwd?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Bytes for stdin (default: none, stdin is /dev/null). */
  stdin?: Uint8Array;
}

/**
 * Runs `deno run -A main.ts <args>` ({@linkcode CLI_ENTRY}) and collects its output.
 *
 * @param args CLI arguments.
 * @param options Working directory and environment.
 * @returns Exit status and output.
 */
export async function runCli(args: string[], options: RunCliOptions = {}): Promise<CliOutput> {
  const cwd = options.cwd ?? await Deno.makeTempDir({ prefix: "jp-test-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI_ENTRY, ...args],
    cwd,
    env: { NO_COLOR: "1", ...options.env },
    stdin: options.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin) {
    const writer = child.stdin.getWriter();
    await writer.write(options.stdin);
    await writer.close();
  }
  const output = await child.output();
  return {
    code: output.code,
    signal: output.signal,
    stdout: output.stdout,
    stdoutText: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
}

/**
 * Runs the CLI with `--json -o <a temporary file>` ahead of `args` and
 * parses that file (removed afterwards).
 *
 * @param args CLI arguments after `-o FILE` (e.g. `["profile", "--", "true"]`).
 * @param options As for {@linkcode runCli}.
 * @returns The run's output and the document (`undefined` when the CLI wrote none).
 */
export async function runCliJson(
  args: string[],
  options: RunCliOptions = {},
  // deno-lint-ignore no-explicit-any
): Promise<CliOutput & { document: any }> {
  const file = await Deno.makeTempFile({ suffix: ".json" });
  try {
    const output = await runCli(["--json", "-o", file, ...args], options);
    const text = await Deno.readTextFile(file);
    return { ...output, document: text === "" ? undefined : JSON.parse(text) };
  } finally {
    await Deno.remove(file);
  }
}

/** What {@linkcode runCommand} collected. */
export interface CommandOutput {
  /** Exit status. */
  code: number;
  /** stdout decoded as UTF-8. */
  stdout: string;
  /** stderr decoded as UTF-8. */
  stderr: string;
}

/**
 * Runs any command to its end (stdin /dev/null) and decodes its output.
 *
 * @param command The program.
 * @param args Its arguments.
 * @param options Working directory and environment (default: the test's own).
 * @returns Exit status and output.
 */
export async function runCommand(
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<CommandOutput> {
  const output = await new Deno.Command(command, {
    args,
    cwd: options.cwd,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/**
 * Spawns the CLI without waiting, for tests that signal it.
 *
 * @param args CLI arguments.
 * @param cwd Working directory.
 * @returns The child process (stdout and stderr piped).
 */
export function spawnCli(args: string[], cwd: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI_ENTRY, ...args],
    cwd,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

const compiled = new Map<string, Promise<string>>();

/**
 * Compiles a C file of the repository with gcc (once per test process).
 *
 * @param source Path relative to the repository root.
 * @param flags Extra gcc flags (e.g. `-I` folders).
 * @returns Path of the executable.
 */
export function compileC(source: string, flags: string[] = []): Promise<string> {
  const key = [source, ...flags].join(" ");
  let result = compiled.get(key);
  if (result === undefined) {
    result = (async () => {
      const directory = await Deno.makeTempDir({ prefix: "jp-cc-" });
      const output = `${directory}/${source.split("/").pop()!.replace(/\.c$/, "")}`;
      const gcc = await new Deno.Command("gcc", {
        args: ["-O2", "-Wall", ...flags, "-o", output, `${ROOT}${source}`],
        stderr: "piped",
      }).output();
      if (!gcc.success) throw new Error(`gcc failed: ${new TextDecoder().decode(gcc.stderr)}`);
      return output;
    })();
    compiled.set(key, result);
  }
  return result;
}

/**
 * Starts tests/fixtures/fake_rapl_load_writer.c on a fake powercap
 * `energy_uj` file and waits until the counter advances. Real RAPL counts
 * in hardware, whatever the load; the writer is a process, which the
 * calibration's workloads (they spin every core) could otherwise leave
 * behind. As root it runs at nice -15, which they (nice 0) cannot starve.
 *
 * @param file The `energy_uj` file to advance.
 * @param rootPid Whose descendants' CPU time drives it.
 * @param idleWatts Power with nothing running.
 * @param joulesPerCpuSecond Energy per CPU second of those descendants.
 * @returns The running writer (kill it when done).
 */
export async function startFakeRaplLoadWriter(
  file: string,
  rootPid: number,
  idleWatts: number,
  joulesPerCpuSecond: number,
): Promise<Deno.ChildProcess> {
  const executable = await compileC("tests/fixtures/fake_rapl_load_writer.c");
  const args = ["5000", String(rootPid), file, String(idleWatts), String(joulesPerCpuSecond)];
  const root = Deno.uid() === 0;
  const writer = new Deno.Command(root ? "nice" : executable, {
    args: root ? ["-n", "-15", executable, ...args] : args,
    stdout: "piped",
  }).spawn();
  const reader = writer.stdout.getReader();
  await reader.read(); // started: the counter advances
  reader.releaseLock();
  return writer;
}

/**
 * Reads and parses the only `data*.json` file in a directory.
 *
 * @param directory Where the CLI wrote it.
 * @returns The parsed document and its file name.
 */
export async function readDefaultJson(
  directory: string,
): Promise<{ name: string; document: Record<string, unknown> }> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(directory)) names.push(entry.name);
  const matches = names.filter((name) => /^data\d+\.json$/.test(name));
  if (matches.length !== 1) throw new Error(`expected one data*.json, found ${names.join(", ")}`);
  const name = matches[0]!;
  return { name, document: JSON.parse(await Deno.readTextFile(`${directory}/${name}`)) };
}

/**
 * Lists a directory's entries, sorted.
 *
 * @param directory A directory.
 * @returns Entry names.
 */
export async function listDir(directory: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(directory)) names.push(entry.name);
  return names.sort();
}

/**
 * Why Deno cannot be run as uid 65534 (`nobody`) here, or `undefined` when
 * it can: tests that drop to that user need root and a Deno binary every
 * user can execute (not one under /root, e.g. ~/.deno/bin). `.ci/run`
 * installs such a Deno, so under CI these tests run.
 *
 * @returns The reason to skip, or `undefined`.
 */
export function nobodyCannotRunDeno(): string | undefined {
  nobodyReason ??= { reason: probeNobody() };
  return nobodyReason.reason;
}

/** Probed once per test file. */
let nobodyReason: { reason: string | undefined } | undefined;

function probeNobody(): string | undefined {
  if (Deno.uid() !== 0) return "not root: cannot run anything as uid 65534";
  try {
    const output = new Deno.Command(Deno.execPath(), {
      args: ["--version"],
      uid: 65534,
      gid: 65534,
      stdout: "null",
      stderr: "piped",
    }).outputSync();
    if (output.success) return undefined;
    return `uid 65534 cannot run ${Deno.execPath()}: ${
      new TextDecoder().decode(output.stderr).trim() || `exit code ${output.code}`
    }`;
  } catch (error) {
    return `uid 65534 cannot execute ${Deno.execPath()} (${(error as Error).message}); ` +
      "install Deno where every user can run it (bash .ci/run does)";
  }
}

/**
 * `ignore` for a test that runs Deno as uid 65534: `true`, after printing
 * why, when that user cannot run it here.
 *
 * @param name The test's name, for the message.
 * @returns Whether to skip it.
 */
export function skipUnlessNobodyRunsDeno(name: string): boolean {
  const reason = nobodyCannotRunDeno();
  if (reason === undefined) return false;
  console.warn(`skipping "${name}": ${reason}`);
  return true;
}

/** One line of the product's code (src/ and sources/), comments left out. */
export interface CodeLine {
  /** Absolute path of the file. */
  file: string;
  /** 1-based line number. */
  line: number;
  /** The line's text. */
  text: string;
}

/**
 * Every non-comment line of the TypeScript under src/ and sources/, for
 * tests that keep a construct off the product's code (Intl, literal
 * dynamic imports).
 *
 * @returns The lines, file by file.
 */
export async function productCodeLines(): Promise<CodeLine[]> {
  const lines: CodeLine[] = [];
  const walk = async (folder: string): Promise<void> => {
    for await (const entry of Deno.readDir(folder)) {
      const path = `${folder}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (entry.name.endsWith(".ts")) {
        (await Deno.readTextFile(path)).split("\n").forEach((text, i) => {
          if (!/^\s*(\*|\/\/|\/\*)/.test(text)) lines.push({ file: path, line: i + 1, text });
        });
      }
    }
  };
  for (const root of ["src", "sources"]) await walk(`${REPO_ROOT}${root}`);
  return lines;
}

/**
 * A shell with `count` sleeping children, started and listed: for trees
 * longer than a page of `/proc` output. `stop()` kills them all and waits
 * until they are gone, so that a thousand processes being torn down do not
 * slow the tests that follow.
 */
export async function startSleepingTree(count: number): Promise<{
  shell: Deno.ChildProcess;
  children: () => number[];
  stop: () => Promise<void>;
}> {
  const shell = new Deno.Command("sh", {
    args: ["-c", `for i in $(seq ${count}); do sleep 60 & done; echo ready; wait`],
    stdout: "piped",
  }).spawn();
  const reader = shell.stdout.getReader();
  const children = () => {
    try {
      return Deno.readTextFileSync(`/proc/${shell.pid}/task/${shell.pid}/children`).trim()
        .split(" ").filter(Boolean).map(Number);
    } catch {
      return [];
    }
  };
  const stop = async () => {
    const pids = children();
    for (const pid of pids) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // Gone already.
      }
    }
    shell.kill("SIGKILL");
    await reader.cancel();
    await shell.status;
    // Orphaned by the shell's end, they are reaped by init: wait for that (at most 10 s).
    const alive = (pid: number) => {
      try {
        Deno.statSync(`/proc/${pid}`);
        return true;
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 1000 && pids.some(alive); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  try {
    const line = new TextDecoder().decode((await reader.read()).value);
    if (!line.includes("ready")) throw new Error(`the tree did not start: ${line}`);
    // Forked is not yet asleep: a child still exec'ing `sleep` (or loading its libraries) has
    // memory that moves. Settled once each one waits in nanosleep (at most 10 s).
    const settled = (pid: number) => {
      try {
        const comm = Deno.readTextFileSync(`/proc/${pid}/comm`).trim();
        const wchan = Deno.readTextFileSync(`/proc/${pid}/wchan`);
        return comm === "sleep" && wchan.includes("nanosleep");
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 1000 && !children().every(settled); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    if (!children().every(settled)) throw new Error("the tree's sleeps did not all start");
  } catch (error) {
    await stop();
    throw error;
  }
  return { shell, children, stop };
}
