import { describe, expect, it } from 'vitest';
import { buildTree, findSpan } from '../src/trace/tree';
import { selfTimes } from '../src/trace/selftime';
import { compact, type SpecSpan } from './helpers';

function self(spans: SpecSpan[]) {
  const t = buildTree(compact(spans));
  const s = selfTimes(t);
  return (id: string) => s[findSpan(t, id)];
}

describe('selfTimes', () => {
  it('is the whole duration for a leaf', () => {
    expect(self([{ id: 'a', start: 0, dur: 42 }])('a')).toBe(42);
  });

  it('subtracts sequential children', () => {
    const s = self([
      { id: 'root', start: 0, dur: 100 },
      { id: 'a', parent: 'root', start: 10, dur: 20 },
      { id: 'b', parent: 'root', start: 40, dur: 30 },
    ]);
    expect(s('root')).toBe(50);
  });

  it('counts overlapping children once (union)', () => {
    const s = self([
      { id: 'root', start: 0, dur: 100 },
      { id: 'a', parent: 'root', start: 10, dur: 40 }, // 10-50
      { id: 'b', parent: 'root', start: 30, dur: 40 }, // 30-70
      { id: 'c', parent: 'root', start: 35, dur: 5 }, // inside
    ]);
    expect(s('root')).toBe(40); // 100 - (70 - 10)
  });

  it('clamps children outliving or preceding the parent', () => {
    const s = self([
      { id: 'root', start: 100, dur: 100 }, // 100-200
      { id: 'early', parent: 'root', start: 50, dur: 70 }, // 50-120 -> 100-120
      { id: 'late', parent: 'root', start: 180, dur: 100 }, // 180-280 -> 180-200
      { id: 'outside', parent: 'root', start: 300, dur: 10 }, // no overlap
    ]);
    expect(s('root')).toBe(60);
  });

  it('is never negative and handles zero-duration spans', () => {
    const s = self([
      { id: 'root', start: 0, dur: 0 },
      { id: 'a', parent: 'root', start: 0, dur: 10 },
    ]);
    expect(s('root')).toBe(0);
    expect(s('a')).toBe(10);
  });

  it('uses the times it is given (adjusted)', () => {
    const t = buildTree(
      compact([
        { id: 'root', start: 0, dur: 100 },
        { id: 'a', parent: 'root', start: 90, dur: 20 },
      ]),
    );
    const start = Float64Array.from([0, 80]);
    const end = Float64Array.from([100, 100]);
    expect(selfTimes(t)[0]).toBe(90);
    expect(selfTimes(t, start, end)[0]).toBe(80);
  });
});
