import assert from "node:assert/strict";
import { HELP_OPTION, OPTIONS } from "../src/cli/option_table.ts";
import { helpText } from "../src/cli/help_text.ts";
import { COMMANDS } from "../src/cli/option_table.ts";
import { REPO_ROOT } from "./helpers.ts";

Deno.test("every flag that --help shows is documented in the README", async () => {
  const readme = await Deno.readTextFile(`${REPO_ROOT}README.md`);
  const helps = [helpText(), ...COMMANDS.map((command) => helpText(command.name))].join("\n");
  const missing: string[] = [];
  for (const option of [...OPTIONS, HELP_OPTION]) {
    const long = `--${option.long}`;
    // The table drives --help, so each flag is there; the README must name it too.
    assert.ok(helps.includes(long), `${long} missing from --help`);
    if (!new RegExp(`${long}(?![a-z-])`).test(readme)) missing.push(`${long} (${option.scope})`);
    if (option.short !== undefined && !readme.includes(`\`-${option.short}\``)) {
      missing.push(`-${option.short} (${option.scope})`);
    }
  }
  assert.deepEqual(missing, [], `flags in --help but not in README.md: ${missing.join(", ")}`);
});
