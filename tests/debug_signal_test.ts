import assert from "node:assert/strict";
import { closeDebugSignal, debugSignalClosed } from "../src/process/debug_signal.ts";
import { CLI_ENTRY, skipUnlessNobodyRunsDeno } from "./helpers.ts";
import { DEBUG_HOOK_GRACE_MS } from "../main.ts";
import { VERSION } from "../src/cli/main.ts";

// SIGUSR1 makes Deno ≥ 2.9.2 open the V8 inspector on 127.0.0.1:9229 (about
// 500 ms after start-up). The profiler must never open it.

const INSPECTOR_PORT = 9229;
const NOBODY = 65534;

/** Whether anything listens on the inspector's port (from /proc/net/tcp{,6}). */
async function inspectorListening(): Promise<boolean> {
  const port = INSPECTOR_PORT.toString(16).toUpperCase().padStart(4, "0");
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const text = await Deno.readTextFile(table).catch(() => "");
    for (const line of text.split("\n").slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (local?.endsWith(`:${port}`) && state === "0A") return true;
    }
  }
  return false;
}

async function waitFor(path: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await Deno.stat(path).then(() => true, () => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${path} never appeared`);
}

/** A DENO_DIR the unprivileged user can read (the npm packages the CLI imports). */
async function denoDirForNobody(): Promise<string> {
  const directory = await Deno.makeTempDir({ prefix: "jp-denodir-" });
  const info = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output();
  const source = JSON.parse(new TextDecoder().decode(info.stdout)).npmCache as string;
  const copy = await new Deno.Command("cp", { args: ["-r", source, `${directory}/npm`] }).output();
  assert.ok(copy.success);
  const own = await new Deno.Command("chown", { args: ["-R", `${NOBODY}:${NOBODY}`, directory] })
    .output();
  assert.ok(own.success);
  await Deno.chmod(directory, 0o755);
  return directory;
}

/** Starts `deno run -A <args>`, as root or as uid 65534. */
function start(args: string[], cwd: string, options: { nobody?: string } = {}) {
  const deno = [Deno.execPath(), "run", "-A", ...args];
  const command = options.nobody === undefined ? deno : [
    "setpriv",
    `--reuid=${NOBODY}`,
    `--regid=${NOBODY}`,
    "--clear-groups",
    "env",
    `HOME=${options.nobody}`,
    `DENO_DIR=${options.nobody}`,
    ...deno,
  ];
  return new Deno.Command(command[0]!, {
    args: command.slice(1),
    cwd,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Sends SIGUSR1 with `kill`, as root or as uid 65534. */
async function sendUsr1(pid: number, nobody: boolean): Promise<void> {
  const kill = ["kill", "-USR1", String(pid)];
  const command = nobody
    ? ["setpriv", `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", ...kill]
    : kill;
  const out = await new Deno.Command(command[0]!, { args: command.slice(1) }).output();
  assert.ok(out.success, `kill -USR1 ${pid}`);
}

async function sharedDir(): Promise<string> {
  const directory = await Deno.makeTempDir({ prefix: "jp-usr1-" });
  await Deno.chmod(directory, 0o777);
  return directory;
}

const PROGRAM = "touch started; while [ ! -e go ]; do sleep 0.05; done; echo __A__";

for (const nobody of [false, true]) {
  const who = nobody ? "as uid 65534" : "as root";
  Deno.test({
    name: `SIGUSR1 during a run (${who}) opens no inspector port and the run completes`,
    ignore: Deno.build.os !== "linux" || Deno.uid() !== 0 ||
      (nobody && skipUnlessNobodyRunsDeno(`SIGUSR1 during a run (${who})`)),
    sanitizeResources: false,
    fn: async () => {
      assert.equal(await inspectorListening(), false, "port 9229 is free before the test");
      const cwd = await sharedDir();
      const denoDir = nobody ? await denoDirForNobody() : undefined;

      // Control: a plain Deno script does open the inspector on SIGUSR1, so
      // the check below is not vacuous on this runtime.
      await Deno.writeTextFile(
        `${cwd}/plain.ts`,
        "await new Promise((r) => setTimeout(r, 1500));\n",
      );
      const plain = start([`${cwd}/plain.ts`], cwd, { nobody: denoDir });
      await new Promise((resolve) => setTimeout(resolve, 900));
      await sendUsr1(plain.pid, nobody);
      let opened = false;
      for (let i = 0; i < 50 && !opened; i++) {
        opened = await inspectorListening();
        if (!opened) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await plain.output();
      assert.ok(opened, "a plain deno run opened the inspector (the mechanism this guards)");
      for (let i = 0; i < 100 && await inspectorListening(); i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }

      const profiler = start(
        [`${CLI_ENTRY}`, "--json", "-o", "r.json", "profile", "--", "sh", "-c", PROGRAM],
        cwd,
        { nobody: denoDir },
      );
      await waitFor(`${cwd}/started`);
      await new Promise((resolve) => setTimeout(resolve, 900)); // past the runtime's 500 ms
      await sendUsr1(profiler.pid, nobody);
      await sendUsr1(profiler.pid, nobody);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(await inspectorListening(), false, "no inspector after SIGUSR1");
      await Deno.writeTextFile(`${cwd}/go`, "");
      const out = await profiler.output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, stderr);
      assert.doesNotMatch(stderr, /Debugger listening/);
      const document = JSON.parse(await Deno.readTextFile(`${cwd}/r.json`));
      assert.match(JSON.stringify(document), /__A__/, "the run completed with its phases");
      assert.equal(await inspectorListening(), false);
    },
  });
}

Deno.test({
  name: "the profiled program still gets the default SIGUSR1 (it is not ignored across exec)",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const cwd = await Deno.makeTempDir();
    const child = start(
      [
        `${CLI_ENTRY}`,
        "--json",
        "-o",
        "r.json",
        "profile",
        "--",
        "sh",
        "-c",
        "kill -USR1 $$; echo survived",
      ],
      cwd,
    );
    const out = await child.output();
    assert.equal(out.code, 128 + 10, new TextDecoder().decode(out.stderr));
    assert.doesNotMatch(new TextDecoder().decode(out.stdout), /survived/);
    const document = JSON.parse(await Deno.readTextFile(`${cwd}/r.json`));
    assert.equal(document.signal, "SIGUSR1", "the program died of it, the profiler wrote results");
  },
});

Deno.test("closeDebugSignal() installs a handler the runtime's later hooks do not replace", async () => {
  closeDebugSignal();
  assert.ok(debugSignalClosed());
  const listener = () => {};
  Deno.addSignalListener("SIGUSR1", listener); // joins the existing hook
  Deno.removeSignalListener("SIGUSR1", listener);
  await new Promise((resolve) => setTimeout(resolve, 700)); // past the runtime's own hook
  assert.ok(debugSignalClosed(), "still ours");
  Deno.kill(Deno.pid, "SIGUSR1"); // does nothing, and opens nothing
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(await inspectorListening(), false);
});

Deno.test({
  name: "an inspector NODE_OPTIONS=--inspect opened is closed before the program runs",
  ignore: Deno.build.os !== "linux",
  sanitizeResources: false,
  fn: async () => {
    assert.equal(await inspectorListening(), false, "port 9229 is free before the test");
    const cwd = await sharedDir();
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `${CLI_ENTRY}`,
        "--json",
        "-o",
        "r.json",
        "profile",
        "--",
        "sh",
        "-c",
        PROGRAM,
      ],
      cwd,
      env: { NO_COLOR: "1", NODE_OPTIONS: "--inspect" },
      stdout: "null",
      stderr: "piped",
    }).spawn();
    await waitFor(`${cwd}/started`);
    const listening = await inspectorListening();
    await Deno.writeTextFile(`${cwd}/go`, "");
    const out = await child.output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(listening, false, "no inspector while the program runs");
    assert.equal(out.code, 0, stderr);
    assert.match(stderr, /NODE_OPTIONS opened a debugger \(--inspect\); closed it/);
  },
});

/**
 * Runs a script that waits (the event loop turning, as `--help` does while its
 * module loads) until `performance.now()` reaches `atMs`, then sends itself SIGUSR1.
 */
async function selfSignalAt(atMs: number): Promise<Deno.CommandOutput> {
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(
    script,
    `while (performance.now() < ${atMs}) await new Promise((r) => setTimeout(r, 2));\n` +
      `Deno.kill(Deno.pid, "SIGUSR1");\n` +
      `await new Promise((r) => setTimeout(r, 300));\n` +
      `console.log("survived");\n`,
  );
  try {
    return await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", script],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } finally {
    await Deno.remove(script);
  }
}

Deno.test({
  name: "Deno has not hooked SIGUSR1 before DEBUG_HOOK_GRACE_MS (--version and --help rely on it)",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    // Before the runtime's hook, SIGUSR1 has its default action: the process dies of it.
    const early = await selfSignalAt(DEBUG_HOOK_GRACE_MS + 50);
    assert.equal(early.signal, "SIGUSR1", "no hook yet: the default action killed it");
    // Control: once hooked, the same signal is caught (and would open the inspector), so the
    // check above would fail on a runtime that hooked SIGUSR1 from the start.
    const late = await selfSignalAt(1000);
    assert.equal(late.code, 0, new TextDecoder().decode(late.stderr));
    assert.match(new TextDecoder().decode(late.stdout), /survived/);
    assert.match(new TextDecoder().decode(late.stderr), /Debugger listening/);
    for (let i = 0; i < 100 && await inspectorListening(); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  },
});

Deno.test({
  name: "--version and --help close an inspector NODE_OPTIONS=--inspect opened, and print",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    for (const flag of ["--version", "--help"]) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", `${CLI_ENTRY}`, flag],
        env: { NO_COLOR: "1", NODE_OPTIONS: "--inspect" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, stderr);
      assert.match(stderr, /NODE_OPTIONS opened a debugger \(--inspect\); closed it/);
      const stdout = new TextDecoder().decode(out.stdout);
      assert.match(stdout, flag === "--version" ? new RegExp(`^${VERSION}\\n$`) : /^Usage: /);
    }
    for (let i = 0; i < 100 && await inspectorListening(); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  },
});
