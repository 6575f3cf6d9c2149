// The search page's duration heatmap (/api/v1/heatmap): buckets to pixels and back, a selected box to
// search parameters, the colour scale and the axes' ticks. No DOM here.

import type { HeatmapResponse } from '../api/types';
import { formatDuration, parseDuration } from '../trace/format';

/** A cell: time bucket `t` (column) and duration bucket `d` (row, 0 = fastest). */
export interface Cell {
  t: number;
  d: number;
}

/** Columns t0..t1 and duration buckets d0..d1, inclusive, t0 <= t1 and d0 <= d1. */
export interface Box {
  t0: number;
  t1: number;
  d0: number;
  d1: number;
}

/** The plot area in CSS pixels and the duration buckets shown (rowLo at the bottom, rowHi at the top). */
export interface Layout {
  x0: number;
  y0: number;
  width: number;
  height: number;
  cols: number;
  rowLo: number;
  rowHi: number;
}

export function rows(l: Layout): number {
  return l.rowHi - l.rowLo + 1;
}

/** Pixel rectangle of a cell; longer durations are higher up. */
export function cellRect(l: Layout, t: number, d: number): { x: number; y: number; w: number; h: number } {
  const w = l.width / l.cols;
  const h = l.height / rows(l);
  return { x: l.x0 + t * w, y: l.y0 + l.height - (d - l.rowLo + 1) * h, w, h };
}

/** The cell under a point, or null outside the plot area. */
export function cellAt(l: Layout, x: number, y: number): Cell | null {
  if (x < l.x0 || y < l.y0 || x >= l.x0 + l.width || y >= l.y0 + l.height) return null;
  return clampedCellAt(l, x, y);
}

/** The cell under a point, or the nearest one when the point is outside the plot (for dragging past an edge). */
export function clampedCellAt(l: Layout, x: number, y: number): Cell {
  const t = Math.floor(((x - l.x0) / l.width) * l.cols);
  const r = Math.floor(((l.y0 + l.height - y) / l.height) * rows(l));
  return { t: clamp(t, 0, l.cols - 1), d: clamp(l.rowLo + r, l.rowLo, l.rowHi) };
}

/** The box spanned by two cells, in whatever order they were picked. */
export function boxOf(a: Cell, b: Cell): Box {
  return { t0: Math.min(a.t, b.t), t1: Math.max(a.t, b.t), d0: Math.min(a.d, b.d), d1: Math.max(a.d, b.d) };
}

/** Pixel rectangle covering a box. */
export function boxRect(l: Layout, b: Box): { x: number; y: number; w: number; h: number } {
  const lo = cellRect(l, b.t0, b.d0);
  const hi = cellRect(l, b.t1, b.d1);
  return { x: lo.x, y: hi.y, w: hi.x + hi.w - lo.x, h: lo.y + lo.h - hi.y };
}

/**
 * The duration buckets worth showing: every non-empty one with one empty bucket of margin on each side, widened
 * around its middle to at least `minRows` buckets (the whole scale when nothing matched).
 */
export function visibleRows(counts: number[][], buckets: number, minRows = 12): { rowLo: number; rowHi: number } {
  let lo = buckets;
  let hi = -1;
  for (const col of counts)
    for (let d = 0; d < col.length; d++)
      if (col[d] > 0) {
        if (d < lo) lo = d;
        if (d > hi) hi = d;
      }
  if (hi < 0) return { rowLo: 0, rowHi: buckets - 1 };
  lo = Math.max(0, lo - 1);
  hi = Math.min(buckets - 1, hi + 1);
  const want = Math.min(buckets, minRows);
  while (hi - lo + 1 < want) {
    if (lo > 0) lo--;
    if (hi - lo + 1 < want && hi < buckets - 1) hi++;
  }
  return { rowLo: lo, rowHi: hi };
}

// ---- buckets ----

/**
 * The duration bucket the server puts a span of `ns` nanoseconds in: ceil(perDecade · log10(ns / lowest)) - 1,
 * clamped to the scale, where `lowest` and `perDecade` follow from the listed edges (10 µs and 4 today).
 */
export function durationBucket(bounds: number[], ns: number): number {
  const n = bounds.length;
  if (n < 2) return 0;
  const perDecade = Math.round(1 / Math.log10(bounds[1] / bounds[0]));
  const lowest = Math.round(bounds[0] / 10 ** (1 / perDecade));
  if (ns <= lowest) return 0;
  const i = Math.ceil(Math.log10(ns / lowest) * perDecade) - 1;
  return Math.min(n - 1, Math.max(0, i));
}

/**
 * The longest whole-nanosecond duration in bucket `d`: its listed edge, or one less when the edge was rounded up
 * past the exact boundary (10^¼ steps are irrational), which puts the listed value itself in the next bucket.
 */
export function upperEdge(bounds: number[], d: number): number {
  const b = bounds[d];
  return d < bounds.length - 1 && durationBucket(bounds, b) > d ? b - 1 : b;
}

/**
 * Durations of bucket `d`, nanoseconds: above `lo` (exclusive; the first bucket starts at 0 and includes it) up
 * to `hi` inclusive; the last bucket also takes longer spans, so its `hi` is Infinity.
 */
export function durationRange(bounds: number[], d: number): { lo: number; hi: number } {
  return { lo: d === 0 ? 0 : upperEdge(bounds, d - 1), hi: d === bounds.length - 1 ? Infinity : upperEdge(bounds, d) };
}

/** Start times of time bucket `t`, unix nanoseconds, both inclusive (the last bucket ends at the range's end). */
export function timeRange(h: Pick<HeatmapResponse, 'startUnixNano' | 'endUnixNano' | 'stepNano' | 'counts'>, t: number): { start: bigint; end: bigint } {
  const s = BigInt(h.startUnixNano);
  const e = BigInt(h.endUnixNano);
  const step = BigInt(h.stepNano);
  const start = min(s + BigInt(t) * step, e);
  const end = t >= h.counts.length - 1 ? e : min(s + BigInt(t + 1) * step - 1n, e);
  return { start, end };
}

/** Spans in the box. */
export function boxCount(counts: number[][], b: Box): number {
  let n = 0;
  for (let t = b.t0; t <= b.t1; t++) for (let d = b.d0; d <= b.d1; d++) n += counts[t]?.[d] ?? 0;
  return n;
}

export interface BoxSearch {
  start: string;
  end: string;
  /** Empty when the box starts at the first duration bucket (no lower bound). */
  minDuration: string;
  /** Empty when the box reaches the last duration bucket, which also takes longer spans. */
  maxDuration: string;
}

/**
 * The search for exactly the spans of a box: start and end (unix ns, inclusive) from its columns, minDuration
 * just above the longest duration of the bucket below it and maxDuration the longest of its top bucket (the
 * API's bounds are inclusive).
 */
export function boxToSearch(h: HeatmapResponse, b: Box): BoxSearch {
  const bounds = h.durationBoundsNano;
  const from = timeRange(h, b.t0).start;
  const to = timeRange(h, b.t1).end;
  return {
    start: from.toString(),
    end: to.toString(),
    minDuration: b.d0 === 0 ? '' : goDuration(durationRange(bounds, b.d0).lo + 1),
    maxDuration: b.d1 >= bounds.length - 1 ? '' : goDuration(durationRange(bounds, b.d1).hi),
  };
}

/**
 * A box's duration bounds within the search's own (Go durations, empty = none): the tighter of the two on each
 * side, so a box drawn over a filtered heatmap never widens the filter.
 */
export function narrowDurations(box: { minDuration: string; maxDuration: string }, current: { minDuration: string; maxDuration: string }): { minDuration: string; maxDuration: string } {
  const ns = (s: string) => (s.trim() ? parseDuration(s) : null);
  const bMin = ns(box.minDuration);
  const cMin = ns(current.minDuration);
  const bMax = ns(box.maxDuration);
  const cMax = ns(current.maxDuration);
  return {
    minDuration: cMin !== null && (bMin === null || cMin > bMin) ? current.minDuration.trim() : box.minDuration,
    maxDuration: cMax !== null && (bMax === null || cMax < bMax) ? current.maxDuration.trim() : box.maxDuration,
  };
}

/**
 * Whole nanoseconds as an exact Go-style duration in the largest unit that keeps them readable
 * (316227767 -> "316.227767ms", 1000000000 -> "1s", 17783 -> "17.783us").
 */
export function goDuration(ns: number): string {
  const n = Math.round(ns);
  const units: [string, number][] = [
    ['s', 1e9],
    ['ms', 1e6],
    ['us', 1e3],
  ];
  for (const [unit, size] of units) {
    if (n >= size) {
      const whole = Math.floor(n / size);
      const frac = n - whole * size;
      const digits = String(size).length - 1;
      const f = frac ? `.${String(frac).padStart(digits, '0').replace(/0+$/, '')}` : '';
      return `${whole}${f}${unit}`;
    }
  }
  return `${n}ns`;
}

/** "31.6ms – 56.2ms", "≤ 17.8µs", "> 562s" */
export function formatDurationRange(bounds: number[], d: number): string {
  const { lo, hi } = durationRange(bounds, d);
  if (lo === 0) return `≤ ${formatDuration(hi)}`;
  if (hi === Infinity) return `> ${formatDuration(lo)}`;
  return `${formatDuration(lo)} – ${formatDuration(hi)}`;
}

/** Duration range of the rows d0..d1 together. */
export function formatDurationSpan(bounds: number[], d0: number, d1: number): string {
  const lo = durationRange(bounds, d0).lo;
  const hi = durationRange(bounds, d1).hi;
  if (lo === 0 && hi === Infinity) return 'any duration';
  if (lo === 0) return `≤ ${formatDuration(hi)}`;
  if (hi === Infinity) return `> ${formatDuration(lo)}`;
  return `${formatDuration(lo)} – ${formatDuration(hi)}`;
}

// ---- colour ----

/** Plasma, dark to light: on a light background the darker the more spans, on a dark one the brighter. */
export const PALETTES: Record<'light' | 'dark', string[]> = {
  light: ['#fca636', '#f2844b', '#e16462', '#cc4778', '#b12a90', '#8f0da4', '#6a00a8', '#3e049c', '#0d0887'],
  dark: ['#8f0da4', '#b12a90', '#cc4778', '#e16462', '#f2844b', '#fca636', '#fcce25', '#f0f921'],
};

/** 0 for one span, 1 for the fullest cell, logarithmic in between (a single slow span stays visible next to thousands). */
export function heatLevel(count: number, maxCount: number): number {
  if (count <= 0) return 0;
  if (maxCount <= 1 || count >= maxCount) return 1;
  return Math.log(count) / Math.log(maxCount);
}

/** Fill of a cell, or null for an empty one (left as background). */
export function heatColor(count: number, maxCount: number, palette: string[]): string | null {
  if (count <= 0) return null;
  return paletteAt(palette, heatLevel(count, maxCount));
}

/** The colour at `x` (0..1) along the palette, interpolated in RGB. */
export function paletteAt(palette: string[], x: number): string {
  const p = clamp(x, 0, 1) * (palette.length - 1);
  const i = Math.min(palette.length - 2, Math.floor(p));
  const f = p - i;
  const a = rgb(palette[i]);
  const b = rgb(palette[i + 1]);
  const mix = (k: number) => Math.round(a[k] + (b[k] - a[k]) * f);
  return `#${[mix(0), mix(1), mix(2)].map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}

function rgb(hex: string): [number, number, number] {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

// ---- axes ----

/** Duration buckets whose upper edge is a power of ten (1ms, 10ms, ...): the y axis labels. */
export function durationTicks(bounds: number[], rowLo: number, rowHi: number): { d: number; label: string }[] {
  const out: { d: number; label: string }[] = [];
  for (let d = rowLo; d <= rowHi && d < bounds.length - 1; d++) {
    const lg = Math.log10(bounds[d]);
    if (Math.abs(lg - Math.round(lg)) < 1e-6) out.push({ d, label: formatDuration(bounds[d]) });
  }
  return out;
}

const TIME_STEPS_MS = [1, 2, 5, 10, 15, 30].map((s) => s * 1e3).concat([1, 2, 5, 10, 15, 30].map((m) => m * 60e3), [1, 2, 3, 6, 12].map((h) => h * 3600e3), [1, 2, 7].map((d) => d * 86400e3));

/**
 * Round times (epoch ms) inside [fromMs, toMs] for at most `maxTicks` labels: multiples of the smallest nice
 * step that fits, aligned in local time (`tzOffsetMin` as Date.getTimezoneOffset gives it).
 */
export function timeTicks(fromMs: number, toMs: number, maxTicks: number, tzOffsetMin = new Date(fromMs).getTimezoneOffset()): number[] {
  if (!(toMs > fromMs) || maxTicks < 1) return [];
  const span = toMs - fromMs;
  const step = TIME_STEPS_MS.find((s) => span / s <= maxTicks) ?? Math.ceil(span / maxTicks / 86400e3) * 86400e3;
  // align to local time: shift by the zone offset, round, shift back
  const off = -tzOffsetMin * 60e3;
  const first = Math.ceil((fromMs + off) / step) * step - off;
  const out: number[] = [];
  for (let t = first; t <= toMs; t += step) out.push(t);
  return out;
}

/** Label of a time tick: HH:MM, with seconds when ticks are less than a minute apart, with the date over days. */
export function timeTickLabel(ms: number, spanMs: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (spanMs <= 10 * 60e3) return `${hm}:${pad(d.getSeconds())}`;
  if (spanMs > 86400e3) return `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hm}`;
  return hm;
}

/** X position of a time (epoch ms) on the plot: columns are `stepNano` wide from the heatmap's start. */
export function timeToX(l: Layout, h: Pick<HeatmapResponse, 'startUnixNano' | 'stepNano'>, ms: number): number {
  const startMs = Number(BigInt(h.startUnixNano) / 1000n) / 1e3;
  const colMs = Number(h.stepNano) / 1e6;
  return l.x0 + ((ms - startMs) / (colMs * l.cols)) * l.width;
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
