import { describe, expect, it } from 'vitest';
import { buildTree, findSpan, type TraceTree } from '../src/trace/tree';
import { criticalPath } from '../src/trace/critical';
import { compact, type SpecSpan } from './helpers';

function cp(spans: SpecSpan[]) {
  const t = buildTree(compact(spans));
  const c = criticalPath(t);
  const segs = (id: string) => {
    const i = findSpan(t, id);
    const out: [number, number][] = [];
    for (let k = c.segOffset[i]; k < c.segOffset[i + 1]; k++) {
      const s = c.segOrder[k];
      out.push([c.segStart[s], c.segEnd[s]]);
    }
    return out;
  };
  const on = (t: TraceTree) => Array.from(c.spans, (i) => t.spanId[i]);
  return { t, c, segs, path: on(t) };
}

function totalSegmentTime(c: ReturnType<typeof criticalPath>) {
  let s = 0;
  for (let k = 0; k < c.segSpan.length; k++) s += c.segEnd[k] - c.segStart[k];
  return s;
}

describe('criticalPath', () => {
  it('follows sequential children and attributes gaps to the parent', () => {
    const { c, segs, path } = cp([
      { id: 'root', start: 0, dur: 100 },
      { id: 'a', parent: 'root', start: 10, dur: 20 },
      { id: 'b', parent: 'root', start: 40, dur: 50 },
    ]);
    expect(path).toEqual(['root', 'a', 'b']);
    expect(segs('root')).toEqual([
      [0, 10],
      [30, 40],
      [90, 100],
    ]);
    expect(segs('a')).toEqual([[10, 30]]);
    expect(segs('b')).toEqual([[40, 90]]);
    expect(totalSegmentTime(c)).toBe(100);
  });

  it('takes the latest-finishing of overlapping children and skips the ones it covers', () => {
    // a: 10-60, b: 20-80 (finishes last), c: 30-50 (inside b's run)
    const { segs, path } = cp([
      { id: 'root', start: 0, dur: 100 },
      { id: 'a', parent: 'root', start: 10, dur: 50 },
      { id: 'b', parent: 'root', start: 20, dur: 60 },
      { id: 'c', parent: 'root', start: 30, dur: 20 },
    ]);
    // cursor 100 -> b (20-80); cursor 20 -> a ends at 60 > 20, c ends 50 > 20: none
    expect(path).toEqual(['root', 'b']);
    expect(segs('root')).toEqual([
      [0, 20],
      [80, 100],
    ]);
    expect(segs('b')).toEqual([[20, 80]]);
    expect(segs('a')).toEqual([]);
  });

  it('picks an earlier child that finishes before the cursor after an overlapping one', () => {
    const { path, segs } = cp([
      { id: 'root', start: 0, dur: 100 },
      { id: 'a', parent: 'root', start: 5, dur: 10 }, // 5-15
      { id: 'b', parent: 'root', start: 20, dur: 70 }, // 20-90
      { id: 'c', parent: 'root', start: 10, dur: 30 }, // 10-40 overlaps b's start: skipped
    ]);
    expect(path).toEqual(['root', 'a', 'b']);
    expect(segs('root')).toEqual([
      [0, 5],
      [15, 20],
      [90, 100],
    ]);
  });

  it('clamps children that outlive their parent', () => {
    const { segs, path, c } = cp([
      { id: 'root', start: 0, dur: 100 },
      { id: 'p', parent: 'root', start: 10, dur: 40 }, // 10-50
      { id: 'async', parent: 'p', start: 30, dur: 60 }, // 30-90, outlives p
    ]);
    expect(path).toEqual(['root', 'p', 'async']);
    expect(segs('async')).toEqual([[30, 50]]);
    expect(segs('p')).toEqual([[10, 30]]);
    expect(segs('root')).toEqual([
      [0, 10],
      [50, 100],
    ]);
    expect(totalSegmentTime(c)).toBe(100);
  });

  it('clamps skewed children that start before their parent', () => {
    const { segs, path } = cp([
      { id: 'root', start: 100, dur: 100 }, // 100-200
      { id: 'skewed', parent: 'root', start: 50, dur: 100 }, // 50-150
      { id: 'gc', parent: 'skewed', start: 60, dur: 20 }, // 60-80: entirely before root, outside window
    ]);
    expect(path).toEqual(['root', 'skewed']);
    expect(segs('skewed')).toEqual([[100, 150]]);
    expect(segs('root')).toEqual([[150, 200]]);
    expect(segs('gc')).toEqual([]);
  });

  it('never puts zero-duration spans on the path', () => {
    const { path, segs } = cp([
      { id: 'root', start: 0, dur: 100 },
      { id: 'z', parent: 'root', start: 100, dur: 0 },
      { id: 'z2', parent: 'root', start: 50, dur: 0 },
      { id: 'a', parent: 'root', start: 10, dur: 20 },
    ]);
    expect(path).toEqual(['root', 'a']);
    expect(segs('root')).toEqual([
      [0, 10],
      [30, 100],
    ]);
  });

  it('handles a zero-duration root', () => {
    const { path, c } = cp([
      { id: 'root', start: 0, dur: 0 },
      { id: 'a', parent: 'root', start: 0, dur: 10 },
    ]);
    expect(path).toEqual(['root']);
    expect(c.segSpan.length).toBe(0);
  });

  it('spans several roots through a virtual root', () => {
    const { path, segs, c } = cp([
      { id: 'r1', start: 0, dur: 50 },
      { id: 'r2', parent: 'missing0000000000', start: 40, dur: 60 }, // 40-100 ends last
      { id: 'r3', parent: 'missing0000000001', start: 0, dur: 30 }, // 0-30 finishes before 40
      { id: 'x', parent: 'r2', start: 50, dur: 10 },
    ]);
    expect(path).toEqual(['r3', 'r2', 'x']);
    expect(segs('r2')).toEqual([
      [40, 50],
      [60, 100],
    ]);
    expect(segs('r1')).toEqual([]);
    // the gap 30-40 belongs to no span
    expect(totalSegmentTime(c)).toBe(90);
  });

  it('descends through nested levels', () => {
    const { path, c } = cp([
      { id: 'root', start: 0, dur: 100 },
      { id: 'a', parent: 'root', start: 10, dur: 80 },
      { id: 'a1', parent: 'a', start: 20, dur: 30 },
      { id: 'a2', parent: 'a', start: 55, dur: 30 },
      { id: 'a2x', parent: 'a2', start: 60, dur: 10 },
    ]);
    expect(path).toEqual(['root', 'a', 'a1', 'a2', 'a2x']);
    expect(totalSegmentTime(c)).toBe(100);
    expect(c.time[2]).toBe(30); // a1
  });

  it('handles an empty trace', () => {
    const t = buildTree(compact([]));
    expect(criticalPath(t).spans).toEqual([]);
  });

  it('runs on a deep chain without recursion', () => {
    const spans: SpecSpan[] = [];
    for (let i = 0; i < 50_000; i++) spans.push({ id: 's' + i, parent: i ? 's' + (i - 1) : undefined, start: i, dur: 200_000 - 2 * i });
    const { c } = cp(spans);
    expect(c.spans.length).toBe(50_000);
  });
});
