/**
 * Real Prometheus components for the export tests: Debian's Pushgateway on
 * 127.0.0.1 and the Python prometheus_client OpenMetrics parser
 * (python3-prometheus-client, for Debian's /usr/bin/python3). `.ci/run`
 * installs both; under CI a missing one fails the test with the reason.
 *
 * @module
 */

/** Debian's Python, which python3-prometheus-client installs for. */
const SYSTEM_PYTHON = "/usr/bin/python3";

/**
 * Parses OpenMetrics text with prometheus_client's strict parser.
 *
 * @param text The exposition.
 * @returns Each sample as `{ name, labels, value }`, or throws with the parser's message.
 */
export async function parseOpenMetrics(
  text: string,
): Promise<{ name: string; labels: Record<string, string>; value: number }[]> {
  const script = [
    "import sys, json",
    "from prometheus_client.openmetrics.parser import text_string_to_metric_families",
    "out = []",
    "for family in text_string_to_metric_families(sys.stdin.read()):",
    "    for s in family.samples:",
    "        out.append({'name': s.name, 'labels': s.labels, 'value': s.value, 'type': family.type})",
    "print(json.dumps(out))",
  ].join("\n");
  const child = new Deno.Command(SYSTEM_PYTHON, {
    args: ["-c", script],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const output = await child.output();
  if (!output.success) {
    throw new Error(`OpenMetrics parser: ${new TextDecoder().decode(output.stderr).trim()}`);
  }
  return JSON.parse(new TextDecoder().decode(output.stdout));
}

/** A Pushgateway started for one test. */
export interface RunningPushgateway {
  /** Its base URL. */
  url: string;
  /** Stops it and removes its folder. */
  stop(): Promise<void>;
}

/**
 * Starts Debian's prometheus-pushgateway on a free 127.0.0.1 port.
 *
 * @returns The running gateway.
 */
export async function startPushgateway(): Promise<RunningPushgateway> {
  const binary = "/usr/bin/prometheus-pushgateway";
  try {
    Deno.statSync(binary);
  } catch {
    throw new Error(
      `${binary} is missing: apt-get install prometheus-pushgateway (.ci/run installs it)`,
    );
  }
  // Ask the kernel for a free port, then hand it to the gateway.
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const child = new Deno.Command(binary, {
    args: [`--web.listen-address=127.0.0.1:${port}`, "--log.level=warn"],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const response = await fetch(`${url}/-/ready`);
      await response.body?.cancel();
      if (response.ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      const { stderr } = await child.output();
      throw new Error(`the Pushgateway did not start: ${new TextDecoder().decode(stderr)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url,
    async stop() {
      child.kill("SIGTERM");
      await child.output();
    },
  };
}
