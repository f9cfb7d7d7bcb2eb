import assert from "node:assert/strict";
import { CLI_ENTRY } from "./helpers.ts";

const SUDO_NOBODY = { SUDO_UID: "65534", SUDO_GID: "65534", SUDO_USER: "nobody" };

async function waitFor(path: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await Deno.stat(path).then(() => true, () => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${path} never appeared`);
}

Deno.test({
  name: "under sudo the phase FIFO is the program user's to write, and nobody else's",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const cwd = await Deno.makeTempDir();
    await Deno.chmod(cwd, 0o777);
    const program = 'echo "$JOULE_PROFILER_PHASE_FIFO" > fifo.txt; ' +
      "while [ ! -e go ]; do sleep 0.05; done; " +
      'echo __FIFO__ > "$JOULE_PROFILER_PHASE_FIFO"; echo __OUT__';
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
        program,
      ],
      cwd,
      env: { NO_COLOR: "1", ...SUDO_NOBODY },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    await waitFor(`${cwd}/fifo.txt`);
    const fifo = (await Deno.readTextFile(`${cwd}/fifo.txt`)).trim();
    const info = await Deno.stat(fifo);
    assert.equal(info.uid, 65534, "the FIFO is the program user's");
    assert.equal(info.mode! & 0o777, 0o600);
    const folder = await Deno.stat(fifo.slice(0, fifo.lastIndexOf("/")));
    assert.equal(folder.uid, 0, "the folder stays root's");
    assert.equal(
      folder.mode! & 0o777,
      0o710,
      "the user's group may enter it, not list or change it",
    );
    const intruder = await new Deno.Command("setpriv", {
      args: [
        "--reuid=1234",
        "--regid=1234",
        "--clear-groups",
        "sh",
        "-c",
        `echo __EVIL__ > ${fifo}`,
      ],
      stderr: "piped",
    }).output();
    assert.equal(intruder.success, false, "another user cannot write to the channel");
    await Deno.writeTextFile(`${cwd}/go`, "");
    const out = await child.output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const document = JSON.parse(await Deno.readTextFile(`${cwd}/r.json`));
    const tokens = document.phases.map((phase: { end_token: string }) => phase.end_token);
    // The order of two channels is point 12's business (docs/SECURITY.md): here, both arrive.
    assert.deepEqual([...tokens].sort(), ["END", "__FIFO__", "__OUT__"]);
  },
});
