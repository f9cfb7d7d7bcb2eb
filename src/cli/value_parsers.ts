/**
 * Every function that turns a flag's text into its value, gathered for the
 * option table (`option_table.ts`), whose entries name theirs through this
 * module's namespace: `parse: (p) => p.maxPhases`. Only the code that
 * parses loads it (`arg_parser.ts`, `config_file.ts`): `--help` and the
 * shell completions render the table without these modules, which cost
 * about 3 ms of their start-up (docs/PERFORMANCE.md, `--help`).
 *
 * @module
 */

export {
  maxPhases,
  maxSamples,
  nonNegativeInteger,
  nonNegativeSeconds,
  parseAmdGpuList,
  parseDefine,
  parseGpuList,
  parseSourceList,
  positiveInteger,
  positiveSeconds,
  profilerCpus,
  sampleInterval,
  significanceLevel,
  socketList,
  timelineFile,
} from "./option_values.ts";
export { parseTdp } from "../energy/tdp_curve.ts";
export {
  parseFeatureList,
  parseFolds,
  parseRounds,
  parseStageSeconds,
} from "./commands/model_flags.ts";
export { durationSeconds, liveInterval, parsePidList } from "./attach_option_values.ts";
export {
  parseCarbonIntensity,
  parseFailAbove,
  parsePue,
  parsePushgatewayUrl,
} from "./export_option_values.ts";
export { parseParameterList, parseParameterRange, parseStepSize } from "./parameter_scan.ts";
/** The bounds some parsers are given (`p.positiveInteger("--iterations", p.RUN_SETTING_LIMITS.maxRuns)`). */
export { RUN_SETTING_LIMITS } from "../run_limits.ts";

/** This module's namespace, as the option table's `parse` entries receive it. */
export type ValueParsers = typeof import("./value_parsers.ts");
