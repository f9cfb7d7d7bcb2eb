/**
 * The timeline as a self-contained HTML page: each run's SVG chart (see
 * `timeline_svg.ts`), a run selector when there are several, values under
 * the mouse, and the phase table. Everything is inline (no network at view
 * time).
 *
 * @module
 */

import type { ProfileResult, RunResult } from "../result.ts";
import { escapeXml, seriesKey, timelineLayout, timelineSvg } from "./timeline_svg.ts";

/** The phase table lists at most this many phases (the JSON has them all). */
const MAX_TABLE_ROWS = 2000;

const STYLE = `
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; margin: 0 0 .3em; }
.meta { color: #555; margin: 0 0 1em; }
.chart { position: relative; overflow-x: auto; }
.chart svg { max-width: 100%; height: auto; }
#tip { position: fixed; pointer-events: none; background: #fff; border: 1px solid #888;
  padding: 4px 8px; font-size: 12px; box-shadow: 0 1px 4px rgba(0,0,0,.2); white-space: pre; }
table { border-collapse: collapse; margin-top: 1em; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th:nth-child(2), td:nth-child(2) { text-align: left; }
thead th { background: #f3f3f3; }
`;

/** Page script: the run selector and the values under the mouse. */
const SCRIPT = `
"use strict";
(() => {
  const data = JSON.parse(document.getElementById("timeline-data").textContent);
  const tip = document.getElementById("tip");
  const select = document.getElementById("run");
  if (select) {
    select.addEventListener("change", () => {
      for (const section of document.querySelectorAll("section.run")) {
        section.hidden = section.dataset.run !== select.value;
      }
    });
  }
  const nearest = (times, t) => {
    let low = 0, high = times.length - 1;
    if (high < 0) return -1;
    while (high - low > 1) {
      const middle = (low + high) >> 1;
      if (times[middle] <= t) low = middle; else high = middle;
    }
    return Math.abs(times[high] - t) < Math.abs(times[low] - t) ? high : low;
  };
  const format = (value) => Math.abs(value) >= 100 ? value.toFixed(1) : value.toPrecision(3);
  for (const section of document.querySelectorAll("section.run")) {
    const run = data.runs[Number(section.dataset.run)];
    const svg = section.querySelector("svg");
    const cursor = svg.querySelector(".cursor");
    const point = svg.createSVGPoint();
    svg.addEventListener("mousemove", (event) => {
      point.x = event.clientX;
      point.y = event.clientY;
      const local = point.matrixTransform(svg.getScreenCTM().inverse());
      const fraction = (local.x - run.left) / run.width;
      if (fraction < 0 || fraction > 1) {
        tip.hidden = true;
        cursor.setAttribute("visibility", "hidden");
        return;
      }
      const t = fraction * run.durationMs;
      const phase = run.phases.find((p) => t >= p.start && t <= p.end);
      const lines = [(phase ? phase.name + "\\n" : "") + "t = " + t.toFixed(1) + " ms"];
      for (const series of run.series) {
        const i = nearest(series.t, t);
        if (i >= 0) lines.push(series.name + ": " + format(series.v[i]) + " " + series.unit);
      }
      tip.textContent = lines.join("\\n");
      tip.style.left = (event.clientX + 14) + "px";
      tip.style.top = (event.clientY + 14) + "px";
      tip.hidden = false;
      cursor.setAttribute("x1", local.x);
      cursor.setAttribute("x2", local.x);
      cursor.setAttribute("visibility", "visible");
    });
    svg.addEventListener("mouseleave", () => {
      tip.hidden = true;
      cursor.setAttribute("visibility", "hidden");
    });
  }
})();
`;

/** A number rounded to 3 decimals. */
function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/** What the page script needs of a run: geometry, phases, and the series in ms. */
function runData(run: RunResult): Record<string, unknown> {
  const layout = timelineLayout(run);
  const origin = Number(run.startNs);
  return {
    left: layout.left,
    width: layout.width,
    durationMs: layout.durationMs,
    phases: run.phases.map((phase) => ({
      name: phase.name,
      start: Number(phase.startNs - run.startNs) / 1e6,
      end: Number(phase.endNs - run.startNs) / 1e6,
    })),
    series: (run.samples ?? []).map((series) => ({
      key: seriesKey(series),
      name: series.name,
      unit: series.unit,
      t: Array.from(series.timesNs, (ns) => round3((ns - origin) / 1e6)),
      v: Array.from(series.values, (value) => Math.round(value * 1e4) / 1e4),
    })),
  };
}

/** The phase table: time, duration and every metric of each phase. */
function phaseTable(run: RunResult): string {
  const columns = new Map<string, string>();
  for (const phase of run.phases.slice(0, MAX_TABLE_ROWS)) {
    for (const metric of phase.metrics) {
      const key = `${metric.source}/${metric.name}`;
      if (!columns.has(key)) columns.set(key, `${metric.name} (${metric.unit})`);
    }
  }
  const keys = [...columns.keys()];
  const rows: string[] = [];
  rows.push(
    `<table class="phases"><thead><tr><th>#</th><th>phase</th><th>start (ms)</th>` +
      `<th>duration (ms)</th>` +
      keys.map((key) =>
        `<th title="${escapeXml(key.slice(0, key.lastIndexOf("/")))}">${
          escapeXml(columns.get(key)!)
        }</th>`
      ).join("") +
      `</tr></thead><tbody>`,
  );
  for (const phase of run.phases.slice(0, MAX_TABLE_ROWS)) {
    const values = new Map(phase.metrics.map((m) => [`${m.source}/${m.name}`, m.value]));
    rows.push(
      `<tr><td>${phase.index}</td><td>${escapeXml(phase.name)}</td>` +
        `<td>${round3(Number(phase.startNs - run.startNs) / 1e6)}</td>` +
        `<td>${round3(phase.durationMs)}</td>` +
        keys.map((key) => `<td>${values.has(key) ? round3(values.get(key)!) : ""}</td>`).join(
          "",
        ) +
        `</tr>`,
    );
  }
  rows.push(`</tbody></table>`);
  if (run.phases.length > MAX_TABLE_ROWS) {
    rows.push(
      `<p class="meta">${
        run.phases.length - MAX_TABLE_ROWS
      } more phases are in the JSON output.</p>`,
    );
  }
  return rows.join("\n");
}

/** How far the run's series were thinned (`--max-samples`), when any was. */
function thinning(run: RunResult): string {
  const every = Math.max(1, ...(run.samples ?? []).map((series) => series.every ?? 1));
  return every === 1
    ? ""
    : `; past --max-samples, as few as 1 sample in ${every} kept (rates average over the ` +
      `longer intervals)`;
}

/**
 * The timeline page of a profile: one section per run (the first shown, a
 * selector for the others), each with its chart and phase table.
 *
 * @param result The profile result (its runs' `samples` are plotted).
 * @returns A complete HTML document.
 *
 * @example Usage
 * ```ts
 * import { timelineHtml } from "./timeline_html.ts";
 * const html = timelineHtml({
 *   command: ["true"], tokenPattern: "__X__", exitCode: 0, durationMs: 0,
 *   interrupted: false, runs: [],
 * });
 * console.log(html.startsWith("<!DOCTYPE html>")); // true
 * ```
 */
export function timelineHtml(result: ProfileResult): string {
  const command = result.command.join(" ");
  // Without an energy source there is no power series: the title says what is shown instead.
  const hasPower = result.runs.some((run) => run.samples?.some((series) => series.unit === "W"));
  const heading = hasPower ? "Power timeline" : "Timeline of phases, CPU and memory";
  const parts: string[] = [
    "<!DOCTYPE html>",
    `<html lang="en"><head><meta charset="utf-8">`,
    `<meta name="viewport" content="width=device-width, initial-scale=1">`,
    `<title>${heading}: ${escapeXml(command)}</title>`,
    `<style>${STYLE}</style></head><body>`,
    `<h1>${heading}</h1>`,
    `<p class="meta"><code>${escapeXml(command)}</code> — ${result.runs.length} run(s), ` +
    `token pattern <code>${escapeXml(result.tokenPattern)}</code>. Hover the chart for values; ` +
    (hasPower
      ? `power is the average over each sampling interval.</p>`
      : `no power was recorded (no energy source was sampled; 'joule-profiler doctor' says ` +
        `why), so the chart shows the phases and the program's CPU and memory.</p>`),
  ];
  if (result.runs.length > 1) {
    parts.push(
      `<p><label>Run <select id="run">` +
        result.runs.map((run) =>
          `<option value="${run.index}">${run.index + 1} (${round3(run.durationMs)} ms)</option>`
        ).join("") +
        `</select></label></p>`,
    );
  }
  result.runs.forEach((run, position) => {
    const sampling = run.sampling === undefined
      ? "not sampled"
      : `sampled every ${run.sampling.intervalMs} ms (${run.sampling.ticks} samples, ` +
        `${run.sampling.missed} deadlines missed)${thinning(run)}`;
    parts.push(
      `<section class="run" data-run="${run.index}"${position === 0 ? "" : " hidden"}>`,
      `<p class="meta">Run ${run.index + 1}: ${round3(run.durationMs)} ms, exit code ` +
        `${run.exitCode}, ${sampling}.</p>`,
      `<div class="chart">${
        timelineSvg(run, { title: `run ${run.index + 1}`, id: `chart-${run.index}` })
      }</div>`,
      phaseTable(run),
      `</section>`,
    );
  });
  const data = JSON.stringify({ runs: result.runs.map(runData) }).replaceAll("<", "\\u003c");
  parts.push(
    `<div id="tip" hidden></div>`,
    `<script type="application/json" id="timeline-data">${data}</script>`,
    `<script>${SCRIPT}</script>`,
    `</body></html>`,
    "",
  );
  return parts.join("\n");
}
