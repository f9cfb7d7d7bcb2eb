/**
 * Drives a headless Chromium through the DevTools protocol (over Deno's
 * own WebSocket), for tests of the HTML timeline: load a page, collect
 * console errors and uncaught exceptions, evaluate expressions, move the
 * mouse.
 *
 * @module
 */

/** Where Chromium is: `$CHROMIUM_PATH`, else the Debian package's binaries. */
export function findChromium(): string | undefined {
  const candidates = [
    Deno.env.get("CHROMIUM_PATH"),
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
  ];
  for (const candidate of candidates) {
    if (candidate === undefined) continue;
    try {
      if (Deno.statSync(candidate).isFile) return candidate;
    } catch {
      // Not there.
    }
  }
  return undefined;
}

interface Pending {
  resolve: (value: Record<string, unknown>) => void;
  reject: (error: Error) => void;
}

/** A page in a headless Chromium. */
export class HeadlessPage {
  /** Console errors, uncaught exceptions and error log entries seen so far. */
  readonly errors: string[] = [];
  readonly #browser: Deno.ChildProcess;
  readonly #profile: string;
  readonly #socket: WebSocket;
  readonly #pending = new Map<number, Pending>();
  readonly #listeners = new Map<string, (() => void)[]>();
  #id = 0;

  private constructor(browser: Deno.ChildProcess, profile: string, socket: WebSocket) {
    this.#browser = browser;
    this.#profile = profile;
    this.#socket = socket;
    socket.onmessage = (event) => this.#receive(JSON.parse(event.data as string));
  }

  /**
   * Starts Chromium and connects to its first page.
   *
   * @param chromium Path of the browser.
   * @returns The page, with Runtime, Log and Page events enabled.
   */
  static async launch(chromium: string): Promise<HeadlessPage> {
    const profile = await Deno.makeTempDir({ prefix: "jp-chromium-" });
    const browser = new Deno.Command(chromium, {
      args: [
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        "--no-first-run",
        "--disable-extensions",
        "--remote-debugging-port=0",
        `--user-data-dir=${profile}`,
        "about:blank",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    try {
      const port = await devToolsPort(browser.stderr, 30_000);
      const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as {
        type: string;
        webSocketDebuggerUrl: string;
      }[];
      const target = targets.find((entry) => entry.type === "page");
      if (target === undefined) throw new Error("Chromium opened no page");
      const socket = new WebSocket(target.webSocketDebuggerUrl);
      await new Promise<void>((resolve, reject) => {
        socket.onopen = () => resolve();
        socket.onerror = () => reject(new Error("cannot connect to Chromium's DevTools"));
      });
      const page = new HeadlessPage(browser, profile, socket);
      await page.send("Runtime.enable");
      await page.send("Log.enable");
      await page.send("Page.enable");
      return page;
    } catch (error) {
      browser.kill("SIGKILL");
      await browser.status;
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      throw error;
    }
  }

  /**
   * Sends a DevTools command and waits for its result.
   *
   * @param method E.g. `Page.navigate`.
   * @param params Its parameters.
   * @returns The result object.
   */
  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = ++this.#id;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /**
   * Loads a URL and waits for its load event.
   *
   * @param url E.g. a `file://` URL.
   */
  async navigate(url: string): Promise<void> {
    const loaded = new Promise<void>((resolve) => this.#once("Page.loadEventFired", resolve));
    await this.send("Page.navigate", { url });
    await loaded;
  }

  /**
   * Evaluates an expression in the page.
   *
   * @param expression JavaScript.
   * @returns Its value (by value).
   */
  async evaluate<T>(expression: string): Promise<T> {
    const reply = await this.send("Runtime.evaluate", { expression, returnByValue: true });
    if (reply.exceptionDetails !== undefined) {
      throw new Error(`evaluation failed: ${JSON.stringify(reply.exceptionDetails)}`);
    }
    return (reply.result as { value: T }).value;
  }

  /**
   * Moves the mouse like a user would.
   *
   * @param x Viewport x.
   * @param y Viewport y.
   */
  async moveMouse(x: number, y: number): Promise<void> {
    await this.send("Input.dispatchMouseEvent", { type: "mouseMoved", x, y });
  }

  /** Closes the browser and removes its profile folder. */
  async close(): Promise<void> {
    try {
      this.#socket.close();
    } catch {
      // Already closed.
    }
    try {
      this.#browser.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    await this.#browser.stderr.cancel().catch(() => {});
    await this.#browser.status;
    await Deno.remove(this.#profile, { recursive: true }).catch(() => {});
  }

  #once(method: string, listener: () => void): void {
    const list = this.#listeners.get(method) ?? [];
    list.push(listener);
    this.#listeners.set(method, list);
  }

  #receive(message: Record<string, unknown>): void {
    if (typeof message.id === "number") {
      const pending = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      if (message.error !== undefined) {
        pending?.reject(new Error(JSON.stringify(message.error)));
      } else pending?.resolve((message.result ?? {}) as Record<string, unknown>);
      return;
    }
    const method = message.method as string;
    const params = message.params as Record<string, unknown>;
    if (method === "Runtime.consoleAPICalled" && params.type === "error") {
      this.errors.push(`console.error: ${JSON.stringify(params.args)}`);
    } else if (method === "Runtime.exceptionThrown") {
      this.errors.push(`exception: ${JSON.stringify(params.exceptionDetails)}`);
    } else if (method === "Log.entryAdded") {
      const entry = params.entry as { level: string; text: string; url?: string };
      if (entry.level === "error") this.errors.push(`log: ${entry.text} ${entry.url ?? ""}`);
    }
    const listeners = this.#listeners.get(method);
    if (listeners !== undefined) {
      this.#listeners.delete(method);
      for (const listener of listeners) listener();
    }
  }
}

/** Reads Chromium's stderr until it prints its DevTools port. */
async function devToolsPort(
  stderr: ReadableStream<Uint8Array>,
  timeoutMs: number,
): Promise<number> {
  const reader = stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const timer = setTimeout(() => reader.cancel(), timeoutMs);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
      const match = /DevTools listening on ws:\/\/[^:]+:(\d+)\//.exec(text);
      if (match) {
        // Keep draining stderr so the browser never blocks on a full pipe.
        (async () => {
          while (!(await reader.read().catch(() => ({ done: true }))).done) { /* drain */ }
        })();
        return Number(match[1]);
      }
    }
  } finally {
    clearTimeout(timer);
  }
  throw new Error(`Chromium did not report its DevTools port: ${text.slice(-500)}`);
}
