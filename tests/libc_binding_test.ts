/**
 * libc's symbols are bound on first use (src/ffi/libc.ts): one `Deno.dlopen`
 * per symbol used, instead of compiling a call stub for all of them at the
 * first FFI call (3–6 ms of start-up).
 */
import assert from "node:assert/strict";
import { cString, errno, libc } from "../src/ffi/libc.ts";
import { type CommandOutput, runCommand } from "./helpers.ts";

Deno.test("libc() binds a symbol on first use and keeps it", () => {
  const symbols = libc();
  assert.equal(libc(), symbols);
  const before = Object.getOwnPropertyDescriptor(symbols, "kill");
  // Not bound yet in this process: an accessor until first used.
  assert.equal(typeof before?.get, "function");
  assert.equal(symbols.kill(Deno.pid, 0), 0);
  const after = Object.getOwnPropertyDescriptor(symbols, "kill");
  assert.equal(after?.get, undefined);
  assert.equal(typeof after?.value, "function");
  assert.equal(symbols.kill, after?.value);
  // Every symbol of the table is offered.
  for (const name of ["read", "write", "pread", "poll_blocking", "statx", "signal"]) {
    assert.ok(name in symbols, name);
  }
});

Deno.test("libc() without FFI permission fails at the first use, with NotCapable", async () => {
  const probe = `import { libc } from "${new URL("../src/ffi/libc.ts", import.meta.url).href}";
const symbols = libc();
try { symbols.kill(Deno.pid, 0); console.log("bound"); }
catch (error) { console.log(error instanceof Deno.errors.NotCapable ? "NotCapable" : String(error)); }`;
  const { stdout } = await runProbe(probe, ["--allow-read"]);
  assert.equal(stdout.trim(), "NotCapable");
});

Deno.test("symbols bound without a fast-call stub return what the plain declaration returns", () => {
  const plain = Deno.dlopen("libc.so.6", {
    kill: { parameters: ["i32", "i32"], result: "i32" },
    sysconf: { parameters: ["i32"], result: "i64" },
    dlsym: { parameters: ["pointer", "buffer"], result: "pointer" },
  });
  try {
    const symbols = libc();
    // int: success, and -1 with errno (ESRCH) read after the call.
    assert.equal(symbols.kill(Deno.pid, 0), plain.symbols.kill(Deno.pid, 0));
    assert.equal(symbols.kill(0x3fffffff, 0), -1);
    assert.equal(errno(), 3);
    // long: a bigint, as from the plain declaration's generic path.
    assert.equal(symbols.sysconf(30), plain.symbols.sysconf(30)); // _SC_PAGESIZE
    assert.equal(typeof symbols.sysconf(30), "bigint");
    // ssize_t, negative.
    const buffer = new Uint8Array(16);
    assert.equal(symbols.readlinkat(-1, cString("/nonexistent"), buffer, 16n), -1n);
    // Pointers: the same address, and null for none.
    const name = cString("getpid");
    assert.ok(
      Deno.UnsafePointer.equals(symbols.dlsym(null, name), plain.symbols.dlsym(null, name)),
    );
    assert.notEqual(symbols.dlsym(null, name), null);
    assert.equal(symbols.dlsym(null, cString("no_such_symbol_in_libc")), null);
  } finally {
    plain.close();
  }
});

Deno.test("a held program's resume() finds kill bound already: START's window holds no bind", async () => {
  // A fresh process: in this one, other tests may have bound kill already.
  const probe = `import { libc, bindNow } from "${
    new URL("../src/ffi/libc.ts", import.meta.url).href
  }";
import { ProgramProcess } from "${
    new URL("../src/process/program_process.ts", import.meta.url).href
  }";
const bound = () => Object.getOwnPropertyDescriptor(libc(), "kill")?.get === undefined;
const before = bound();
bindNow("getrusage");
const other = Object.getOwnPropertyDescriptor(libc(), "getrusage")?.get === undefined;
const program = ProgramProcess.spawnHeld({ executable: "true", args: [], stdout: "null" });
await program.untilHeld();
const held = bound();
program.resume();
const exit = await program.exit;
console.log(JSON.stringify({ before, other, held, code: exit.code }));`;
  const { code, stdout, stderr } = await runProbe(probe, ["-A"]);
  assert.equal(code, 0, stderr);
  assert.deepEqual(JSON.parse(stdout), { before: false, other: true, held: true, code: 0 });
});

/** Runs `source` as a script in a fresh Deno process (with `permissions`): where no symbol is bound yet. */
async function runProbe(source: string, permissions: string[]): Promise<CommandOutput> {
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(file, source);
    return await runCommand(Deno.execPath(), ["run", ...permissions, file]);
  } finally {
    await Deno.remove(file);
  }
}
