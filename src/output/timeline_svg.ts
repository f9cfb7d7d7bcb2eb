/**
 * The timeline chart of one run as SVG: one panel per unit (power in W,
 * CPU in %, RSS in MiB), every sampled series as a line, phases shaded and
 * named behind all panels.
 *
 * Each phase's shading carries `data-phase` (its index) and each series'
 * line `data-series` (`source/name`), so a page or a test can find them.
 *
 * @module
 */

import type { RunResult } from "../result.ts";
import type { SampleSeries } from "../source.ts";

/** Chart geometry, in SVG user units. */
const WIDTH = 1000;
const LEFT = 70;
const RIGHT = 170;
const TOP = 34;
const PANEL_HEIGHT = 170;
const PANEL_GAP = 26;
const BOTTOM = 34;
/** Units shown first, in this order; other units follow in order of appearance. */
const UNIT_ORDER = ["W", "%", "MiB"];
/** Line colours (colour-blind friendly, after Okabe and Ito). */
const PALETTE = [
  "#0072b2",
  "#d55e00",
  "#009e73",
  "#cc79a7",
  "#e69f00",
  "#56b4e9",
  "#000000",
  "#f0e442",
];

const XML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Where a run's chart puts things, for the page's hover code. */
export interface TimelineLayout {
  /** Left edge of the plot area. */
  left: number;
  /** Width of the plot area. */
  width: number;
  /** Milliseconds since START at the plot's right edge. */
  durationMs: number;
  /** Height of the whole chart. */
  height: number;
}

/** A series grouped into its panel. */
interface Panel {
  unit: string;
  series: { series: SampleSeries; index: number }[];
  max: number;
}

/**
 * Escapes text for XML content and attribute values.
 *
 * @param text Any text.
 * @returns The text with `& < > " '` escaped.
 *
 * @example Usage
 * ```ts
 * import { escapeXml } from "./timeline_svg.ts";
 * console.log(escapeXml("a<b & 'c'")); // "a&lt;b &amp; &#39;c&#39;"
 * ```
 */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!);
}

/**
 * A round step for about `count` ticks over `range`: 1, 2 or 5 × 10ⁿ.
 *
 * @param range The span to divide.
 * @param count Roughly how many ticks.
 * @returns The step.
 *
 * @example Usage
 * ```ts
 * import { niceStep } from "./timeline_svg.ts";
 * console.log(niceStep(1000, 5)); // 200
 * ```
 */
export function niceStep(range: number, count: number): number {
  if (!(range > 0)) return 1;
  const raw = range / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * power;
}

/** A number with at most 3 decimals and no trailing zeros. */
function num(value: number): string {
  return String(Math.round(value * 1000) / 1000);
}

/** Short tick label for a value. */
function tickLabel(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e4) return value.toExponential(1);
  return String(Math.round(value * 1000) / 1000);
}

/**
 * The key a series is known by in the chart: `source/name`.
 *
 * @param series A series.
 * @returns `source/name`.
 *
 * @example Usage
 * ```ts
 * import { seriesKey } from "./timeline_svg.ts";
 * console.log(seriesKey({ source: "process", name: "CPU" })); // "process/CPU"
 * ```
 */
export function seriesKey(series: Pick<SampleSeries, "source" | "name">): string {
  return `${series.source}/${series.name}`;
}

function panelsOf(samples: readonly SampleSeries[]): Panel[] {
  const panels = new Map<string, Panel>();
  samples.forEach((series, index) => {
    let panel = panels.get(series.unit);
    if (panel === undefined) {
      panel = { unit: series.unit, series: [], max: 0 };
      panels.set(series.unit, panel);
    }
    panel.series.push({ series, index });
    for (const value of series.values) if (value > panel.max) panel.max = value;
  });
  const rank = (unit: string) => {
    const known = UNIT_ORDER.indexOf(unit);
    return known < 0 ? UNIT_ORDER.length : known;
  };
  return [...panels.values()].sort((a, b) => rank(a.unit) - rank(b.unit));
}

const PANEL_TITLES: Record<string, string> = { W: "Power (W)", "%": "CPU (%)", MiB: "RSS (MiB)" };

/**
 * The layout {@linkcode timelineSvg} uses for a run.
 *
 * @param run A run (with or without samples).
 * @returns Plot position, duration and height.
 *
 * @example Usage
 * ```ts
 * import { timelineLayout } from "./timeline_svg.ts";
 * // const layout = timelineLayout(result.runs[0]!);
 * ```
 */
export function timelineLayout(run: RunResult): TimelineLayout {
  const panels = Math.max(1, panelsOf(run.samples ?? []).length);
  return {
    left: LEFT,
    width: WIDTH - LEFT - RIGHT,
    durationMs: Math.max(run.durationMs, 1e-3),
    height: TOP + panels * (PANEL_HEIGHT + PANEL_GAP) - PANEL_GAP + BOTTOM,
  };
}

/**
 * Draws one run's timeline as a standalone SVG document.
 *
 * @param run The run; its `samples` are plotted (none: only the phases).
 * @param options `title` (default: none), `id` for the root element.
 * @returns SVG text.
 *
 * @example Usage
 * ```ts
 * import { timelineSvg } from "./timeline_svg.ts";
 * const svg = timelineSvg({
 *   index: 0, exitCode: 0, signal: null, interrupted: false,
 *   startNs: 0n, endNs: 10_000_000n, timestamp: 0, durationMs: 10, phases: [],
 *   samples: [],
 * });
 * console.log(svg.startsWith("<svg")); // true
 * ```
 */
export function timelineSvg(run: RunResult, options: { title?: string; id?: string } = {}): string {
  const layout = timelineLayout(run);
  const { left, width, durationMs, height } = layout;
  const origin = Number(run.startNs);
  const x = (ms: number) => left + Math.min(1, Math.max(0, ms / durationMs)) * width;
  const panels = panelsOf(run.samples ?? []);
  const plotBottom = height - BOTTOM;
  const out: string[] = [];
  const id = options.id === undefined ? "" : ` id="${escapeXml(options.id)}"`;
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg"${id} class="timeline" viewBox="0 0 ${WIDTH} ${height}" ` +
      `width="${WIDTH}" height="${height}" font-family="sans-serif" font-size="11">`,
  );
  if (options.title !== undefined) out.push(`<title>${escapeXml(options.title)}</title>`);
  out.push(`<rect x="0" y="0" width="${WIDTH}" height="${height}" fill="#ffffff"/>`);

  // Phases: shading behind every panel, named above them.
  out.push(`<g class="phases">`);
  for (const phase of run.phases) {
    const from = x(Number(phase.startNs - run.startNs) / 1e6);
    const to = x(Number(phase.endNs - run.startNs) / 1e6);
    const fill = phase.index % 2 === 0 ? "#e8eef7" : "#f6f1e4";
    const label = `${phase.name} (${num(phase.durationMs)} ms)`;
    out.push(
      `<rect data-phase="${phase.index}" class="phase" x="${num(from)}" y="${TOP - 14}" ` +
        `width="${num(Math.max(to - from, 0.5))}" height="${num(plotBottom - TOP + 14)}" ` +
        `fill="${fill}"><title>${escapeXml(label)}</title></rect>`,
    );
    if (to - from >= 40) {
      const chars = Math.floor((to - from - 6) / 6);
      const name = phase.name.length > chars ? `${phase.name.slice(0, chars - 1)}…` : phase.name;
      out.push(
        `<text x="${num(from + 3)}" y="${TOP - 4}" fill="#444">${escapeXml(name)}</text>`,
      );
    }
  }
  out.push(`</g>`);

  // Panels.
  panels.forEach((panel, p) => {
    const top = TOP + p * (PANEL_HEIGHT + PANEL_GAP);
    const bottom = top + PANEL_HEIGHT;
    const step = niceStep(panel.max || 1, 4);
    const yMax = Math.max(step, Math.ceil((panel.max || 1) / step) * step);
    const y = (value: number) => bottom - Math.min(1, Math.max(0, value / yMax)) * PANEL_HEIGHT;
    out.push(`<g class="panel" data-unit="${escapeXml(panel.unit)}">`);
    out.push(
      `<rect x="${left}" y="${top}" width="${width}" height="${PANEL_HEIGHT}" fill="none" ` +
        `stroke="#999"/>`,
    );
    for (let tick = 0; tick <= yMax + step / 2; tick += step) {
      const ty = num(y(tick));
      out.push(
        `<line x1="${left - 4}" x2="${left + width}" y1="${ty}" y2="${ty}" stroke="#ddd"/>` +
          `<text x="${left - 6}" y="${ty}" dy="4" text-anchor="end">${tickLabel(tick)}</text>`,
      );
    }
    const title = PANEL_TITLES[panel.unit] ?? panel.unit;
    out.push(
      `<text x="14" y="${num((top + bottom) / 2)}" text-anchor="middle" ` +
        `transform="rotate(-90 14 ${num((top + bottom) / 2)})">${escapeXml(title)}</text>`,
    );
    panel.series.forEach(({ series, index }, k) => {
      const colour = PALETTE[index % PALETTE.length]!;
      const points: string[] = [];
      for (let i = 0; i < series.timesNs.length; i++) {
        const ms = (series.timesNs[i]! - origin) / 1e6;
        points.push(`${num(x(ms))},${num(y(series.values[i]!))}`);
      }
      out.push(
        `<polyline data-series="${escapeXml(seriesKey(series))}" data-index="${index}" ` +
          `fill="none" stroke="${colour}" stroke-width="1.5" stroke-linejoin="round" ` +
          `points="${points.join(" ")}"><title>${escapeXml(seriesKey(series))}</title></polyline>`,
      );
      const ly = top + 12 + k * 15;
      out.push(
        `<line x1="${left + width + 10}" x2="${left + width + 28}" y1="${ly - 4}" y2="${ly - 4}" ` +
          `stroke="${colour}" stroke-width="3"/>` +
          `<text x="${left + width + 32}" y="${ly}">${escapeXml(series.name)}` +
          `<title>${escapeXml(series.source)}</title></text>`,
      );
    });
    out.push(`</g>`);
  });

  // Time axis.
  const step = niceStep(durationMs, 8);
  const seconds = step >= 1000;
  for (let tick = 0; tick <= durationMs + 1e-9; tick += step) {
    const tx = num(x(tick));
    out.push(
      `<line x1="${tx}" x2="${tx}" y1="${plotBottom}" y2="${plotBottom + 4}" stroke="#666"/>` +
        `<text x="${tx}" y="${plotBottom + 16}" text-anchor="middle">` +
        `${seconds ? num(tick / 1000) : num(tick)}</text>`,
    );
  }
  out.push(
    `<text x="${left + width / 2}" y="${plotBottom + 30}" text-anchor="middle">` +
      `time since START (${seconds ? "s" : "ms"})</text>`,
  );
  if (panels.length === 0) {
    out.push(
      `<text x="${left + width / 2}" y="${TOP + PANEL_HEIGHT / 2}" text-anchor="middle">` +
        `no samples</text>`,
    );
  }
  out.push(
    `<line class="cursor" x1="0" x2="0" y1="${TOP - 14}" y2="${plotBottom}" stroke="#333" ` +
      `stroke-dasharray="3 3" visibility="hidden"/>`,
  );
  out.push(`</svg>`);
  return out.join("\n");
}
