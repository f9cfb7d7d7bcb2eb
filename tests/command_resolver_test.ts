import assert from "node:assert/strict";
import { resolveCommand } from "../src/process/command_resolver.ts";
import { CommandNotFoundError } from "../src/errors.ts";

Deno.test("resolveCommand() searches PATH in order like execvp", async () => {
  const first = await Deno.makeTempDir();
  const second = await Deno.makeTempDir();
  await Deno.writeTextFile(`${first}/tool`, "#!/bin/sh\n", { mode: 0o644 }); // not executable
  await Deno.writeTextFile(`${second}/tool`, "#!/bin/sh\n", { mode: 0o755 });
  assert.equal(resolveCommand("tool", { path: `${first}:${second}` }), `${second}/tool`);
});

Deno.test("resolveCommand() says 127 for unknown commands and 126 for unrunnable ones", async () => {
  const directory = await Deno.makeTempDir();
  await Deno.writeTextFile(`${directory}/plain`, "data", { mode: 0o644 });
  await Deno.mkdir(`${directory}/folder`);
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      assert.ok(error instanceof CommandNotFoundError);
      return error.exitCode;
    }
    return 0;
  };
  assert.equal(code(() => resolveCommand("no-such-command-xyz", { path: directory })), 127);
  assert.equal(code(() => resolveCommand(`${directory}/missing`)), 127);
  assert.equal(code(() => resolveCommand("plain", { path: directory })), 126);
  assert.equal(code(() => resolveCommand(`${directory}/plain`)), 126);
  assert.equal(code(() => resolveCommand(`${directory}/folder`)), 126);
  assert.equal(resolveCommand("sh", { path: "/usr/bin:/bin" }).endsWith("/sh"), true);
});

Deno.test("resolveCommand() skips PATH entries that are files or missing, and names a link loop", async () => {
  const directory = await Deno.makeTempDir();
  await Deno.writeTextFile(`${directory}/file`, "data");
  const bin = `${directory}/bin`;
  await Deno.mkdir(bin);
  await Deno.writeTextFile(`${bin}/tool`, "#!/bin/sh\n", { mode: 0o755 });
  // ENOTDIR (an entry that is a file) and ENOENT are misses, as for execvp.
  const path = `${directory}/file:${directory}/missing:${bin}`;
  assert.equal(resolveCommand("tool", { path }), `${bin}/tool`);
  // A relative entry is resolved against cwd.
  assert.equal(resolveCommand("tool", { path: "bin", cwd: directory }), "bin/tool");
  // A link loop cannot be run: 126, with the reason in words.
  await Deno.symlink(`${directory}/loop`, `${directory}/loop`);
  assert.throws(
    () => resolveCommand(`${directory}/loop`),
    (error: unknown) =>
      error instanceof CommandNotFoundError && error.exitCode === 126 &&
      /symbolic links/i.test(error.message),
  );
});
