// Phases marked through the channel from Deno or Node.js:
//   deno task start profile -- node examples/phase_channel/demo.mjs
//   deno task start profile -- deno run --allow-env --allow-write examples/phase_channel/demo.mjs
import { joulePhase } from "./joule_phase.mjs";

joulePhase("__WORK__");
let sum = 0;
for (let i = 0; i < 5e6; i++) sum += i;
console.log("sum", sum);
joulePhase("__WAIT__");
await new Promise((resolve) => setTimeout(resolve, 100));
joulePhase("__DONE__");
