import { describe, expect, it } from 'vitest';
import type { HeatmapResponse } from '../src/api/types';
import {
  boxCount,
  boxOf,
  boxRect,
  boxToSearch,
  cellAt,
  cellRect,
  clampedCellAt,
  durationBucket,
  durationRange,
  durationTicks,
  formatDurationRange,
  formatDurationSpan,
  goDuration,
  heatColor,
  narrowDurations,
  heatLevel,
  PALETTES,
  paletteAt,
  timeRange,
  timeTicks,
  timeToX,
  visibleRows,
  type Layout,
} from '../src/lib/heatmap';
import { parseDuration } from '../src/trace/format';

// The server's duration buckets: four per decade from 10 µs, upper edges rounded to whole nanoseconds.
const BOUNDS = Array.from({ length: 32 }, (_, i) => Math.round(1e4 * 10 ** ((i + 1) / 4)));
const T0 = 1_700_000_000_000_000_000n;
const MIN = 60_000_000_000n;

function heatmap(cols: number, cells: [number, number, number][] = [], step = MIN, end?: bigint): HeatmapResponse {
  const counts = Array.from({ length: cols }, () => new Array(32).fill(0));
  for (const [t, d, n] of cells) counts[t][d] = n;
  const flat = counts.flat();
  return {
    startUnixNano: T0.toString(),
    endUnixNano: (end ?? T0 + BigInt(cols) * step).toString(),
    stepNano: step.toString(),
    durationBoundsNano: BOUNDS,
    counts,
    total: flat.reduce((a, b) => a + b, 0),
    maxCount: Math.max(...flat),
    inspectedSpans: 0,
  };
}

/** The server's bucket of a duration, as crates/tracewell-query/src/heatmap.rs computes it. */
function bucketOf(ns: number): number {
  if (ns <= 1e4) return 0;
  return Math.min(31, Math.max(0, Math.ceil(Math.log10(ns / 1e4) * 4) - 1));
}

const layout: Layout = { x0: 50, y0: 10, width: 600, height: 120, cols: 60, rowLo: 8, rowHi: 19 };

describe('cells and pixels', () => {
  it('maps columns left to right and longer durations upwards', () => {
    expect(cellRect(layout, 0, 8)).toEqual({ x: 50, y: 120, w: 10, h: 10 });
    expect(cellRect(layout, 59, 19)).toEqual({ x: 640, y: 10, w: 10, h: 10 });
    expect(cellRect(layout, 3, 9).y).toBeLessThan(cellRect(layout, 3, 8).y);
  });

  it('finds the cell under a point and nothing outside the plot', () => {
    expect(cellAt(layout, 50, 129.9)).toEqual({ t: 0, d: 8 });
    expect(cellAt(layout, 649.9, 10)).toEqual({ t: 59, d: 19 });
    expect(cellAt(layout, 125, 75)).toEqual({ t: 7, d: 13 });
    expect(cellAt(layout, 49, 75)).toBeNull();
    expect(cellAt(layout, 650, 75)).toBeNull();
    expect(cellAt(layout, 100, 130)).toBeNull();
    // every cell's centre maps back to it
    for (let t = 0; t < 60; t += 7)
      for (let d = 8; d <= 19; d++) {
        const r = cellRect(layout, t, d);
        expect(cellAt(layout, r.x + r.w / 2, r.y + r.h / 2)).toEqual({ t, d });
      }
  });

  it('clamps a drag past the edges to the border cells', () => {
    expect(clampedCellAt(layout, -100, -100)).toEqual({ t: 0, d: 19 });
    expect(clampedCellAt(layout, 2000, 2000)).toEqual({ t: 59, d: 8 });
  });

  it('spans a box between two cells in either order and covers it in pixels', () => {
    const b = boxOf({ t: 9, d: 12 }, { t: 4, d: 15 });
    expect(b).toEqual({ t0: 4, t1: 9, d0: 12, d1: 15 });
    expect(boxOf({ t: 4, d: 15 }, { t: 9, d: 12 })).toEqual(b);
    expect(boxRect(layout, b)).toEqual({ x: 90, y: 50, w: 60, h: 40 });
  });
});

describe('visible rows', () => {
  it('covers the non-empty buckets with a margin and a minimum height', () => {
    const h = heatmap(4, [
      [0, 12, 5],
      [3, 18, 1],
    ]);
    expect(visibleRows(h.counts, 32, 4)).toEqual({ rowLo: 11, rowHi: 19 });
    const r = visibleRows(h.counts, 32, 12);
    expect(r.rowHi - r.rowLo + 1).toBe(12);
    expect(r.rowLo).toBeLessThanOrEqual(11);
    expect(r.rowHi).toBeGreaterThanOrEqual(19);
  });

  it('stays inside the scale', () => {
    expect(visibleRows(heatmap(2, [[0, 0, 1]]).counts, 32, 12)).toEqual({ rowLo: 0, rowHi: 11 });
    expect(visibleRows(heatmap(2, [[1, 31, 1]]).counts, 32, 12)).toEqual({ rowLo: 20, rowHi: 31 });
    expect(visibleRows(heatmap(2).counts, 32, 12)).toEqual({ rowLo: 0, rowHi: 31 });
  });
});

describe('bucket ranges', () => {
  it('puts every duration in the bucket the server does', () => {
    for (let d = 0; d < 32; d++) {
      const { lo, hi } = durationRange(BOUNDS, d);
      for (const ns of [lo + 1, Math.round((lo + Math.min(hi, 1e13)) / 2), hi].filter((x) => Number.isFinite(x) && x > 0)) {
        expect(durationBucket(BOUNDS, ns)).toBe(bucketOf(ns));
        expect(bucketOf(ns)).toBe(d);
      }
      if (d > 0) expect(bucketOf(lo)).toBe(d - 1);
      if (d < 31) expect(bucketOf(hi + 1)).toBe(d + 1);
    }
    expect(durationBucket(BOUNDS, 5)).toBe(0);
    expect(durationBucket(BOUNDS, 5e13)).toBe(31);
  });

  it('gives duration buckets as (previous edge, edge], open-ended at the top', () => {
    // 10 µs · 10^¼ = 17782.79 is listed as 17783, which the server counts in the next bucket
    expect(durationRange(BOUNDS, 0)).toEqual({ lo: 0, hi: 17782 });
    expect(durationRange(BOUNDS, 1)).toEqual({ lo: 17782, hi: 31622 });
    expect(durationRange(BOUNDS, 7)).toEqual({ lo: 562341, hi: 1_000_000 });
    expect(durationRange(BOUNDS, 8)).toEqual({ lo: 1_000_000, hi: 1_778_279 });
    expect(durationRange(BOUNDS, 31)).toEqual({ lo: BOUNDS[30], hi: Infinity });
    expect(formatDurationRange(BOUNDS, 18)).toBe('316ms – 562ms');
    expect(formatDurationRange(BOUNDS, 0)).toBe('≤ 17.8µs');
    expect(formatDurationRange(BOUNDS, 31)).toBe('> 9m 22s');
    expect(formatDurationSpan(BOUNDS, 16, 19)).toBe('100ms – 1s');
    expect(formatDurationSpan(BOUNDS, 0, 31)).toBe('any duration');
  });

  it('gives time buckets as inclusive start times, the last one ending at the range end', () => {
    const h = heatmap(60);
    expect(timeRange(h, 0)).toEqual({ start: T0, end: T0 + MIN - 1n });
    expect(timeRange(h, 1)).toEqual({ start: T0 + MIN, end: T0 + 2n * MIN - 1n });
    expect(timeRange(h, 59)).toEqual({ start: T0 + 59n * MIN, end: T0 + 60n * MIN });
    // a range not divisible by the bucket count: the step is rounded up and the last bucket is cut at the end
    const odd = heatmap(3, [], 4n, T0 + 10n);
    expect([0, 1, 2].map((t) => timeRange(odd, t))).toEqual([
      { start: T0, end: T0 + 3n },
      { start: T0 + 4n, end: T0 + 7n },
      { start: T0 + 8n, end: T0 + 10n },
    ]);
  });
});

describe('box to search', () => {
  it('turns columns into start/end and rows into min/max durations', () => {
    const h = heatmap(60, [
      [57, 18, 20],
      [58, 18, 20],
      [59, 18, 12],
      [10, 12, 20],
    ]);
    const box = { t0: 55, t1: 59, d0: 18, d1: 18 };
    expect(boxToSearch(h, box)).toEqual({
      start: (T0 + 55n * MIN).toString(),
      end: (T0 + 60n * MIN).toString(),
      minDuration: '316.227767ms',
      maxDuration: '562.341325ms',
    });
    expect(boxCount(h.counts, box)).toBe(52);
    expect(boxCount(h.counts, { t0: 0, t1: 59, d0: 0, d1: 31 })).toBe(h.total);
  });

  it('leaves out the bounds the box does not set', () => {
    const h = heatmap(60);
    const all = boxToSearch(h, { t0: 2, t1: 3, d0: 0, d1: 31 });
    expect(all).toEqual({ start: (T0 + 2n * MIN).toString(), end: (T0 + 4n * MIN - 1n).toString(), minDuration: '', maxDuration: '' });
  });

  it('admits exactly the durations of the selected buckets', () => {
    const h = heatmap(1);
    for (const [d0, d1] of [
      [1, 1],
      [7, 9],
      [12, 30],
    ]) {
      const s = boxToSearch(h, { t0: 0, t1: 0, d0, d1 });
      // the server rounds parsed durations to whole nanoseconds
      const lo = Math.round(parseDuration(s.minDuration)!);
      const hi = Math.round(parseDuration(s.maxDuration)!);
      expect(bucketOf(lo)).toBe(d0);
      expect(bucketOf(lo - 1)).toBe(d0 - 1);
      expect(bucketOf(hi)).toBe(d1);
      expect(bucketOf(hi + 1)).toBe(d1 + 1);
    }
  });

  it('never widens the duration bounds the search already has', () => {
    const box = { minDuration: '316.227767ms', maxDuration: '562.341325ms' };
    expect(narrowDurations(box, { minDuration: '', maxDuration: '' })).toEqual(box);
    expect(narrowDurations(box, { minDuration: '400ms', maxDuration: '2s' })).toEqual({ minDuration: '400ms', maxDuration: '562.341325ms' });
    expect(narrowDurations(box, { minDuration: '100ms', maxDuration: '0.5s' })).toEqual({ minDuration: '316.227767ms', maxDuration: '0.5s' });
    expect(narrowDurations({ minDuration: '', maxDuration: '' }, { minDuration: ' 1ms ', maxDuration: '' })).toEqual({ minDuration: '1ms', maxDuration: '' });
  });

  it('writes exact Go durations the parsers read back', () => {
    expect(goDuration(316227767)).toBe('316.227767ms');
    expect(goDuration(1e9)).toBe('1s');
    expect(goDuration(1_778_279_410)).toBe('1.77827941s');
    expect(goDuration(17783)).toBe('17.783us');
    expect(goDuration(999)).toBe('999ns');
    for (const ns of [...BOUNDS, ...BOUNDS.map((b) => b + 1)]) expect(Math.round(parseDuration(goDuration(ns))!)).toBe(ns);
  });
});

describe('colour scale', () => {
  it('leaves empty cells blank and grows logarithmically to the fullest cell', () => {
    expect(heatColor(0, 100, PALETTES.light)).toBeNull();
    expect(heatLevel(1, 100)).toBe(0);
    expect(heatLevel(10, 100)).toBeCloseTo(0.5);
    expect(heatLevel(100, 100)).toBe(1);
    expect(heatLevel(1, 1)).toBe(1);
    expect(heatColor(1, 1000, PALETTES.light)).toBe(PALETTES.light[0]);
    expect(heatColor(1000, 1000, PALETTES.light)).toBe(PALETTES.light[PALETTES.light.length - 1]);
    expect(paletteAt(['#000000', '#ffffff'], 0.5)).toBe('#808080');
  });

  it('gets more intense with the count in both themes: darker on light, brighter on dark', () => {
    const lum = (hex: string) => {
      const n = parseInt(hex.slice(1), 16);
      return 0.2126 * ((n >> 16) & 255) + 0.7152 * ((n >> 8) & 255) + 0.0722 * (n & 255);
    };
    const counts = [1, 2, 5, 20, 100, 500];
    const light = counts.map((c) => lum(heatColor(c, 500, PALETTES.light)!));
    const dark = counts.map((c) => lum(heatColor(c, 500, PALETTES.dark)!));
    for (let i = 1; i < counts.length; i++) {
      expect(light[i]).toBeLessThan(light[i - 1]);
      expect(dark[i]).toBeGreaterThan(dark[i - 1]);
    }
    // a single span stands out from the card background (white / #171a21)
    expect(light[0]).toBeLessThan(200);
    expect(dark[0]).toBeGreaterThan(40);
  });
});

describe('axes', () => {
  it('labels the decades among the visible rows', () => {
    expect(durationTicks(BOUNDS, 8, 19)).toEqual([
      { d: 11, label: '10ms' },
      { d: 15, label: '100ms' },
      { d: 19, label: '1s' },
    ]);
    expect(durationTicks(BOUNDS, 0, 3)).toEqual([{ d: 3, label: '100µs' }]);
  });

  it('puts time ticks on round times within the range', () => {
    const from = Date.UTC(2024, 0, 1, 10, 3, 20);
    const ticks = timeTicks(from, from + 3600e3, 7, 0);
    expect(ticks.length).toBeLessThanOrEqual(7);
    expect(ticks[0]).toBe(Date.UTC(2024, 0, 1, 10, 10));
    expect(ticks[1] - ticks[0]).toBe(10 * 60e3);
    expect(ticks.every((t) => t >= from && t <= from + 3600e3)).toBe(true);
    // hours and days fall on local boundaries
    const day = timeTicks(from, from + 2 * 86400e3, 4, -120);
    expect(day.every((t) => (t + 120 * 60e3) % (12 * 3600e3) === 0)).toBe(true);
    expect(timeTicks(from, from, 5)).toEqual([]);
  });

  it('places times on the columns', () => {
    const h = heatmap(60);
    const startMs = Number(T0 / 1_000_000n);
    expect(timeToX(layout, h, startMs)).toBe(50);
    expect(timeToX(layout, h, startMs + 30 * 60e3)).toBe(350);
    expect(timeToX(layout, h, startMs + 60 * 60e3)).toBe(650);
  });
});
