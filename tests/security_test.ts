import assert from "node:assert/strict";
import { parse } from "csv-parse/sync";
import { neutralizeFormula } from "../src/output/csv.ts";
import { invokingUser, passwdEntry } from "../src/process/invoking_user.ts";
import { runCli } from "./helpers.ts";

const SUDO_NOBODY = { SUDO_UID: "65534", SUDO_GID: "65534", SUDO_USER: "nobody" };

async function sharedDir(): Promise<string> {
  const directory = await Deno.makeTempDir();
  await Deno.chmod(directory, 0o755); // the dropped-privilege program must be able to enter it
  return directory;
}

Deno.test("invokingUser() is the user behind sudo, only when running as root through it", () => {
  const nobody = passwdEntry(65534);
  assert.deepEqual(invokingUser(SUDO_NOBODY, 0), {
    uid: 65534,
    gid: 65534,
    name: nobody?.name ?? "nobody",
    home: nobody?.home ?? "/",
  });
  assert.equal(invokingUser(SUDO_NOBODY, 1000), undefined, "not root: nothing to drop");
  assert.equal(invokingUser({}, 0), undefined, "root without sudo stays root");
  assert.equal(invokingUser({ SUDO_UID: "0" }, 0), undefined, "sudo by root stays root");
});

Deno.test({
  name:
    "under sudo the program runs as the invoking user with its HOME/USER/LOGNAME; files are theirs",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const cwd = await sharedDir();
    const out = await runCli([
      "--json",
      "-o",
      "r.json",
      "profile",
      "--stdout-file",
      "out.txt",
      "--",
      "sh",
      "-c",
      'id -u; id -g; echo "$HOME $USER $LOGNAME"',
    ], { cwd, env: SUDO_NOBODY });
    assert.equal(out.code, 0, out.stderr);
    const [uid, gid, names] = (await Deno.readTextFile(`${cwd}/out.txt`)).trim().split("\n");
    const nobody = passwdEntry(65534)!;
    assert.equal(uid, "65534");
    assert.equal(gid, "65534");
    assert.equal(names, `${nobody.home} ${nobody.name} ${nobody.name}`);
    for (const file of ["r.json", "out.txt"]) {
      const info = await Deno.stat(`${cwd}/${file}`);
      assert.equal(info.uid, 65534, `${file} owner`);
      assert.equal(info.gid, 65534, `${file} group`);
    }
  },
});

Deno.test({
  name: "--use-root keeps the program as root under sudo",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const cwd = await sharedDir();
    const out = await runCli(
      ["--json", "-o", "-", "profile", "--use-root", "--", "sh", "-c", "id -u >&2"],
      { cwd, env: SUDO_NOBODY },
    );
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stderr, /^0$/m);
  },
});

Deno.test("neutralizeFormula() prefixes cells a spreadsheet would execute (OWASP)", () => {
  for (const dangerous of ["=1+2", "+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx"]) {
    assert.equal(neutralizeFormula(dangerous), `'${dangerous}`);
  }
  for (const safe of ["sh -c x", "START -> END", "__A__", ""]) {
    assert.equal(neutralizeFormula(safe), safe);
  }
});

Deno.test("CSV cells starting like a formula are neutralised, unless --csv-raw", async () => {
  const args = [
    "profile",
    "--token-pattern",
    "[=@][A-Z]+\\(\\)",
    "--",
    "sh",
    "-c",
    "echo '=CMD()'; echo '@SUM()'",
  ];
  const safe: string[][] = parse((await runCli(["--csv", "-o", "-", ...args])).stdoutText, {
    delimiter: ";",
  });
  // One row per metric: the first row of each phase.
  const phaseRows = (rows: string[][]) =>
    rows.slice(1).filter((row, i, all) => i === 0 || row[0] !== all[i - 1]![0]);
  const tokens = phaseRows(safe).map((row) => [row[7], row[8]]);
  assert.deepEqual(tokens, [["START", "'=CMD()"], ["'=CMD()", "'@SUM()"], ["'@SUM()", "END"]]);
  assert.equal(phaseRows(safe)[1]![1], "'=CMD() -> @SUM()");
  assert.equal(safe[1]![14], "[=@][A-Z]+\\(\\)", "a cell that does not start like a formula");

  const raw: string[][] = parse(
    (await runCli(["--csv", "--csv-raw", "-o", "-", ...args])).stdoutText,
    { delimiter: ";" },
  );
  assert.deepEqual(phaseRows(raw).map((row) => row[8]), ["=CMD()", "@SUM()", "END"]);
});
