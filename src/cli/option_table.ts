/**
 * The command line of `joule-profiler`, declared once: every command and
 * every flag. This table drives parsing (`arg_parser.ts`), `--help`
 * (`help_text.ts`), usage errors (exit status 2) and the shell completions
 * (`commands/completions.ts`), so they cannot drift apart.
 *
 * ## Adding a flag
 *
 * Add ONE entry to {@linkcode OPTIONS}, in the place it should appear in
 * `--help`:
 *
 * ```ts ignore
 * {
 *   long: "max-power",           // --max-power; the parsed key is camelCase: maxPower
 *   short: "p",                  // optional: -p
 *   value: "watts",              // optional: takes a value, shown as <watts>; omit for a switch
 *   description: "stop when the program draws more than this many watts",
 *   parse: (p) => p.positiveSeconds("--max-power"), // optional: text → value (below)
 *   default: 100,                // optional: used when absent (value flags show it in --help)
 *   scope: "profile",            // "global" (any command) or the one command it belongs to
 *   repeatable: true,            // optional: each use appends to an array
 *   complete: "file",            // optional: what the shell completes after it
 * },
 * ```
 *
 * then read it in the command module (`commands/profile.ts`:
 * `flags.maxPower`) and add a line for it to the README (a test checks that
 * every flag in `--help` is there). A name starting with `no-` is a negated
 * switch: `--no-phase-channel` sets `phaseChannel` to `false` (default
 * `true`). Global flags are accepted before or after the command; where a
 * command has a flag of the same short name (`profile -o`), the command's
 * meaning wins after the command. `choices` restricts the value; `warn`
 * flags a valid but suspicious value (see `--stdout-file`).
 *
 * `parse` picks the flag's parser from `value_parsers.ts` (add a new one
 * there): the table names it through that module's namespace, `p`, so that
 * `--help` and the completions, which only render the table, do not load
 * the parsers. A parser throws a `UsageError` for bad input.
 *
 * ## Adding a command
 *
 * Add it to {@linkcode CommandName} and {@linkcode COMMANDS}, write
 * `commands/<name>.ts`, and add a `case` to `main.ts` that loads it with
 * `loadCommand` (not a literal `import("…")`: `deno run` would build its
 * module graph at every start). Completions and help follow from the table.
 *
 * @module
 */

import { HELP_OPTION, VERSION_OPTION } from "./builtin_options.ts";
import {
  DEFAULT_FOLDS,
  DEFAULT_KILL_AFTER_SECONDS,
  DEFAULT_MAX_PHASES,
  DEFAULT_MAX_SAMPLES,
  DEFAULT_PERF_EVENTS,
  DEFAULT_TOKEN_PATTERN,
  MIN_LIVE_INTERVAL_MS,
  PHASE_LIST_LIMIT,
} from "../setting_defaults.ts";
import { groupDigits } from "../text/digit_grouping.ts";
import type { ValueParsers } from "./value_parsers.ts";

/** The subcommands. */
export type CommandName =
  | "profile"
  | "compare"
  | "merge"
  | "doctor"
  | "list-sensors"
  | "completions"
  | "model";

/** Where a flag is accepted: everywhere (`global`), or with one command. */
export type OptionScope = "global" | CommandName;

/** What the shell offers after a flag or for an operand (`choices` offer their own words). */
export type Completion = "file" | "directory" | "command";

/** One flag. */
export interface OptionSpec {
  /** Long name without the dashes (`output-file` for `--output-file`). */
  readonly long: string;
  /** One-letter name without the dash, if any. */
  readonly short?: string;
  /** Name of the value in help (`path` shows `<path>`); absent for a switch. */
  readonly value?: string;
  /** One sentence for `--help` (lower case, no final period, as commander wrote it). */
  readonly description: string;
  /**
   * Picks, among the value parsers (`value_parsers.ts`, loaded only to parse), the function that
   * turns the text into the value; it throws a `UsageError` for bad input. Default: the text.
   */
  readonly parse?: (parsers: ValueParsers) => (value: string) => unknown;
  /**
   * Values the flag takes, as separate arguments (`--parameter-scan N 1 5`
   * takes 3); default 1 for a value flag. `value` then names each, separated
   * by spaces (`var min max` shows `<var> <min> <max>`), and
   * `parseValues` turns them into the value.
   */
  readonly arity?: number;
  /** With `arity` > 1: picks the function that turns the values into the value, as `parse` does. */
  readonly parseValues?: (parsers: ValueParsers) => (values: readonly string[]) => unknown;
  /** Value when the flag is absent (shown in help for value flags). */
  readonly default?: unknown;
  /** `global`, or the command the flag belongs to. */
  readonly scope: OptionScope;
  /** Each use appends to an array (`--command A --command B`). */
  readonly repeatable?: boolean;
  /** Each use adds one (`-vvv` is 3). */
  readonly counted?: boolean;
  /** The only values accepted (checked before `parse`). */
  readonly choices?: readonly string[];
  /** Long names of flags that cannot be given with this one. */
  readonly conflicts?: readonly string[];
  /** What the shell completes after the flag (value flags only). */
  readonly complete?: Completion;
  /** Built-in behaviour instead of a value: print the help or the version and stop. */
  readonly action?: "help" | "version";
  /**
   * A warning about a value that is valid but probably not what was meant,
   * given how the flag was written (`-o` or `--stdout-file`); printed before
   * the command runs.
   */
  readonly warn?: (value: string, written: string) => string | undefined;
}

/** The operands of a command. */
export interface OperandSpec {
  /** Name in help (`command`, `files`). */
  readonly name: string;
  /** One sentence for help. */
  readonly description: string;
  /** At least one operand must be given. */
  readonly required: boolean;
  /** More than one may be given. */
  readonly variadic: boolean;
  /** The only values accepted. */
  readonly choices?: readonly string[];
  /** What the shell completes for them (when there are no choices). */
  readonly complete?: Completion;
}

/** One subcommand. */
export interface CommandSpec {
  /** Its name on the command line. */
  readonly name: CommandName;
  /** One sentence for help. */
  readonly description: string;
  /** Usage after `joule-profiler <name> ` (default `[options]`). */
  readonly usage?: string;
  /** Its operands, if it takes any. */
  readonly operands?: OperandSpec;
  /**
   * The first operand ends the flags: everything after it is the profiled
   * program's (`profile sh -c … -v` passes `-v` to sh).
   */
  readonly passThrough?: boolean;
  /** A paragraph at the end of its help. */
  readonly note?: string;
}

/** The program's name in help and errors. */
export const PROGRAM_NAME = "joule-profiler";

/** What `joule-profiler --help` says last. */
export const PROGRAM_NOTE = "Global options also work after the command (for profile, before the " +
  "program). 'joule-profiler <command> --help' lists a command's own options.";

/** What `joule-profiler --help` says first. */
export const PROGRAM_DESCRIPTION =
  "Measure the energy and counters of a program, phase by phase.\n" +
  "Phases are delimited by tokens the program prints on stdout.";

const GLOBAL_NOTE = "Global options (see joule-profiler --help) are also accepted here.";

/** The subcommands, in help order. */
export const COMMANDS: readonly CommandSpec[] = [
  {
    name: "profile",
    description: "run a program and report its metrics per phase",
    usage: "[options] -- <command> [args...]\n" +
      `       ${PROGRAM_NAME} profile [options] --command "A" --command "B" ...\n` +
      `       ${PROGRAM_NAME} profile [options] -p <pid>[,...] | -a [--duration <s>]`,
    operands: {
      name: "command",
      description: "the program to profile and its arguments, after --",
      required: false,
      variadic: true,
      complete: "command",
    },
    passThrough: true,
    note: "Global options (see joule-profiler --help) are also accepted here, before the " +
      "program. After 'profile', -o is --stdout-file (the program's output); the results " +
      "file is the global -o: give it before 'profile', or write --output-file.",
  },
  {
    name: "compare",
    description:
      "compare results of --json profiles (A.json B.json …, or one multi-command file): " +
      "per phase and metric, the ratio B/A ± uncertainty and Welch's t-test",
    usage: "[options] <A.json> <B.json> [more.json...]",
    operands: {
      name: "files",
      description: "result files written by --json; the first is the baseline",
      required: true,
      variadic: true,
      complete: "file",
    },
    note: GLOBAL_NOTE,
  },
  {
    name: "merge",
    description:
      "join the per-task --json results of a Slurm or MPI job into one job result: energy " +
      "summed over nodes, process metrics over ranks, phases from earliest start to latest end",
    usage: "[options] <task.json...>",
    operands: {
      name: "files",
      description: "one --json result per task (e.g. out-*.json); -o, --json and --csv as usual",
      required: true,
      variadic: true,
      complete: "file",
    },
    note: GLOBAL_NOTE,
  },
  {
    name: "doctor",
    description:
      "check every source on this machine: what works, why not, and the command that fixes it",
    note: GLOBAL_NOTE,
  },
  {
    name: "list-sensors",
    description: "list what the enabled sources can measure on this machine",
    note: GLOBAL_NOTE,
  },
  {
    name: "model",
    description: "fit an energy model where energy is measured, to estimate it where it is not " +
      "(profile --energy-model): 'fit' on --json results, 'train' on built-in workloads, " +
      "'show' a model",
    usage: "fit <result.json...> -o <model.json> [options]\n" +
      `       ${PROGRAM_NAME} model train -o <model.json> [options]\n` +
      `       ${PROGRAM_NAME} model show <model.json>`,
    operands: {
      name: "action",
      description: "fit RESULT.json..., train, or show MODEL.json",
      required: true,
      variadic: true,
      complete: "file",
    },
  },
  {
    name: "completions",
    description: "print the shell completion script for bash, zsh or fish",
    usage: "[options] <shell>",
    operands: {
      name: "shell",
      description: "bash, zsh or fish",
      required: true,
      variadic: false,
      choices: ["bash", "zsh", "fish"],
    },
    note: "Load it in this shell:\n" +
      "  bash: source <(joule-profiler completions bash)\n" +
      "  zsh:  source <(joule-profiler completions zsh)   (after compinit)\n" +
      "  fish: joule-profiler completions fish | source\n" +
      "Install it for every new shell:\n" +
      "  bash: joule-profiler completions bash > /etc/bash_completion.d/joule-profiler\n" +
      '  zsh:  joule-profiler completions zsh > "${fpath[1]}/_joule-profiler"\n' +
      "  fish: joule-profiler completions fish > ~/.config/fish/completions/joule-profiler.fish",
  },
];

/** Every flag, in help order within its scope. */
export const OPTIONS: readonly OptionSpec[] = [
  // Global flags.
  VERSION_OPTION,
  {
    long: "verbose",
    short: "v",
    description: "more diagnostics on stderr (-v info, -vv debug, -vvv trace and stack traces)",
    scope: "global",
    counted: true,
    default: 0,
  },
  {
    long: "json",
    description: "write results as JSON",
    scope: "global",
    conflicts: ["csv"],
  },
  {
    long: "csv",
    description: "write results as ';'-separated CSV",
    scope: "global",
    conflicts: ["json"],
  },
  {
    long: "csv-raw",
    description: "keep CSV text cells that start with = + - @ as they are (by default they get a " +
      "leading ' so spreadsheets do not run them as formulas)",
    scope: "global",
  },
  {
    long: "output-file",
    short: "o",
    value: "path",
    description:
      "results file ('-' for stdout); default data<TIMESTAMP>.json|csv for --json/--csv, " +
      "stdout for the terminal layout",
    scope: "global",
    complete: "file",
  },
  {
    long: "rapl-path",
    value: "path",
    description: "powercap RAPL folder (default $JOULE_PROFILER_RAPL_PATH, else " +
      "/sys/devices/virtual/powercap/intel-rapl)",
    scope: "global",
    complete: "directory",
  },
  {
    long: "sockets",
    short: "s",
    value: "list",
    description:
      "CPU sockets (packages) to measure, e.g. 0 or 0,1 (default all; PSYS is always measured)",
    parse: (p) => p.socketList,
    scope: "global",
  },
  {
    long: "rapl-backend",
    value: "backend",
    description: "RAPL backend (default: perf if its power PMU opens, else powercap)",
    choices: ["perf", "powercap"],
    scope: "global",
  },
  {
    long: "perf",
    description: "count per-process perf_event counters of the program and its descendants " +
      `(default events: ${DEFAULT_PERF_EVENTS.join(", ")})`,
    scope: "global",
  },
  {
    long: "perf-events",
    value: "events",
    description: "comma-separated perf events to count, perf list names or ours " +
      "(e.g. cycles,instructions,task-clock); implies --perf",
    scope: "global",
  },
  {
    long: "gpu",
    description: "measure the energy of every NVIDIA (NVML) and AMD (AMD SMI) GPU found",
    scope: "global",
  },
  {
    long: "gpus",
    value: "indices",
    description: "measure these NVIDIA GPUs only, e.g. 0,2 (NVML)",
    parse: (p) => p.parseGpuList,
    scope: "global",
  },
  {
    long: "amd-gpus",
    value: "indices",
    description: "measure these AMD GPUs only, in amd-smi's order, e.g. 0,1 (AMD SMI)",
    parse: (p) => p.parseAmdGpuList,
    scope: "global",
  },
  {
    long: "no-process",
    description: "do not report the program's process-tree metrics (CPU time, context " +
      "switches, page faults, I/O, memory peaks) nor its attributed energy",
    scope: "global",
  },
  {
    long: "no-system",
    description: "do not report machine-wide CPU and network metrics (nor attributed energy, " +
      "which needs them)",
    scope: "global",
  },

  // Global: source selection and configuration (the reference CLI 3.x's options).
  {
    long: "sources",
    value: "list",
    description: "use exactly these sources, comma-separated: rapl, nvml, amdsmi, perf, process, " +
      "system (default rapl,process,system; --perf, --perf-events, --gpu, --gpus and --amd-gpus " +
      "add theirs; a listed source that cannot work is an error)",
    parse: (p) => p.parseSourceList,
    scope: "global",
  },
  {
    long: "output-format",
    value: "format",
    description: "results format: terminal, json (as --json) or csv (as --csv)",
    choices: ["terminal", "json", "csv"],
    scope: "global",
  },
  {
    long: "config",
    value: "file",
    description: "read global and profile options and per-source tables ([rapl], [perf], " +
      "[nvml], [amdsmi], [process], [system]) from this TOML file; flags, -D and environment " +
      "variables take precedence over it",
    scope: "global",
    complete: "file",
  },
  {
    long: "define",
    short: "D",
    value: "key=value",
    description: "set a config key (e.g. -D iterations=5, -D rapl.path=/x); overrides the " +
      "config file and environment variables, not flags (repeatable)",
    parse: (p) => p.parseDefine,
    scope: "global",
    repeatable: true,
  },

  // profile
  {
    long: "token-pattern",
    value: "regex",
    description: "regular expression marking phase boundaries on stdout; with a capture group, " +
      "group 1 names the token",
    default: DEFAULT_TOKEN_PATTERN,
    scope: "profile",
    conflicts: ["no-stdout-tokens"],
  },
  {
    long: "stdout-file",
    short: "o",
    value: "path",
    description: "write the program's stdout to this file",
    scope: "profile",
    complete: "file",
    warn: (value, written) =>
      written === "-o" && (value === "-" || /\.(json|csv)$/i.test(value))
        ? `profile -o '${value}': this is the program's output; results go to the global -o ` +
          `(give it before 'profile': joule-profiler -o ${value} profile …, or write --output-file)`
        : undefined,
  },
  {
    long: "iterations",
    short: "n",
    value: "n",
    description: "run the program n times and report per-phase mean and spread",
    parse: (p) => p.positiveInteger("--iterations", p.RUN_SETTING_LIMITS.maxRuns),
    default: 1,
    scope: "profile",
  },
  {
    long: "warmup",
    value: "n",
    description:
      "run the program n times first and discard those runs (warm caches, JIT, frequency)",
    parse: (p) => p.nonNegativeInteger("--warmup", p.RUN_SETTING_LIMITS.maxRuns),
    scope: "profile",
  },
  {
    long: "min-runs",
    value: "n",
    description: "run at least n times (with --min-time: until both are met)",
    parse: (p) => p.positiveInteger("--min-runs", p.RUN_SETTING_LIMITS.maxRuns),
    scope: "profile",
  },
  {
    long: "min-time",
    value: "seconds",
    description: "keep running until the measured runs add up to this many seconds",
    parse: (p) => p.nonNegativeSeconds("--min-time", p.RUN_SETTING_LIMITS.maxMinTimeSeconds),
    scope: "profile",
  },
  {
    long: "prepare",
    value: "cmd",
    description: "shell command run before every run (warm-up included), not measured; its " +
      "failure stops the profile",
    scope: "profile",
    complete: "command",
  },
  {
    long: "cleanup",
    value: "cmd",
    description: "shell command run after every run (warm-up included), not measured",
    scope: "profile",
    complete: "command",
  },
  {
    long: "kill-after",
    value: "seconds",
    description: "after a signal is passed on to the program (or SIGTERM to processes it left " +
      "running), SIGKILL whatever of it is left this many seconds later",
    parse: (p) => p.positiveSeconds("--kill-after"),
    default: DEFAULT_KILL_AFTER_SECONDS,
    scope: "profile",
  },
  {
    long: "kill-descendants",
    description: "end the processes the program leaves running as soon as it exits " +
      "(SIGTERM, then SIGKILL after --kill-after), not when the profiler exits",
    scope: "profile",
  },
  {
    long: "keep-descendants",
    description: "never signal the processes the program starts (daemons started on purpose); " +
      "signals go to the program alone",
    scope: "profile",
  },
  {
    long: "idle",
    value: "seconds",
    description: "first measure the machine at rest this long, and report energy above idle " +
      "(raw − idle power × duration) next to the raw energy",
    parse: (p) => p.positiveSeconds("--idle", p.RUN_SETTING_LIMITS.maxIdleSeconds),
    scope: "profile",
  },
  {
    long: "command",
    value: "cmd",
    description: "a command to profile (repeat to compare several: runs are interleaved A B A B; " +
      "the first is the baseline); instead of a command after --",
    scope: "profile",
    repeatable: true,
    complete: "command",
  },
  {
    long: "command-name",
    value: "name",
    description: "label of the --command at the same position (repeat, one per --command)",
    scope: "profile",
    repeatable: true,
  },
  {
    long: "export-markdown",
    value: "file",
    description: "also write the results (and comparisons) as Markdown tables to this file",
    scope: "profile",
    complete: "file",
  },
  {
    long: "rapl-polling",
    value: "seconds",
    description: "seconds between powercap counter reads that catch wraps (default: derived from " +
      "max_energy_range_uj; 0 turns polling off)",
    parse: (p) => p.nonNegativeSeconds("--rapl-polling", 3600),
    scope: "profile",
  },
  {
    long: "sample-interval",
    value: "ms",
    description:
      "sample power (RAPL, NVML) and the program's CPU and RSS every <ms> milliseconds " +
      "(≥ 1; default off, or 10 with --timeline/--samples-csv); samples go to the JSON",
    parse: (p) => p.sampleInterval,
    scope: "profile",
  },
  {
    long: "max-phases",
    value: "n",
    description: "measure at most n phases per run; later tokens pass through unmeasured, with a " +
      `warning (default ${groupDigits(DEFAULT_MAX_PHASES)}, fewer with many sensors, ` +
      "so memory stays under 300 MB)",
    parse: (p) => p.maxPhases,
    scope: "profile",
  },
  {
    long: "max-samples",
    value: "n",
    description: "keep at most n samples of each sampled series per run (≥ 2): past it every " +
      "other one is dropped, again each time, so memory stays bounded; rates stay exact " +
      `averages over the longer intervals (default ${groupDigits(DEFAULT_MAX_SAMPLES)}, ` +
      "17 min at 10 ms)",
    parse: (p) => p.maxSamples,
    scope: "profile",
  },
  {
    long: "timeline",
    value: "file",
    description: "write the power timeline: .html (interactive page, every run) or .svg (run 1)",
    parse: (p) => p.timelineFile,
    scope: "profile",
    complete: "file",
  },
  {
    long: "samples-csv",
    value: "file",
    description: "write every sample as ';'-separated CSV (run;time_ms;series;value;unit;source)",
    scope: "profile",
    complete: "file",
  },
  {
    long: "profiler-cpus",
    value: "cpus",
    description:
      "run the profiler's threads on these CPUs (e.g. 3 or 2-3) and the program on the " +
      "others it may use, so that handling a token never preempts the program (tokens are " +
      "then measured later on some machines; see README)",
    parse: (p) => p.profilerCpus,
    scope: "profile",
  },
  {
    long: "no-phase-channel",
    description:
      "do not offer the phase channel (JOULE_PROFILER_PHASE_FD / JOULE_PROFILER_PHASE_FIFO)",
    scope: "profile",
  },
  {
    long: "no-stdout-tokens",
    description: "never read the program's stdout: it writes straight to the terminal (or " +
      "--stdout-file, or nowhere for repeated runs) at full speed; phases come from the phase " +
      "channel alone, END is the program's exit",
    scope: "profile",
    conflicts: ["token-pattern"],
  },
  {
    long: "node-leader",
    value: "rank",
    description: "under srun/mpirun/mpiexec: the local rank that reads each node's machine-wide " +
      "sources (RAPL, GPUs), so no node is counted twice (default 0)",
    parse: (p) => p.nonNegativeInteger("--node-leader"),
    scope: "profile",
  },
  {
    long: "use-root",
    description:
      "under sudo, run the program as root (by default it runs as the user who invoked sudo)",
    scope: "profile",
  },
  {
    long: "line-buffered",
    description: "run the program with line-buffered stdout where the platform allows " +
      "(PYTHONUNBUFFERED=1, coreutils' stdbuf preload), so tokens arrive when printed",
    scope: "profile",
  },
  {
    long: "all-phases",
    description: `list every phase in the terminal (default: past ${PHASE_LIST_LIMIT} phases ` +
      "a run is summarised per phase name)",
    scope: "profile",
  },
  {
    long: "show-output",
    description:
      "echo the program's stdout on repeated runs too (by default only a single run's is echoed)",
    scope: "profile",
    conflicts: ["quiet-output"],
  },
  {
    long: "quiet-output",
    description: "never echo the program's stdout (it is still scanned for tokens)",
    scope: "profile",
    conflicts: ["show-output"],
  },
  {
    long: "quiet",
    short: "q",
    description: "no progress bar (shown on a terminal's stderr for -n, --min-time, --warmup, " +
      "--idle and several --command)",
    scope: "profile",
  },
  {
    long: "carbon-intensity",
    value: "g-per-kwh",
    description: "add grams of CO2e per phase: energy × this grid intensity (gCO2e/kWh; default " +
      "$JOULE_PROFILER_CARBON_INTENSITY), keeping each energy's method label",
    parse: (p) => (value) => p.parseCarbonIntensity(value, "--carbon-intensity"),
    scope: "profile",
  },
  {
    long: "pue",
    value: "factor",
    description:
      "power usage effectiveness of the facility (≥ 1) multiplied into the carbon figures",
    parse: (p) => p.parsePue,
    scope: "profile",
  },
  {
    long: "openmetrics",
    value: "file",
    description: "also write the results as OpenMetrics text (for node_exporter's textfile " +
      "collector), atomically",
    scope: "profile",
    complete: "file",
  },
  {
    long: "pushgateway",
    value: "url",
    description:
      "push the metrics to this Prometheus Pushgateway (http(s)://host:port); a failed " +
      "push only warns",
    parse: (p) => p.parsePushgatewayUrl,
    scope: "profile",
  },
  {
    long: "job",
    value: "name",
    description:
      "Pushgateway job name (default: the program's name); grouped by instance=<hostname>",
    scope: "profile",
  },
  {
    long: "energy-model",
    value: "file",
    description: "also estimate each phase's energy with this model (from 'model fit' or " +
      "'model train'), labelled estimated, ± its cross-validated error",
    scope: "profile",
    complete: "file",
  },
  {
    long: "tdp",
    value: "watts",
    description: "also estimate the CPU's energy from the program's CPU time and this thermal " +
      "design power (all sockets), labelled estimated",
    parse: (p) => p.parseTdp,
    scope: "profile",
  },

  // profile: parameter scans, failures, source start-up (hyperfine's -P, -L, -D, -i).
  {
    long: "parameter-scan",
    value: "var min max",
    description: "profile the command once per value MIN, MIN+step, … ≤ MAX of VAR, replacing " +
      "{VAR} in the command(s) (repeat for several parameters: every combination)",
    arity: 3,
    parseValues: (p) => p.parseParameterRange,
    scope: "profile",
    repeatable: true,
  },
  {
    long: "parameter-step-size",
    value: "n",
    description: "step of --parameter-scan (default 1)",
    parse: (p) => p.parseStepSize,
    scope: "profile",
  },
  {
    long: "parameter-list",
    value: "var values",
    description: "profile the command once per comma-separated value of VAR, replacing {VAR} " +
      "(repeatable; combines with --parameter-scan)",
    arity: 2,
    parseValues: (p) => p.parseParameterList,
    scope: "profile",
    repeatable: true,
  },
  {
    long: "ignore-failure",
    description: "keep runs that exit with a status other than 0 (their codes are in the " +
      "results) and exit 0; without it, a failing run stops a profile of several commands",
    scope: "profile",
  },
  {
    long: "init-timeout",
    value: "seconds",
    description: "refuse a run when a source takes longer than this to initialise (the error " +
      "names it; default: wait)",
    parse: (p) => p.positiveSeconds("--init-timeout"),
    scope: "profile",
  },
  // profile: attach (-p), system-wide (-a) and live intervals (-I), as perf stat has them.
  {
    long: "pid",
    short: "p",
    value: "pids",
    description: "attach to these running processes (e.g. 1234 or 1234,5678) instead of " +
      "running a command, and measure until they all exit or Ctrl-C (perf stat -p)",
    parse: (p) => p.parsePidList,
    conflicts: ["system-wide", "command"],
    scope: "profile",
  },
  {
    long: "system-wide",
    short: "a",
    description: "measure the whole machine with no program, for --duration or until Ctrl-C; " +
      "phases from the phase channel FIFO printed at start (perf stat -a)",
    conflicts: ["pid", "command"],
    scope: "profile",
  },
  {
    long: "duration",
    value: "seconds",
    description: "with -a or -p: stop measuring after this many seconds",
    parse: (p) => p.durationSeconds,
    scope: "profile",
  },
  {
    long: "interval-print",
    short: "I",
    value: "ms",
    description: `print each interval's energy per domain, average power and counters every ` +
      `<ms> milliseconds while measuring (≥ ${MIN_LIVE_INTERVAL_MS}; perf stat -I); to stderr, ` +
      "as JSON lines with --json, CSV rows with --csv",
    parse: (p) => p.liveInterval,
    scope: "profile",
  },
  {
    long: "interval-file",
    value: "file",
    description: "write the -I intervals to this file instead of stderr",
    scope: "profile",
    complete: "file",
  },

  // compare
  {
    long: "alpha",
    value: "level",
    description: "significance level of the test",
    parse: (p) => p.significanceLevel,
    default: 0.05,
    scope: "compare",
  },
  {
    long: "export-markdown",
    value: "file",
    description: "also write the comparison as Markdown tables",
    scope: "compare",
    complete: "file",
  },
  {
    long: "fail-above",
    value: "pct",
    description: "energy gate: exit with status 3 when B is worse than A by more than pct % and " +
      "the difference is significant at --alpha (a single run: the ratio alone)",
    parse: (p) => p.parseFailAbove,
    scope: "compare",
  },
  {
    long: "metric",
    value: "name",
    description: "what --fail-above checks: energy (the headline energies, default), duration, " +
      "or a metric name from the files (e.g. PACKAGE-0, TOTAL_CO2E)",
    scope: "compare",
  },
  {
    long: "phase",
    value: "name",
    description: "check only this phase (its name, e.g. '__A__ -> __B__', or 0-based index) " +
      "with --fail-above",
    scope: "compare",
  },

  // merge
  {
    long: "allow-missing",
    description: "merge although ranks or a node leader's file are missing (such nodes are " +
      "listed as unmeasured)",
    scope: "merge",
  },
  {
    long: "force",
    description: "merge files of different jobs (each job's nodes stay apart)",
    scope: "merge",
  },
  {
    long: "nodes-csv",
    value: "file",
    description: "write the per-node breakdown as ';'-separated CSV to FILE ('-': stdout, when " +
      "the job result goes to a file); -o JOB.csv writes it beside, as JOB.nodes.csv",
    scope: "merge",
    complete: "file",
  },
  {
    long: "timeline",
    value: "file",
    description: "write the job's sampled series as a timeline: .html (interactive page, every " +
      "run) or .svg (run 1); the tasks must have been profiled with --sample-interval",
    parse: (p) => p.timelineFile,
    scope: "merge",
    complete: "file",
  },
  {
    long: "samples-csv",
    value: "file",
    description: "write the job's sampled series as ';'-separated CSV " +
      "(run;time_ms;series;value;unit;source)",
    scope: "merge",
    complete: "file",
  },

  // model (the model file is the global -o: `model fit a.json -o model.json`)
  {
    long: "features",
    value: "list",
    description: "fit on these metrics (NAME or source/NAME, comma-separated; DURATION always " +
      "included) instead of choosing among the process, system and perf metrics",
    parse: (p) => p.parseFeatureList,
    scope: "model",
  },
  {
    long: "folds",
    value: "k",
    description: "folds of the cross-validation",
    parse: (p) => p.parseFolds,
    default: DEFAULT_FOLDS,
    scope: "model",
  },
  {
    long: "seconds",
    value: "seconds",
    description: "train: length of each long calibration stage (short ones last half; default 2)",
    parse: (p) => p.parseStageSeconds,
    scope: "model",
  },
  {
    long: "rounds",
    value: "n",
    description: "train: how many times the calibration workloads run (default 2)",
    parse: (p) => p.parseRounds,
    scope: "model",
  },
];

/** The help flag every command has; listed last in each help (declared in builtin_options.ts). */
export { HELP_OPTION };

/**
 * The key a flag's value is stored under: camelCase of its long name,
 * without the `no-` of a negated switch (`--no-phase-channel` → `phaseChannel`).
 *
 * @param option The flag.
 * @returns The key.
 *
 * @example Usage
 * ```ts
 * import { OPTIONS, optionKey } from "./option_table.ts";
 * console.log(optionKey(OPTIONS.find((o) => o.long === "output-file")!)); // "outputFile"
 * ```
 */
export function optionKey(option: OptionSpec): string {
  const name = isNegated(option) ? option.long.slice(3) : option.long;
  return name.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

/**
 * Whether the flag is a negated switch (`--no-…`): it stores `false`, and
 * `true` when absent.
 *
 * @param option The flag.
 * @returns `true` for `--no-…` switches.
 *
 * @example Usage
 * ```ts
 * import { HELP_OPTION, isNegated } from "./option_table.ts";
 * console.log(isNegated(HELP_OPTION)); // false
 * ```
 */
export function isNegated(option: OptionSpec): boolean {
  return option.value === undefined && option.long.startsWith("no-");
}

/**
 * The flags of a scope, in help order.
 *
 * @param scope `global` or a command.
 * @returns Its flags (without `--help`).
 *
 * @example Usage
 * ```ts
 * import { optionsOf } from "./option_table.ts";
 * console.log(optionsOf("compare").map((o) => o.long)); // ["alpha", "export-markdown"]
 * ```
 */
export function optionsOf(scope: OptionScope): OptionSpec[] {
  return OPTIONS.filter((option) => option.scope === scope);
}

/**
 * The command of that name, if any.
 *
 * @param name What the user typed.
 * @returns The command, or `undefined`.
 *
 * @example Usage
 * ```ts
 * import { commandNamed } from "./option_table.ts";
 * console.log(commandNamed("doctor")?.name); // "doctor"
 * ```
 */
export function commandNamed(name: string): CommandSpec | undefined {
  return COMMANDS.find((command) => command.name === name);
}
