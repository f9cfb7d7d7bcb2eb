/**
 * Pushes metrics text to a Prometheus Pushgateway (`PUT /metrics/job/<job>`,
 * which replaces the group's previous metrics).
 *
 * @module
 */

/** Where a push goes. */
export interface PushTarget {
  /** Base URL of the Pushgateway (see {@linkcode parsePushgatewayUrl}). */
  url: string;
  /** Job name (the grouping key's `job`). */
  job: string;
  /** More grouping labels, e.g. `{ instance: "node1" }`. */
  grouping?: Record<string, string>;
  /** Give up after this many milliseconds (default 10,000). */
  timeoutMs?: number;
}

/** Encodes one grouping-key pair as a path segment; `@base64` where the value needs it. */
function groupingSegment(label: string, value: string): string {
  if (/^[A-Za-z0-9_.:-]+$/.test(value)) return `${label}/${value}`;
  const bytes = new TextEncoder().encode(value);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  // The Pushgateway takes base64url for values with '/' or other characters a path cannot hold.
  const encoded = btoa(binary).replace(/\+/g, "-").replace(/\//g, "_");
  return `${label}@base64/${encoded === "" ? "=" : encoded}`;
}

/**
 * The URL a push goes to: `<url>/metrics/job/<job>[/<label>/<value>...]`.
 *
 * @param target Where to push.
 * @returns The full URL.
 *
 * @example Usage
 * ```ts
 * import { pushUrl } from "./pushgateway.ts";
 * console.log(pushUrl({ url: "http://127.0.0.1:9091", job: "bench", grouping: { instance: "n1" } }));
 * // http://127.0.0.1:9091/metrics/job/bench/instance/n1
 * ```
 */
export function pushUrl(target: PushTarget): string {
  const segments = [groupingSegment("job", target.job)];
  for (const [label, value] of Object.entries(target.grouping ?? {})) {
    segments.push(groupingSegment(label, value));
  }
  return `${target.url}/metrics/${segments.join("/")}`;
}

/** A push the Pushgateway did not accept, or that could not reach it. */
export class PushError extends Error {
  /**
   * Creates the error.
   *
   * @param message What went wrong.
   * @param options The underlying error.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PushError";
  }
}

/**
 * PUTs metrics text (Prometheus text format 0.0.4) to a Pushgateway.
 *
 * @param target Where to push.
 * @param text The metrics (see `openMetricsText(result, { openMetrics: false })`).
 * @throws {PushError} When the request fails or the answer is not 2xx.
 *
 * @example Usage
 * ```ts ignore
 * import { pushMetrics } from "./pushgateway.ts";
 * await pushMetrics({ url: "http://127.0.0.1:9091", job: "bench" }, "x 1\n");
 * ```
 */
export async function pushMetrics(target: PushTarget, text: string): Promise<void> {
  const url = pushUrl(target);
  let response: Response;
  try {
    response = await fetch(url, {
      method: "PUT",
      headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
      body: text,
      signal: AbortSignal.timeout(target.timeoutMs ?? 10_000),
    });
  } catch (error) {
    const reason = error instanceof DOMException && error.name === "TimeoutError"
      ? `no answer within ${(target.timeoutMs ?? 10_000) / 1000} s`
      : (error as Error).message;
    throw new PushError(`cannot push to ${url}: ${reason}`, { cause: error });
  }
  const body = (await response.text()).trim();
  if (!response.ok) {
    throw new PushError(
      `the Pushgateway at ${url} refused the metrics: HTTP ${response.status}` +
        (body ? ` (${body.slice(0, 300)})` : ""),
    );
  }
}
